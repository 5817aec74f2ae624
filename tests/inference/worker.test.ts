/** Inference in a worker thread: same result as in-process, progress events, cancellation. */
import { describe, expect, it } from 'vitest';
import { loadModelCard } from '../../src/inference/card.js';
import { segmentVolume, type SegmentProgress } from '../../src/inference/pipeline.js';
import { segmentInWorker } from '../../src/inference/run-in-worker.js';
import type { Volume } from '../../src/volume/types.js';
import { fixture } from '../helpers.js';

const CARD = fixture('models', 'pointwise-3d.card.json');

function ctLike(n: number): Volume<Int16Array> {
  const data = new Int16Array(n * n * n);
  for (let k = 0, o = 0; k < n; k++) for (let j = 0; j < n; j++) for (let i = 0; i < n; i++, o++) data[o] = Math.round(900 * Math.sin(i * 0.3) * Math.cos(j * 0.2) + 40 * k - 500);
  return { data, dims: [n, n, n], spacing: [0.8, 0.8, 2], origin: [-10, 20, 5], direction: [-1, 0, 0, 0, -1, 0, 0, 0, 1] };
}

describe('segmentInWorker', () => {
  it('gives the same labels as in-process segmentation and reports progress to completion', async () => {
    const scan = ctLike(24);
    const card = await loadModelCard(CARD);
    const local = await segmentVolume(scan, card, { threads: 1 });
    const events: SegmentProgress[] = [];
    const remote = await segmentInWorker(scan, CARD, { threads: 1, onProgress: (p) => events.push(p) });
    expect(remote.labels.dims).toEqual(scan.dims);
    expect(Buffer.compare(Buffer.from(remote.labels.data.buffer), Buffer.from(local.labels.data.buffer))).toBe(0);
    expect(remote.provider).toBe('cpu');
    const inference = events.filter((e) => e.stage === 'inference');
    expect(inference.at(-1)).toMatchObject({ done: remote.engine.tiles * 8, total: remote.engine.tiles * 8 });
    expect(events.at(-1)).toMatchObject({ stage: 'postprocess', done: 1, total: 1 });
  });

  it('stops promptly when the AbortSignal fires, with a CANCELLED error', async () => {
    const scan = ctLike(72);
    const abort = new AbortController();
    let seen = 0;
    const started = performance.now();
    await expect(
      segmentInWorker(scan, CARD, {
        threads: 1,
        signal: abort.signal,
        onProgress: (p) => {
          if (p.stage === 'inference' && p.done > 0) {
            seen = p.done;
            abort.abort();
          }
        },
      }),
    ).rejects.toMatchObject({ code: 'CANCELLED' });
    expect(seen).toBeGreaterThan(0);
    expect(performance.now() - started).toBeLessThan(20_000);
  });

  it('rejects with the card error when the card is invalid', async () => {
    await expect(segmentInWorker(ctLike(4), fixture('models', 'no-such.card.json'))).rejects.toMatchObject({ code: 'FILE_NOT_FOUND' });
  });
});
