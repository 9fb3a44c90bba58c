/**
 * Primary-key read floor: one `select ... where id = $1` per request, answered as JSON. What a
 * status poll costs with nothing but node:http and postgres.js between the socket and the row.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import postgres from 'postgres';

const sql = postgres(process.env.DATABASE_URL!, { max: 10, onnotice: () => {} });
const PATH = /^\/api\/upload-video\/status\/([0-9a-f-]{36})$/;

const server = createServer((req, res) => void handle(req, res));

async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
  const id = PATH.exec(req.url ?? '')?.[1];
  const [row] = id
    ? await sql`select id as job_id, status, progress, message, language, created_at, updated_at from jobs where id = ${id}`
    : [];
  res.writeHead(row ? 200 : 404, { 'content-type': 'application/json' }).end(JSON.stringify(row ?? { error: 'JOB_NOT_FOUND' }));
}

server.listen(Number(process.env.PORT), '127.0.0.1');
