/**
 * Jobs as the API sees them, and the queue interface. LocalJobQueue (SQLite + child processes) implements it; a
 * queue on another engine (BullMQ on Redis) can implement it too and reuse prepare + runJobInChild for the work.
 */
import { z } from 'zod';

export const JOB_STATUSES = ['queued', 'running', 'succeeded', 'failed', 'cancelled'] as const;
export type JobStatus = (typeof JOB_STATUSES)[number];
export const TERMINAL: ReadonlySet<JobStatus> = new Set(['succeeded', 'failed', 'cancelled']);

/** Where a running job is: `starting` (loading the scan and model), the pipeline's stages, then `writing` results. */
export const JOB_STAGES = ['starting', 'preprocess', 'inference', 'postprocess', 'writing', 'done'] as const;
export type JobStage = (typeof JOB_STAGES)[number];

/** Segmentation options a client may set (the rest is the model card's). */
export const jobOptionsSchema = z
  .strictObject({
    tta: z.boolean().optional().describe("test-time mirroring (default: the card's mirror axes)"),
    batchSize: z.number().int().min(1).max(256).optional().describe("tiles or slices per session run (default: the card's)"),
    threads: z.number().int().min(1).max(256).optional().describe('ONNX Runtime intra-op threads (default: all cores)'),
    provider: z.enum(['cpu', 'cuda', 'webgpu', 'auto']).optional().describe('ONNX Runtime execution provider (default cpu)'),
    seriesId: z
      .string()
      .regex(/^[0-9A-Za-z._#-]{1,200}$/)
      .optional()
      .describe('the series to segment when the study holds several (a SeriesInstanceUID, or UID#2)'),
    allowNonUniform: z.boolean().optional().describe('resample a series with missing slices onto a uniform grid'),
  })
  .describe('segmentation options');
export type JobOptions = z.infer<typeof jobOptionsSchema>;

/** What a client submits (validated by the route: ids by pattern, the model by name). */
export interface JobSpec {
  study: string;
  model: string;
  options: JobOptions;
}

export interface JobError {
  code: string;
  message: string;
}

export interface JobRecord extends JobSpec {
  id: string;
  status: JobStatus;
  stage: JobStage | null;
  /** 0–1 over the whole job (stages weighted, see progress.ts). */
  progress: number;
  /** Seconds left, extrapolated from the progress so far; null until there is enough to extrapolate from. */
  etaSeconds: number | null;
  error: JobError | null;
  /** How often the job has been started (a restart after a crash starts it again). */
  attempts: number;
  createdAt: string;
  startedAt: string | null;
  finishedAt: string | null;
  /** The process running or last running the job (`host:pid` of a `medseg worker`); absent with the local queue. */
  worker?: string | null | undefined;
}

export type JobListener = (job: JobRecord) => void;

export interface JobQueue {
  /** Recovers jobs a previous run left unfinished and starts taking work. */
  start(): Promise<void>;
  /** Durably records a job (it survives a crash from the moment this resolves) and schedules it. */
  submit(spec: JobSpec): Promise<JobRecord>;
  get(id: string): Promise<JobRecord | undefined>;
  /** Cancels a queued or running job; a finished job is returned unchanged. */
  cancel(id: string): Promise<JobRecord | undefined>;
  /** Calls `listener` on every change of the job (status, stage, progress); returns the unsubscribe function. */
  subscribe(id: string, listener: JobListener): () => void;
  /** The folder of a succeeded job's result files. */
  resultsDir(id: string): string;
  /** The most recently created jobs, newest first (at most `limit`). */
  list(limit: number): Promise<JobRecord[]>;
  /**
   * Records a job that finished elsewhere as succeeded under `id`, with copies of the result files in `resultsFrom`
   * (the demo result that `npm start` shows). Idempotent: a job already stored under `id` is returned unchanged.
   */
  importSucceeded(id: string, spec: JobSpec, resultsFrom: string): Promise<JobRecord>;
  /** Jobs by status, for /readyz (a remote queue answers from a snapshot at most about a second old). */
  counts(): Record<JobStatus, number>;
  /** Whether the queue accepts and runs work (false before start and while closing). */
  readonly ready: boolean;
  /** Stops taking work; running jobs get `graceMs` to finish, then are stopped and queued for the next start. */
  close(options?: { graceMs?: number }): Promise<void>;
}
