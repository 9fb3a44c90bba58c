/**
 * toVtt's output as a browser reads it (Debian's Chromium, driven by playwright-core): the file is
 * loaded into a `<track>` of a `<video>`, and the cues Chromium parsed (`track.cues`) must have the
 * times, the shown text, the voice and the word timestamps that were written.
 * Skipped, and says so, where no Chromium is installed (`apt-get install chromium`).
 */
import { existsSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { createRequire } from 'node:module';
import { type Browser,chromium } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type CueNode,WebVTTParser } from 'webvtt-parser';
import { toVtt } from '../../sdk/src/subtitles.js';
import { transcript } from '../sdk/transcripts.js';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const haveBrowser = existsSync(CHROMIUM);
if (!haveBrowser) console.warn(`subtitle browser tests skipped: no Chromium at ${CHROMIUM}`);

const entities = createRequire(import.meta.url)('webvtt-parser/html-entities.json') as Record<string, string>;

/** What Chromium made of one cue. */
interface BrowserCue {
  start: number;
  end: number;
  /** The text of `getCueAsHTML()`: what is shown, tags gone, entities decoded. */
  shown: string;
  /** The `title` of the voice span(s) `getCueAsHTML()` builds from `<v ...>`. */
  voices: string[];
  /** The timestamp processing instructions `getCueAsHTML()` builds from `<00:00:01.250>`, in seconds. */
  stamps: number[];
}

let browser: Browser;
let server: Server;
let base = '';
let vtt = '';

const LONG = 'We measured each upload & compared it with what users <said> about the wait --> it was not the same story at all';

beforeAll(async () => {
  if (!haveBrowser) return;
  const result = transcript([
    { speaker: 'SPEAKER_00', start: 0.5, text: 'Hello there.' },
    { speaker: 'SPEAKER_01', start: 2, text: LONG, wordSeconds: 0.35 },
    { speaker: 'R&D', start: 3725, text: 'Over an hour in.' },
  ]);
  vtt = toVtt(result, { wordTimestamps: true, maxLineLength: 32, maxCueDuration: 3 });
  server = createServer((req, res) => {
    if (req.url === '/subs.vtt') return void res.writeHead(200, { 'content-type': 'text/vtt; charset=utf-8' }).end(vtt);
    res.writeHead(200, { 'content-type': 'text/html' }).end('<!doctype html><title>subtitles</title><video><track kind="subtitles" src="/subs.vtt" srclang="en" default></video>');
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
}, 120_000);

afterAll(async () => {
  await browser?.close();
  server?.close();
});

const shown = (nodes: CueNode[]): string => nodes.map((n) => (n.type === 'text' ? n.value : n.type === 'object' ? shown(n.children) : '')).join('');
const stamps = (nodes: CueNode[]): number[] => nodes.flatMap((n) => (n.type === 'timestamp' ? [n.value] : n.type === 'object' ? stamps(n.children) : []));
const ms = (seconds: number) => Math.round(seconds * 1000);

describe.skipIf(!haveBrowser)('WebVTT from toVtt in Chromium', () => {
  it('loads into a <track> with the times, text, voices and word timestamps that were written', async () => {
    const tab = await browser.newPage();
    await tab.goto(base);
    // A string, so the test runner's transform leaves the page's code alone.
    const cues = await tab.evaluate<BrowserCue[]>(`(async () => {
      const element = document.querySelector('track');
      const track = element.track;
      track.mode = 'hidden';
      if (element.readyState !== 2) {
        await new Promise((resolve, reject) => {
          element.addEventListener('load', resolve, { once: true });
          element.addEventListener('error', () => reject(new Error('the track did not load')), { once: true });
        });
      }
      const seconds = (t) => { const [h, m, s] = t.split(':'); return Number(h) * 3600 + Number(m) * 60 + Number(s); };
      return Array.from(track.cues, (cue) => {
        const html = cue.getCueAsHTML();
        const walker = document.createTreeWalker(html, NodeFilter.SHOW_ALL);
        const voices = [];
        const stamps = [];
        for (let node = walker.nextNode(); node; node = walker.nextNode()) {
          if (node.nodeType === Node.ELEMENT_NODE && node.title) voices.push(node.title);
          if (node.nodeType === Node.PROCESSING_INSTRUCTION_NODE && node.target === 'timestamp') stamps.push(seconds(node.data));
        }
        return { start: cue.startTime, end: cue.endTime, shown: html.textContent, voices, stamps };
      });
    })()`);
    await tab.close();

    const { cues: written, errors } = new WebVTTParser(entities).parse(vtt);
    expect(errors).toEqual([]);
    expect(cues.length).toBe(written.length);
    expect(cues.length).toBeGreaterThanOrEqual(5);
    expect(cues.map((c) => [ms(c.start), ms(c.end), c.shown, c.stamps.map(ms)])).toEqual(
      written.map((c) => [ms(c.startTime), ms(c.endTime), shown(c.tree.children), stamps(c.tree.children).map(ms)]),
    );
    // What a viewer sees: every word once, in order, with &, < and > as spoken.
    expect(cues.flatMap((c) => c.shown.split(/\s+/))).toEqual(['Hello', 'there.', ...LONG.split(' '), 'Over', 'an', 'hour', 'in.']);
    expect(cues.map((c) => c.voices)).toEqual(cues.map((_, i) => [i === 0 ? 'SPEAKER_00' : i === cues.length - 1 ? 'R&D' : 'SPEAKER_01']));
    expect(cues.at(-1)).toMatchObject({ start: 3725 });
    expect(cues.slice(1, -1).every((c) => c.stamps.length > 0)).toBe(true);
  }, 60_000);
});
