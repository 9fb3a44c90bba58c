/**
 * The specs of `openapi/` and their bundles, shared by the generator, the spec lint and the tests.
 *
 * Each version's document (`openapi/<version>/<api>.yaml`) holds what makes that version and refers to
 * `openapi/shared/` for the rest (see openapi/README.md). `bundleSpec` turns it into one document with
 * @redocly/openapi-core; `npm run gen` writes that to `server/generated/<version>/<api>.openapi.json`,
 * which is what the server serves, what Spectral lints and what the tests read (`loadBundle`,
 * `dereference`). A bundle has only local refs (`#/components/...`).
 */
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const VERSIONS = ['v1.0', 'v1.1'] as const;
export const APIS = ['backend', 'ml-server'] as const;
export type SpecVersion = (typeof VERSIONS)[number];
export type SpecApi = (typeof APIS)[number];

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type JsonSchema = Record<string, any>;
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type OpenApiDoc = Record<string, any>;

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
export const openapiDir = join(root, 'openapi');

/** The source document of a version's API, the bundler's entry point. */
export function specPath(version: SpecVersion, api: SpecApi): string {
  return join(openapiDir, version, `${api}.yaml`);
}

/** Where `npm run gen` writes the bundled document, relative to the repository root. */
export function bundleFile(version: SpecVersion, api: SpecApi): string {
  return `server/generated/${version}/${api}.openapi.json`;
}

/**
 * The version's document as one file: every ref into `openapi/shared/` becomes a component of the
 * bundle, named by the last segment of its pointer, in place of the version's `components` entry
 * that refers to it (so the components keep the order the version file lists them in).
 * Any problem the bundler reports (an unresolvable ref, two components renamed apart) fails.
 */
export async function bundleSpec(version: SpecVersion, api: SpecApi): Promise<OpenApiDoc> {
  // Loaded here, not at the top: the tests import this module only to read bundles, in every worker.
  const { bundle, createConfig } = await import('@redocly/openapi-core');
  const config = await createConfig({});
  const { bundle: doc, problems } = await bundle({ ref: specPath(version, api), config, dereference: false });
  if (problems.length > 0) {
    const where = (p: (typeof problems)[number]) => p.location.map((l) => `${l.source.absoluteRef}${l.pointer ?? ''}`).join(', ');
    throw new Error(`Bundling ${version}/${api}.yaml:\n  ${problems.map((p) => `${p.message} (${where(p)})`).join('\n  ')}`);
  }
  return doc.parsed as OpenApiDoc;
}

/** The bundled document as committed by `npm run gen`. */
export function loadBundle(version: SpecVersion, api: SpecApi): OpenApiDoc {
  return JSON.parse(readFileSync(join(root, bundleFile(version, api)), 'utf8')) as OpenApiDoc;
}

/** The node a local ref (`#/components/schemas/Error`) of a bundled document points to. */
export function pointerTarget(doc: OpenApiDoc, ref: string): unknown {
  if (!ref.startsWith('#/')) throw new Error(`Only local refs are expected in a bundle, got ${ref}`);
  let node: unknown = doc;
  // A URI fragment holding a JSON pointer (RFC 6901): percent-encoded, with `~1` for `/` and `~0` for `~`.
  for (const key of ref.slice(2).split('/').map((k) => decodeURIComponent(k).replace(/~1/g, '/').replace(/~0/g, '~'))) {
    node = (node as Record<string, unknown> | undefined)?.[key];
    if (node === undefined) throw new Error(`Unresolvable $ref ${ref}`);
  }
  return node;
}

/**
 * The bundled document with every `$ref` replaced by what it points to; the specs have no recursive
 * schemas, so this terminates. Each call returns a fresh copy the caller may change.
 */
export function dereference(version: SpecVersion, api: SpecApi): OpenApiDoc {
  const doc = loadBundle(version, api);
  const inline = (node: unknown, depth: number): unknown => {
    if (depth > 64) throw new Error('Recursive $ref');
    if (Array.isArray(node)) return node.map((n) => inline(n, depth + 1));
    if (node === null || typeof node !== 'object') return node;
    const obj = node as Record<string, unknown>;
    if (typeof obj.$ref === 'string') return inline(pointerTarget(doc, obj.$ref), depth + 1);
    return Object.fromEntries(Object.entries(obj).map(([k, v]) => [k, inline(v, depth + 1)]));
  };
  return inline(doc, 0) as OpenApiDoc;
}

export const HTTP_METHODS = ['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace'] as const;

export interface SpecOperation {
  operationId: string;
  method: (typeof HTTP_METHODS)[number];
  path: string;
  operation: OpenApiDoc;
}

/** Every operation of a (dereferenced) spec, in document order. */
export function operationsOf(doc: OpenApiDoc): SpecOperation[] {
  const ops: SpecOperation[] = [];
  for (const [path, item] of Object.entries<OpenApiDoc>(doc.paths ?? {})) {
    for (const method of HTTP_METHODS) {
      const operation = item[method];
      if (operation) ops.push({ operationId: operation.operationId, method, path, operation });
    }
  }
  return ops;
}
