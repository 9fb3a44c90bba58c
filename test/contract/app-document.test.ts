/**
 * The app's own OpenAPI document (what @hono/zod-openapi derives from the routes it serves) against
 * the committed spec of each version, after normalisation: no route missing, none extra, the same
 * parameters, request bodies, response codes and response schemas.
 */
import { describe, expect, it } from 'vitest';
import { dereference, type JsonSchema, type OpenApiDoc,operationsOf } from '../../scripts/spec.js';
import { createApp } from '../../server/app.js';
import { loadConfig } from '../../server/config.js';

const KEPT = ['type', 'properties', 'required', 'items', 'enum', 'additionalProperties', 'minimum', 'maximum', 'minLength', 'maxLength', 'minItems', 'maxItems', 'default'] as const;

/** A schema reduced to what constrains data, with nullability and unions in one canonical form. */
export function shape(s: JsonSchema | undefined): unknown {
  if (!s || Object.keys(s).length === 0) return 'any';
  const union = s.oneOf ?? s.anyOf;
  if (union) {
    const nonNull = union.filter((v: JsonSchema) => v.type !== 'null');
    const inner = nonNull.length === 1 ? shape(nonNull[0]) : { union: nonNull.map(shape) };
    return nonNull.length < union.length ? { nullable: inner } : inner;
  }
  const types: string[] = Array.isArray(s.type) ? s.type : s.type ? [s.type] : [];
  if (types.includes('null')) return { nullable: shape({ ...s, type: types.filter((t) => t !== 'null').length === 1 ? types.find((t) => t !== 'null') : types.filter((t) => t !== 'null') }) };
  const out: Record<string, unknown> = {};
  for (const k of KEPT) {
    if (s[k] === undefined) continue;
    if (k === 'properties') out[k] = Object.fromEntries(Object.entries<JsonSchema>(s.properties).sort(([a], [b]) => a.localeCompare(b)).map(([n, p]) => [n, shape(p)]));
    else if (k === 'required' || k === 'enum') out[k] = [...s[k]].sort();
    else if (k === 'items') out[k] = shape(s.items);
    else if (k === 'additionalProperties') out[k] = typeof s[k] === 'object' ? (Object.keys(s[k]).length === 0 ? true : shape(s[k])) : s[k];
    // Integers beyond 2^53 and int64 bounds come out the same either way.
    else out[k] = s[k];
  }
  if (out.required && (out.required as unknown[]).length === 0) delete out.required;
  if (out.properties && Object.keys(out.properties).length === 0) delete out.properties;
  return out;
}

function normalise(doc: OpenApiDoc) {
  const ops: Record<string, unknown> = {};
  for (const { method, path, operation } of operationsOf(doc)) {
    const params = (operation.parameters ?? [])
      .map((p: JsonSchema) => ({ in: p.in, name: p.in === 'header' ? p.name.toLowerCase() : p.name, required: p.required === true, schema: shape(p.schema) }))
      .sort((a: { in: string; name: string }, b: { in: string; name: string }) => `${a.in}${a.name}`.localeCompare(`${b.in}${b.name}`));
    const body = operation.requestBody
      ? Object.fromEntries(Object.entries<JsonSchema>(operation.requestBody.content ?? {}).map(([t, m]) => [t, shape(m.schema)]))
      : null;
    const responses = Object.fromEntries(
      Object.entries<JsonSchema>(operation.responses ?? {}).map(([code, r]) => [code, Object.fromEntries(Object.entries<JsonSchema>(r.content ?? {}).map(([t, m]) => [t, shape(m.schema)]))]),
    );
    ops[`${method.toUpperCase()} ${path} (${operation.operationId})`] = { params, body, responses };
  }
  return ops;
}

function appDocument(): OpenApiDoc {
  const app = createApp({ config: loadConfig({}), database: {} as never, storage: {} as never, ml: {} as never, events: {} as never, logger: {} as never });
  const doc = app.getOpenAPI31Document({ openapi: '3.1.0', info: { title: 'ECG backend API', version: '1.1.0' } });
  // Resolve the app's internal $refs the same way as the spec's.
  const resolve = (node: unknown): unknown => {
    if (Array.isArray(node)) return node.map(resolve);
    if (!node || typeof node !== 'object') return node;
    const o = node as Record<string, unknown>;
    if (typeof o.$ref === 'string') return resolve(o.$ref.split('/').slice(1).reduce<unknown>((n, k) => (n as Record<string, unknown>)[k], doc));
    return Object.fromEntries(Object.entries(o).map(([k, v]) => [k, resolve(v)]));
  };
  return resolve(doc) as OpenApiDoc;
}

