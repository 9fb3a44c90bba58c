/**
 * The layout of openapi/ (openapi/README.md) holds: each version's file lists the components its
 * bundle publishes, in the bundle's order, and every definition in openapi/shared/ is referred to,
 * so none is dead text.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { loadBundle, openapiDir, type OpenApiDoc,specPath, VERSIONS } from '../../scripts/spec.js';

const readYaml = (path: string): OpenApiDoc => parse(readFileSync(path, 'utf8'), { maxAliasCount: -1 }) as OpenApiDoc;

const yamlFiles = (dir: string): string[] =>
  readdirSync(dir, { withFileTypes: true, recursive: true })
    .filter((e) => e.isFile() && e.name.endsWith('.yaml') && !e.name.startsWith('.'))
    .map((e) => join(e.parentPath, e.name));

/** Every `$ref` string in a parsed document. */
function refsIn(node: unknown, out: string[] = []): string[] {
  if (Array.isArray(node)) node.forEach((n) => refsIn(n, out));
  else if (node && typeof node === 'object') {
    for (const [k, v] of Object.entries(node)) {
      if (k === '$ref' && typeof v === 'string') out.push(v);
      else refsIn(v, out);
    }
  }
  return out;
}

/** `file#/Name` for a ref into another file of openapi/, relative to openapi/; null for a local ref. */
function target(fromFile: string, ref: string): string | null {
  const [file, pointer = ''] = ref.split('#');
  if (!file) return null;
  return `${relative(openapiDir, resolve(dirname(fromFile), file))}#${pointer}`;
}

describe('the layout of openapi/', () => {
  it.each(VERSIONS)('the %s backend file lists every component of its bundle, in the order of the bundle', (version) => {
    const listed = readYaml(specPath(version, 'backend')).components as Record<string, object>;
    const bundled = loadBundle(version, 'backend').components as Record<string, object>;
    expect(Object.keys(bundled)).toEqual(Object.keys(listed));
    for (const group of Object.keys(listed)) expect(Object.keys(bundled[group]!), group).toEqual(Object.keys(listed[group]!));
  });

  it('every definition in openapi/shared/ is referred to from a version or another shared file', () => {
    const referred = new Set(yamlFiles(openapiDir).flatMap((file) => refsIn(readYaml(file)).flatMap((ref) => target(file, ref) ?? [])));
    const defined = yamlFiles(join(openapiDir, 'shared')).flatMap((file) => Object.keys(readYaml(file)).map((name) => `${relative(openapiDir, file)}#/${name}`));
    expect(defined.length).toBeGreaterThan(50);
    expect(defined.filter((d) => !referred.has(d))).toEqual([]);
  });
});
