/**
 * The medseg service: createApp builds the express app on a data folder (studies, job database, results) and
 * starts its job queue; startServer also listens. Both return a `close` that shuts down gracefully: stop accepting,
 * end event streams, give running jobs `shutdownGraceMs` to finish (then queue them for the next start), close the DB.
 */
import { promises as fsp } from 'node:fs';
import type { Server } from 'node:http';
import * as path from 'node:path';
import compression from 'compression';
import express, { type Express, type NextFunction, type Request, type Response } from 'express';
import { bearerAuth, cors } from './auth.js';
import { importDemo } from './demo.js';
import { errorResponse, HttpError } from './http-error.js';
import { createQueue } from './jobs/create-queue.js';
import { segmentTaskPreparer } from './jobs/prepare.js';
import type { JobQueue } from './jobs/types.js';
import { ModelCatalog } from './models.js';
import { resolveServerOptions, type ServerOptions } from './options.js';
import { registerRoutes } from './routes.js';
import { StudyStore } from './studies.js';
import { viewerStatic } from './viewer-static.js';

export interface MedsegApp {
  app: Express;
  queue: JobQueue;
  options: ServerOptions;
  /** The demo result's job id (stable for the same demo files), when `options.demo` was given. */
  demoJobId: string | undefined;
  /** Graceful shutdown of everything but the HTTP listener (startServer closes that too). */
  shutdown(options?: { graceMs?: number }): Promise<void>;
}

export interface MedsegServer extends MedsegApp {
  server: Server;
  /** e.g. http://127.0.0.1:41234 */
  url: string;
  port: number;
  close(options?: { graceMs?: number }): Promise<void>;
}

/** Replaces the server's own folders in messages with relative names: clients need not learn the server's layout. */
export function pathSanitizer(dirs: readonly string[]): (message: string) => string {
  const prefixes = dirs.map((d) => path.resolve(d) + path.sep).sort((a, b) => b.length - a.length);
  return (message) => prefixes.reduce((m, p) => m.split(p).join(''), message);
}

/**
 * Builds the app and starts the job queue (jobs a crash left unfinished are queued again).
 * @throws ServerConfigError for unsafe or invalid options (e.g. no token beyond loopback).
 */
export async function createApp(partial: Partial<ServerOptions> = {}): Promise<MedsegApp> {
  const options = resolveServerOptions(partial);
  const { log } = options;
  await fsp.mkdir(options.dataDir, { recursive: true });
  const studies = new StudyStore(options.dataDir, options.limits);
  await studies.init();
  const models = new ModelCatalog(options.modelsDir, log);
  const sanitize = pathSanitizer([options.dataDir, options.modelsDir]);
  const queue = createQueue(options, { sanitize, prepare: segmentTaskPreparer(studies, models) });
  await queue.start();
  let demo;
  try {
    demo = options.demo ? await importDemo(options.demo, { studies, queue, models }) : undefined;
  } catch (e) {
    await queue.close({ graceMs: 0 });
    throw e;
  }
  if (demo) log({ event: 'demo_imported', study: demo.study, job: demo.job });

  let closing = false;
  const sseStreams = new Set<Response>();
  const app = express();
  app.disable('x-powered-by');
  app.use((req, res, next) => {
    const t0 = performance.now();
    res.set('X-Content-Type-Options', 'nosniff');
    res.set('Cache-Control', 'no-store');
    // Route pattern and id only: URLs hold nothing else, and upload names or paths are never logged.
    res.on('finish', () => log({ event: 'request', method: req.method, route: (req.route as { path?: string } | undefined)?.path ?? null, id: req.params?.id, status: res.statusCode, ms: Math.round(performance.now() - t0) }));
    next();
  });
  // gzip for what compresses (the viewer bundle: 0.8 MB of JavaScript, JSON, CSV) when the client accepts it;
  // compressed downloads (.nii.gz, DICOM) and event streams (Cache-Control: no-transform) pass through unchanged.
  app.use(compression());
  app.use(cors(options.corsOrigins));
  app.use(viewerStatic(options.viewerDir));
  app.use(bearerAuth(options.token));
  app.use((req, _res, next) => {
    if (closing && req.method === 'POST') return next(new HttpError(503, 'SHUTTING_DOWN', 'the server is shutting down; retry against the restarted server'));
    next();
  });
  registerRoutes(app, {
    studies,
    models,
    queue,
    ready: () => !closing && queue.ready,
    counts: () => queue.counts(),
    sseStreams,
    sanitize,
  });
  app.use((req, _res, next) => next(new HttpError(404, 'NOT_FOUND', `no route ${req.method} ${req.path.slice(0, 200)}; the API is described at /api/openapi.json`)));
  app.use((err: unknown, req: Request, res: Response, _next: NextFunction) => {
    const { status, body } = errorResponse(err);
    if (status >= 500) log({ event: 'error', route: (req.route as { path?: string } | undefined)?.path ?? null, code: body.error.code, error: sanitize(String((err as Error)?.stack ?? err)) });
    if (res.headersSent) return void res.end();
    res.status(status).json(body);
  });

  const shutdown = async ({ graceMs = options.shutdownGraceMs }: { graceMs?: number } = {}) => {
    if (closing) return;
    closing = true;
    // Open event streams would keep the HTTP server from closing; clients reconnect to the restarted server.
    for (const res of sseStreams) res.end();
    sseStreams.clear();
    await queue.close({ graceMs });
    log({ event: 'shutdown_complete' });
  };
  return { app, queue, options, shutdown, demoJobId: demo?.job };
}

/** createApp, listening on options.host:options.port (0: a free port). */
export async function startServer(partial: Partial<ServerOptions> = {}): Promise<MedsegServer> {
  const medseg = await createApp(partial);
  const { host, port } = medseg.options;
  const server = await new Promise<Server>((resolve, reject) => {
    const s = medseg.app.listen(port, host, (err?: Error) => (err ? reject(err) : resolve(s)));
  });
  // Uploads of large studies take long: no request timeout, but a bound on slow headers (slowloris).
  server.requestTimeout = 0;
  server.headersTimeout = 60_000;
  const address = server.address();
  const actualPort = typeof address === 'object' && address ? address.port : port;
  const url = `http://${host.includes(':') ? `[${host}]` : host}:${actualPort}`;
  medseg.options.log({ event: 'listening', url, ...(medseg.options.redisUrl ? { queue: 'redis' } : { concurrency: medseg.options.concurrency }), auth: medseg.options.token ? 'bearer' : 'none' });
  const close = async (o: { graceMs?: number } = {}) => {
    const closed = new Promise<void>((resolve) => server.close(() => resolve()));
    await medseg.shutdown(o);
    server.closeAllConnections();
    await closed;
  };
  return { ...medseg, server, url, port: actualPort, close };
}
