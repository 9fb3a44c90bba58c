/**
 * Version 1.1 breaks no version 1.0 consumer: no removed operation, response or response field, no
 * newly required request field, no narrowed request enum, no changed type. The only differences
 * allowed are listed in ALLOWED, each with its reason.
 */
import { describe, expect, it } from 'vitest';
import { APIS, dereference, type JsonSchema, operationsOf, type SpecApi } from '../../scripts/spec.js';

const ALLOWED: Record<string, string> = {
  // The documented move of the callback (docs/api-versions.md): v1.1 ML servers post to
  // {fastapi_base_url}/api/upload-video/result; the backend still serves /api/v1/ml/ml-results for v1.0
  // servers (receiveLegacyMlResult).
  'ml-server processVideo: callback mlCallback moved from "http://backend:8000/api/v1/ml/ml-results" to "{$request.body#/fastapi_base_url}/api/upload-video/result"':
    'the documented callback path change',
  // v1.1 ML servers answer process-video with "processing" instead of "accepted". The backend, the only
  // consumer, treats any 2xx as accepted and never reads the body (processVideo in openapi/v1.1/ml-server.yaml).
  'ml-server processVideo 200 response.status: enum widened by processing': 'status "processing" of v1.1 ML servers',
  // Keyset paging of the job list (docs/api-versions.md): `total` is left out only on a page requested
  // with `cursor`, a v1.1 parameter no v1.0 client sends; a v1.0 request always gets it.
  'backend listJobs 200 response.total: no longer always present': 'total only without the v1.1 cursor',
};

type Dir = 'request' | 'response';
const types = (s: JsonSchema): string[] => (Array.isArray(s.type) ? [...s.type] : s.type ? [s.type] : []).sort();
const variants = (s: JsonSchema): JsonSchema[] | undefined => s.oneOf ?? s.anyOf;

function diff(a: JsonSchema | undefined, b: JsonSchema | undefined, at: string, dir: Dir, out: string[]): void {
  if (!a) return;
  if (!b) return void out.push(`${at}: removed`);
  const va = variants(a);
  const vb = variants(b);
  if (va || vb) {
    if (!va || !vb) return void out.push(`${at}: changed between a union and a single schema`);
    if (vb.length < va.length) out.push(`${at}: union lost variants`);
    va.forEach((v, i) => diff(v, vb[i], `${at}|${i}`, dir, out));
    return;
  }
  const ta = types(a).join(',');
  const tb = types(b).join(',');
  if (ta !== tb) {
    // Accepting null (request) or never sending null (response) is compatible.
    const widened = types(b).filter((t) => !types(a).includes(t));
    const narrowed = types(a).filter((t) => !types(b).includes(t));
    if (dir === 'request' ? narrowed.length > 0 : widened.length > 0) out.push(`${at}: type ${ta} -> ${tb}`);
  }
  if (a.enum || b.enum) {
    const added = (b.enum ?? []).filter((v: unknown) => !(a.enum ?? []).includes(v));
    const removed = (a.enum ?? []).filter((v: unknown) => !(b.enum ?? []).includes(v));
    if (dir === 'request' && removed.length) out.push(`${at}: enum narrowed by ${removed.join(',')}`);
    if (dir === 'response' && added.length) out.push(`${at}: enum widened by ${added.join(',')}`);
  }
  const reqA = new Set<string>(a.required ?? []);
  const reqB = new Set<string>(b.required ?? []);
  if (dir === 'request') for (const r of reqB) if (!reqA.has(r)) out.push(`${at}.${r}: newly required`);
  if (dir === 'response') for (const r of reqA) if (!reqB.has(r)) out.push(`${at}.${r}: no longer always present`);
  for (const [name, prop] of Object.entries<JsonSchema>(a.properties ?? {})) {
    const next = b.properties?.[name];
    if (!next && dir === 'response') out.push(`${at}.${name}: removed`);
    else if (!next && dir === 'request' && b.additionalProperties === false) out.push(`${at}.${name}: no longer accepted`);
    else diff(prop, next, `${at}.${name}`, dir, out);
  }
  if (a.items) diff(a.items, b.items, `${at}[]`, dir, out);
}

