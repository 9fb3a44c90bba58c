/**
 * Request generation from the specs, for the generated invalid- and valid-request suites: fast-check
 * arbitraries derived from JSON Schemas, and mutations that break them.
 *
 * Runs use a fixed seed (CONTRACT_SEED, default below); a failure reports the seed and the
 * counterexample, and `CONTRACT_SEED=<seed> npx vitest run <file>` replays it.
 */
import fc from 'fast-check';
import type { JsonSchema } from '../../scripts/spec.js';
import { schemaProblems } from '../support/contract.js';

export const SEED = Number(process.env.CONTRACT_SEED ?? 20250911);

/** Runs an async property with the run's seed (plus `offset`, one per property); throws with the seed on failure. */
export async function property<T>(name: string, arb: fc.Arbitrary<T>, numRuns: number, offset: number, predicate: (v: T) => Promise<void>): Promise<number> {
  const seed = SEED + offset;
  let ran = 0;
  const details = await fc.check(
    fc.asyncProperty(arb, async (v) => {
      await predicate(v);
      ran += 1;
    }),
    { seed, numRuns, endOnFailure: false, maxSkipsPerRun: 20 },
  );
  if (details.failed) {
    const cause = details.errorInstance instanceof Error ? details.errorInstance.message : String(details.errorInstance);
    throw new Error(`${name} failed (seed ${seed}; replay with CONTRACT_SEED=${SEED}):\n${fc.defaultReportMessage(details)}\n${cause}`);
  }
  return ran;
}

// ---------------------------------------------------------------------------------------------
// Values

/** Strings with the characters real clients send: ASCII, Korean, emoji, quotes, escapes, whitespace. */
const EDGE_STRINGS = ['안녕하세요', '😀 🎬', 'ünïcödé', '"quoted" \\ back', '<b>tag</b>', ' padded ', 'tab\there', 'line\nbreak', '\\uc548\\ub155', 'x'];

export function text(minLength = 0, maxLength = 40): fc.Arbitrary<string> {
  const max = Math.max(minLength, Math.min(maxLength, 60));
  return fc.oneof(
    { weight: 4, arbitrary: fc.string({ unit: 'grapheme-ascii', minLength, maxLength: max }) },
    { weight: 3, arbitrary: fc.string({ unit: 'grapheme', minLength, maxLength: max }) },
    { weight: 1, arbitrary: fc.constantFrom(...EDGE_STRINGS).filter((s) => [...s].length >= minLength && [...s].length <= maxLength) },
  );
}

const typesOf = (s: JsonSchema): string[] => (Array.isArray(s.type) ? s.type : s.type ? [s.type] : []);

