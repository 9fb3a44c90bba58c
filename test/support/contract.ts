/**
 * The contract check every test's traffic goes through.
 *
 * Each request a test sends to the backend, and each response it gets back, is checked against the
 * committed spec (each version's bundled backend document, server/generated/{v1.0,v1.1}/backend.openapi.json,
 * dereferenced by scripts/spec.ts) with an
 * independent JSON Schema validator (Ajv, draft 2020-12), not with the server's generated schemas:
 *
 * - the request is matched to an operation by method and path template; its path, query and header
 *   parameters and its JSON body are validated. A non-conforming request is only *recorded* (bad-input
 *   tests send them on purpose; mark those with {@link invalidRequest} to say so);
 * - the response's status must be documented for that operation in every version that has it, its
 *   JSON body must validate against that response's schema, `text/event-stream` events must carry a
 *   valid `JobStatusResponse`, and the headers that matter (ETag on getJobStatus 200/304, Retry-After
 *   on 429) must be there. A response that breaks the spec throws a {@link ContractViolation} inside
 *   the test that caused it, and is recorded, so the run fails even if the test swallowed the error.
 *
 * Every checked exchange is appended (JSON lines) to the run's records directory, which
 * test/contract/coverage.ts provides and reads at the end of the run to print the coverage table.
 */
import { appendFileSync } from 'node:fs';
import { join } from 'node:path';
import { threadId } from 'node:worker_threads';
import type { ErrorObject, ValidateFunction } from 'ajv';
import _Ajv2020 from 'ajv/dist/2020.js';
import _addFormats from 'ajv-formats';
import { expect, inject } from 'vitest';
import { dereference, type JsonSchema, type OpenApiDoc, operationsOf, type SpecOperation } from '../../scripts/spec.js';

declare module 'vitest' {
  export interface ProvidedContext {
    /** Where workers append contract records (set by the contract coverage reporter). */
    contractRecordsDir: string;
  }
}

// ajv and ajv-formats are CommonJS with `exports.default`; under NodeNext the default import is module.exports.
const Ajv2020 = _Ajv2020.default;
const addFormats = _addFormats.default;

export const CONTRACT_VERSIONS = ['v1.0', 'v1.1'] as const;
export type ContractVersion = (typeof CONTRACT_VERSIONS)[number];

/** Header a test puts on a request it sends invalid on purpose; stripped before the app sees it. */
export const INVALID_REQUEST_HEADER = 'x-contract-invalid-request';

/** Headers marking a request as deliberately invalid (merge them into the request's headers). */
export function invalidRequest(reason = 'deliberately invalid', headers: Record<string, string> = {}): Record<string, string> {
  return { ...headers, [INVALID_REQUEST_HEADER]: reason.replace(/[^\x20-\x7e]/g, '?').slice(0, 200) || 'invalid' };
}

function newAjv(coerce: boolean) {
  const ajv = new Ajv2020({ strict: false, allErrors: true, coerceTypes: coerce, validateFormats: true });
  addFormats(ajv);
  ajv.addFormat('int64', { type: 'number', validate: (n: number) => Number.isSafeInteger(n) });
  ajv.addFormat('int32', { type: 'number', validate: (n: number) => Number.isInteger(n) && n >= -(2 ** 31) && n < 2 ** 31 });
  ajv.addFormat('double', { type: 'number', validate: () => true });
  ajv.addFormat('float', { type: 'number', validate: () => true });
  return ajv;
}

const ajv = newAjv(false);
/** For parameters and headers, which arrive as strings. */
const ajvCoerce = newAjv(true);
const compiled = new WeakMap<object, ValidateFunction>();
const compiledCoerce = new WeakMap<object, ValidateFunction>();

function validator(schema: JsonSchema, coerce = false): ValidateFunction {
  const cache = coerce ? compiledCoerce : compiled;
  const cached = cache.get(schema);
  if (cached) return cached;
  // Wrapped so that a primitive parameter can be coerced in place.
  const v = coerce ? ajvCoerce.compile({ type: 'object', properties: { value: schema } }) : ajv.compile(schema);
  cache.set(schema, v);
  return v;
}

function describeErrors(errors: ErrorObject[] | null | undefined, at: string): string[] {
  return (errors ?? []).slice(0, 8).map((e) => `${at}${e.instancePath || ''} ${e.message ?? e.keyword}${e.params && Object.keys(e.params).length ? ` ${JSON.stringify(e.params)}` : ''}`);
}

