/**
 * Where the backend is and how to authenticate: flags first, then the environment. The only module
 * that reads `process.env`.
 */
import { CliError, ExitCode } from './exit.js';

export const DEFAULT_BASE_URL = 'http://localhost:8000';

/** The options every command accepts (declared on the program, so they may come before or after the command). */
export interface GlobalOptions {
  baseUrl?: string;
  token?: string;
}

export interface Connection {
  baseUrl: string;
  token: string | undefined;
}

export function resolveConnection(opts: GlobalOptions, env: NodeJS.ProcessEnv = process.env): Connection {
  const raw = opts.baseUrl ?? (env.ECG_BASE_URL || DEFAULT_BASE_URL);
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new CliError(ExitCode.usage, `--base-url must be an http(s) URL, got "${raw}"`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new CliError(ExitCode.usage, `--base-url must be an http(s) URL, got "${raw}"`);
  }
  return { baseUrl: raw.replace(/\/+$/, ''), token: opts.token ?? (env.ECG_TOKEN || undefined) };
}
