/** The model card's postprocess section (removeIslands, fillHoles) and its application by the segmentation pipeline. */
import { describe, expect, it } from 'vitest';
import { parseModelCard, type ModelCardJson } from '../../src/inference/card.js';
import type { TensorRunner } from '../../src/inference/engine.js';
import { segmentWithRunner } from '../../src/inference/pipeline.js';
import type { Volume } from '../../src/volume/types.js';

const base: ModelCardJson = {
  name: 'threshold',
  mode: 'whole',
  output: { channels: 2, activation: 'softmax' },
  labels: [{ value: 1, name: 'thing' }],
};

/** Logits [0.5 − x, x − 0.5]: label 1 where the input is above 0.5. */
const thresholdRunner: TensorRunner = {
  maxBatch: 1,
  async run(input, shape) {
    const [n, , d, h, w] = shape as [number, number, number, number, number];
    const voxels = d * h * w;
    const data = new Float32Array(n * 2 * voxels);
    for (let b = 0; b < n; b++) {
      for (let v = 0; v < voxels; v++) {
        const x = input[b * voxels + v]!;
        data[2 * b * voxels + v] = 0.5 - x;
        data[2 * b * voxels + voxels + v] = x - 0.5;
      }
    }
    return { data, dims: [n, 2, d, h, w] };
  },
};

/** 12³ scan, 1 × 1 × 2 mm: a hollow cube 2…8 (cavity 3…7) and a single voxel at (10, 10, 10). */
function scan(): Volume<Float32Array> {
  const dims = [12, 12, 12] as const;
  const data = new Float32Array(12 ** 3);
  for (let k = 2; k <= 8; k++) for (let j = 2; j <= 8; j++) for (let i = 2; i <= 8; i++) {
    const inside = i > 2 && i < 8 && j > 2 && j < 8 && k > 2 && k < 8;
    if (!inside) data[i + 12 * j + 144 * k] = 1;
  }
  data[10 + 12 * 10 + 144 * 10] = 1;
  return { data, dims, spacing: [1, 1, 2], origin: [0, 0, 0], direction: [1, 0, 0, 0, 1, 0, 0, 0, 1] };
}

const count = (labels: Uint8Array | Uint16Array) => Array.from(labels).filter((x) => x === 1).length;

describe('model card postprocess', () => {
  it('accepts removeIslands (one rule or several) and fillHoles, with defaults', () => {
    const one = parseModelCard({ ...base, postprocess: { removeIslands: { minVolumeMm3: 200 }, fillHoles: {} } }, 'card.json');
    expect(one.postprocess.removeIslands).toEqual({ minVolumeMm3: 200, connectivity: 26 });
    expect(one.postprocess.fillHoles).toEqual({});
    const many = parseModelCard({ ...base, postprocess: { removeIslands: [{ minVolumeMm3: 200, labels: [1] }, { minVolumeMm3: 20, labels: [2], connectivity: 6 }] } }, 'card.json');
    expect(many.postprocess.removeIslands).toEqual([
      { minVolumeMm3: 200, labels: [1], connectivity: 26 },
      { minVolumeMm3: 20, labels: [2], connectivity: 6 },
    ]);
  });

  it('names the card and the field of a bad postprocess entry', () => {
    expect(() => parseModelCard({ ...base, postprocess: { removeIslands: { minVoxels: 10 } } } as unknown as ModelCardJson, 'card.json')).toThrow(/card\.json: invalid model card:\n {2}postprocess\.removeIslands/);
    expect(() => parseModelCard({ ...base, postprocess: { fillHoles: { labels: [0] } } }, 'card.json')).toThrow(/postprocess\.fillHoles\.labels\.0/);
  });

  it('without postprocessing keeps the island and the cavity', async () => {
    const r = await segmentWithRunner(scan(), parseModelCard(base, 'card.json'), thresholdRunner);
    // shell 7³ − 5³ = 218 voxels + 1 island
    expect(count(r.labels.data)).toBe(219);
  });

  it('removes islands below the card threshold (mm³ on the scan grid) and fills holes', async () => {
    // A voxel is 2 mm³: the single-voxel island (2 mm³) goes below 3 mm³; the cavity (5³ = 125 voxels) is filled.
    const card = parseModelCard({ ...base, postprocess: { removeIslands: { minVolumeMm3: 3 }, fillHoles: { labels: [1] } } }, 'card.json');
    const r = await segmentWithRunner(scan(), card, thresholdRunner);
    expect(count(r.labels.data)).toBe(218 + 125);
    expect(r.labels.data[10 + 12 * 10 + 144 * 10]).toBe(0);
  });

  it('keeps an island at or above the threshold', async () => {
    const card = parseModelCard({ ...base, postprocess: { removeIslands: [{ minVolumeMm3: 2, labels: [1] }] } }, 'card.json');
    const r = await segmentWithRunner(scan(), card, thresholdRunner);
    expect(count(r.labels.data)).toBe(219);
  });
});
