ALTER TABLE "jobs" ADD COLUMN "video_deleted_at" timestamp with time zone;--> statement-breakpoint
CREATE INDEX "jobs_file_key_idx" ON "jobs" USING btree ("file_key");--> statement-breakpoint
CREATE INDEX "jobs_retention_idx" ON "jobs" USING btree ("updated_at") WHERE "jobs"."video_deleted_at" is null and "jobs"."status" in ('completed', 'failed', 'cancelled');