/**
 * Primary-key read floor: one `select ... where id = $1` per request, answered as JSON. What a
 * status poll costs with nothing but node:http and postgres.js between the socket and the row.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import postgres from 'postgres';

const sql = postgres(process.env.DATABASE_URL!, { max: 10, onnotice: () => {} });
const BANDS: Array<[number, string]> = [[10, 'initialising'], [25, 'extracting_audio'], [40, 'detecting_speech'], [60, 'identifying_speakers'], [75, 'transcribing'], [90, 'analysing']];
const PATH = /^\/api\/upload-video\/status\/([0-9a-f-]{36})$/;

const server = createServer((req, res) => void handle(req, res));

async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
  const id = PATH.exec(req.url ?? '')?.[1];
  const [row] = id
    ? await sql`select id as job_id, status, progress, message, language, created_at, updated_at,
        extract(epoch from updated_at - coalesce(dispatched_at, created_at))::float8 as run from jobs where id = ${id}`
    : [];
  if (row) {
    // The two live fields of version 1.1 (server/jobs/progress.ts), by the progress band alone.
    const { run, ...rest } = row as { run: number; progress: number };
    Object.assign(rest, {
      current_stage: BANDS.find(([upTo]) => rest.progress < upTo)?.[1] ?? 'finalising',
      estimated_time_remaining: run >= 1 && rest.progress > 0 ? Math.round((run * (100 - rest.progress)) / rest.progress) : null,
    });
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(rest));
    return;
  }
  res.writeHead(row ? 200 : 404, { 'content-type': 'application/json' }).end(JSON.stringify(row ?? { error: 'JOB_NOT_FOUND' }));
}

server.listen(Number(process.env.PORT), '127.0.0.1');
