/** The API's routes: request validation (zod, ids by pattern) → stores and queue → JSON or files. */
import { existsSync } from 'node:fs';
import * as path from 'node:path';
import express, { type Express, type Request, type Response } from 'express';
import { HttpError } from './http-error.js';
import { parseId } from './ids.js';
import { TERMINAL, type JobQueue } from './jobs/types.js';
import { runInChild } from './jobs/run-in-child.js';
import type { ModelCatalog } from './models.js';
import { describeIssues, jobRequestSchema } from './schemas.js';
import { buildOpenApi } from './openapi.js';
import { streamJobEvents } from './sse.js';
import { publicStudy, type StudyStore } from './studies.js';
import { isResultFile, publicJob, RESULT_FILES } from './views.js';

export interface RouteContext {
  studies: StudyStore;
  models: ModelCatalog;
  queue: JobQueue;
  /** Whether the server is ready (open queue, not shutting down). */
  ready: () => boolean;
  counts: () => Record<string, number>;
  sseStreams: Set<Response>;
  /** Strips server paths from messages for clients. */
  sanitize: (m: string) => string;
}

/** The image conversions in progress, so concurrent first requests convert once. */
const converting = new Map<string, Promise<void>>();

export function registerRoutes(app: Express, ctx: RouteContext): void {
  const { studies, models, queue } = ctx;

  app.get('/healthz', (_req, res) => {
    res.json({ status: 'ok' });
  });

  app.get('/readyz', (_req, res) => {
    if (!ctx.ready()) return void res.status(503).json({ status: 'not ready', reason: 'starting or shutting down' });
    res.json({ status: 'ready', jobs: ctx.counts() });
  });

  app.get('/api/openapi.json', (_req, res) => {
    res.json(buildOpenApi());
  });

  app.post('/api/studies', async (req, res) => {
    const study = await studies.create(req);
    res.status(201).location(`/api/studies/${study.id}`).json(publicStudy(study));
  });

  app.get('/api/studies/:id', async (req, res) => {
    res.json(publicStudy(await studies.get(parseId('study', req.params.id))));
  });

  app.get('/api/studies/:id/image.nii.gz', async (req, res) => {
    const id = parseId('study', req.params.id);
    const study = await studies.get(id);
    const file = studies.imagePath(id);
    if (!existsSync(file)) {
      // Converted once, in a job process (loading a large DICOM series would stall this event loop), then cached.
      let pending = converting.get(id);
      if (!pending) {
        pending = runInChild({ type: 'convert', inputs: studies.inputs(study), output: file }).finally(() => converting.delete(id));
        converting.set(id, pending);
      }
      try {
        await pending;
      } catch (e) {
        if (e instanceof Error) e.message = ctx.sanitize(e.message);
        throw e;
      }
    }
    res.type('application/gzip').sendFile('image.nii.gz', { root: studies.dir(id), dotfiles: 'deny' });
  });

  app.get('/api/models', async (_req, res) => {
    res.json({ models: await models.list() });
  });

  app.post('/api/jobs', express.json({ limit: '64kb' }), async (req, res) => {
    if (!req.is('application/json')) throw new HttpError(415, 'UNSUPPORTED_MEDIA_TYPE', 'send the job as JSON (Content-Type: application/json): {"study": "st_…", "model": "<name>", "options": {}}');
    const parsed = jobRequestSchema.safeParse(req.body);
    if (!parsed.success) throw new HttpError(400, 'BAD_REQUEST', `invalid job request: ${describeIssues(parsed.error)}`);
    const { study, model, options } = parsed.data;
    await studies.get(study); // 404 when absent
    await models.resolve(model); // 404 unknown, 409 not installed
    const job = await queue.submit({ study, model, options });
    res.status(202).location(`/api/jobs/${job.id}`).json(publicJob(job));
  });

  const findJob = async (req: Request) => {
    const id = parseId('job', req.params.id);
    const job = await queue.get(id);
    if (!job) throw new HttpError(404, 'NOT_FOUND', `no job ${id}`);
    return job;
  };

  app.get('/api/jobs', async (req, res) => {
    const raw = req.query.limit;
    const limit = raw === undefined ? 20 : Number(raw);
    if (!(Number.isInteger(limit) && limit >= 1 && limit <= 200)) throw new HttpError(400, 'BAD_REQUEST', 'limit must be a whole number 1…200');
    res.json({ jobs: (await queue.list(limit)).map(publicJob) });
  });

  app.get('/api/jobs/:id', async (req, res) => {
    res.json(publicJob(await findJob(req)));
  });

  app.get('/api/jobs/:id/events', async (req, res) => {
    const job = await findJob(req);
    await streamJobEvents(req, res, { queue, id: job.id, view: publicJob, open: ctx.sseStreams });
  });

  app.post('/api/jobs/:id/cancel', async (req, res) => {
    const job = await findJob(req);
    if (TERMINAL.has(job.status)) throw new HttpError(409, 'CONFLICT', `job ${job.id} has already ${job.status === 'cancelled' ? 'been cancelled' : job.status}; only queued or running jobs can be cancelled`);
    res.json(publicJob((await queue.cancel(job.id)) ?? job));
  });

  app.get('/api/jobs/:id/results/:file', async (req, res) => {
    const name = String(req.params.file);
    if (!isResultFile(name)) throw new HttpError(404, 'NOT_FOUND', `no result file "${name.slice(0, 100)}"; a job's results are ${Object.keys(RESULT_FILES).join(', ')}`);
    const job = await findJob(req);
    if (job.status !== 'succeeded') {
      throw new HttpError(job.status === 'queued' || job.status === 'running' ? 409 : 404, 'NOT_READY', `job ${job.id} is ${job.status}; results exist only once it has succeeded`);
    }
    const dir = queue.resultsDir(job.id);
    // An imported result (the demo) may lack the optional files.
    if (!existsSync(path.join(dir, name))) throw new HttpError(404, 'NOT_FOUND', `job ${job.id} has no ${name}${name === 'seg.dcm' ? ' (a DICOM SEG is written for DICOM studies only)' : ''}`);
    res.type(RESULT_FILES[name]).sendFile(name, { root: dir, dotfiles: 'deny' });
  });
}
