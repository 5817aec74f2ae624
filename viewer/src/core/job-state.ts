/**
 * What the page shows while a study is uploaded and segmented: a small state machine driven by upload progress,
 * job updates (server-sent events or polls) and errors. Pure, so every transition is unit-tested.
 *
 *   idle → uploading → submitting → queued ⇄ running → succeeded | failed | cancelled
 *   (any state) → error (a request failed; the message says which and why)
 *
 * Job updates can arrive out of order (a poll racing an event): one never moves the display back from a finished
 * state, and within one attempt progress never goes backwards.
 */
import type { JobJson, JobStage } from './api-types.js';

export type JobView =
  | { phase: 'idle' }
  | { phase: 'uploading'; loadedBytes: number; totalBytes: number }
  | { phase: 'submitting'; studyId: string }
  | { phase: 'queued'; job: JobJson }
  | { phase: 'running'; job: JobJson }
  | { phase: 'succeeded'; job: JobJson }
  | { phase: 'failed'; job: JobJson; code: string; message: string }
  | { phase: 'cancelled'; job: JobJson }
  | { phase: 'error'; code: string; message: string };

export type JobEvent =
  | { type: 'upload-started'; totalBytes: number }
  | { type: 'upload-progress'; loadedBytes: number; totalBytes: number }
  | { type: 'upload-done'; studyId: string }
  | { type: 'job'; job: JobJson }
  | { type: 'error'; code: string; message: string }
  | { type: 'reset' };

const FINISHED = new Set<JobView['phase']>(['succeeded', 'failed', 'cancelled']);

export function isFinished(view: JobView): boolean {
  return FINISHED.has(view.phase);
}

function fromJob(job: JobJson): JobView {
  switch (job.status) {
    case 'queued':
      return { phase: 'queued', job };
    case 'running':
      return { phase: 'running', job };
    case 'succeeded':
      return { phase: 'succeeded', job };
    case 'cancelled':
      return { phase: 'cancelled', job };
    case 'failed':
      return { phase: 'failed', job, code: job.error?.code ?? 'FAILED', message: job.error?.message ?? 'the job failed without a message' };
  }
}

export function reduceJobView(view: JobView, event: JobEvent): JobView {
  switch (event.type) {
    case 'reset':
      return { phase: 'idle' };
    case 'error':
      return { phase: 'error', code: event.code, message: event.message };
    case 'upload-started':
      return { phase: 'uploading', loadedBytes: 0, totalBytes: event.totalBytes };
    case 'upload-progress':
      if (view.phase !== 'uploading') return view;
      return { phase: 'uploading', loadedBytes: Math.max(view.loadedBytes, event.loadedBytes), totalBytes: event.totalBytes };
    case 'upload-done':
      return { phase: 'submitting', studyId: event.studyId };
    case 'job': {
      const next = fromJob(event.job);
      if (!('job' in view)) return next;
      if (view.job.id !== event.job.id) return next;
      if (isFinished(view)) return view;
      if (view.phase === 'running' && next.phase === 'running' && event.job.attempts === view.job.attempts && event.job.progress < view.job.progress) {
        // A stale update of the same attempt: keep the newer progress.
        return view;
      }
      return next;
    }
  }
}

const STAGE_NAMES: Readonly<Record<JobStage, string>> = {
  starting: 'loading the scan and model',
  preprocess: 'preprocessing',
  inference: 'running the model',
  postprocess: 'postprocessing',
  writing: 'writing the results',
  done: 'done',
};

/** "45 s", "3 min", "1 h 5 min". */
export function formatDuration(seconds: number): string {
  const s = Math.max(0, Math.round(seconds));
  if (s < 60) return `${s} s`;
  const m = Math.round(s / 60);
  if (m < 60) return `${m} min`;
  return `${Math.floor(m / 60)} h ${m % 60} min`;
}

export function formatBytes(bytes: number): string {
  if (bytes < 1024 * 1024) return `${(bytes / 1024).toFixed(0)} KB`;
  return `${(bytes / (1024 * 1024)).toFixed(1)} MB`;
}

/** A one-line description and a 0–1 progress (undefined: indeterminate) for the progress bar. */
export function describeJobView(view: JobView): { text: string; progress: number | undefined } {
  switch (view.phase) {
    case 'idle':
      return { text: 'Choose a scan and a model.', progress: 0 };
    case 'uploading': {
      const f = view.totalBytes > 0 ? view.loadedBytes / view.totalBytes : 0;
      return { text: `Uploading: ${Math.floor(f * 100)} % (${formatBytes(view.loadedBytes)} of ${formatBytes(view.totalBytes)})`, progress: f };
    }
    case 'submitting':
      return { text: 'Uploaded; starting the job…', progress: undefined };
    case 'queued':
      return { text: 'Queued: waiting for a free worker…', progress: 0 };
    case 'running': {
      const j = view.job;
      const eta = j.etaSeconds === null ? '' : ` — about ${formatDuration(j.etaSeconds)} left`;
      const attempt = j.attempts > 1 ? ` (attempt ${j.attempts})` : '';
      return { text: `Running: ${STAGE_NAMES[j.stage ?? 'starting']}, ${Math.floor(j.progress * 100)} %${eta}${attempt}`, progress: j.progress };
    }
    case 'succeeded':
      return { text: 'Finished: opening the result…', progress: 1 };
    case 'failed':
      return { text: `The job failed (${view.code}): ${view.message}`, progress: undefined };
    case 'cancelled':
      return { text: 'The job was cancelled.', progress: undefined };
    case 'error':
      return { text: `${view.message} (${view.code})`, progress: undefined };
  }
}