function breakingChanges(api: SpecApi): string[] {
  const v10 = dereference('v1.0', api);
  const v11 = dereference('v1.1', api);
  const out: string[] = [];
  const next = new Map(operationsOf(v11).map((o) => [`${o.method} ${o.path}`, o]));
  for (const old of operationsOf(v10)) {
    const at = `${api} ${old.operationId}`;
    const now = next.get(`${old.method} ${old.path}`);
    if (!now) {
      out.push(`${at}: operation removed`);
      continue;
    }
    const oldParams: JsonSchema[] = old.operation.parameters ?? [];
    const newParams: JsonSchema[] = now.operation.parameters ?? [];
    for (const p of newParams) {
      const before = oldParams.find((o) => o.name === p.name && o.in === p.in);
      if (p.required && !before?.required) out.push(`${at}: parameter ${p.name} newly required`);
      if (before) diff(before.schema, p.schema, `${at} parameter ${p.name}`, 'request', out);
    }
    diff(old.operation.requestBody?.content?.['application/json']?.schema, now.operation.requestBody?.content?.['application/json']?.schema, `${at} request`, 'request', out);
    for (const [code, res] of Object.entries<JsonSchema>(old.operation.responses ?? {})) {
      const nres = now.operation.responses?.[code];
      if (!nres) {
        out.push(`${at} ${code}: response removed`);
        continue;
      }
      diff(res.content?.['application/json']?.schema, nres.content?.['application/json']?.schema, `${at} ${code} response`, 'response', out);
    }
    for (const [name, cb] of Object.entries<JsonSchema>(old.operation.callbacks ?? {})) {
      const [oldUrl] = Object.keys(cb);
      const [newUrl] = Object.keys(now.operation.callbacks?.[name] ?? {});
      if (!newUrl) out.push(`${at}: callback ${name} removed`);
      else if (oldUrl !== newUrl) out.push(`${at}: callback ${name} moved from "${oldUrl}" to "${newUrl}"`);
      if (newUrl && oldUrl) {
        const ob = cb[oldUrl].post.requestBody.content['application/json'].schema;
        const nb = now.operation.callbacks[name][newUrl].post.requestBody.content['application/json'].schema;
        // The backend consumes callbacks: what v1.1 ML servers send must still be readable as v1.0 was.
        diff(ob, nb, `${at} callback ${name} body`, 'response', out);
      }
    }
  }
  return out;
}

describe('v1.1 is compatible with v1.0', () => {
  it.each(APIS)('the %s API changes nothing a v1.0 consumer relies on, beyond the allow-list', (api) => {
    const unexpected = breakingChanges(api).filter((c) => !(c in ALLOWED));
    expect(unexpected).toEqual([]);
  });

  it('every allow-listed change still exists (stale exceptions are removed)', () => {
    const all = new Set(APIS.flatMap((api) => breakingChanges(api)));
    for (const allowed of Object.keys(ALLOWED)) expect(all.has(allowed), allowed).toBe(true);
  });

  it('the detector itself finds a removed response field and a newly required request field', () => {
    const out: string[] = [];
    diff({ type: 'object', required: ['a'], properties: { a: { type: 'string' } } }, { type: 'object', properties: {} }, 'r', 'response', out);
    diff({ type: 'object', properties: { x: { type: 'string' } } }, { type: 'object', required: ['x'], properties: { x: { type: 'string' } } }, 'q', 'request', out);
    diff({ type: 'string', enum: ['a', 'b'] }, { type: 'string', enum: ['a'] }, 'e', 'request', out);
    expect(out).toEqual(['r.a: no longer always present', 'r.a: removed', 'q.x: newly required', 'e: enum narrowed by b']);
  });
});
