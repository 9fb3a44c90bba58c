/**
 * Turns a backend spec into TypeScript source: one zod schema per component schema and one
 * `createRoute` per operation, named by operationId, for @hono/zod-openapi.
 *
 * It covers the JSON Schema subset the specs use and throws on anything else, so a spec change the
 * generator cannot express fails `npm run gen` instead of producing a looser schema.
 */
import { type JsonSchema, type OpenApiDoc,operationsOf, pointerTarget } from './spec.js';

const KNOWN_KEYWORDS = new Set([
  'type', 'properties', 'required', 'additionalProperties', 'items', 'enum', 'const', 'minimum', 'maximum',
  'minLength', 'maxLength', 'pattern', 'format', 'default', 'oneOf', 'anyOf', '$ref', 'description', 'title',
  'example', 'examples', 'minItems', 'maxItems', 'maxProperties',
]);

const ident = (name: string) => name.replace(/[^A-Za-z0-9_$]/g, '_');
const lit = (v: unknown) => JSON.stringify(v);
/** `JobStatus` -> `JobStatusSchema` (the type keeps the plain name); avoids shadowing globals such as `Error`. */
const schemaIdent = (name: string) => `${ident(name)}Schema`;

function refName(ref: string): string {
  const m = /^#\/components\/schemas\/(.+)$/.exec(ref);
  if (!m?.[1]) throw new Error(`Only refs to #/components/schemas are supported in schemas, got ${ref}`);
  return m[1];
}

type Where = 'body' | 'response' | 'param';

class ZodWriter {
  constructor(private readonly doc: OpenApiDoc) {}

  /** A parameter, request body or response given by ref, as the component it names. */
  resolve<T = JsonSchema>(node: JsonSchema): T {
    return typeof node.$ref === 'string' ? this.resolve(pointerTarget(this.doc, node.$ref) as JsonSchema) : (node as T);
  }

  /** zod source for a schema. `where` decides coercion (params arrive as strings). */
  schema(s: JsonSchema, where: Where): string {
    for (const key of Object.keys(s)) {
      if (!KNOWN_KEYWORDS.has(key) && !key.startsWith('x-')) throw new Error(`Unsupported keyword "${key}" in ${lit(s).slice(0, 120)}`);
    }
    if (s.$ref) return schemaIdent(refName(s.$ref));
    const variants = (s.oneOf ?? s.anyOf) as JsonSchema[] | undefined;
    if (variants) {
      const nonNull = variants.filter((v) => v.type !== 'null');
      const nullable = nonNull.length < variants.length;
      const inner = nonNull.length === 1 ? this.schema(nonNull[0]!, where) : `z.union([${nonNull.map((v) => this.schema(v, where)).join(', ')}])`;
      return nullable ? `${inner}.nullable()` : inner;
    }
    const types: string[] = Array.isArray(s.type) ? s.type : s.type ? [s.type] : [];
    const nullable = types.includes('null');
    const nonNull = types.filter((t) => t !== 'null');
    if (nonNull.length !== 1) throw new Error(`Schemas need exactly one non-null type: ${lit(s).slice(0, 120)}`);
    let out = this.single(nonNull[0]!, s, where);
    if (nullable) out += '.nullable()';
    return out;
  }

