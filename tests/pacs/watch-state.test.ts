import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { dueForRetry, emptyState, loadWatchState, recordFailure, saveWatchState } from '../../src/pacs/watch-state.js';

describe('watch state', () => {
  it('round-trips through its file and starts empty without one', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'medseg-watch-'));
    const file = join(dir, 'state.json');
    expect(await loadWatchState(file, 'http://127.0.0.1:8042')).toEqual(emptyState('http://127.0.0.1:8042'));
    const state = emptyState('http://127.0.0.1:8042');
    state.lastChange = 41;
    state.studies.abc = { studyInstanceUid: '1.2.3', outcome: 'segmented', attempts: 0, at: '2026-11-21T10:00:00.000Z', results: { seg: '2.25.1', sr: '2.25.2' } };
    await saveWatchState(file, state);
    expect(await loadWatchState(file, 'http://127.0.0.1:8042')).toEqual(state);
  });

  it('refuses a state of another server or a file that is not a state, naming the file', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'medseg-watch-'));
    const file = join(dir, 'state.json');
    await saveWatchState(file, emptyState('http://a:8042'));
    await expect(loadWatchState(file, 'http://b:8042')).rejects.toThrow(`${file}: this state follows http://a:8042, not http://b:8042`);
    writeFileSync(file, '{"hello": 1}');
    await expect(loadWatchState(file, 'http://a:8042')).rejects.toThrow(`${file}: not a medseg watch state`);
    writeFileSync(file, '{"trunc');
    await expect(loadWatchState(file, 'http://a:8042')).rejects.toThrow(`${file}: not a readable medseg watch state`);
  });

  it('backs off exponentially and gives up after the attempt limit', () => {
    const t0 = new Date('2026-11-21T10:00:00.000Z');
    const policy = { maxAttempts: 3, baseDelayMs: 1000 };
    const first = recordFailure(undefined, '1.2', 'PACS down', t0, policy);
    expect(first).toMatchObject({ outcome: 'failed', attempts: 1, retryAfter: '2026-11-21T10:00:01.000Z', reason: 'PACS down' });
    const second = recordFailure(first, '1.2', 'again', new Date(t0.getTime() + 1000), policy);
    expect(second).toMatchObject({ attempts: 2, retryAfter: '2026-11-21T10:00:03.000Z' });
    const third = recordFailure(second, '1.2', 'and again', new Date(t0.getTime() + 3000), policy);
    expect(third.attempts).toBe(3);
    expect(third.retryAfter).toBeUndefined();
    // A success in between resets the count.
    expect(recordFailure({ ...third, outcome: 'segmented' }, '1.2', 'x', t0, policy).attempts).toBe(1);
    const state = emptyState('u');
    state.studies = { a: first, b: second, c: third };
    expect(dueForRetry(state, new Date(t0.getTime() + 1000))).toEqual(['a']);
    expect(dueForRetry(state, new Date(t0.getTime() + 3000))).toEqual(['a', 'b']);
  });
});
