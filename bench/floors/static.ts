/**
 * Static floor: node:http answering a fixed JSON body with an ETag, and 304 when If-None-Match
 * carries it. What a 304 status poll costs with no database at all.
 */
import { createServer } from 'node:http';

const body = JSON.stringify({ status: 'processing', progress: 50, message: 'Transcribing' });
const etag = 'W/"static-0"';

createServer((req, res) => {
  if (req.headers['if-none-match'] === etag) res.writeHead(304, { etag }).end();
  else res.writeHead(200, { 'content-type': 'application/json', etag }).end(body);
}).listen(Number(process.env.PORT), '127.0.0.1');
