/**
 * The reference ML server (workspace package `@ecg/example-ml-server`), run in this process when
 * MODEL_SERVER_URL is not set, so `npm start` on a fresh machine handles a whole job. Loaded only on
 * that path: a deployment with a real ML server never imports it.
 *
 * In-process rather than a child process: a backend killed with SIGKILL cannot leave an ML server behind.
 */
import { startReferenceMlServer } from '@ecg/example-ml-server';
import type { Logger } from '../logger.js';

export interface EmbeddedMlServer {
  /** `http://127.0.0.1:<port>`: the backend's MODEL_SERVER_URL. */
  url: string;
  close(): Promise<void>;
}

/** Starts the reference ML server on a free loopback port. */
export async function startEmbeddedMlServer(logger: Logger): Promise<EmbeddedMlServer> {
  const ml = await startReferenceMlServer({ port: 0, host: '127.0.0.1', logger });
  return { url: ml.url, close: () => ml.close() };
}