  private single(type: string, s: JsonSchema, where: Where): string {
    if (s.const !== undefined) return `z.literal(${lit(s.const)})`;
    if (s.enum) {
      if (type !== 'string') throw new Error('Only string enums are supported');
      return `z.enum(${lit(s.enum)})`;
    }
    switch (type) {
      case 'string': {
        let out: string;
        switch (s.format) {
          case 'uuid': return 'z.uuid()';
          case 'date-time': out = 'z.iso.datetime({ offset: true })'; break;
          case 'uri': out = 'z.url()'; break;
          case undefined: out = 'z.string()'; break;
          default: throw new Error(`Unsupported string format ${s.format}`);
        }
        if (s.minLength !== undefined) out += `.min(${s.minLength})`;
        if (s.maxLength !== undefined) out += `.max(${s.maxLength})`;
        if (s.pattern !== undefined) out += `.regex(new RegExp(${lit(s.pattern)}))`;
        return out;
      }
      case 'integer':
      case 'number': {
        let out = where === 'param' ? 'z.coerce.number()' : 'z.number()';
        if (type === 'integer') out += '.int()';
        if (s.minimum !== undefined) out += `.min(${s.minimum})`;
        if (s.maximum !== undefined) out += `.max(${s.maximum})`;
        if (where === 'param') {
          // Parameters arrive as strings; an empty one is not a number (coercion alone would make it 0).
          // The metadata documents the plain number (coercion would otherwise be documented as nullable).
          const meta = { type, ...(s.minimum !== undefined ? { minimum: s.minimum } : {}), ...(s.maximum !== undefined ? { maximum: s.maximum } : {}), ...(s.default !== undefined ? { default: s.default } : {}) };
          out = `z.preprocess((v) => (v === '' ? Number.NaN : v), ${out}).openapi(${lit(meta)})`;
        }
        return out;
      }
      case 'boolean':
        // A parameter arrives as a string (`true`, `false`, ...); the metadata documents the boolean.
        // Only the two JSON spellings, as the spec's boolean has: `yes` or `1` is refused, not guessed.
        return where === 'param' ? `z.stringbool({ truthy: ['true'], falsy: ['false'], case: 'sensitive' }).openapi(${lit({ type: 'boolean', ...(s.default !== undefined ? { default: s.default } : {}) })})` : 'z.boolean()';
      case 'array': {
        let out = `z.array(${s.items ? this.schema(s.items, where) : 'z.unknown()'})`;
        if (s.minItems !== undefined) out += `.min(${s.minItems})`;
        if (s.maxItems !== undefined) out += `.max(${s.maxItems})`;
        return out;
      }
      case 'object':
        return this.object(s, where);
      default:
        throw new Error(`Unsupported type ${type}`);
    }
  }

  object(s: JsonSchema, where: Where, keyCase: (k: string) => string = (k) => k): string {
    const required = new Set<string>(s.required ?? []);
    const fields = Object.entries<JsonSchema>(s.properties ?? {}).map(([key, prop]) => {
      let value = this.schema(prop, where);
      if (prop.default !== undefined) value += `.default(${lit(prop.default)})`;
      else if (!required.has(key)) value += '.optional()';
      return `${lit(keyCase(key))}: ${value}`;
    });
    const body = `{ ${fields.join(', ')} }`;
    const ap = s.additionalProperties;
    let out = `z.object(${body})`;
    if (ap === true) out = `z.looseObject(${body})`;
    else if (ap === false) out = `z.strictObject(${body})`;
    else if (ap && typeof ap === 'object') out = `z.object(${body}).catchall(${this.schema(ap, where)})`;
    if (s.maxProperties !== undefined) {
      out += `.refine((o) => Object.keys(o).length <= ${s.maxProperties}, { message: 'Too many properties (at most ${s.maxProperties}).' })`;
    }
    return out;
  }
}

function schemaOrder(schemas: Record<string, JsonSchema>): string[] {
  const deps = (node: unknown, acc: Set<string>): Set<string> => {
    if (Array.isArray(node)) node.forEach((n) => deps(n, acc));
    else if (node && typeof node === 'object') {
      for (const [k, v] of Object.entries(node)) {
        if (k === '$ref' && typeof v === 'string') acc.add(refName(v));
        else deps(v, acc);
      }
    }
    return acc;
  };
  const done: string[] = [];
  const visiting = new Set<string>();
  const visit = (name: string) => {
    if (done.includes(name)) return;
    if (visiting.has(name)) throw new Error(`Recursive schema ${name} is not supported`);
    visiting.add(name);
    for (const d of deps(schemas[name], new Set())) visit(d);
    visiting.delete(name);
    done.push(name);
  };
  Object.keys(schemas).forEach(visit);
  return done;
}

