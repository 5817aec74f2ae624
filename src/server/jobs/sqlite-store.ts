/**
 * The job table in SQLite (better-sqlite3, synchronous: each call is one short transaction on a local file).
 * WAL with synchronous=FULL: a committed job survives a process kill and a power cut; readers never block the writer.
 */
import Database from 'better-sqlite3';
import { JOB_STAGES, JOB_STATUSES, type JobError, type JobOptions, type JobRecord, type JobSpec, type JobStage, type JobStatus } from './types.js';

interface Row {
  id: string;
  study: string;
  model: string;
  options: string;
  status: string;
  stage: string | null;
  progress: number;
  eta_seconds: number | null;
  error_code: string | null;
  error_message: string | null;
  cancel_requested: number;
  attempts: number;
  created_at: string;
  started_at: string | null;
  finished_at: string | null;
}

const SCHEMA = `
CREATE TABLE IF NOT EXISTS jobs (
  id TEXT PRIMARY KEY,
  study TEXT NOT NULL,
  model TEXT NOT NULL,
  options TEXT NOT NULL,
  status TEXT NOT NULL CHECK (status IN (${JOB_STATUSES.map((s) => `'${s}'`).join(', ')})),
  stage TEXT,
  progress REAL NOT NULL DEFAULT 0,
  eta_seconds REAL,
  error_code TEXT,
  error_message TEXT,
  cancel_requested INTEGER NOT NULL DEFAULT 0,
  attempts INTEGER NOT NULL DEFAULT 0,
  created_at TEXT NOT NULL,
  started_at TEXT,
  finished_at TEXT
);
CREATE INDEX IF NOT EXISTS jobs_by_status ON jobs (status, created_at);
`;

function toRecord(r: Row): JobRecord {
  return {
    id: r.id,
    study: r.study,
    model: r.model,
    options: JSON.parse(r.options) as JobOptions,
    status: r.status as JobStatus,
    stage: r.stage && (JOB_STAGES as readonly string[]).includes(r.stage) ? (r.stage as JobStage) : null,
    progress: r.progress,
    etaSeconds: r.eta_seconds,
    error: r.error_code ? { code: r.error_code, message: r.error_message ?? '' } : null,
    attempts: r.attempts,
    createdAt: r.created_at,
    startedAt: r.started_at,
    finishedAt: r.finished_at,
  };
}

/** What recover() did at start-up, for the log. */
export interface RecoveryReport {
  requeued: string[];
  failed: string[];
  cancelled: string[];
}

export class SqliteJobStore {
  private readonly db: Database.Database;

  constructor(file: string) {
    this.db = new Database(file);
    this.db.pragma('journal_mode = WAL');
    this.db.pragma('synchronous = FULL');
    this.db.pragma('busy_timeout = 5000');
    this.db.exec(SCHEMA);
  }

  insert(id: string, spec: JobSpec, now = new Date()): JobRecord {
    this.db
      .prepare(`INSERT INTO jobs (id, study, model, options, status, created_at) VALUES (?, ?, ?, ?, 'queued', ?)`)
      .run(id, spec.study, spec.model, JSON.stringify(spec.options), now.toISOString());
    return this.get(id)!;
  }

  /** A job that finished elsewhere, stored as succeeded (see JobQueue.importSucceeded); false when `id` exists. */
  insertSucceeded(id: string, spec: JobSpec, now = new Date()): boolean {
    const at = now.toISOString();
    const r = this.db
      .prepare(
        `INSERT OR IGNORE INTO jobs (id, study, model, options, status, stage, progress, eta_seconds, attempts, created_at, started_at, finished_at)
         VALUES (?, ?, ?, ?, 'succeeded', 'done', 1, 0, 0, ?, ?, ?)`,
      )
      .run(id, spec.study, spec.model, JSON.stringify(spec.options), at, at, at);
    return r.changes === 1;
  }

  /** The newest jobs first. */
  list(limit: number): JobRecord[] {
    return (this.db.prepare(`SELECT * FROM jobs ORDER BY created_at DESC, rowid DESC LIMIT ?`).all(limit) as Row[]).map(toRecord);
  }

  get(id: string): JobRecord | undefined {
    const row = this.db.prepare(`SELECT * FROM jobs WHERE id = ?`).get(id) as Row | undefined;
    return row ? toRecord(row) : undefined;
  }

