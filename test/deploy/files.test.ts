/**
 * Structural checks of the deployment files, because no Docker daemon runs where the tests run:
 * compose.yaml's environments name only variables the programs read, its URLs name its own
 * services, and the Dockerfile builds with the release script that test/release exercises. These
 * checks read the files; they do not build the image or start the services (docs/deploy.md).
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';

const root = join(import.meta.dirname, '..', '..');
const read = (path: string) => readFile(join(root, path), 'utf8');

interface Service {
  build?: unknown;
  image?: string;
  command?: string[] | string;
  environment?: Record<string, string>;
  depends_on?: Record<string, unknown> | string[];
  healthcheck?: { test: string[] };
}

async function compose(): Promise<Record<string, Service>> {
  const doc = parse(await read('compose.yaml'), { merge: true }) as { services: Record<string, Service> };
  return doc.services;
}

/** Property names of an object literal; spreads of constants (`...OPS_ENV`) are followed, into imports too. */
async function objectKeys(file: string, literal: ts.ObjectLiteralExpression, source: ts.SourceFile, names: Set<string>): Promise<void> {
  for (const p of literal.properties) {
    if (ts.isSpreadAssignment(p) && ts.isIdentifier(p.expression)) {
      await constantKeys(file, source, p.expression.text, names);
    } else if (p.name && (ts.isIdentifier(p.name) || ts.isStringLiteral(p.name))) {
      names.add(p.name.text);
    }
  }
}

/** Finds `const <name> = { ... }` in `source`, or in the relative module it is imported from. */
async function constantKeys(file: string, source: ts.SourceFile, name: string, names: Set<string>): Promise<void> {
  for (const statement of source.statements) {
    if (ts.isVariableStatement(statement)) {
      for (const d of statement.declarationList.declarations) {
        if (ts.isIdentifier(d.name) && d.name.text === name && d.initializer && ts.isObjectLiteralExpression(d.initializer)) {
          return objectKeys(file, d.initializer, source, names);
        }
      }
    }
    if (ts.isImportDeclaration(statement) && ts.isStringLiteral(statement.moduleSpecifier) && statement.moduleSpecifier.text.startsWith('.')) {
      const bindings = statement.importClause?.namedBindings;
      if (bindings && ts.isNamedImports(bindings) && bindings.elements.some((e) => e.name.text === name)) {
        const target = join(file, '..', statement.moduleSpecifier.text.replace(/\.js$/, '.ts'));
        const imported = ts.createSourceFile(target, await read(target), ts.ScriptTarget.ES2022, true);
        return constantKeys(target, imported, name, names);
      }
    }
  }
  throw new Error(`${file}: no object constant ${name} to read variable names from`);
}

/** The variable names of the zod object that server/config.ts parses the environment with. */
async function configVariables(): Promise<Set<string>> {
  const file = 'server/config.ts';
  const source = ts.createSourceFile(file, await read(file), ts.ScriptTarget.ES2022, true);
  const names = new Set<string>();
  const literals: ts.ObjectLiteralExpression[] = [];
  const visit = (node: ts.Node) => {
    if (
      ts.isCallExpression(node) &&
      ts.isPropertyAccessExpression(node.expression) &&
      node.expression.name.text === 'object' &&
      node.expression.expression.getText(source) === 'z' &&
      node.arguments[0] &&
      ts.isObjectLiteralExpression(node.arguments[0])
    ) {
      literals.push(node.arguments[0]);
    }
    ts.forEachChild(node, visit);
  };
  visit(source);
  for (const literal of literals) await objectKeys(file, literal, source, names);
  return names;
}

/** `env.NAME` and `process.env.NAME` read by the reference ML server's command line. */
async function mlServerVariables(): Promise<Set<string>> {
  const text = await read('examples/ml-server/src/cli.ts');
  return new Set([...text.matchAll(/\benv\.([A-Z_][A-Z0-9_]*)/g)].map((m) => m[1]!));
}

const runsBackend = (s: Service) => s.build !== undefined && s.command === undefined;
const hostOf = (url: string) => new URL(url.replace(/\$\{[^}]*:-([^}]*)\}/g, '$1')).hostname;

