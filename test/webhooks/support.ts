/** What the webhook tests share: a secret, a receiver on loopback that records what it is sent. */
import { randomBytes } from 'node:crypto';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';

export const CONSUMER_SECRET = `whsec_${randomBytes(32).toString('base64')}`;

export interface Received {
  headers: IncomingHttpHeaders;
  body: string;
  at: number;
}

/** An HTTP server on 127.0.0.1 that records every request and answers `answer(n)` (n counts from 1). */
export async function receiver(answer: (n: number) => number = () => 200): Promise<{ url: string; port: number; received: Received[]; close(): Promise<void>; server: Server }> {
  const received: Received[] = [];
  const server = createServer((req, res) => {
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (c: string) => (body += c));
    req.on('end', () => {
      received.push({ headers: req.headers, body, at: Date.now() });
      res.writeHead(answer(received.length)).end();
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as { port: number };
  return {
    url: `http://127.0.0.1:${port}/hook`,
    port,
    received,
    server,
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}
