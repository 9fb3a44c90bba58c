/**
 * Runs in the browser (bundled by test/browser/playground.test.ts): makes a small, seekable WebM
 * (VP8, with duration and cues) from a canvas with WebCodecs and mediabunny, and hands it back as
 * base64. Each frame shows its time, so a screenshot shows where the video stands.
 */
import { BufferTarget, CanvasSource, Output, WebMOutputFormat } from 'mediabunny';

async function makeTestVideo(seconds: number, hue: number): Promise<string> {
  const canvas = document.createElement('canvas');
  canvas.width = 320;
  canvas.height = 180;
  const g = canvas.getContext('2d')!;
  const output = new Output({ format: new WebMOutputFormat(), target: new BufferTarget() });
  const source = new CanvasSource(canvas, { codec: 'vp8', bitrate: 200_000, keyFrameInterval: 1 });
  output.addVideoTrack(source, { frameRate: 5 });
  await output.start();
  const fps = 5;
  for (let i = 0; i < seconds * fps; i++) {
    g.fillStyle = `hsl(${hue} 60% 35%)`;
    g.fillRect(0, 0, canvas.width, canvas.height);
    g.fillStyle = '#fff';
    g.font = '48px sans-serif';
    g.fillText(`${(i / fps).toFixed(1)} s`, 90, 105);
    await source.add(i / fps, 1 / fps);
  }
  await output.finalize();
  const bytes = new Uint8Array(output.target.buffer!);
  let binary = '';
  for (const b of bytes) binary += String.fromCharCode(b);
  return btoa(binary);
}

(globalThis as { makeTestVideo?: typeof makeTestVideo }).makeTestVideo = makeTestVideo;