/** Source of `server/generated/<version>/routes.ts` for one bundled backend spec. */
export function generateRoutes(doc: OpenApiDoc): string {
  const w = new ZodWriter(doc);
  const schemas: Record<string, JsonSchema> = doc.components?.schemas ?? {};
  const lines: string[] = [
    `import { createRoute, z } from '@hono/zod-openapi';`,
    '',
    `/** The spec version these routes implement. */`,
    `export const specVersion = ${lit(doc.info.version)};`,
    '',
    '// Component schemas',
  ];
  for (const name of schemaOrder(schemas)) {
    lines.push(`export const ${schemaIdent(name)} = ${w.schema(schemas[name]!, 'body')}.openapi(${lit(name)});`);
    lines.push(`export type ${ident(name)} = z.infer<typeof ${schemaIdent(name)}>;`);
  }
  lines.push('', '// Operations, named by operationId');
  const meta: string[] = [];
  for (const { operationId, method, path, operation } of operationsOf(doc)) {
    const params = [...(doc.paths[path].parameters ?? []), ...(operation.parameters ?? [])].map((p: JsonSchema) => w.resolve(p));
    const request: string[] = [];
    for (const location of ['path', 'query', 'header'] as const) {
      const ps = params.filter((p) => p.in === location);
      if (ps.length === 0) continue;
      const obj = {
        type: 'object',
        properties: Object.fromEntries(ps.map((p) => [p.name, p.schema])),
        required: ps.filter((p) => p.required).map((p) => p.name),
      };
      // Hono hands header names to validators in lower case.
      const src = w.object(obj, 'param', location === 'header' ? (k) => k.toLowerCase() : undefined);
      request.push(`${location === 'path' ? 'params' : location === 'query' ? 'query' : 'headers'}: ${src}`);
    }
    let jsonBody = false;
    if (operation.requestBody) {
      const rb = w.resolve(operation.requestBody);
      const content = Object.entries<JsonSchema>(rb.content ?? {});
      const entries = content.map(([type, media]) => {
        if (type === 'application/json') jsonBody = true;
        return `${lit(type)}: { schema: ${w.schema(media.schema, 'body')} }`;
      });
      request.push(`body: { required: ${rb.required === true}, content: { ${entries.join(', ')} } }`);
    }
    const responses: string[] = [];
    for (const [status, raw] of Object.entries<JsonSchema>(operation.responses ?? {})) {
      const res = w.resolve(raw);
      const content = Object.entries<JsonSchema>(res.content ?? {}).map(
        ([type, media]) => `${lit(type)}: { schema: ${w.schema(media.schema ?? {}, 'response')} }`,
      );
      responses.push(
        `${/^\d{3}$/.test(status) ? status : lit(status)}: { description: ${lit(res.description ?? '')}${content.length ? `, content: { ${content.join(', ')} }` : ''} }`,
      );
    }
    lines.push(
      `export const ${ident(operationId)} = createRoute({`,
      `  operationId: ${lit(operationId)},`,
      `  method: ${lit(method)},`,
      `  path: ${lit(path)},`,
      ...(operation.tags ? [`  tags: ${lit(operation.tags)},`] : []),
      ...(operation.summary ? [`  summary: ${lit(operation.summary)},`] : []),
      ...(request.length ? [`  request: { ${request.join(', ')} },`] : []),
      `  responses: { ${responses.join(', ')} },`,
      `});`,
      '',
    );
    meta.push(`  { operationId: ${lit(operationId)}, method: ${lit(method)}, path: ${lit(path)}, jsonBody: ${jsonBody} },`);
  }
  lines.push(
    '/** Every operation of the spec, for middleware that needs to know routes by path (content type, body limits). */',
    'export const operations = [',
    ...meta,
    '] as const;',
    '',
  );
  return lines.join('\n');
}
