/**
 * The playground (examples/playground) at /playground, and a home page at / that links to it and
 * to the API reference. The page is bundled with esbuild on its first request and kept in memory,
 * so `npm start` needs no build step and nothing comes from a CDN.
 */
import { type Context,Hono } from 'hono';
import type { PlaygroundBundle } from '../../examples/playground/build.js';

const page = (title: string, body: string, head = '') => `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${title}</title>
${head}
</head>
<body>
${body}
</body>
</html>
`;

const HOME = page(
  'ECG',
  `<main style="font-family: system-ui, sans-serif; max-width: 40rem; margin: 3rem auto; padding: 0 1rem; line-height: 1.5; color: #1a1a1a">
<h1>ECG</h1>
<p>Turns an uploaded video into a transcript with speakers, word timings and acoustic features.</p>
<ul>
<li><a href="/playground">Playground</a>: upload videos and look at their transcripts</li>
<li><a href="/docs">API reference</a></li>
</ul>
</main>`,
);

const PLAYGROUND = page(
  'ECG playground',
  '<div id="root"></div>\n<script type="module" src="/playground/app.js"></script>',
  '<link rel="stylesheet" href="/playground/app.css">',
);

export function playgroundRoutes(build: () => Promise<PlaygroundBundle> = defaultBuild): Hono {
  const app = new Hono();
  let bundle: Promise<PlaygroundBundle> | undefined;
  const assets = () => {
    bundle ??= build().catch((err: unknown) => {
      bundle = undefined; // a later request tries again
      throw err;
    });
    return bundle;
  };
  const asset = (pick: (b: PlaygroundBundle) => string, type: string) => async (c: Context) => {
    let text: string;
    try {
      text = pick(await assets());
    } catch (err) {
      const reason = err instanceof Error ? err.message : String(err);
      return c.text(`The playground could not be built (is esbuild installed? run npm ci): ${reason}`, 503);
    }
    c.header('Content-Type', type);
    c.header('Cache-Control', 'no-cache');
    return c.body(text);
  };

  app.get('/', (c) => c.html(HOME));
  app.get('/playground', (c) => c.html(PLAYGROUND));
  app.get('/playground/', (c) => c.redirect('/playground', 301));
  app.get('/playground/app.js', asset((b) => b.js, 'text/javascript; charset=utf-8'));
  app.get('/playground/app.css', asset((b) => b.css, 'text/css; charset=utf-8'));
  return app;
}

async function defaultBuild(): Promise<PlaygroundBundle> {
  const { buildPlayground } = await import('../../examples/playground/build.js');
  return buildPlayground();
}