describe('the app serves exactly its specs', () => {
  const served = normalise(appDocument());

  it('matches the v1.1 backend document route for route and schema for schema', () => {
    const spec = normalise(dereference('v1.1', 'backend'));
    expect(Object.keys(served).sort()).toEqual(Object.keys(spec).sort());
    for (const key of Object.keys(spec)) expect(served[key], key).toEqual(spec[key]);
  });

  it('serves every v1.0 operation unchanged but for the additions of the job list, request-process and the status answer; its only extras are the v1.1 callback routes, getJobVideo, the own jobs list and delete, the probes and the multipart upload routes', () => {
    const spec = normalise(dereference('v1.0', 'backend'));
    // The job list grew in v1.1 (keyset paging, docs/api-versions.md): every v1.0 parameter is still
    // there as it was; test/contract/compat.test.ts holds its answer compatible with v1.0's.
    const grew = 'GET /api/upload-video/jobs (listJobs)';
    // request-process's body grew the optional `webhook_url` in v1.1 (docs/webhooks.md): the same
    // operation, and the v1.0 body with that one property removed.
    const grewBody = 'POST /api/upload-video/request-process (requestProcess)';
    // The status answer grew two optional fields in v1.1 (current_stage, estimated_time_remaining);
    // compat.test.ts holds it compatible, and here its parameters stay as they were.
    const answerGrew = 'GET /api/upload-video/status/{job_id} (getJobStatus)';
    type Op = { params: unknown[]; body: Record<string, { union: Array<{ properties: Record<string, unknown> }> }> | null; responses: unknown };
    for (const key of Object.keys(spec)) {
      if (key === grew) expect((served[key] as Op).params).toEqual(expect.arrayContaining((spec[key] as Op).params));
      else if (key === answerGrew) expect((served[key] as Op).params).toEqual((spec[key] as Op).params);
      else if (key === grewBody) {
        const op = structuredClone(served[key] as Op);
        for (const variant of op.body!['application/json']!.union) {
          expect(variant.properties).toHaveProperty('webhook_url');
          delete variant.properties.webhook_url;
        }
        expect(op, key).toEqual(spec[key]);
      } else expect(served[key], key).toEqual(spec[key]);
    }
    const extra = Object.keys(served).filter((k) => !(k in spec));
    expect(extra.sort()).toEqual([
      'DELETE /api/upload-video/jobs/{job_id} (deleteJob)',
      'GET /api/upload-video/jobs/mine (listMyJobs)',
      'GET /api/upload-video/video/{job_id} (getJobVideo)',
      'GET /livez (getLiveness)',
      'GET /readyz (getReadiness)',
      'POST /api/ml-callback/{callback_token}/api/upload-video/result (receiveMlResultWithToken)',
      'POST /api/upload-video/multipart/abort (abortMultipartUpload)',
      'POST /api/upload-video/multipart/complete (completeMultipartUpload)',
      'POST /api/upload-video/multipart/create (createMultipartUpload)',
      'POST /api/upload-video/multipart/list-parts (listUploadedParts)',
      'POST /api/upload-video/multipart/presign-parts (presignUploadParts)',
      'POST /api/upload-video/result (receiveMlResult)',
    ]);
  });

  it('notices a difference (the comparison is not vacuous)', () => {
    const spec = dereference('v1.1', 'backend');
    spec.components.schemas.JobStatus.enum.push('paused');
    spec.paths['/api/upload-video/status/{job_id}'].get.responses['200'].content['application/json'].schema.properties.status.enum.push('paused');
    const mutated = normalise(spec);
    const key = 'GET /api/upload-video/status/{job_id} (getJobStatus)';
    expect(served[key]).not.toEqual(mutated[key]);
  });
});
