/**
 * Schema validation for the contract check: an independent JSON Schema validator (Ajv, draft
 * 2020-12, with the OpenAPI number formats), not the server's generated schemas.
 */
import type { ErrorObject, ValidateFunction } from 'ajv';
import _Ajv2020 from 'ajv/dist/2020.js';
import _addFormats from 'ajv-formats';
import type { JsonSchema } from '../../../scripts/spec.js';

// ajv and ajv-formats are CommonJS with `exports.default`; under NodeNext the default import is module.exports.
const Ajv2020 = _Ajv2020.default;
const addFormats = _addFormats.default;

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

/** Validates a parameter or header, which arrives as a string, against its schema (coercing it). */
export function paramProblems(schema: JsonSchema, raw: string, at: string): string[] {
  const v = validator(schema, true);
  const holder = { value: raw as unknown };
  return v(holder) ? [] : describeErrors(v.errors, at).map((p) => p.replace(`${at}/value`, at));
}
