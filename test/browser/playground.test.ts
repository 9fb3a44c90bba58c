/**
 * The playground at /playground, served by the app itself, in Chromium against the reference ML
 * server: two videos uploaded at once and followed to completion, one opened; its speaker turns,
 * the highlighted word after seeking the video, the plot's points and the downloads are checked
 * against the job's result. Screenshots at desktop and phone width go to .tmp/playground-*.png;
 * axe-core finds no serious or critical accessibility violation.
 */
import { mkdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { build } from 'esbuild';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { JobStatusResponse, TranscriptResult } from '@ecg/sdk';
import { toVtt } from '@ecg/sdk/subtitles';
import { launchChromium, type LiveBackend,skipBrowser, startLiveBackend } from './react-live.js';

const root = join(import.meta.dirname, '..', '..');
const artifacts = join(root, '.tmp');
const axeSource = readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');

let backend: LiveBackend;
let browser: Browser;
let videoScript = '';

beforeAll(async () => {
  if (skipBrowser) return;
  mkdirSync(artifacts, { recursive: true });
  backend = await startLiveBackend();
  const out = await build({
    entryPoints: [join(import.meta.dirname, 'playground-video.ts')],
    bundle: true, format: 'iife', platform: 'browser', target: 'es2022', write: false, logLevel: 'silent',
  });
  videoScript = out.outputFiles[0]!.text;
  browser = await launchChromium();
}, 120_000);

afterAll(async () => {
  await browser?.close();
  await backend?.close();
});

async function makeVideo(tab: Page, name: string, seconds: number, hue: number) {
  await tab.addScriptTag({ content: videoScript });
  const base64 = await tab.evaluate<string>(`makeTestVideo(${seconds}, ${hue})`);
  return { name, mimeType: 'video/webm', buffer: Buffer.from(base64, 'base64') };
}

async function statusOf(jobId: string): Promise<JobStatusResponse> {
  return (await (await fetch(`${backend.url}/api/upload-video/status/${jobId}`)).json()) as JobStatusResponse;
}

/** axe-core's serious and critical violations on the page as it is now. */
async function accessibilityProblems(tab: Page): Promise<string[]> {
  await tab.addScriptTag({ content: axeSource });
  const violations = await tab.evaluate<Array<{ id: string; impact: string; nodes: string[] }>>(`axe.run(document, { resultTypes: ['violations'] }).then((r) => r.violations.map((v) => ({ id: v.id, impact: v.impact, nodes: v.nodes.map((n) => n.target.join(' ')).slice(0, 3) })))`);
  return violations.filter((v) => v.impact === 'serious' || v.impact === 'critical').map((v) => `${v.id} (${v.impact}): ${v.nodes.join(', ')}`);
}

/** The turns the page should show: consecutive segments of one speaker. */
function expectedTurns(result: TranscriptResult): Array<{ speaker: string; words: number }> {
  const turns: Array<{ speaker: string; words: number }> = [];
  for (const s of result.segments) {
    const speaker = s.speaker.speaker_id ?? '';
    const words = s.words.filter((w) => w.start !== null).length;
    if (turns.at(-1)?.speaker === speaker) turns.at(-1)!.words += words;
    else turns.push({ speaker, words });
  }
  return turns;
}

describe.skipIf(skipBrowser)('the playground in Chromium', () => {
  it('links the home page to the playground and the API reference', async () => {
    const res = await fetch(`${backend.url}/`);
    expect(res.status).toBe(200);
    const html = await res.text();
    expect(html).toContain('href="/playground"');
    expect(html).toContain('href="/docs"');
  });

  it('uploads two videos at once, follows both to completed, and shows one: turns, word highlight on seek, plot, downloads, at desktop and phone width', async () => {
    const tab = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    const errors: string[] = [];
    tab.on('pageerror', (e) => errors.push(e.message));
    await tab.goto(`${backend.url}/playground`);
    await tab.getByRole('heading', { name: 'Upload' }).waitFor();
    expect(await accessibilityProblems(tab)).toEqual([]);

    const files = [await makeVideo(tab, 'meeting.webm', 10, 210), await makeVideo(tab, 'interview.webm', 9, 20)];
    await tab.getByLabel('Choose files').setInputFiles(files);
    for (const f of files) {
      await tab.getByRole('progressbar', { name: `Upload of ${f.name}` }).waitFor();
      await tab.getByRole('progressbar', { name: `Processing of ${f.name}` }).waitFor();
    }
    await expect.poll(() => tab.locator('li.upload[data-stage="completed"]').count(), { timeout: 45_000 }).toBe(2);
    // Both are remembered as recent jobs of this browser.
    const recent = await tab.evaluate<Array<{ id: string; name: string }>>(`JSON.parse(localStorage.getItem('ecg-playground-recent'))`);
    expect(recent.map((j) => j.name).sort()).toEqual(['interview.webm', 'meeting.webm']);
    expect(await tab.getByRole('link', { name: 'meeting.webm' }).count()).toBe(1);

    await tab.getByRole('button', { name: 'Open result of meeting.webm' }).click();
    const jobId = recent.find((j) => j.name === 'meeting.webm')!.id;
    await tab.waitForURL(`**/playground#job/${jobId}`);
    await tab.getByRole('heading', { name: /^meeting\.webm/ }).waitFor();
    expect(await tab.getByRole('heading', { name: 'Upload' }).isVisible()).toBe(false);
    const { result } = await statusOf(jobId);
    expect(result).toBeDefined();

    // Speaker turns, each with its speaker's colour (the same speaker, the same colour).
    await tab.locator('.turn').first().waitFor();
    const turns = await tab.locator('.turn').evaluateAll((lis) =>
      lis.map((li) => ({ speaker: li.getAttribute('data-speaker'), words: li.querySelectorAll('.word').length, colour: getComputedStyle(li).borderInlineStartColor })),
    );
    expect(turns.map(({ speaker, words }) => ({ speaker, words }))).toEqual(expectedTurns(result!));
    const colours = new Map<string | null, Set<string>>();
    for (const t of turns) colours.set(t.speaker, (colours.get(t.speaker) ?? new Set()).add(t.colour));
    expect([...colours.values()].every((c) => c.size === 1)).toBe(true);
    expect(new Set([...colours.values()].map((c) => [...c][0])).size).toBe(colours.size);

    // The video plays from its presigned URL; seeking it highlights the word being spoken.
    const video = tab.locator('video');
    await expect.poll(() => video.evaluate((v: HTMLVideoElement) => v.readyState), { timeout: 20_000 }).toBeGreaterThanOrEqual(1);
    expect(await video.evaluate((v: HTMLVideoElement) => v.duration)).toBeCloseTo(10, 0);
    const words = result!.segments.flatMap((s) => s.words).filter((w) => w.start !== null);
    const target = words.findIndex((w, i) => w.start! > 2 && w.start! < 8 && i > 0);
    const at = words[target]!.start! + 0.01;
    await video.evaluate((v: HTMLVideoElement, t: number) => new Promise((done) => {
      v.addEventListener('seeked', done, { once: true });
      v.currentTime = t;
    }), at);
    await expect.poll(() => tab.locator('.word[aria-current="true"]').getAttribute('data-index')).toBe(String(target));
    expect(await tab.locator('.word[aria-current="true"]').textContent()).toBe(words[target]!.word);

    // A click on a word seeks the video to it.
    const other = words.findIndex((w, i) => i > target + 2 && w.start! < 8);
    await tab.locator(`.word[data-index="${other}"]`).click();
    await expect.poll(() => video.evaluate((v: HTMLVideoElement) => v.currentTime)).toBeCloseTo(words[other]!.start!, 1);
    await expect.poll(() => tab.locator('.word[aria-current="true"]').getAttribute('data-index')).toBe(String(other));

    // The plot: one point per word and series, at the word's time and value, placed in order.
    for (const key of ['volume_db', 'pitch_hz'] as const) {
      const points = await tab.locator(`g[data-series="${key}"] circle.point`).evaluateAll((cs) =>
        cs.map((c) => ({ time: Number(c.getAttribute('data-time')), value: Number(c.getAttribute('data-value')), cx: Number(c.getAttribute('cx')), cy: Number(c.getAttribute('cy')) })),
      );
      const expected = words.filter((w) => w[key] !== null).map((w) => ({ time: w.start!, value: w[key]! }));
      expect(points.map(({ time, value }) => ({ time, value }))).toEqual(expected);
      const byTime = [...points].sort((a, b) => a.time - b.time || a.cx - b.cx);
      expect(byTime.every((p, i) => i === 0 || p.cx >= byTime[i - 1]!.cx)).toBe(true);
      const byValue = [...points].sort((a, b) => a.value - b.value);
      expect(byValue.every((p, i) => i === 0 || p.cy <= byValue[i - 1]!.cy + 1e-9)).toBe(true);
    }

    // Downloads: WebVTT as @ecg/sdk/subtitles makes it, JSON as the result.
    const download = (label: string) => tab.getByRole('link', { name: `Download ${label}` }).evaluate((a: HTMLAnchorElement) => fetch(a.href).then((r) => r.text()));
    expect(await download('WebVTT')).toBe(toVtt(result!));
    expect(JSON.parse(await download('JSON'))).toEqual(result);
    expect(await download('SRT')).toMatch(/^1\r?\n00:00:\d\d,\d{3} --> /);

    expect(await accessibilityProblems(tab)).toEqual([]);
    await tab.screenshot({ path: join(artifacts, 'playground-desktop.png'), fullPage: true });
    await tab.setViewportSize({ width: 390, height: 844 });
    expect(await tab.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(390);
    expect(await accessibilityProblems(tab)).toEqual([]);
    await tab.screenshot({ path: join(artifacts, 'playground-phone.png'), fullPage: true });
    expect(errors).toEqual([]);
    await tab.close();
  }, 150_000);

  it('cancels a file while it uploads, and reaches the keyboard controls in order', async () => {
    const tab = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    await tab.goto(`${backend.url}/playground`);
    // Slow the storage PUT down, so the cancel lands during the upload.
    await tab.route('**/storage/**', async (route) => {
      await new Promise((r) => setTimeout(r, 1500));
      await route.continue().catch(() => {});
    });
    await tab.getByLabel('Choose files').setInputFiles([{ name: 'long.webm', mimeType: 'video/webm', buffer: Buffer.alloc(256 * 1024, 9) }]);
    await tab.getByRole('button', { name: 'Cancel long.webm' }).click();
    await tab.locator('li.upload[data-stage="aborted"]').waitFor();
    expect(backend.t.mlCalls.some((c) => String(c.body.video_url).includes('long.webm'))).toBe(false);

    // Tab order: the token field, then the file picker, then the language.
    await tab.locator('body').focus();
    const order: string[] = [];
    for (let i = 0; i < 4; i++) {
      await tab.keyboard.press('Tab');
      order.push(await tab.evaluate(() => document.activeElement?.getAttribute('type') ?? document.activeElement?.tagName ?? ''));
    }
    expect(order.slice(0, 4)).toEqual(['A', 'password', 'file', 'SELECT']);
    await tab.close();
  }, 60_000);
  it('takes files dropped on the drop zone', async () => {
    const tab = await browser.newPage();
    await tab.goto(`${backend.url}/playground`);
    await tab.getByRole('heading', { name: 'Upload' }).waitFor();
    await tab.evaluate(`(() => {
      const data = new DataTransfer();
      data.items.add(new File([new Uint8Array(8192).fill(4)], 'dropped.webm', { type: 'video/webm' }));
      document.querySelector('.drop').dispatchEvent(new DragEvent('drop', { dataTransfer: data, bubbles: true, cancelable: true }));
    })()`);
    await tab.locator('li.upload[data-stage="completed"]').filter({ hasText: 'dropped.webm' }).waitFor({ timeout: 45_000 });
    await tab.close();
  }, 60_000);
});

describe.skipIf(skipBrowser)('the playground with authentication on', () => {
  let secured: LiveBackend;
  beforeAll(async () => {
    secured = await startLiveBackend({ API_TOKENS: 'playground-test-token-0123456789' });
  }, 120_000);
  afterAll(async () => secured?.close());

  it('refuses uploads without a token, and with the token from the field (kept in session storage) runs them', async () => {
    const tab = await browser.newPage();
    await tab.goto(`${secured.url}/playground`);
    await tab.getByLabel('Choose files').setInputFiles([{ name: 'anonymous.webm', mimeType: 'video/webm', buffer: Buffer.alloc(4096, 1) }]);
    await tab.locator('li.upload[data-stage="error"]').waitFor({ timeout: 20_000 });
    expect(await tab.locator('li.upload .stage').textContent()).toContain('UNAUTHORIZED');

    await tab.getByLabel(/API token/).fill('playground-test-token-0123456789');
    expect(await tab.evaluate(`sessionStorage.getItem('ecg-playground-token')`)).toBe('playground-test-token-0123456789');
    await tab.getByLabel('Choose files').setInputFiles([{ name: 'signed-in.webm', mimeType: 'video/webm', buffer: Buffer.alloc(4096, 2) }]);
    await tab.locator('li.upload[data-stage="completed"]').waitFor({ timeout: 45_000 });
    await tab.getByRole('button', { name: 'Open result of signed-in.webm' }).click();
    await tab.locator('.turn').first().waitFor();
    // The video URL came from getJobVideo with the token, and plays without it.
    await expect.poll(() => tab.locator('video').evaluate((v: HTMLVideoElement) => v.currentSrc)).toMatch(/\/storage\/videos\/u_[0-9a-f]+\/\d{8}_\d{6}_[0-9a-f]{8}_signed-in\.webm\?expires=\d+&sig=/);
    expect(await tab.locator('video').evaluate((v: HTMLVideoElement) => v.currentSrc)).not.toContain('playground-test-token');
    await tab.close();
  }, 90_000);
});
