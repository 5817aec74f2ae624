/**
 * The viewer's static files on the real server (ephemeral port, bearer token set): the page and its assets need no
 * token and carry their security and cache headers; the API still does; a missing bundle says how to build it.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { VIEWER_CSP } from '../../src/server/viewer-static.js';
import { removeTempDirs, startTestServer, tempDir, type TestServer } from '../server/helpers.js';

/** 60 kB of compressible JavaScript, like the vtk.js bundle. */
const BIG = Array.from({ length: 2000 }, (_, i) => `export const v${i} = ${i};`).join('\n');
let server: TestServer;
let bare: TestServer;

beforeAll(async () => {
  const dist = tempDir('viewer-dist');
  mkdirSync(join(dist, 'assets'));
  writeFileSync(join(dist, 'index.html'), '<!doctype html><title>medseg viewer</title><script type="module" src="assets/main-ABCD1234.js"></script>');
  writeFileSync(join(dist, 'assets', 'main-ABCD1234.js'), 'export {};\n');
  writeFileSync(join(dist, 'assets', 'build.txt'), 'plain\n');
  writeFileSync(join(dist, 'assets', 'big-ABCD1234.js'), BIG);
  writeFileSync(join(dist, 'secret.txt'), 'not an asset\n');
  [server, bare] = await Promise.all([startTestServer({ viewerDir: dist }), startTestServer({ viewerDir: join(dist, 'absent') })]);
});

afterAll(async () => {
  await Promise.all([server?.close({ graceMs: 0 }), bare?.close({ graceMs: 0 })]);
  removeTempDirs();
});

const get = (s: TestServer, path: string, init?: RequestInit) => fetch(s.url + path, init);

describe('viewer static files', () => {
  it('serves the page at / without a token, with its CSP and no-framing headers, revalidated on each load', async () => {
    const res = await get(server, '/');
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('text/html; charset=utf-8');
    expect(await res.text()).toContain('<title>medseg viewer</title>');
    expect(res.headers.get('content-security-policy')).toBe(VIEWER_CSP);
    expect(VIEWER_CSP).toContain("script-src 'self'");
    expect(VIEWER_CSP).not.toContain('unsafe');
    expect(res.headers.get('x-frame-options')).toBe('DENY');
    expect(res.headers.get('x-content-type-options')).toBe('nosniff');
    expect(res.headers.get('referrer-policy')).toBe('no-referrer');
    expect(res.headers.get('cache-control')).toBe('no-cache');
    expect((await get(server, '/?job=job_0123', { method: 'HEAD' })).status).toBe(200);
  });

  it('serves hashed assets for a year and plain ones revalidated', async () => {
    const js = await get(server, '/assets/main-ABCD1234.js');
    expect(js.status).toBe(200);
    expect(js.headers.get('content-type')).toMatch(/^(text|application)\/javascript; charset=utf-8$/);
    expect(js.headers.get('cache-control')).toBe('public, max-age=31536000, immutable');
    const plain = await get(server, '/assets/build.txt');
    expect(plain.headers.get('cache-control')).toBe('no-cache');
  });

  it('gzips what compresses when the client accepts it, and sends it plain when not', async () => {
    const gz = await get(server, '/assets/big-ABCD1234.js', { headers: { 'accept-encoding': 'gzip' } });
    expect(gz.headers.get('content-encoding')).toBe('gzip');
    expect(gz.headers.get('vary')).toMatch(/accept-encoding/i);
    expect(await gz.text()).toBe(BIG);
    const plain = await get(server, '/assets/big-ABCD1234.js', { headers: { 'accept-encoding': 'identity' } });
    expect(plain.headers.get('content-encoding')).toBeNull();
    expect(Number(plain.headers.get('content-length'))).toBe(Buffer.byteLength(BIG));
    expect(await plain.text()).toBe(BIG);
    // API JSON too (the OpenAPI description is several kB).
    const api = await get(server, '/api/openapi.json', { headers: { 'accept-encoding': 'gzip' } });
    expect(api.headers.get('content-encoding')).toBe('gzip');
    expect(((await api.json()) as { openapi: string }).openapi).toMatch(/^3\./);
  });

  it('serves nothing outside assets/: no climbing out, no other files, no dot files', async () => {
    for (const path of ['/assets/..%2fsecret.txt', '/assets/.hidden', '/assets/missing-ABCD1234.js', '/assets/']) {
      const res = await get(server, path);
      expect(res.status, path).toBe(404);
      expect(await res.text(), path).toContain('npm run build:viewer');
    }
    // (fetch resolves /assets/%2e%2e/secret.txt to /secret.txt before sending: the API's 401 below.)
    const climbed = await get(server, '/assets/%2e%2e/secret.txt');
    expect(await climbed.text()).not.toContain('not an asset');
    // Outside /assets/ the API answers, and it wants the token.
    expect((await get(server, '/secret.txt')).status).toBe(401);
    expect((await get(server, '/index.html')).status).toBe(401);
  });

  it('leaves the API behind its token', async () => {
    expect((await get(server, '/api/models')).status).toBe(401);
    expect((await server.api('/api/models')).status).toBe(200);
  });

  it('answers / with 503 naming the build command when the bundle is missing', async () => {
    const res = await get(bare, '/');
    expect(res.status).toBe(503);
    expect(await res.text()).toMatch(/^The medseg viewer is not built: .*index\.html is missing\. Run `npm run build:viewer`/);
  });
});
