/**
 * The job notifier (server/jobs/notifier.ts) sends `job_changed` after the commit, outside any write:
 * notifications queued while a batch is in flight go out together as one statement, each `send`
 * resolves once its batch has gone, and a failed batch is reported without failing the caller.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DatabaseHandle } from '../../server/db/client.js';
import { createNotifier, JOB_CHANNEL, notifierFor } from '../../server/jobs/notifier.js';
import { testDatabase } from '../support/db.js';

let db: DatabaseHandle;
beforeAll(() => {
  db = testDatabase();
});
afterAll(async () => db.close());

/** The payloads that arrive on the channel (from any test: filter by id). */
async function listen() {
  const got: string[] = [];
  const l = await db.sql.listen(JOB_CHANNEL, (p) => got.push(p));
  return { got, stop: () => l.unlisten() };
}

const until = async (ok: () => boolean) => {
  for (let i = 0; i < 200 && !ok(); i++) await new Promise((r) => setTimeout(r, 10));
};

describe('the job notifier', () => {
  it('sends the first change at once and batches those queued meanwhile into one statement, in order', async () => {
    const statements: unknown[][] = [];
    const counting = {
      unsafe: ((text: string, params: unknown[], opts: never) => {
        statements.push(params);
        return db.sql.unsafe(text, params as never[], opts);
      }) as typeof db.sql.unsafe,
    };
    const n = createNotifier(counting);
    const ids = Array.from({ length: 5 }, () => randomUUID());
    const { got, stop } = await listen();
    try {
      await Promise.all(ids.map((id, i) => n.send([{ id, version: i + 1 }])));
      expect(statements).toEqual([[[`${ids[0]}:1`]], [ids.slice(1).map((id, i) => `${id}:${i + 2}`)]]);
      await until(() => ids.every((id) => got.some((p) => p.startsWith(id))));
      expect(got.filter((p) => ids.some((id) => p.startsWith(id)))).toEqual(ids.map((id, i) => `${id}:${i + 1}`));
    } finally {
      await stop();
    }
  });

  it('reports a batch it could not send and still resolves, then sends the next', async () => {
    const errors: unknown[] = [];
    let fail = true;
    const flaky = {
      unsafe: ((text: string, params: unknown[], opts: never) => {
        if (fail) {
          fail = false;
          return Promise.reject(new Error('connection lost'));
        }
        return db.sql.unsafe(text, params as never[], opts);
      }) as typeof db.sql.unsafe,
    };
    const n = createNotifier(flaky, (err) => errors.push(err));
    await n.send([{ id: randomUUID(), version: 1 }]);
    expect(errors).toHaveLength(1);
    const id = randomUUID();
    const { got, stop } = await listen();
    try {
      await n.send([{ id, version: 2 }]);
      await until(() => got.includes(`${id}:2`));
      expect(got).toContain(`${id}:2`);
    } finally {
      await stop();
    }
  });

  it('is one per database client', () => {
    expect(notifierFor(db.sql)).toBe(notifierFor(db.sql));
  });
});