/** Validates `value` against `schema`; returns the problems (empty when valid). */
export function schemaProblems(schema: JsonSchema, value: unknown, at = 'body'): string[] {
  const v = validator(schema);
  return v(value) ? [] : describeErrors(v.errors, at);
}

function paramProblems(schema: JsonSchema, raw: string, at: string): string[] {
  const v = validator(schema, true);
  const holder = { value: raw as unknown };
  return v(holder) ? [] : describeErrors(v.errors, at).map((p) => p.replace(`${at}/value`, at));
}

// ---------------------------------------------------------------------------------------------
// The specs and their operations

export interface ContractOperation extends SpecOperation {
  version: ContractVersion;
}

interface Route {
  method: string;
  path: string;
  regex: RegExp;
  params: string[];
  static: number;
  ops: Partial<Record<ContractVersion, ContractOperation>>;
}

let loaded: { docs: Record<ContractVersion, OpenApiDoc>; routes: Route[] } | undefined;

export function contractSpecs() {
  if (loaded) return loaded;
  const docs = { 'v1.0': dereference('v1.0', 'backend'), 'v1.1': dereference('v1.1', 'backend') } as Record<ContractVersion, OpenApiDoc>;
  const routes = new Map<string, Route>();
  for (const version of CONTRACT_VERSIONS) {
    for (const op of operationsOf(docs[version])) {
      const key = `${op.method.toUpperCase()} ${op.path}`;
      let route = routes.get(key);
      if (!route) {
        const params: string[] = [];
        const source = op.path
          .split('/')
          .map((seg) => seg.replace(/[.*+?^$()|[\]\\]/g, '\\$&').replace(/\{([^}]+)\}/g, (_, name: string) => (params.push(name), '([^/]+)')))
          .join('/');
        route = { method: op.method.toUpperCase(), path: op.path, regex: new RegExp(`^${source}$`), params, static: op.path.split('/').filter((s) => !s.startsWith('{')).length, ops: {} };
        routes.set(key, route);
      }
      route.ops[version] = { ...op, version };
    }
  }
  loaded = { docs, routes: [...routes.values()].sort((a, b) => b.static - a.static) };
  return loaded;
}

/** Every operation of a version, for the generated-request suites and the coverage table. */
export function contractOperations(version: ContractVersion): ContractOperation[] {
  return contractSpecs().routes.flatMap((r) => (r.ops[version] ? [r.ops[version]] : []));
}

export interface RouteMatch {
  route: Route;
  /** Path parameters, percent-decoded. */
  params: Record<string, string>;
}

/** The spec route a method and (raw) path name, or undefined. */
export function matchRoute(method: string, pathname: string): RouteMatch | undefined {
  const m = method.toUpperCase() === 'HEAD' ? 'GET' : method.toUpperCase();
  for (const route of contractSpecs().routes) {
    if (route.method !== m) continue;
    const found = route.regex.exec(pathname);
    if (!found) continue;
    const params: Record<string, string> = {};
    route.params.forEach((name, i) => {
      const raw = found[i + 1] ?? '';
      try {
        params[name] = decodeURIComponent(raw);
      } catch {
        params[name] = raw;
      }
    });
    return { route, params };
  }
  return undefined;
}

/** Routes that are not part of the API contract: the storage endpoint, the served documents, the docs UI. */
export function isOutsideContract(method: string, pathname: string): boolean {
  return method.toUpperCase() === 'OPTIONS' || pathname === '/storage' || pathname.startsWith('/storage/') || /^\/openapi\/[^/]+\.json$/.test(pathname) || pathname === '/docs' || pathname.startsWith('/docs/');
}

const mediaType = (header: string | null | undefined) => (header ?? '').split(';')[0]!.trim().toLowerCase();

// ---------------------------------------------------------------------------------------------
// Requests

export interface RequestCheck {
  match: RouteMatch | undefined;
  problems: string[];
}

