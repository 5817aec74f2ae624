/**
 * `medseg pacs watch`: follows a PACS's change feed (Orthanc's `/changes`) and segments each study once it is stable.
 *
 * Guarantees, and how:
 * - No study lost: `lastChange` advances only past changes that were handled (segmented, found done, skipped for a
 *   stated reason, or recorded as failed with a retry time). A PACS outage stops the pass without advancing; the next
 *   pass reads the same changes again. Failed studies are retried from the state file with exponential backoff.
 * - No study done twice: each study goes through segmentStudyOnPacs, which finds its own earlier result (derived
 *   UIDs) and does nothing then. This also covers the StableStudy event our own SEG/SR upload causes, and a crash
 *   between storing and saving the state.
 * - Restarts: the state file (watch-state.ts) is saved after every handled change.
 */
import { SegError } from '../errors.js';
import type { PacsSegmentResult } from './segment-study.js';
import { DEFAULT_RETRY, dueForRetry, loadWatchState, recordFailure, saveWatchState, type RetryPolicy, type StudyRecord, type WatchState } from './watch-state.js';

/** One entry of the change feed. */
export interface Change {
  seq: number;
  type: string;
  /** The PACS's own id of the changed resource (Orthanc: the study's id). */
  id: string;
}

/** What the watcher needs from a PACS besides DICOMweb (implemented for Orthanc in orthanc.ts). */
export interface ChangeFeed {
  /** Changes after `since`, oldest first, at most `limit`; `done` when there are no more for now. */
  changes(since: number, limit: number): Promise<{ changes: Change[]; last: number; done: boolean }>;
  /** The StudyInstanceUID of a study by the PACS's id, or undefined when the study is gone (deleted). */
  studyInstanceUid(id: string): Promise<string | undefined>;
}

export interface WatchOptions {
  stateFile: string;
  /** The server's URL without credentials, recorded in the state file. */
  server: string;
  /** Pause between passes when there is nothing new (default 5 s). */
  pollMs?: number | undefined;
  /** One pass over everything available now (and retries that are due), then return. */
  once?: boolean | undefined;
  retry?: RetryPolicy | undefined;
  /** Changes read per request (default 100). */
  pageSize?: number | undefined;
  signal?: AbortSignal | undefined;
  log?: ((line: string) => void) | undefined;
  /** Clock (tests). */
  now?: (() => Date) | undefined;
  /** Waits between passes and after outages (tests). */
  sleep?: ((ms: number, signal?: AbortSignal) => Promise<void>) | undefined;
}

export interface WatchSummary {
  passes: number;
  segmented: number;
  alreadyPresent: number;
  skipped: number;
  failed: number;
  lastChange: number;
}

/** The change type that says a study has received no new instance for the PACS's stable age. */
export const STABLE_STUDY = 'StableStudy';

class Outage extends Error {
  override name = 'Outage';
}

const abortableSleep = (ms: number, signal?: AbortSignal) =>
  new Promise<void>((resolve) => {
    if (signal?.aborted) return resolve();
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    }
    signal?.addEventListener('abort', done, { once: true });
  });

/** A failure that says the PACS (not the study) is the problem: wait and read the same changes again. */
function isOutage(e: unknown): boolean {
  return e instanceof SegError && e.code === 'REMOTE_UNAVAILABLE';
}

/**
 * Handles one study and returns its new record. Outages are rethrown as Outage (the caller does not advance);
 * a study without a series to segment is skipped with the selection's reasons; anything else counts as a failure.
 */
async function handleStudy(
  feed: ChangeFeed,
  segment: (studyInstanceUid: string) => Promise<PacsSegmentResult>,
  id: string,
  previous: StudyRecord | undefined,
  now: Date,
  policy: RetryPolicy,
): Promise<StudyRecord | undefined> {
  let studyUid = previous?.studyInstanceUid;
  try {
    studyUid = await feed.studyInstanceUid(id);
    if (studyUid === undefined) return undefined;
    const result = await segment(studyUid);
    return {
      studyInstanceUid: studyUid,
      outcome: result.status === 'stored' ? 'segmented' : 'already-present',
      attempts: 0,
      at: now.toISOString(),
      results: { seg: result.seg.seriesInstanceUid, sr: result.sr.seriesInstanceUid },
    };
  } catch (e) {
    if (isOutage(e)) throw new Outage((e as Error).message, { cause: e });
    if (e instanceof SegError && e.code === 'CANCELLED') throw e;
    if (e instanceof SegError && e.code === 'NO_SERIES') {
      return { studyInstanceUid: studyUid ?? '', outcome: 'skipped', attempts: 0, at: now.toISOString(), reason: e.message };
    }
    return recordFailure(previous, studyUid ?? '', e instanceof Error ? e.message : String(e), now, policy);
  }
}

