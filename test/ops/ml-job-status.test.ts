/** The SDK's typed call of the ML server's job-status operation (`jobStatus` in sdk/src/ml-client.ts). */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, expect, it } from 'vitest';
import { createMlServerClient } from '../../sdk/src/ml-client.js';

const client = (answer: (req: Request) => Response | Promise<Response>) =>
  createMlServerClient({ baseUrl: 'http://ml.test', timeoutMs: 1000, statusTimeoutMs: 500, fetch: async (req) => answer(req) });

describe('jobStatus', () => {
  it('asks GET /api/upload-video/status/{job_id} and returns the completed job with its result', async () => {
    const seen: string[] = [];
    const ml = client((req) => {
      seen.push(`${req.method} ${new URL(req.url).pathname}`);
      return Response.json({ job_id: 'j 1', status: 'completed', progress: 100, result: { text: 'hi', segments: [] } });
    });
    const outcome = await ml.jobStatus('j 1');
    expect(seen).toEqual(['GET /api/upload-video/status/j%201']);
    expect(outcome).toEqual({ ok: true, status: 200, body: { job_id: 'j 1', status: 'completed', progress: 100, result: { text: 'hi', segments: [] } } });
  });

  it('reports 404 and 405 as http outcomes, with the ML server error code when it sends one', async () => {
    expect(await client(() => Response.json({ error: { code: 'JOB_NOT_FOUND', message: 'No job.' } }, { status: 404 })).jobStatus('x')).toEqual({
      ok: false, kind: 'http', status: 404, code: 'JOB_NOT_FOUND', message: 'No job.',
    });
    expect(await client(() => new Response('Method Not Allowed', { status: 405 })).jobStatus('x')).toMatchObject({ ok: false, kind: 'http', status: 405 });
  });

  it('reports an unreachable ML server as network, never throwing', async () => {
    expect(await client(() => Promise.reject(new TypeError('fetch failed'))).jobStatus('x')).toMatchObject({ ok: false, kind: 'network' });
  });

  it('reports an ML server that never answers as timeout', async () => {
    const silent = createServer(() => {}); // takes the request, never answers
    await new Promise<void>((r) => silent.listen(0, '127.0.0.1', r));
    try {
      const ml = createMlServerClient({ baseUrl: `http://127.0.0.1:${(silent.address() as AddressInfo).port}`, timeoutMs: 1000, statusTimeoutMs: 300 });
      expect(await ml.jobStatus('x')).toEqual({ ok: false, kind: 'timeout', message: 'The ML server did not answer within 300 ms.' });
    } finally {
      silent.closeAllConnections();
      silent.close();
    }
  });

  it('reports an answer that is not a job status as invalid', async () => {
    expect(await client(() => Response.json(['not', 'a', 'status'])).jobStatus('x')).toMatchObject({ ok: false, kind: 'invalid' });
  });
});
