/** The routes serving the playground and the home page, without a browser. */
import { describe, expect, it } from 'vitest';
import { playgroundRoutes } from '../../server/routes/playground.routes.js';

describe('playground routes', () => {
  it('builds the bundle once, on the first request, and serves the script and the style from memory', async () => {
    let builds = 0;
    const app = playgroundRoutes(() => {
      builds++;
      return Promise.resolve({ js: 'console.log("playground")', css: 'body{margin:0}' });
    });
    const page = await app.request('/playground');
    expect(page.status).toBe(200);
    expect(await page.text()).toMatch(/<script type="module" src="\/playground\/app\.js"><\/script>/);
    expect(builds).toBe(0);
    const [js, css] = await Promise.all([app.request('/playground/app.js'), app.request('/playground/app.css')]);
    expect([js.status, js.headers.get('content-type'), await js.text()]).toEqual([200, 'text/javascript; charset=utf-8', 'console.log("playground")']);
    expect([css.status, css.headers.get('content-type'), await css.text()]).toEqual([200, 'text/css; charset=utf-8', 'body{margin:0}']);
    await app.request('/playground/app.js');
    expect(builds).toBe(1);
  });

  it('answers 503 with the reason when the bundle cannot be built, and tries again on the next request', async () => {
    let fail = true;
    const app = playgroundRoutes(() =>
      fail ? Promise.reject(new Error("Cannot find package 'esbuild'")) : Promise.resolve({ js: 'ok()', css: '' }),
    );
    const first = await app.request('/playground/app.js');
    expect(first.status).toBe(503);
    expect(await first.text()).toContain("Cannot find package 'esbuild'");
    fail = false;
    const second = await app.request('/playground/app.js');
    expect([second.status, await second.text()]).toEqual([200, 'ok()']);
  });

  it('serves a home page that links to the playground and the API reference', async () => {
    const home = await playgroundRoutes(() => Promise.resolve({ js: '', css: '' })).request('/');
    expect(home.status).toBe(200);
    const html = await home.text();
    expect(html).toContain('<a href="/playground">');
    expect(html).toContain('<a href="/docs">');
  });
});