/** Checks a request against the v1.1 operation it matches (v1.1 is a superset of v1.0). */
export function checkRequest(req: { method: string; url: string; headers: Headers; body: string | null }): RequestCheck {
  const url = new URL(req.url);
  const match = matchRoute(req.method, url.pathname);
  if (!match) return { match, problems: [`no operation ${req.method} ${url.pathname}`] };
  const op = match.route.ops['v1.1'] ?? match.route.ops['v1.0']!;
  const problems: string[] = [];
  for (const p of (op.operation.parameters ?? []) as JsonSchema[]) {
    const where = `${p.in} parameter ${p.name}`;
    let raw: string | null = null;
    if (p.in === 'path') raw = match.params[p.name] ?? null;
    else if (p.in === 'query') raw = url.searchParams.get(p.name);
    else if (p.in === 'header') raw = req.headers.get(p.name);
    if (raw === null) {
      if (p.required) problems.push(`${where} is required`);
      continue;
    }
    if (p.schema) problems.push(...paramProblems(p.schema, raw, where));
  }
  const requestBody = op.operation.requestBody as JsonSchema | undefined;
  if (requestBody) {
    const content = (requestBody.content ?? {}) as Record<string, JsonSchema>;
    const type = mediaType(req.headers.get('content-type'));
    const body = req.body ?? '';
    if (body === '') {
      if (requestBody.required) problems.push('request body is required');
    } else if (!(type in content)) {
      problems.push(`content type "${type}" is not one of ${Object.keys(content).join(', ')}`);
    } else if (type === 'application/json') {
      let value: unknown;
      try {
        value = JSON.parse(body);
      } catch {
        problems.push('request body is not valid JSON');
        return { match, problems };
      }
      const schema = content[type]!.schema as JsonSchema | undefined;
      if (schema) problems.push(...schemaProblems(schema, value, 'request body'));
    }
  }
  return { match, problems };
}

// ---------------------------------------------------------------------------------------------
// Responses

function responseSpec(op: ContractOperation, status: number): JsonSchema | undefined {
  const responses = (op.operation.responses ?? {}) as Record<string, JsonSchema>;
  return responses[String(status)] ?? responses[`${Math.floor(status / 100)}XX`] ?? responses.default;
}

/** Problems of a response's status, headers and (already read) body, in every version that has the operation. */
export function checkResponse(match: RouteMatch, res: { status: number; headers: Headers; body: string; head?: boolean; query?: URLSearchParams }): string[] {
  const problems: string[] = [];
  const queryNames = (op: ContractOperation) => new Set(((op.operation.parameters ?? []) as JsonSchema[]).filter((p) => p.in === 'query').map((p) => p.name as string));
  const declared = CONTRACT_VERSIONS.map((v) => match.route.ops[v]).filter((op) => op !== undefined).map(queryNames);
  for (const version of CONTRACT_VERSIONS) {
    const op = match.route.ops[version];
    if (!op) continue;
    // A request with a query parameter only a later version declares (the job list's `cursor`) is
    // that version's request: an earlier version's answer is not expected of it.
    const own = queryNames(op);
    if ([...(res.query?.keys() ?? [])].some((name) => !own.has(name) && declared.some((names) => names.has(name)))) continue;
    const at = `${version} ${op.operationId}`;
    const spec = responseSpec(op, res.status);
    if (!spec) {
      problems.push(`${at}: status ${res.status} is not documented (documented: ${Object.keys(op.operation.responses ?? {}).join(', ')})`);
      continue;
    }
    // Headers: documented ones must fit their schema; required ones must be there.
    for (const [name, h] of Object.entries((spec.headers ?? {}) as Record<string, JsonSchema>)) {
      const value = res.headers.get(name);
      if (value === null) {
        if (h.required) problems.push(`${at} ${res.status}: header ${name} is required`);
        continue;
      }
      if (h.schema) problems.push(...paramProblems(h.schema, value, `${at} ${res.status} header ${name}`));
    }
    if (op.operationId === 'getJobStatus' && (res.status === 200 || res.status === 304) && !res.headers.get('etag')) {
      problems.push(`${at} ${res.status}: no ETag header`);
    }
    if (res.status === 429) {
      const retry = res.headers.get('retry-after');
      if (retry === null || !/^\d+$/.test(retry.trim())) problems.push(`${at} 429: Retry-After must be a number of seconds, got ${JSON.stringify(retry)}`);
    }
    const content = (spec.content ?? {}) as Record<string, JsonSchema>;
    const type = mediaType(res.headers.get('content-type'));
    if (res.head) continue; // HEAD: status and headers only
    if (Object.keys(content).length === 0) {
      if (res.body !== '') problems.push(`${at} ${res.status}: documented without a body, got ${JSON.stringify(res.body.slice(0, 80))}`);
      continue;
    }
    if (!(type in content)) {
      problems.push(`${at} ${res.status}: content type "${type}" is not documented (${Object.keys(content).join(', ')})`);
      continue;
    }
    if (type === 'application/json') {
      let value: unknown;
      try {
        value = JSON.parse(res.body);
      } catch {
        problems.push(`${at} ${res.status}: body is not JSON: ${JSON.stringify(res.body.slice(0, 80))}`);
        continue;
      }
      const schema = content[type]!.schema as JsonSchema | undefined;
      if (schema) problems.push(...schemaProblems(schema, value, `${at} ${res.status} body`));
    }
  }
  return problems;
}