/**
 * Watches until `signal` aborts (or for one pass with `once`).
 * @throws SegError INVALID_HEADER for a state file of another server; CANCELLED is not thrown (abort ends the watch).
 */
export async function watchChanges(feed: ChangeFeed, segment: (studyInstanceUid: string) => Promise<PacsSegmentResult>, options: WatchOptions): Promise<WatchSummary> {
  const log = options.log ?? (() => undefined);
  const now = options.now ?? (() => new Date());
  const sleep = options.sleep ?? abortableSleep;
  const policy = options.retry ?? DEFAULT_RETRY;
  const pollMs = options.pollMs ?? 5000;
  const pageSize = options.pageSize ?? 100;
  const state: WatchState = await loadWatchState(options.stateFile, options.server);
  // Written at once: a bad --state path fails now, not after the first study was segmented.
  await saveWatchState(options.stateFile, state);
  const summary: WatchSummary = { passes: 0, segmented: 0, alreadyPresent: 0, skipped: 0, failed: 0, lastChange: state.lastChange };
  let outageWaitMs = 1000;
  const count = (r: StudyRecord | undefined) => {
    if (!r) return;
    if (r.outcome === 'segmented') summary.segmented++;
    else if (r.outcome === 'already-present') summary.alreadyPresent++;
    else if (r.outcome === 'skipped') summary.skipped++;
    else summary.failed++;
    const what = r.outcome === 'failed' ? `failed (attempt ${r.attempts}${r.retryAfter ? `, again after ${r.retryAfter}` : ', giving up'}): ${r.reason}` : r.outcome === 'skipped' ? `skipped: ${r.reason}` : r.outcome;
    log(`study ${r.studyInstanceUid}: ${what}`);
  };
  const record = async (id: string, r: StudyRecord | undefined) => {
    if (r) state.studies[id] = r;
    else delete state.studies[id];
    await saveWatchState(options.stateFile, state);
    count(r);
  };

  while (!options.signal?.aborted) {
    summary.passes++;
    let caughtUp = false;
    try {
      for (const id of dueForRetry(state, now())) {
        if (options.signal?.aborted) break;
        await record(id, await handleStudy(feed, segment, id, state.studies[id], now(), policy));
      }
      for (;;) {
        if (options.signal?.aborted) break;
        const page = await feed.changes(state.lastChange, pageSize).catch((e: unknown) => {
          throw isOutage(e) ? new Outage((e as Error).message, { cause: e }) : e;
        });
        for (const change of page.changes) {
          if (options.signal?.aborted) break;
          if (change.type === STABLE_STUDY) {
            await record(change.id, await handleStudy(feed, segment, change.id, state.studies[change.id], now(), policy));
          }
          state.lastChange = change.seq;
          summary.lastChange = change.seq;
          await saveWatchState(options.stateFile, state);
        }
        if (page.changes.length === 0 && page.last > state.lastChange) {
          // Orthanc's `last` moves past changes it no longer keeps (its history is bounded): nothing to handle there.
          state.lastChange = page.last;
          summary.lastChange = page.last;
          await saveWatchState(options.stateFile, state);
        }
        if (page.done || page.changes.length === 0) break;
      }
      caughtUp = true;
      outageWaitMs = 1000;
    } catch (e) {
      if (e instanceof SegError && e.code === 'CANCELLED') break;
      if (!(e instanceof Outage)) throw e;
      log(`PACS unavailable (${e.message}); trying again in ${Math.round(outageWaitMs / 1000)} s`);
      if (options.once) throw (e.cause as Error) ?? e;
      await sleep(outageWaitMs, options.signal);
      outageWaitMs = Math.min(outageWaitMs * 2, 5 * 60_000);
      continue;
    }
    if (options.once && caughtUp) break;
    await sleep(pollMs, options.signal);
  }
  summary.lastChange = state.lastChange;
  return summary;
}
