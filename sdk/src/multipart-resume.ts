/**
 * Where an interrupted multipart upload is remembered, so a page reload or a restarted process
 * resumes it: `localStorage` in browsers, a small JSON file in Node (under the temp directory
 * unless a path is given). Keyed by a fingerprint of the file: name, size, last modified.
 * @module
 */
import { nodeVersion } from './upload-source.js';

/** What is kept of one unfinished upload. */
export interface SavedUpload {
  fileKey: string;
  uploadId: string;
}

/**
 * A place to remember unfinished uploads. Give your own to {@link MultipartOptions.resume} to
 * keep them elsewhere (a database, IndexedDB, ...).
 *
 * @example
 * ```ts
 * import type { ResumeStore, SavedUpload } from '@ecg/sdk/multipart';
 * const memory = new Map<string, SavedUpload>();
 * const store: ResumeStore = { get: async (k) => memory.get(k), set: async (k, v) => void memory.set(k, v), delete: async (k) => void memory.delete(k) };
 * ```
 */
export interface ResumeStore {
  get(fingerprint: string): Promise<SavedUpload | undefined>;
  set(fingerprint: string, saved: SavedUpload): Promise<void>;
  delete(fingerprint: string): Promise<void>;
}

const PREFIX = 'ecg-upload:';

/** The file's identity across reloads: name, size and (for a `File`) last modified time. */
export function fingerprint(name: string, size: number, body: unknown): string {
  const modified = (body as { lastModified?: unknown } | null)?.lastModified;
  return `${PREFIX}${name}:${size}:${typeof modified === 'number' ? modified : ''}`;
}

function isSaved(value: unknown): value is SavedUpload {
  const v = value as Partial<SavedUpload> | null;
  return typeof v?.fileKey === 'string' && typeof v.uploadId === 'string';
}

/** `localStorage`, when the page may use it. */
export function localStorageStore(storage: Storage = globalThis.localStorage): ResumeStore {
  return {
    get: (key) => {
      const raw = storage.getItem(key);
      const value: unknown = raw ? JSON.parse(raw) : undefined;
      return Promise.resolve(isSaved(value) ? value : undefined);
    },
    set: (key, saved) => Promise.resolve(storage.setItem(key, JSON.stringify(saved))),
    delete: (key) => Promise.resolve(storage.removeItem(key)),
  };
}

interface NodeFsPromises {
  readFile(path: string, encoding: 'utf8'): Promise<string>;
  writeFile(path: string, data: string, options: { mode: number }): Promise<void>;
  rename(from: string, to: string): Promise<void>;
}

/** A JSON file (default `<os temp dir>/ecg-sdk-uploads.json`), Node only. Writes replace the file atomically. */
export function jsonFileStore(path?: string): ResumeStore {
  // Computed specifiers: browser bundlers do not follow them; Node resolves them at run time.
  const load = <T>(name: string) => import(/* webpackIgnore: true */ /* @vite-ignore */ ['node', name].join(':')) as Promise<T>;
  let chain: Promise<unknown> = Promise.resolve();
  const file = async () => path ?? `${(await load<{ tmpdir(): string }>('os')).tmpdir()}/ecg-sdk-uploads.json`;
  const readAll = async (): Promise<Record<string, unknown>> => {
    const fs = await load<NodeFsPromises>('fs/promises');
    try {
      return JSON.parse(await fs.readFile(await file(), 'utf8')) as Record<string, unknown>;
    } catch {
      return {};
    }
  };
  const update = (change: (all: Record<string, unknown>) => void) => {
    // One write at a time, so two parts finishing together do not lose each other's change.
    const next = chain.then(async () => {
      const fs = await load<NodeFsPromises>('fs/promises');
      const all = await readAll();
      change(all);
      const target = await file();
      const tmp = `${target}.${Math.random().toString(36).slice(2)}.tmp`;
      await fs.writeFile(tmp, JSON.stringify(all), { mode: 0o600 });
      await fs.rename(tmp, target);
    });
    chain = next.catch(() => {});
    return next;
  };
  return {
    async get(key) {
      const value = (await readAll())[key];
      return isSaved(value) ? value : undefined;
    },
    set: (key, saved) => update((all) => void (all[key] = saved)),
    delete: (key) => update((all) => void delete all[key]),
  };
}

/** The store for this runtime: `localStorage` in browsers, a JSON file in Node, none elsewhere. */
export function defaultResumeStore(): ResumeStore | undefined {
  if (nodeVersion()) return jsonFileStore();
  try {
    return typeof localStorage === 'undefined' ? undefined : localStorageStore();
  } catch {
    return undefined; // storage disabled by the browser's privacy settings
  }
}