/** Problems of one Server-Sent Event of streamJobEvents (its data must be a JobStatusResponse). */
export function checkStatusEvent(match: RouteMatch, event: { event: string | undefined; data: string }): string[] {
  const problems: string[] = [];
  if (event.event !== undefined && event.event !== 'status') problems.push(`event name "${event.event}" (documented: status)`);
  let value: unknown;
  try {
    value = JSON.parse(event.data);
  } catch {
    return [...problems, `event data is not JSON: ${JSON.stringify(event.data.slice(0, 80))}`];
  }
  for (const version of CONTRACT_VERSIONS) {
    if (!match.route.ops[version]) continue;
    problems.push(...schemaProblems(contractSpecs().docs[version].components.schemas.JobStatusResponse, value, `${version} event data`));
  }
  return problems;
}

// ---------------------------------------------------------------------------------------------
// Records (read by test/contract/coverage.ts at the end of the run)

export type ContractRecord =
  | { kind: 'hit'; method: string; path: string; status: number; ops: string[] }
  | { kind: 'violation'; test: string; method: string; url: string; status: number; problems: string[] }
  | { kind: 'request'; test: string; deliberate: boolean; method: string; url: string; status: number; problems: string[] }
  | { kind: 'unmatched'; test: string; method: string; path: string; status: number };

let recordsFile: string | null | undefined;

function recordsPath(): string | null {
  if (recordsFile !== undefined) return recordsFile;
  let dir: string | undefined;
  try {
    dir = inject('contractRecordsDir');
  } catch {
    dir = undefined;
  }
  recordsFile = dir ? join(dir, `${process.pid}-${threadId}.jsonl`) : null;
  return recordsFile;
}

export function record(r: ContractRecord): void {
  const file = recordsPath();
  if (file) appendFileSync(file, `${JSON.stringify(r)}\n`);
}

function currentTest(): string {
  try {
    const s = expect.getState();
    return `${(s.testPath ?? '').replace(/^.*?\/test\//, 'test/')} > ${s.currentTestName ?? '?'}`;
  } catch {
    return '?';
  }
}

export class ContractViolation extends Error {
  constructor(
    readonly method: string,
    readonly url: string,
    readonly status: number,
    readonly problems: string[],
    body = '',
  ) {
    super(`Contract violation: ${method} ${url} answered ${status}:\n  - ${problems.join('\n  - ')}${body ? `\n  body: ${body.slice(0, 500)}` : ''}`);
    this.name = 'ContractViolation';
  }
}

/** A path and query for the records, with per-job callback tokens left out. */
const shown = (url: URL) => `${url.pathname.replace(/^\/api\/ml-callback\/[^/]+\//, '/api/ml-callback/{callback_token}/')}${url.search}`.slice(0, 300);

function violation(method: string, url: URL, status: number, problems: string[], body: string, keep: boolean): ContractViolation {
  const where = shown(url);
  if (keep) record({ kind: 'violation', test: currentTest(), method, url: where, status, problems });
  return new ContractViolation(method, where, status, problems, body);
}