/** A value valid for `schema` (the generators cover the keywords the specs use). */
export function valueOf(schema: JsonSchema, depth = 0): fc.Arbitrary<unknown> {
  if (schema.const !== undefined) return fc.constant(schema.const);
  if (Array.isArray(schema.enum)) return fc.constantFrom(...(schema.enum as unknown[]));
  const union = (schema.oneOf ?? schema.anyOf) as JsonSchema[] | undefined;
  if (union) return fc.oneof(...union.map((b) => valueOf({ ...schema, oneOf: undefined, anyOf: undefined, ...b }, depth)));
  const types = typesOf(schema);
  if (types.length > 1) return fc.oneof(...types.map((t) => valueOf({ ...schema, type: t }, depth)));
  switch (types[0]) {
    case 'null':
      return fc.constant(null);
    case 'boolean':
      return fc.boolean();
    case 'integer': {
      const min = Math.max(schema.minimum ?? -1e6, Number.MIN_SAFE_INTEGER);
      const max = Math.min(schema.maximum ?? 1e6, Number.MAX_SAFE_INTEGER);
      return fc.oneof(fc.integer({ min, max: Math.min(max, min + 1000) }), fc.constantFrom(min, max), fc.maxSafeNat().map((n) => min + (n % (max - min + 1))));
    }
    case 'number':
      return fc.double({ min: schema.minimum ?? -1e6, max: schema.maximum ?? 1e6, noNaN: true, noDefaultInfinity: true });
    case 'string': {
      if (schema.format === 'uuid') return fc.uuid();
      if (schema.format === 'date-time') return fc.date({ min: new Date('2000-01-01'), max: new Date('2100-01-01'), noInvalidDate: true }).map((d) => d.toISOString());
      if (schema.format === 'uri') return fc.webUrl();
      if (schema.pattern) return fc.stringMatching(new RegExp(schema.pattern), { size: 'small' }).filter((s) => s.length >= (schema.minLength ?? 0) && s.length <= (schema.maxLength ?? Infinity));
      return text(schema.minLength ?? 0, schema.maxLength ?? 40).filter((s) => [...s].length <= (schema.maxLength ?? Infinity));
    }
    case 'array': {
      const items = (schema.items ?? {}) as JsonSchema;
      return fc.array(valueOf(items, depth + 1), { minLength: schema.minItems ?? 0, maxLength: depth > 3 ? 0 : Math.min(schema.maxItems ?? 3, 3) });
    }
    case 'object':
    default: {
      const props = (schema.properties ?? {}) as Record<string, JsonSchema>;
      const required = new Set<string>(schema.required ?? []);
      const keys = Object.keys(props).filter((k) => required.has(k) || depth < 4);
      const model = Object.fromEntries(keys.map((k) => [k, valueOf(props[k]!, depth + 1)]));
      const base = fc.record(model, { requiredKeys: keys.filter((k) => required.has(k)) });
      if (types[0] !== 'object' && keys.length === 0) return fc.jsonValue({ maxDepth: 2 });
      if (schema.additionalProperties === false || schema.additionalProperties === undefined) return base;
      // Unknown extra fields are allowed by these schemas: add a few.
      return fc.tuple(base, fc.dictionary(fc.string({ unit: 'grapheme-ascii', minLength: 1, maxLength: 8 }).map((k) => `x_${k}`), fc.jsonValue({ maxDepth: 1 }), { maxKeys: 2 })).map(([b, extra]) => ({ ...extra, ...b }));
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Mutations (invalid values)

type Path = Array<string | number>;

interface Slot {
  path: Path;
  schema: JsonSchema;
}

/** The branch of a union that `value` satisfies (or the schema itself). */
function effective(schema: JsonSchema, value: unknown): JsonSchema {
  const union = (schema.oneOf ?? schema.anyOf) as JsonSchema[] | undefined;
  if (!union) return schema;
  return union.find((b) => schemaProblems(b, value).length === 0) ?? union[0]!;
}

/** Every property and array element of `value`, with the schema that governs it. */
export function slotsOf(schema: JsonSchema, value: unknown, path: Path = []): Slot[] {
  const eff = effective(schema, value);
  const out: Slot[] = [];
  if (Array.isArray(value) && eff.items) {
    value.slice(0, 2).forEach((v, i) => {
      out.push({ path: [...path, i], schema: eff.items as JsonSchema });
      out.push(...slotsOf(eff.items as JsonSchema, v, [...path, i]));
    });
  } else if (value && typeof value === 'object' && eff.properties) {
    for (const [k, v] of Object.entries(value as Record<string, unknown>)) {
      const p = (eff.properties as Record<string, JsonSchema>)[k];
      if (!p) continue;
      out.push({ path: [...path, k], schema: p });
      out.push(...slotsOf(p, v, [...path, k]));
    }
  }
  return out;
}

/** Required keys of `value`'s object nodes (all union branches' `required` count). */
export function requiredSlots(schema: JsonSchema, value: unknown, path: Path = []): Path[] {
  const out: Path[] = [];
  const union = ((schema.oneOf ?? schema.anyOf) as JsonSchema[] | undefined) ?? [schema];
  if (value && typeof value === 'object' && !Array.isArray(value)) {
    const req = new Set<string>([...((schema.required as string[]) ?? []), ...union.flatMap((b) => (b.required as string[]) ?? [])]);
    for (const k of req) if (k in (value)) out.push([...path, k]);
  }
  for (const slot of slotsOf(schema, value, path)) {
    if (slot.path.length === path.length + 1) out.push(...requiredSlots(slot.schema, getAt(value, slot.path.slice(path.length)), slot.path));
  }
  return out;
}

function getAt(value: unknown, path: Path): unknown {
  return path.reduce<unknown>((v, k) => (v as Record<string | number, unknown> | undefined)?.[k], value);
}

export function setAt<T>(value: T, path: Path, next: unknown, remove = false): T {
  const copy = structuredClone(value) as unknown;
  if (path.length === 0) return next as T;
  const parent = getAt(copy, path.slice(0, -1)) as Record<string | number, unknown>;
  const last = path.at(-1)!;
  if (remove) {
    if (Array.isArray(parent)) parent.splice(Number(last), 1);
    else delete parent[last];
  } else parent[last] = next;
  return copy as T;
}

function allowedTypes(schema: JsonSchema): Set<string> | undefined {
  const union = (schema.oneOf ?? schema.anyOf) as JsonSchema[] | undefined;
  const parts = union ? union.map(allowedTypes) : [new Set(typesOf(schema))];
  if (parts.some((p) => p === undefined || p.size === 0)) return undefined; // unconstrained somewhere
  const all = new Set<string>();
  for (const p of parts) for (const t of p!) all.add(t);
  if (all.has('number')) all.add('integer');
  return all;
}

const SAMPLES: Record<string, fc.Arbitrary<unknown>> = {
  string: text(0, 12),
  integer: fc.integer({ min: -1000, max: 1000 }),
  number: fc.double({ min: -1000, max: 1000, noNaN: true, noInteger: true }),
  boolean: fc.boolean(),
  null: fc.constant(null),
  array: fc.array(fc.integer(), { maxLength: 2 }),
  object: fc.dictionary(fc.constantFrom('a', 'b', 'speaker_id'), fc.integer(), { maxKeys: 2 }),
};

export interface Mutation {
  kind: string;
  note: string;
  value: unknown;
}

/** Values for one slot that its schema forbids: wrong types, out-of-range numbers, unknown enum values, strings too long or short. */
export function badValues(schema: JsonSchema): Array<fc.Arbitrary<Omit<Mutation, 'value'> & { value: unknown }>> {
  const out: Array<fc.Arbitrary<Mutation>> = [];
  const allowed = allowedTypes(schema);
  if (allowed) {
    const wrong = Object.keys(SAMPLES).filter((t) => !allowed.has(t));
    if (wrong.length) out.push(fc.constantFrom(...wrong).chain((t) => SAMPLES[t]!.map((value) => ({ kind: 'wrong type', note: `${t} where ${[...allowed].join('|')} is expected`, value }))));
  }
  const scalar = ((schema.oneOf ?? schema.anyOf) as JsonSchema[] | undefined)?.find((b) => b.type !== 'null') ?? schema;
  const t = typesOf(scalar).filter((x) => x !== 'null');
  if (t.includes('integer') || t.includes('number')) {
    if (typeof scalar.minimum === 'number') out.push(fc.integer({ min: 1, max: 1_000_000 }).map((d) => ({ kind: 'out of range', note: `below minimum ${scalar.minimum}`, value: scalar.minimum - d })));
    if (typeof scalar.maximum === 'number') out.push(fc.integer({ min: 1, max: 1_000_000 }).map((d) => ({ kind: 'out of range', note: `above maximum ${scalar.maximum}`, value: scalar.maximum + d })));
    if (t.includes('integer') && !t.includes('number')) out.push(fc.double({ min: 0, max: 100, noNaN: true, noInteger: true }).map((value) => ({ kind: 'wrong type', note: 'a fraction where an integer is expected', value })));
  }
  if (Array.isArray(scalar.enum)) out.push(text(0, 12).filter((s) => !scalar.enum.includes(s)).map((value) => ({ kind: 'unknown enum value', note: `not one of ${scalar.enum.join(', ')}`, value })));
  if (t.includes('string')) {
    if (typeof scalar.maxLength === 'number') {
      const m = scalar.maxLength;
      out.push(fc.integer({ min: m + 1, max: m + Math.max(64, m) }).chain((n) => fc.constantFrom('x', 'é', '가').map((c) => ({ kind: 'oversized string', note: `${n} characters, maximum ${m}`, value: c.repeat(n) }))));
    }
    if (typeof scalar.minLength === 'number' && scalar.minLength > 0) out.push(fc.constant({ kind: 'undersized string', note: `shorter than ${scalar.minLength}`, value: 'x'.repeat(scalar.minLength - 1) }));
  }
  return out;
}

/** Invalid variants of a valid JSON value: each required field missing, each slot given a forbidden value. */
export function invalidBodies(schema: JsonSchema, valid: unknown): fc.Arbitrary<Mutation> {
  const options: Array<fc.Arbitrary<Mutation>> = [];
  const missing = requiredSlots(schema, valid);
  if (missing.length) options.push(fc.constantFrom(...missing).map((path) => ({ kind: 'required field missing', note: path.join('.'), value: setAt(valid, path, undefined, true) })));
  for (const slot of slotsOf(schema, valid)) {
    for (const bad of badValues(slot.schema)) options.push(bad.map((m) => ({ ...m, note: `${slot.path.join('.')}: ${m.note}`, value: setAt(valid, slot.path, m.value) })));
  }
  for (const bad of badValues(schema)) options.push(bad.map((m) => ({ ...m, note: `body: ${m.note}`, value: m.value })));
  return fc.oneof(...options);
}

/** Raw bodies that are not the JSON the operation takes: malformed, empty, or sent with another content type. */
export function brokenBodies(valid: unknown): fc.Arbitrary<{ kind: string; note: string; body: string; contentType: string }> {
  const json = JSON.stringify(valid);
  return fc.oneof(
    fc.integer({ min: 1, max: Math.max(1, json.length - 1) }).map((n) => ({ kind: 'malformed JSON', note: `truncated at ${n}`, body: json.slice(0, n), contentType: 'application/json' })),
    fc.constantFrom("{'single': 'quotes'}", '{"a":1,}', 'undefined', '{"a": NaN}', '[1, 2', '\u0000', 'not json at all').map((body) => ({ kind: 'malformed JSON', note: JSON.stringify(body), body, contentType: 'application/json' })),
    fc.constantFrom('text/plain', 'application/x-www-form-urlencoded', 'multipart/form-data; boundary=xyz', 'application/xml', 'text/html', 'application/octet-stream').map((contentType) => ({ kind: 'wrong content type', note: contentType, body: json, contentType })),
    fc.constant({ kind: 'empty body', note: '', body: '', contentType: 'application/json' }),
  );
}

/** Strings for a parameter that its schema forbids. */
export function badParams(schema: JsonSchema): fc.Arbitrary<{ kind: string; note: string; value: string }> {
  const options: Array<fc.Arbitrary<{ kind: string; note: string; value: string }>> = [];
  if (schema.format === 'uuid') {
    options.push(fc.uuid().chain((u) => fc.constantFrom(u.replace(/-/g, ''), `${u}x`, u.slice(1), u.replace(/[0-9a-f]/, 'g'), `{${u}}`)).map((value) => ({ kind: 'invalid path parameter', note: `near-uuid ${value}`, value })));
    options.push(fc.string({ unit: 'grapheme', minLength: 1, maxLength: 40 }).map((value) => ({ kind: 'invalid path parameter', note: 'not a uuid', value })));
  }
  if (schema.pattern) options.push(fc.tuple(fc.string({ unit: 'grapheme-ascii', minLength: 8, maxLength: 30 }), fc.constantFrom('.', '~', '!', '*', "'", '+', ' ', '가', '%')).map(([s, c]) => ({ kind: 'pattern mismatch', note: `contains ${c}`, value: `${s}${c}${s}` })));
  for (const bad of badValues(schema)) {
    options.push(bad.filter((m) => m.value !== null && typeof m.value !== 'object').map((m) => ({ kind: m.kind, note: m.note, value: String(m.value) })));
  }
  if (typesOf(schema).includes('integer')) options.push(fc.constantFrom('abc', '1e400', '', ' ', '0x10', '--1').map((value) => ({ kind: 'wrong type', note: `"${value}" is not an integer`, value })));
  return fc.oneof(...options);
}
