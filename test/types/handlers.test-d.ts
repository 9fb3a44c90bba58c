/**
 * Type tests for the server (checked by `npm run typecheck`, which fails on an unused
 * `@ts-expect-error`): a handler cannot return a body or status its spec does not allow, nor read a
 * field the spec does not define.
 */
import { OpenAPIHono } from '@hono/zod-openapi';
import * as v11 from '../../server/generated/v1.1/routes.js';

const app = new OpenAPIHono();

app.openapi(v11.cancelJob, (c) => {
  const { job_id } = c.req.valid('param');
  // @ts-expect-error — `jobId` is not a path parameter of cancelJob
  void c.req.valid('param').jobId;
  return c.json({ job_id, status: 'cancelled' as const, message: 'Job cancelled.' }, 200);
});

// @ts-expect-error — 201 is not a documented status of cancelJob
app.openapi(v11.cancelJob, (c) => c.json({ job_id: 'x', status: 'cancelled' as const, message: 'm' }, 201));

// @ts-expect-error — `pending` is not the status cancelJob answers
app.openapi(v11.cancelJob, (c) => c.json({ job_id: 'x', status: 'pending' as const, message: 'm' }, 200));

// @ts-expect-error — `total_count` is not a field of JobListPage (and `limit` is missing)
app.openapi(v11.listJobs, (c) => c.json({ jobs: [], total_count: 0, offset: 0 }, 200));

const uploadAnswer = { presigned_url: 'u', upload_url: 'u', url: 'u', file_key: 'k', fileKey: 'k', expires_in: 1, method: 'PUT' as const, headers: { 'Content-Type': 'video/mp4' }, content_type: 'video/mp4', max_bytes: 1 };
app.openapi(v11.generateUploadUrl, (c) => {
  const body = c.req.valid('json');
  // @ts-expect-error — `video_path` is not a field of GenerateUploadUrlRequest
  void body.video_path;
  return c.json(uploadAnswer, 200);
});

const { upload_url: _missing, ...withoutUploadUrl } = uploadAnswer;
// @ts-expect-error — `upload_url` is required in the answer
app.openapi(v11.generateUploadUrl, (c) => c.json(withoutUploadUrl, 200));

// Limits, stated so nobody relies on more:
// - requestProcess and the callbacks accept unknown fields (`additionalProperties: true` in the spec),
//   so reading an undeclared field there compiles, as `unknown`.
// - getJobStatus documents a body-less 304, and @hono/zod-openapi then also accepts a plain Response
//   from its handler; its body is checked where it is built, `toJobStatus(row): JobStatusResponse`
//   (test/contract/mutation.test.ts renames a field of it and expects the server not to compile).
