/**
 * The specs the contract check reads: each version's bundled backend document
 * (server/generated/{v1.0,v1.1}/backend.openapi.json, dereferenced by scripts/spec.ts), its
 * operations, and the route a request's method and path name.
 */
import { dereference, type OpenApiDoc, operationsOf, type SpecOperation } from '../../../scripts/spec.js';

export const CONTRACT_VERSIONS = ['v1.0', 'v1.1'] as const;
export type ContractVersion = (typeof CONTRACT_VERSIONS)[number];

export interface ContractOperation extends SpecOperation {
  version: ContractVersion;
}

export interface Route {
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

/** The media type of a Content-Type header, without its parameters, lower-cased. */
export const mediaType = (header: string | null | undefined) => (header ?? '').split(';')[0]!.trim().toLowerCase();
