/**
 * Raw notifying write floor: the write floor (write.ts) plus what every target's callback also
 * stores in the same statement: the `webhook-id` (replay guard) and `pg_notify('job_changed', ...)`.
 * A commit that notifies holds a database-wide lock until its WAL flush, so notifying commits follow
 * one another: this floor shows that ceiling, which the backend and the peer share.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import postgres from 'postgres';

const sql = postgres(process.env.DATABASE_URL!, { max: 10, onnotice: () => {} });
const key = Buffer.from(process.env.WEBHOOK_SECRET!.replace(/^whsec_/, ''), 'base64');

function signed(headers: Record<string, string | string[] | undefined>, body: string): boolean {
  const expected = createHmac('sha256', key).update(`${String(headers['webhook-id'])}.${String(headers['webhook-timestamp'])}.${body}`).digest();
  return String(headers['webhook-signature'] ?? '').split(' ').some((s) => {
    const given = Buffer.from(s.replace(/^v1,/, ''), 'base64');
    return given.length === expected.length && timingSafeEqual(given, expected);
  });
}

const server = createServer((req, res) => void handle(req, res));

async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  const body = Buffer.concat(chunks).toString('utf8');
  if (!signed(req.headers, body)) return void res.writeHead(401).end();
  const cb = JSON.parse(body) as { job_id: string; progress: number; message: string };
  const [row] = await sql`
    with fresh as (
      insert into webhook_deliveries (webhook_id, job_id) values (${String(req.headers['webhook-id'])}, ${cb.job_id}) on conflict do nothing returning 1
    ), updated as (
      update jobs set progress = greatest(progress, ${cb.progress}), message = ${cb.message},
        last_heard_at = now(), updated_at = now(), version = version + 1
      where id = ${cb.job_id} and status = 'processing' and exists (select from fresh) returning id, progress, version
    ), note as (
      select pg_notify('job_changed', id::text || ':' || version) from updated
    )
    insert into job_events (job_id, kind, from_status, to_status, progress, auth)
    select id, 'callback', 'processing', 'processing', progress, 'signature' from updated where (select count(*) from note) >= 0 returning job_id`;
  res.writeHead(row ? 200 : 404, { 'content-type': 'application/json' }).end(JSON.stringify({ status: row ? 'received' : 'ignored', job_id: cb.job_id }));
}

server.listen(Number(process.env.PORT), '127.0.0.1');
