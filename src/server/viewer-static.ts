/**
 * Serves the browser viewer's bundle (viewer/dist, built by `npm run build:viewer`): the page at `/` and its files
 * under `/assets/`. Nothing else: every other path falls through to the API. Static files need no token (they hold
 * no data); the page asks for the token and sends it on its API calls.
 *
 * Headers: the page gets a Content-Security-Policy that allows only this origin's scripts, styles, workers and
 * connections (vtk.js needs no eval and no inline code; WebGL needs no CSP source), no framing, no referrer.
 * Hashed assets (name-HASH.ext) are cached for a year; the page itself is revalidated on every load.
 */
import { existsSync } from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { NextFunction, Request, RequestHandler, Response } from 'express';

export const VIEWER_CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data: blob:",
  "connect-src 'self'",
  "worker-src 'self'",
  "font-src 'self'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');

/** esbuild's `[name]-[hash]` names: the hash is 8 upper-case base-32 characters. */
const HASHED = /-[A-Z0-9]{8}\.(js|css)$/;
const ASSET_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,200}$/;

/** The viewer bundle of this installation (src/server → ../../viewer/dist, also from dist/server). */
export function bundledViewerDir(): string {
  return path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', 'viewer', 'dist');
}

function pageHeaders(res: Response): void {
  res.set('Content-Security-Policy', VIEWER_CSP);
  res.set('Referrer-Policy', 'no-referrer');
  res.set('X-Frame-Options', 'DENY');
  res.set('Cross-Origin-Opener-Policy', 'same-origin');
  res.set('Permissions-Policy', 'camera=(), microphone=(), geolocation=()');
}

/**
 * Express middleware for the viewer: GET/HEAD `/` and `/assets/<file>` from `dir`; anything else goes to `next`.
 * When the bundle is missing, `/` answers 503 naming the command that builds it.
 */
export function viewerStatic(dir: string): RequestHandler {
  const root = path.resolve(dir);
  const assets = path.join(root, 'assets');
  return (req: Request, res: Response, next: NextFunction) => {
    if (req.method !== 'GET' && req.method !== 'HEAD') return next();
    if (req.path === '/') {
      const index = path.join(root, 'index.html');
      if (!existsSync(index)) {
        res.status(503).type('text/plain; charset=utf-8').send(`The medseg viewer is not built: ${index} is missing. Run \`npm run build:viewer\` (npm install, npm start and npm test build it too), then reload. The API itself works: see /api/openapi.json.\n`);
        return;
      }
      pageHeaders(res);
      res.set('Cache-Control', 'no-cache');
      res.sendFile('index.html', { root, dotfiles: 'deny', lastModified: true, cacheControl: false }, (err) => err && next(err));
      return;
    }
    if (!req.path.startsWith('/assets/')) return next();
    const name = req.path.slice('/assets/'.length);
    // One plain file name: no subfolders, no dot files, nothing that could climb out of the folder. /assets/ is the
    // viewer's: a miss is answered here (a 401 from the API's token check would only confuse).
    if (!ASSET_NAME.test(name) || !existsSync(path.join(assets, name))) {
      res.status(404).type('text/plain; charset=utf-8').send('no such viewer file; rebuild the viewer (npm run build:viewer) and reload the page\n');
      return;
    }
    res.set('Cache-Control', HASHED.test(name) ? 'public, max-age=31536000, immutable' : 'no-cache');
    res.sendFile(name, { root: assets, dotfiles: 'deny', cacheControl: false }, (err) => err && next(err));
  };
}
