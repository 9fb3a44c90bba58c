/** Loading the YAML specs of `openapi/`, shared by the generator, the spec lint and the tests. */
import { readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';

export const VERSIONS = ['v1.0', 'v1.1'] as const;
export const APIS = ['backend', 'ml-server'] as const;
export type SpecVersion = (typeof VERSIONS)[number];
export type SpecApi = (typeof APIS)[number];

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type JsonSchema = Record<string, any>;
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type OpenApiDoc = Record<string, any>;

export const openapiDir = join(dirname(fileURLToPath(import.meta.url)), '..', 'openapi');

export function specPath(version: SpecVersion | string, api: SpecApi | string): string {
  return join(openapiDir, version, `${api}.yaml`);
}

function readYaml(path: string): OpenApiDoc {
  // YAML anchors (`&fields` / `*fields`) are expanded here; the result is plain JSON data.
  return parse(readFileSync(path, 'utf8'), { maxAliasCount: -1 }) as OpenApiDoc;
}

/** The spec as written (local `$ref`s kept). */
export async function loadSpec(version: SpecVersion | string, api: SpecApi | string): Promise<OpenApiDoc> {
  return readYaml(specPath(version, api));
}

function pointer(doc: OpenApiDoc, ref: string): unknown {
  let node: unknown = doc;
  for (const raw of ref.replace(/^#\/?/, '').split('/')) {
    if (raw === '') continue;
    const key = raw.replace(/~1/g, '/').replace(/~0/g, '~');
    node = (node as Record<string, unknown>)[key];
    if (node === undefined) throw new Error(`Unresolvable $ref ${ref}`);
  }
  return node;
}

/**
 * The spec with every `$ref` replaced by what it points to, including refs into sibling files
 * (`./backend.yaml#/components/...`). The specs have no recursive schemas, so this terminates.
 */
export function dereference(version: SpecVersion | string, api: SpecApi | string): OpenApiDoc {
  const cache = new Map<string, OpenApiDoc>();
  const load = (path: string): OpenApiDoc => {
    let doc = cache.get(path);
    if (!doc) {
      doc = readYaml(path);
      cache.set(path, doc);
    }
    return doc;
  };
  const walk = (node: unknown, file: string, depth: number): unknown => {
    if (depth > 64) throw new Error('Recursive $ref');
    if (Array.isArray(node)) return node.map((n) => walk(n, file, depth + 1));
    if (node === null || typeof node !== 'object') return node;
    const obj = node as Record<string, unknown>;
    if (typeof obj.$ref === 'string') {
      const [filePart, frag = ''] = obj.$ref.split('#');
      const target = filePart ? resolve(dirname(file), filePart) : file;
      return walk(pointer(load(target), frag), target, depth + 1);
    }
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(obj)) out[k] = walk(v, file, depth + 1);
    return out;
  };
  const path = specPath(version, api);
  return walk(load(path), path, 0) as OpenApiDoc;
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
