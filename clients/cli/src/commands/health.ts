/** `ecg health`: the backend's own `/health`, and its view of the ML server. */
import { createBackendClient } from '@ecg/sdk';
import type { BackendSchemas } from '@ecg/sdk/v1.1';
import type { Connection } from '../config.js';
import { ExitCode } from '../exit.js';

type HealthResponse = BackendSchemas['HealthResponse'];

const isHealth = (body: unknown): body is HealthResponse =>
  typeof body === 'object' && body !== null && 'status' in body && 'checks' in body;

/** Exit 0 when the backend and the ML server are both healthy, 1 when either is not. */
export async function health(conn: Connection): Promise<ExitCode> {
  const { api } = createBackendClient({ baseUrl: conn.baseUrl, ...(conn.token ? { token: conn.token } : {}) });
  // `/health` answers 503 with the same body when a dependency is down.
  const backend = await api.GET('/health');
  const body: unknown = backend.data ?? backend.error;
  let ok = backend.response.ok;
  if (isHealth(body)) {
    const { database, storage } = body.checks;
    process.stdout.write(
      `backend    ${conn.baseUrl}: ${body.status} (version ${body.version}; database ${database.status} ${database.latency_ms} ms, storage ${storage.status} ${storage.latency_ms} ms)\n`,
    );
  } else {
    process.stdout.write(`backend    ${conn.baseUrl}: HTTP ${backend.response.status}\n`);
  }

  const ml = await api.GET('/api/upload-video/ml-server/health');
  if (ml.data) {
    const { status, response_time_ms: ms, http_status: http } = ml.data;
    ok &&= status === 'healthy';
    const details = [ms !== null ? `${Math.round(ms)} ms` : undefined, http !== null ? `HTTP ${http}` : 'no answer'].filter(Boolean).join(', ');
    process.stdout.write(`ML server  ${status} (${details})\n`);
  } else {
    ok = false;
    process.stdout.write(`ML server  unknown: the backend answered HTTP ${ml.response.status}\n`);
  }
  return ok ? ExitCode.ok : ExitCode.failed;
}
