/**
 * System tools some suites drive (Chromium, /usr/bin/python3 with FastAPI, wrk), which `npm test`
 * installs on Debian through scripts/provision.sh. Where one is missing, a suite is skipped with a
 * message locally, but under `CI=true` it fails instead: CI must never go green without them.
 */
import { spawnSync } from 'node:child_process';
import { accessSync, constants } from 'node:fs';

/** Whether missing tools fail the run (CI) instead of skipping the suites that need them. */
export const toolsRequired = (): boolean => process.env.CI === 'true';

/** The error thrown under CI for a missing tool, with the command that installs it. */
export class MissingToolError extends Error {
  override readonly name = 'MissingToolError';
}

function executable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/**
 * Whether the suite that needs `name` can run: `true` when `check()` passes. Otherwise it warns
 * and answers `false` (the caller skips), or throws {@link MissingToolError} under `CI=true`.
 *
 * @example
 * const haveNode = requireCheck('node', () => (process.versions.node ? undefined : 'not Node.js'), 'apt-get install nodejs');
 * describe.skipIf(!haveNode)('in Node.js', () => { ... });
 */
export function requireCheck(name: string, check: () => string | undefined, install: string): boolean {
  const problem = check();
  if (problem === undefined) return true;
  const message = `${name} is not available (${problem}); install it with \`${install}\` or run \`bash scripts/provision.sh\` as root`;
  if (toolsRequired()) throw new MissingToolError(`${message}. CI=true: failing instead of skipping.`);
  console.warn(`skipped: ${message}.`);
  return false;
}

/**
 * Whether the executable at `path` exists; see {@link requireCheck} for what happens when it does not.
 *
 * @example
 * const haveBrowser = requireTool('chromium', '/usr/bin/chromium', 'apt-get install chromium');
 */
export function requireTool(name: string, path: string, install = `apt-get install ${name}`): boolean {
  return requireCheck(name, () => (executable(path) ? undefined : `no executable at ${path}`), install);
}

/**
 * Whether `python` runs and imports every module in `modules`; see {@link requireCheck}.
 *
 * @example
 * const havePython = requirePython('/usr/bin/python3', ['fastapi', 'uvicorn'], 'apt-get install python3-fastapi python3-uvicorn');
 */
export function requirePython(python: string, modules: readonly string[], install: string): boolean {
  return requireCheck(
    `${python} with ${modules.join(', ') || 'the standard library'}`,
    () => {
      if (!executable(python)) return `no executable at ${python}`;
      const probe = spawnSync(python, ['-c', modules.map((m) => `import ${m}`).join('; ') || 'pass'], { encoding: 'utf8', timeout: 30_000 });
      if (probe.status === 0) return undefined;
      const lastLine = (probe.stderr || probe.error?.message || '').trim().split('\n').at(-1);
      return lastLine || `exit ${String(probe.status)}`;
    },
    install,
  );
}