/** An SSE stream that checks each event as the test reads it, and errors the stream on a violation. */
function checkedEventStream(body: ReadableStream<Uint8Array>, match: RouteMatch, method: string, url: URL, status: number, keep: boolean): ReadableStream<Uint8Array> {
  const decoder = new TextDecoder();
  let buffer = '';
  const checkBlocks = (controller: TransformStreamDefaultController<Uint8Array>, final: boolean) => {
    const blocks = buffer.split(/\r?\n\r?\n/);
    buffer = final ? '' : (blocks.pop() ?? '');
    for (const block of blocks) {
      let event: string | undefined;
      const data: string[] = [];
      for (const line of block.split(/\r?\n/)) {
        if (line.startsWith('event:')) event = line.slice(6).trim();
        else if (line.startsWith('data:')) data.push(line.slice(5).replace(/^ /, ''));
      }
      if (data.length === 0) continue; // comments (keep-alive), ids only
      const problems = checkStatusEvent(match, { event, data: data.join('\n') });
      if (problems.length) controller.error(violation(method, url, status, problems, data.join('\n'), keep));
    }
  };
  return body.pipeThrough(
    new TransformStream<Uint8Array, Uint8Array>({
      transform(chunk, controller) {
        buffer += decoder.decode(chunk, { stream: true });
        checkBlocks(controller, false);
        controller.enqueue(chunk);
      },
      flush(controller) {
        buffer += decoder.decode();
        if (buffer.trim() !== '') checkBlocks(controller, true);
      },
    }),
  );
}

export type AppFetch = (req: Request) => Promise<Response>;

/**
 * Wraps the in-process fetch of the app: every exchange is checked and recorded (see the module doc).
 * Returns the response the test reads (the same bytes; SSE bodies are checked as they are read).
 */
export function contractFetch(inner: AppFetch, options: { record?: boolean } = {}): (input: Request | string, init?: RequestInit) => Promise<Response> {
  const keep = options.record ?? true;
  const note = (r: ContractRecord) => keep && record(r);
  return async (input, init) => {
    const original = new Request(input, init);
    const url = new URL(original.url);
    const method = original.method.toUpperCase();
    if (isOutsideContract(method, url.pathname)) return inner(original);

    const headers = new Headers(original.headers);
    const marker = headers.get(INVALID_REQUEST_HEADER);
    headers.delete(INVALID_REQUEST_HEADER);
    const hasBody = method !== 'GET' && method !== 'HEAD' && original.body !== null;
    const bytes = hasBody ? new Uint8Array(await original.arrayBuffer()) : null;
    const request = new Request(original.url, { method, headers, body: bytes, signal: original.signal });
    const bodyText = bytes ? new TextDecoder().decode(bytes) : null;

    const { match, problems: requestProblems } = checkRequest({ method, url: original.url, headers, body: bodyText });
    const res = await inner(request);
    const test = currentTest();

    if (!match) {
      // Not an operation of the spec: the answer must still be the error envelope, with 404 or 405.
      const body = await res.clone().text();
      const problems: string[] = [];
      if (res.status !== 404 && res.status !== 405) problems.push(`unknown route answered ${res.status} (expected 404 or 405)`);
      let json: unknown;
      try {
        json = JSON.parse(body);
      } catch {
        problems.push('unknown route answered without a JSON body');
      }
      if (json !== undefined) problems.push(...schemaProblems(contractSpecs().docs['v1.1'].components.schemas.Error, json, 'error envelope'));
      note({ kind: 'unmatched', test, method, path: url.pathname, status: res.status });
      if (problems.length) throw violation(method, url, res.status, problems, body, keep);
      return res;
    }

    if (requestProblems.length > 0 || marker !== null) {
      note({ kind: 'request', test, deliberate: marker !== null, method, url: shown(url), status: res.status, problems: requestProblems });
    }
    note({
      kind: 'hit',
      method,
      path: match.route.path,
      status: res.status,
      ops: CONTRACT_VERSIONS.flatMap((v) => (match.route.ops[v] ? [`${v} ${match.route.ops[v].operationId}`] : [])),
    });

    const isStream = mediaType(res.headers.get('content-type')) === 'text/event-stream';
    const body = isStream || method === 'HEAD' ? '' : await res.clone().text();
    // A stream's events are checked as the test reads them (below); here its status and headers.
    const problems = checkResponse(match, { status: res.status, headers: res.headers, body, head: method === 'HEAD', query: new URL(url).searchParams });
    if (problems.length) throw violation(method, url, res.status, problems, body, keep);
    if (isStream && res.body) {
      return new Response(checkedEventStream(res.body, match, method, url, res.status, keep), { status: res.status, statusText: res.statusText, headers: res.headers });
    }
    return res;
  };
}
