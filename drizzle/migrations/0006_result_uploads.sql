-- A large completion's result on its way into jobs.result and jobs.raw_result (server/jobs/result-upload.ts):
-- written with COPY and moved into the job by the statement that completes it, in one transaction, so a
-- row never outlives that transaction. Unlogged: nothing here needs to survive a crash. Not in
-- drizzle/schema.ts, which cannot declare an unlogged table; no query other than those two names it.
CREATE UNLOGGED TABLE "result_uploads" (
	"id" uuid PRIMARY KEY NOT NULL,
	"raw" jsonb,
	"result" jsonb
);
