/**
 * The checks of one exchange against the specs: a request against the operation it matches, a
 * response (status, headers, body) against every version that has the operation, and each event
 * of a job's status stream.
 */
import type { JsonSchema } from '../../../scripts/spec.js';
import { CONTRACT_VERSIONS, type ContractOperation, contractSpecs, matchRoute, mediaType, type RouteMatch } from './spec.js';
import { paramProblems, schemaProblems } from './validate.js';

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
