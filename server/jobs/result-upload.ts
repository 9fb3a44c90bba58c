/**
 * Storing a large result without holding it whole (docs/results.md, "Large results"). A completion
 * whose body was scanned (server/jobs/callback-body.ts) carries its result as a `ResultUpload`
 * rather than as objects: in the transaction that completes the job, the store copies the result as
 * received and its normalised form into one `result_uploads` row with `COPY ... FROM STDIN`, one
 * piece at a time, and the statement that completes the job moves them from that row into the job's
 * `raw_result` and `result` and deletes the row (server/jobs/store.ts). The row lives only inside
 * that transaction; the table is unlogged, as nothing in it needs to survive a crash.
 */
import { finished } from 'node:stream/promises';
import type { Sql } from '../db/client.js';
import { parsePiece, type ScannedResult } from './callback-body.js';
import { resultNormalizer } from './normalize.js';
import { storableJson } from './text.js';

type Obj = Record<string, unknown>;

/** One column a patch takes from the upload: the result as received (`raw`) or normalised (`result`). */
export class UploadedColumn {
  constructor(
    readonly upload: ResultUpload,
    readonly column: 'raw' | 'result',
  ) {}
}

export class ResultUpload {
  readonly raw = new UploadedColumn(this, 'raw');
  readonly result = new UploadedColumn(this, 'result');
  constructor(
    readonly scanned: ScannedResult,
    readonly fallback: { filename?: string | null; language?: string | null },
  ) {}
}

/** Bytes gathered before one write to the COPY stream. */
const CHUNK = 64 * 1024;

/**
 * COPY's text format for one row: columns separated by tabs, the row ended by a newline; inside a
 * value, backslash, tab, newline and carriage return are escaped. Text is gathered in one reused
 * buffer, and each write waits until the connection has taken it (the client copies it into its own
 * message at once), so the row never exists whole in this process and the buffer can be reused.
 */
class CopyRow {
  private readonly scratch = Buffer.allocUnsafe(CHUNK);
  private used = 0;
  constructor(private readonly out: NodeJS.WritableStream) {}

  /** Text of a value (JSON.stringify output has no raw tab, newline or carriage return, only backslashes). */
  async text(s: string): Promise<void> {
    await this.put(s.includes('\\') ? s.replaceAll('\\', '\\\\') : s);
  }

  /** Bytes of a value, as sent: they may carry any of the four. */
  async bytes(body: Buffer, start: number, end: number): Promise<void> {
    await this.flush();
    for (let at = start; at < end; at += CHUNK) await this.send(escapeBytes(body.subarray(at, Math.min(end, at + CHUNK))));
  }

  /** Structure between values (a tab or the newline), unescaped. */
  async raw(s: string): Promise<void> {
    await this.put(s);
  }

  async flush(): Promise<void> {
    if (this.used === 0) return;
    await this.send(this.scratch.subarray(0, this.used));
    this.used = 0;
  }

  private async put(s: string): Promise<void> {
    const size = Buffer.byteLength(s, 'utf8');
    if (size > CHUNK - this.used) await this.flush();
    if (size > CHUNK) return this.send(Buffer.from(s, 'utf8'));
    this.used += this.scratch.write(s, this.used, 'utf8');
  }

  private send(chunk: Buffer): Promise<void> {
    return new Promise((resolve, reject) => {
      this.out.write(chunk, (err) => (err ? reject(err) : resolve()));
    });
  }
}

const TAB = 0x09;
const NEWLINE = 0x0a;
const RETURN = 0x0d;
const BACKSLASH = 0x5c;
const ESCAPED: Record<number, number> = { [TAB]: 0x74, [NEWLINE]: 0x6e, [RETURN]: 0x72, [BACKSLASH]: BACKSLASH };

function escapeBytes(piece: Buffer): Buffer {
  let extra = 0;
  for (const b of piece) if (b === BACKSLASH || b === TAB || b === NEWLINE || b === RETURN) extra += 1;
  if (extra === 0) return piece;
  const out = Buffer.allocUnsafe(piece.length + extra);
  let o = 0;
  for (const b of piece) {
    const e = ESCAPED[b];
    if (e === undefined) out[o++] = b;
    else {
      out[o++] = BACKSLASH;
      out[o++] = e;
    }
  }
  return out;
}

/** A piece parsed, and made storable when the body was not clean (`ScannedResult.clean`). */
function piece(r: ScannedResult, ranges: number[], index: number): Obj {
  const value = parsePiece(r, ranges, index) as Obj;
  return r.clean ? value : storableJson(value);
}

/** The result as received: its bytes when they can be stored as they are, else rebuilt piece by piece. */
async function writeRaw(row: CopyRow, r: ScannedResult): Promise<void> {
  if (r.clean) return row.bytes(r.body, r.start, r.end);
  const head = JSON.stringify(storableJson(r.head));
  await row.text(head.slice(0, -1));
  let first = head === '{}';
  for (const [key, ranges] of [['segments', r.segments], ['word_segments', r.wordSegments]] as const) {
    if (ranges === null) continue;
    await row.text(`${first ? '' : ','}"${key}":[`);
    first = false;
    for (let i = 0; i < ranges.length / 2; i += 1) await row.text((i === 0 ? '' : ',') + JSON.stringify(piece(r, ranges, i)));
    await row.text(']');
  }
  await row.text('}');
}

/** The normalised result (server/jobs/normalize.ts), one segment at a time. */
async function writeNormalized(row: CopyRow, upload: ResultUpload): Promise<void> {
  const r = upload.scanned;
  const head = r.clean ? r.head : storableJson(r.head);
  const words = r.wordSegments;
  const normalizer = resultNormalizer(head, upload.fallback, (i) => (words !== null && i < words.length / 2 ? piece(r, words, i) : undefined));
  await row.text('{"segments":[');
  const segments = r.segments ?? [];
  for (let i = 0; i < segments.length / 2; i += 1) await row.text((i === 0 ? '' : ',') + JSON.stringify(normalizer.segment(piece(r, segments, i))));
  await row.text(`],${JSON.stringify(normalizer.finish()).slice(1)}`);
}

/** Writes `upload` as the `result_uploads` row `id`, inside the caller's transaction `tx`. */
export async function copyUpload(tx: Pick<Sql, 'unsafe'>, id: string, upload: ResultUpload): Promise<void> {
  const out = (await tx.unsafe('copy result_uploads (id, raw, result) from stdin').writable()) as NodeJS.WritableStream;
  const row = new CopyRow(out);
  await row.raw(`${id}\t`);
  await writeRaw(row, upload.scanned);
  await row.raw('\t');
  await writeNormalized(row, upload);
  await row.raw('\n');
  await row.flush();
  out.end();
  // The stream finishes when PostgreSQL acknowledges the COPY. Had it refused the data after the last
  // write, the client would never finish the stream; a statement sent after it then fails instead (the
  // transaction is aborted), which ends the wait either way.
  await Promise.race([finished(out), tx.unsafe('select 1').then(() => finished(out))]);
}
