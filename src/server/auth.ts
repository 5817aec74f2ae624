/** Bearer-token auth and CORS: small enough to own, so their behaviour is exactly what the README says. */
import { createHash, timingSafeEqual } from 'node:crypto';
import type { NextFunction, Request, RequestHandler, Response } from 'express';
import { HttpError } from './http-error.js';

/** Paths anyone may call: probes for load balancers and the API description (they reveal no data). */
export const PUBLIC_PATHS: ReadonlySet<string> = new Set(['/healthz', '/readyz', '/api/openapi.json']);

const digest = (s: string) => createHash('sha256').update(s).digest();

/**
 * Requires `Authorization: Bearer <token>` on every path but PUBLIC_PATHS when a token is configured.
 * Compares digests in constant time, so the response time does not leak how much of a guess was right.
 */
export function bearerAuth(token: string | undefined): RequestHandler {
  if (!token) return (_req, _res, next) => next();
  const expected = digest(token);
  return (req: Request, _res: Response, next: NextFunction) => {
    if (req.method === 'OPTIONS' || PUBLIC_PATHS.has(req.path)) return next();
    const header = req.get('authorization');
    if (!header) return next(new HttpError(401, 'UNAUTHORIZED', 'missing credentials: send the header "Authorization: Bearer <token>" with the token the server was started with (--token or MEDSEG_TOKEN)'));
    const m = /^Bearer[ ]+(\S+)\s*$/i.exec(header);
    if (!m) return next(new HttpError(401, 'UNAUTHORIZED', 'malformed Authorization header: expected "Bearer <token>"'));
    if (!timingSafeEqual(digest(m[1]!), expected)) return next(new HttpError(401, 'UNAUTHORIZED', 'invalid token: it does not match the token the server was started with'));
    next();
  };
}

/**
 * CORS for an explicit allow-list of origins (none by default: browsers then refuse cross-origin calls).
 * Answers preflights itself; an origin not on the list gets no CORS headers at all.
 */
export function cors(origins: readonly string[]): RequestHandler {
  const allowed = new Set(origins);
  return (req, res, next) => {
    const origin = req.get('origin');
    if (!origin || !(allowed.has(origin) || allowed.has('*'))) return next();
    res.vary('Origin');
    res.set('Access-Control-Allow-Origin', origin);
    res.set('Access-Control-Expose-Headers', 'Location, Content-Disposition');
    if (req.method === 'OPTIONS') {
      res.set('Access-Control-Allow-Methods', 'GET, POST, DELETE, OPTIONS');
      res.set('Access-Control-Allow-Headers', 'Authorization, Content-Type, Last-Event-ID');
      res.set('Access-Control-Max-Age', '600');
      res.status(204).end();
      return;
    }
    next();
  };
}
