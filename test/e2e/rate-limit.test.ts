/** One rate limit across backend processes (server/http/rate-limit.ts): the count lives in PostgreSQL. */
import { beforeAll, describe, expect, it } from 'vitest';
import { type Proc, startBackend } from '../support/process.js';
import { requestProcess, scratchServices, upload } from './support.js';

const scratch = scratchServices('ratelimit', 'file');
let backends: Proc[] = [];

beforeAll(async () => {
  // Both serve uploads from one storage directory, as replicas behind one load balancer would share a bucket.
  const env = { DATABASE_URL: scratch.db.url, DATA_DIR: scratch.dataDir, MODEL_SERVER_URL: 'http://127.0.0.1:9', RATE_LIMIT_PER_MINUTE: '4', ML_DISPATCH_BACKOFF_MS: '60000' };
  backends = (await Promise.all([startBackend(env), startBackend(env)])).map(scratch.track);
}, 120_000);

describe('the rate limit with two backend processes on one database', () => {
  it('gives a client exactly its limit in total, however its requests are spread', async () => {
    const [a, b] = backends as [Proc, Proc];
    const keys = await Promise.all(Array.from({ length: 10 }, (_, i) => upload(i % 2 ? a.url : b.url)));
    // Not across the end of a one-minute window (the database's clock, close enough to ours here).
    if (Date.now() % 60_000 > 50_000) await new Promise((r) => setTimeout(r, 60_000 - (Date.now() % 60_000) + 200));
    // At once, alternating between the two processes.
    const answers = await Promise.all(keys.map((key, i) => requestProcess(i % 2 ? a.url : b.url, key)));
    const statuses = answers.map((r) => r.status);
    expect(statuses.filter((s) => s === 200)).toHaveLength(4);
    expect(statuses.filter((s) => s === 429)).toHaveLength(6);
    const refused = answers.find((r) => r.status === 429)!;
    expect(refused.headers.get('ratelimit-policy')).toBe('"per-client";q=4;w=60');
    expect(Number(refused.headers.get('retry-after'))).toBeGreaterThan(0);
  }, 60_000);
});