  cancelRequested(id: string): boolean {
    const row = this.db.prepare(`SELECT cancel_requested FROM jobs WHERE id = ?`).get(id) as { cancel_requested: number } | undefined;
    return row?.cancel_requested === 1;
  }

  /** Takes the oldest queued job and marks it running (one transaction, so two takers never get the same job). */
  claimNext(now = new Date()): JobRecord | undefined {
    return this.db.transaction(() => {
      const row = this.db.prepare(`SELECT id FROM jobs WHERE status = 'queued' ORDER BY created_at, rowid LIMIT 1`).get() as { id: string } | undefined;
      if (!row) return undefined;
      this.db
        .prepare(`UPDATE jobs SET status = 'running', stage = 'starting', progress = 0, eta_seconds = NULL, attempts = attempts + 1, started_at = ?, error_code = NULL, error_message = NULL WHERE id = ?`)
        .run(now.toISOString(), row.id);
      return this.get(row.id);
    })();
  }

  progress(id: string, stage: JobStage, progress: number, etaSeconds: number | null): void {
    this.db.prepare(`UPDATE jobs SET stage = ?, progress = ?, eta_seconds = ? WHERE id = ? AND status = 'running'`).run(stage, progress, etaSeconds, id);
  }

  /** Ends a job; only a queued or running job changes (a finished one stays as it was). Returns whether it changed. */
  finish(id: string, status: 'succeeded' | 'failed' | 'cancelled', error: JobError | null = null, now = new Date()): boolean {
    const done = status === 'succeeded';
    const r = this.db
      .prepare(
        `UPDATE jobs SET status = ?, stage = CASE WHEN ? THEN 'done' ELSE stage END, progress = CASE WHEN ? THEN 1 ELSE progress END,
         eta_seconds = CASE WHEN ? THEN 0 ELSE NULL END, error_code = ?, error_message = ?, finished_at = ?
         WHERE id = ? AND status IN ('queued', 'running')`,
      )
      .run(status, done ? 1 : 0, done ? 1 : 0, done ? 1 : 0, error?.code ?? null, error?.message ?? null, now.toISOString(), id);
    return r.changes === 1;
  }

  /** Recorded before the running process is told, so a crash in between still ends the job as cancelled. */
  requestCancel(id: string): void {
    this.db.prepare(`UPDATE jobs SET cancel_requested = 1 WHERE id = ? AND status = 'running'`).run(id);
  }

  /**
   * Puts a running job back in the queue. `countAttempt` false when the server stopped it (shutdown), so only crashes
   * count towards maxAttempts.
   */
  requeue(id: string, countAttempt: boolean): void {
    this.db
      .prepare(`UPDATE jobs SET status = 'queued', stage = NULL, progress = 0, eta_seconds = NULL, started_at = NULL, attempts = attempts - ? WHERE id = ? AND status = 'running'`)
      .run(countAttempt ? 0 : 1, id);
  }

  /**
   * At start-up: jobs left `running` by a crashed server run again (queued), unless a cancel was requested
   * (cancelled) or they have already been started maxAttempts times (failed: the job itself may be what crashes).
   */
  recover(maxAttempts: number, now = new Date()): RecoveryReport {
    return this.db.transaction(() => {
      const rows = this.db.prepare(`SELECT id, attempts, cancel_requested FROM jobs WHERE status = 'running'`).all() as { id: string; attempts: number; cancel_requested: number }[];
      const report: RecoveryReport = { requeued: [], failed: [], cancelled: [] };
      for (const r of rows) {
        if (r.cancel_requested) {
          this.finish(r.id, 'cancelled', null, now);
          report.cancelled.push(r.id);
        } else if (r.attempts >= maxAttempts) {
          this.finish(r.id, 'failed', { code: 'INTERRUPTED', message: `the server stopped during this job ${r.attempts} times; it is not run again (maxAttempts ${maxAttempts}). Submit it again, or check the server's memory and logs` }, now);
          report.failed.push(r.id);
        } else {
          this.requeue(r.id, true);
          report.requeued.push(r.id);
        }
      }
      return report;
    })();
  }

  countByStatus(): Record<JobStatus, number> {
    const out = Object.fromEntries(JOB_STATUSES.map((s) => [s, 0])) as Record<JobStatus, number>;
    for (const r of this.db.prepare(`SELECT status, COUNT(*) AS n FROM jobs GROUP BY status`).all() as { status: JobStatus; n: number }[]) out[r.status] = r.n;
    return out;
  }

  close(): void {
    if (this.db.open) this.db.close();
  }
}