describe('compose.yaml', () => {
  it('reads the variables of server/config.ts from its source, so the checks below compare against something', async () => {
    const known = await configVariables();
    for (const name of ['DATABASE_URL', 'S3_BUCKET_NAME', 'MODEL_SERVER_URL', 'WEBHOOK_SECRET', 'PORT']) expect(known).toContain(name);
  });

  it('runs two backend replicas, PostgreSQL, MinIO with its one-shot setup, a proxy and the reference ML server', async () => {
    const services = await compose();
    expect(Object.values(services).filter(runsBackend)).toHaveLength(2);
    for (const name of ['postgres', 'minio', 'minio-setup', 'proxy', 'ml-server']) expect(services).toHaveProperty(name);
  });

  it('sets only variables the backend reads on the backend replicas', async () => {
    const known = await configVariables();
    for (const [name, service] of Object.entries(await compose()).filter(([, s]) => runsBackend(s))) {
      const unknown = Object.keys(service.environment ?? {}).filter((v) => !known.has(v));
      expect(unknown, `${name} sets variables server/config.ts does not read`).toEqual([]);
    }
  });

  it('sets only variables the reference ML server reads on ml-server, and starts its compiled command line', async () => {
    const known = await mlServerVariables();
    const ml = (await compose())['ml-server']!;
    expect(Object.keys(ml.environment ?? {}).filter((v) => !known.has(v))).toEqual([]);
    expect(ml.command).toEqual(['node', 'examples/ml-server/dist/cli.js']);
  });

  it('points the backends at services it defines, and the callbacks at the proxy in front of both', async () => {
    const services = await compose();
    for (const backend of Object.values(services).filter(runsBackend)) {
      const env = backend.environment!;
      expect(services).toHaveProperty(hostOf(env.DATABASE_URL!));
      expect(services).toHaveProperty(hostOf(env.MODEL_SERVER_URL!));
      expect(services).toHaveProperty(hostOf(env.S3_ENDPOINT!));
      expect(hostOf(env.FASTAPI_BASE_URL!)).toBe('proxy');
      expect(env.WEBHOOK_SECRET, 'the ML server signs with the same secret').toBe(services['ml-server']!.environment!.ML_WEBHOOK_SECRET);
    }
  });

  it('creates the bucket the backends use, with a CORS rule for browser PUTs that exposes ETag', async () => {
    const services = await compose();
    const setup = services['minio-setup']!;
    const script = Array.isArray(setup.command) ? setup.command.join('\n') : (setup.command ?? '');
    const bucket = Object.values(services).find(runsBackend)!.environment!.S3_BUCKET_NAME!;
    expect(script).toContain(`mc mb --ignore-existing ecg/${bucket}`);
    expect(script).toContain(`mc cors set ecg/${bucket}`);
    expect(script).toMatch(/<AllowedMethod>PUT<\/AllowedMethod>/);
    expect(script).toMatch(/<ExposeHeader>ETag<\/ExposeHeader>/);
  });
});

describe('Dockerfile', () => {
  const stages = async () => (await read('Dockerfile')).split(/^FROM /m).slice(1).map((s) => `FROM ${s}`);

  it('builds with the release script, from node 20 slim, in two stages', async () => {
    const [build, final, ...rest] = await stages();
    expect(rest).toEqual([]);
    expect(build).toMatch(/^FROM node:20-slim AS build/);
    expect(build).toMatch(/^RUN bash scripts\/release\.sh \/release$/m);
    expect(final).toMatch(/^FROM node:20-slim\n/);
    expect(final).toMatch(/^COPY --from=build \/release \/app$/m);
  });

  it('installs nothing in the final stage and runs it as a non-root user with a readiness health check', async () => {
    const final = (await stages())[1]!;
    expect(final).not.toMatch(/npm (ci|install)/);
    expect(final).toMatch(/^USER node$/m);
    expect(final).toMatch(/^HEALTHCHECK [\s\S]*\/readyz/m);
    expect(final).toMatch(/^CMD \["node", "dist\/server\/main\.js"\]$/m);
  });

  it("copies every workspace's package.json before npm ci, so the dependency layer installs them all", async () => {
    const { workspaces } = JSON.parse(await read('package.json')) as { workspaces: string[] };
    const build = (await stages())[0]!;
    for (const ws of workspaces) expect(build).toContain(`COPY ${ws}/package.json ${ws}/package.json`);
  });
});
