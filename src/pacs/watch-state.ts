/**
 * What `medseg pacs watch` remembers between runs, in one JSON file written atomically after every change:
 * the last Orthanc change sequence number fully handled, and per study what happened (segmented, skipped with a
 * reason, or failed with the attempts so far and when to try again). Restarting the watcher resumes after
 * `lastChange`; studies whose attempts failed are retried from `pending` even though their change is behind
 * `lastChange`, so no study is lost; studies are never done twice because `medseg pacs segment` itself is
 * idempotent (results carry UIDs derived from the source series and the model, and are looked up before work).
 */
import { existsSync, promises as fsp } from 'node:fs';
import { SegError } from '../errors.js';
import { writeFileAtomic } from '../io/atomic-write.js';

export type StudyOutcome = 'segmented' | 'already-present' | 'skipped' | 'failed';

export interface StudyRecord {
  studyInstanceUid: string;
  outcome: StudyOutcome;
  /** Failed attempts in a row (reset by a success). */
  attempts: number;
  /** ISO time of the last attempt. */
  at: string;
  /** Why it was skipped or what failed last. */
  reason?: string | undefined;
  /** While failed and under the attempt limit: ISO time before which it is not tried again. */
  retryAfter?: string | undefined;
  /** SeriesInstanceUID of the SEG and SR stored (or found) for it. */
  results?: { seg: string; sr: string } | undefined;
}

export interface WatchState {
  schemaVersion: 1;
  /** Orthanc's URL without credentials: a state file is never reused against another server by mistake. */
  orthanc: string;
  /** The sequence number of the last change handled (Orthanc's `/changes?since=`). */
  lastChange: number;
  /** By Orthanc study id. */
  studies: Record<string, StudyRecord>;
}

export function emptyState(orthanc: string): WatchState {
  return { schemaVersion: 1, orthanc, lastChange: 0, studies: {} };
}

/**
 * Reads the state file, or a fresh state when there is none.
 * @throws SegError INVALID_HEADER when the file is not a watch state or belongs to another server.
 */
export async function loadWatchState(file: string, orthanc: string): Promise<WatchState> {
  if (!existsSync(file)) return emptyState(orthanc);
  let parsed: unknown;
  try {
    parsed = JSON.parse(await fsp.readFile(file, 'utf8'));
  } catch (cause) {
    throw new SegError('INVALID_HEADER', `${file}: not a readable medseg watch state (${(cause as Error).message}); move it away to start over from the first change`, { cause });
  }
  const s = parsed as Partial<WatchState>;
  if (s.schemaVersion !== 1 || typeof s.lastChange !== 'number' || typeof s.studies !== 'object' || s.studies === null || typeof s.orthanc !== 'string') {
    throw new SegError('INVALID_HEADER', `${file}: not a medseg watch state (schemaVersion 1 with lastChange, studies, orthanc); move it away to start over`);
  }
  if (s.orthanc !== orthanc) {
    throw new SegError('INVALID_HEADER', `${file}: this state follows ${s.orthanc}, not ${orthanc}; use another --state file for another server`);
  }
  return s as WatchState;
}

export async function saveWatchState(file: string, state: WatchState): Promise<void> {
  await writeFileAtomic(file, [Buffer.from(`${JSON.stringify(state, null, 2)}\n`)]);
}

export interface RetryPolicy {
  /** Attempts before a study is given up (recorded as failed for good). Default 3. */
  maxAttempts: number;
  /** Delay before the 2nd attempt; doubles each time. Default 60 s. */
  baseDelayMs: number;
}

export const DEFAULT_RETRY: RetryPolicy = { maxAttempts: 3, baseDelayMs: 60_000 };

/** The record after an attempt that failed with `reason`: counted, and scheduled again unless out of attempts. */
export function recordFailure(previous: StudyRecord | undefined, studyInstanceUid: string, reason: string, now: Date, policy: RetryPolicy = DEFAULT_RETRY): StudyRecord {
  const attempts = (previous?.outcome === 'failed' ? previous.attempts : 0) + 1;
  const retry = attempts < policy.maxAttempts ? new Date(now.getTime() + policy.baseDelayMs * 2 ** (attempts - 1)).toISOString() : undefined;
  return { studyInstanceUid, outcome: 'failed', attempts, at: now.toISOString(), reason, retryAfter: retry };
}

/** Studies that failed, may be tried again, and whose wait is over. */
export function dueForRetry(state: WatchState, now: Date): string[] {
  return Object.entries(state.studies)
    .filter(([, r]) => r.outcome === 'failed' && r.retryAfter !== undefined && Date.parse(r.retryAfter) <= now.getTime())
    .map(([id]) => id);
}
