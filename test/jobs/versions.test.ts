/**
 * The status poll's version cache (server/jobs/events.ts): it only moves forward, a read that raced a
 * reconnect or an eviction does not fill it, a reconnect forgets everything, and an entry nothing
 * confirmed for VERSION_TRUST_MS is not trusted (its writer may have died before notifying).
 */
import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { createJobVersions, VERSION_TRUST_MS } from '../../server/jobs/events.js';

describe('the job version cache', () => {
  it('knows a job once a read has told its owner, and keeps the newest version it heard of', () => {
    const v = createJobVersions();
    const id = randomUUID();
    v.wrote(id, 3);
    expect(v.get(id)).toBeUndefined();
    v.fill(id, { version: 2, owner: 'alice' }, v.begin());
    expect(v.get(id)).toEqual({ version: 3, owner: 'alice' });
    v.wrote(id, 5);
    v.wrote(id, 4);
    expect(v.get(id)).toEqual({ version: 5, owner: 'alice' });
  });

  it('ignores a read that began before a reconnect, and forgets every job at the reconnect', () => {
    const v = createJobVersions();
    const [a, b] = [randomUUID(), randomUUID()];
    v.fill(a, { version: 1, owner: null }, v.begin());
    const began = v.begin();
    v.reset();
    expect(v.get(a)).toBeUndefined();
    v.fill(b, { version: 7, owner: null }, began);
    expect(v.get(b)).toBeUndefined();
    v.fill(b, { version: 7, owner: null }, v.begin());
    expect(v.get(b)).toEqual({ version: 7, owner: null });
  });

  it('ignores a read that began before an eviction, which may have forgotten a newer version', () => {
    const v = createJobVersions();
    const first = randomUUID();
    v.fill(first, { version: 1, owner: null }, v.begin());
    const began = v.begin();
    for (let i = 0; i < 100_000; i++) v.wrote(randomUUID(), 1);
    expect(v.get(first)).toBeUndefined();
    v.fill(first, { version: 1, owner: null }, began);
    expect(v.get(first)).toBeUndefined();
  });

  it('stops trusting an entry nothing confirmed for VERSION_TRUST_MS; a read or a newer version confirms it, a late older one does not', () => {
    let t = 1_000_000;
    const v = createJobVersions(() => t);
    const id = randomUUID();
    v.fill(id, { version: 4, owner: null }, v.begin());
    t += VERSION_TRUST_MS;
    expect(v.get(id)).toEqual({ version: 4, owner: null });
    t += 1;
    // A version 5 committed by a process that died before notifying: the next poll must read.
    expect(v.get(id)).toBeUndefined();
    // The read confirms what the database says, even the same version.
    v.fill(id, { version: 4, owner: null }, v.begin());
    expect(v.get(id)).toEqual({ version: 4, owner: null });
    t += VERSION_TRUST_MS - 10;
    // Notifications of one job can arrive out of order: an older one neither lowers nor confirms.
    v.wrote(id, 6);
    v.wrote(id, 5);
    expect(v.get(id)).toEqual({ version: 6, owner: null });
    t += VERSION_TRUST_MS;
    v.wrote(id, 6);
    v.wrote(id, 3);
    expect(v.get(id)).toEqual({ version: 6, owner: null });
    t += 11;
    expect(v.get(id)).toBeUndefined();
  });
});
