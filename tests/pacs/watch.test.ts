import { mkdtempSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { SegError } from '../../src/errors.js';
import type { PacsSegmentResult } from '../../src/pacs/segment-study.js';
import { watchChanges, type Change, type ChangeFeed } from '../../src/pacs/watch.js';

/** An in-memory PACS: a change list, studies by id, and switches to make it fail. */
class FakePacs implements ChangeFeed {
  changesList: Change[] = [];
  studies = new Map<string, string>();
  down = false;
  reads = 0;
  add(type: string, id: string) {
    this.changesList.push({ seq: this.changesList.length + 1, type, id });
  }
  async changes(since: number, limit: number) {
    this.reads++;
    if (this.down) throw new SegError('REMOTE_UNAVAILABLE', 'GET http://pacs/changes: connection refused');
    const after = this.changesList.filter((c) => c.seq > since);
    const page = after.slice(0, limit);
    return { changes: page, last: page.at(-1)?.seq ?? this.changesList.length, done: after.length <= limit };
  }
  async studyInstanceUid(id: string) {
    if (this.down) throw new SegError('REMOTE_UNAVAILABLE', 'GET http://pacs/studies: connection refused');
    return this.studies.get(id);
  }
}

const result = (study: string, status: PacsSegmentResult['status']): PacsSegmentResult => ({
  studyInstanceUid: study,
  status,
  series: { seriesInstanceUid: `${study}.1`, description: 'CT', slices: 10 },
  verdicts: [],
  seg: { seriesInstanceUid: `${study}.seg`, sopInstanceUid: `${study}.seg.1` },
  sr: { seriesInstanceUid: `${study}.sr`, sopInstanceUid: `${study}.sr.1` },
  timingsMs: { query: 1, total: 1 },
  notes: [],
});

/** A segmenter that remembers what it stored, like the idempotent pacs segment. */
function segmenter(behaviour: (study: string, call: number) => 'ok' | Error = () => 'ok') {
  const stored = new Set<string>();
  const calls: string[] = [];
  const fn = async (study: string) => {
    calls.push(study);
    const b = behaviour(study, calls.filter((c) => c === study).length);
    if (b instanceof Error) throw b;
    if (stored.has(study)) return result(study, 'already-present');
    stored.add(study);
    return result(study, 'stored');
  };
  return { fn, calls, stored };
}

const noSleep = async () => undefined;
const tmpState = () => join(mkdtempSync(join(tmpdir(), 'medseg-watch-')), 'state.json');

describe('watchChanges', () => {
  it('segments each stable study once, ignores other changes, and resumes after a restart', async () => {
    const pacs = new FakePacs();
    pacs.studies.set('a', '1.1').set('b', '1.2');
    pacs.add('NewInstance', 'x');
    pacs.add('StableStudy', 'a');
    pacs.add('NewSeries', 'y');
    pacs.add('StableStudy', 'b');
    const stateFile = tmpState();
    const seg = segmenter();
    const first = await watchChanges(pacs, seg.fn, { stateFile, server: 'http://pacs', once: true, pageSize: 3, sleep: noSleep });
    expect(first).toMatchObject({ segmented: 2, alreadyPresent: 0, lastChange: 4 });
    expect(seg.calls).toEqual(['1.1', '1.2']);
    // Our own SEG/SR upload makes the study stable again; a restarted watcher sees only that new change.
    pacs.add('StableStudy', 'a');
    const second = await watchChanges(pacs, seg.fn, { stateFile, server: 'http://pacs', once: true, sleep: noSleep });
    expect(second).toMatchObject({ segmented: 0, alreadyPresent: 1, lastChange: 5 });
    expect(seg.calls).toEqual(['1.1', '1.2', '1.1']);
    const state = JSON.parse(await readFile(stateFile, 'utf8'));
    expect(state.lastChange).toBe(5);
    expect(state.studies.a).toMatchObject({ studyInstanceUid: '1.1', outcome: 'already-present', results: { seg: '1.1.seg', sr: '1.1.sr' } });
    expect(state.studies.b.outcome).toBe('segmented');
  });

  it('does not advance past a change while the PACS is down, and loses nothing when it is back', async () => {
    const pacs = new FakePacs();
    pacs.studies.set('a', '1.1');
    pacs.add('StableStudy', 'a');
    const stateFile = tmpState();
    const seg = segmenter((_, call) => (call === 1 ? new SegError('REMOTE_UNAVAILABLE', 'POST http://pacs/dicom-web/studies: HTTP 503') : 'ok'));
    // --once reports the outage to its caller; the change stays unhandled.
    await expect(watchChanges(pacs, seg.fn, { stateFile, server: 'http://pacs', once: true, sleep: noSleep })).rejects.toThrow(/HTTP 503/);
    expect(JSON.parse(await readFile(stateFile, 'utf8')).lastChange).toBe(0);
    // A long-running watcher waits and tries again (the outage wait is the injected sleep), then stops on abort.
    const controller = new AbortController();
    const waits: number[] = [];
    pacs.down = true;
    const sleep = async (ms: number) => {
      waits.push(ms);
      if (waits.length === 2) pacs.down = false;
      if (waits.length === 3) controller.abort();
    };
    const summary = await watchChanges(pacs, seg.fn, { stateFile, server: 'http://pacs', sleep, signal: controller.signal, pollMs: 10 });
    expect(waits).toEqual([1000, 2000, 10]);
    expect(summary).toMatchObject({ segmented: 1, lastChange: 1 });
    expect(seg.calls).toEqual(['1.1', '1.1']);
  });

  it('skips studies without a series to segment, and retries failing ones with backoff until the limit', async () => {
    const pacs = new FakePacs();
    pacs.studies.set('a', '1.1').set('b', '1.2');
    pacs.add('StableStudy', 'a');
    pacs.add('StableStudy', 'b');
    pacs.add('StableStudy', 'gone');
    const stateFile = tmpState();
    const seg = segmenter((study) =>
      study === '1.1' ? new SegError('NO_SERIES', 'study 1.1: no series to segment under the rules') : new SegError('DECODE_FAILED', 'x.dcm: JPEG data ends early'),
    );
    let clock = Date.parse('2026-11-21T10:00:00Z');
    const opts = { stateFile, server: 'http://pacs', once: true, sleep: noSleep, now: () => new Date(clock), retry: { maxAttempts: 2, baseDelayMs: 60_000 } };
    expect(await watchChanges(pacs, seg.fn, opts)).toMatchObject({ skipped: 1, failed: 1, lastChange: 3 });
    let state = JSON.parse(await readFile(stateFile, 'utf8'));
    expect(state.studies.a).toMatchObject({ outcome: 'skipped', reason: 'study 1.1: no series to segment under the rules' });
    expect(state.studies.b).toMatchObject({ outcome: 'failed', attempts: 1, retryAfter: '2026-11-21T10:01:00.000Z', reason: 'x.dcm: JPEG data ends early' });
    expect(state.studies.gone).toBeUndefined();
    // Not due yet: nothing is tried.
    clock += 30_000;
    await watchChanges(pacs, seg.fn, opts);
    expect(seg.calls).toEqual(['1.1', '1.2']);
    // Due: tried again, and given up after the second failure.
    clock += 30_000;
    expect(await watchChanges(pacs, seg.fn, opts)).toMatchObject({ failed: 1 });
    state = JSON.parse(await readFile(stateFile, 'utf8'));
    expect(state.studies.b).toMatchObject({ outcome: 'failed', attempts: 2 });
    expect(state.studies.b.retryAfter).toBeUndefined();
    clock += 3_600_000;
    await watchChanges(pacs, seg.fn, opts);
    expect(seg.calls).toEqual(['1.1', '1.2', '1.2']);
  });
});
