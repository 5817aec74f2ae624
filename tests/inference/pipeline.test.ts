/**
 * The segmentation pipeline: model cards, grids, resampling to and from the model grid, crop, probabilities, with
 * real ONNX graphs through ONNX Runtime.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadModelCard, parseModelCard, type ModelCardJson, type ModelCardSpec } from '../../src/inference/card.js';
import { engineGrid, modelGrid } from '../../src/inference/grid.js';
import { indexMap } from '../../src/volume/index-map.js';
import { segmentWithRunner } from '../../src/inference/pipeline.js';
import { openModelSession, type ModelSession } from '../../src/inference/session.js';
import { indexToLps, orientationCode } from '../../src/volume/geometry.js';
import type { Mat3, Vec3, Volume } from '../../src/volume/types.js';
import { fixture } from '../helpers.js';

let pointwise: ModelSession;
beforeAll(async () => {
  pointwise = await openModelSession(fixture('models', 'pointwise-3d.onnx'), {}, { threads: 1 });
});
afterAll(async () => {
  await pointwise.release();
});

const baseCard: ModelCardJson = {
  name: 'pointwise',
  mode: 'sliding-window',
  output: { channels: 3, activation: 'softmax' },
  tiling: { patch: [6, 6, 6] },
  labels: [
    { value: 1, name: 'low' },
    { value: 2, name: 'middle' },
  ],
};
const card = (over: Partial<ModelCardJson> = {}): ModelCardSpec => parseModelCard({ ...baseCard, ...over }, 'test card');

/** The pointwise graph's decision for one normalised value: logits [x, 0.5 − x, 0.5x + 0.25]. */
function decision(x: number): number {
  const v = [x, 0.5 - x, 0.5 * x + 0.25];
  return v.indexOf(Math.max(...v));
}

/** A signed permutation direction matrix (columns = axes). */
function permutedDirection(perm: number[], signs: number[]): Mat3 {
  const d = new Array(9).fill(0);
  for (let a = 0; a < 3; a++) d[3 * a + perm[a]!] = signs[a]!;
  return d as unknown as Mat3;
}

function volumeOf(dims: [number, number, number], f: (i: number, j: number, k: number) => number, geometry: Partial<Volume> = {}): Volume<Float32Array> {
  const data = new Float32Array(dims[0] * dims[1] * dims[2]);
  let o = 0;
  for (let k = 0; k < dims[2]; k++) for (let j = 0; j < dims[1]; j++) for (let i = 0; i < dims[0]; i++) data[o++] = f(i, j, k);
  return { data, dims, spacing: [1, 1, 1], origin: [0, 0, 0], direction: [1, 0, 0, 0, 1, 0, 0, 0, 1], ...geometry } as Volume<Float32Array>;
}

describe('model cards', () => {
  it('name the card and every bad field', () => {
    let message = '';
    try {
      parseModelCard({ ...baseCard, mode: 'tiles', grid: { orientation: 'RAX' }, labels: [{ value: 1, name: 'a' }, { value: 1, name: 'b' }] }, 'cards/bad.json');
    } catch (e) {
      message = (e as Error).message;
      expect(e).toMatchObject({ code: 'INVALID_MODEL_CARD' });
    }
    expect(message).toMatch(/^cards\/bad\.json: invalid model card/);
    expect(message).toMatch(/mode: Invalid option/);
    expect(message).toMatch(/grid\.orientation: an orientation code/);
    expect(() => parseModelCard({ ...baseCard, tiling: {} }, 'c.json')).toThrow(/tiling\.patch: sliding-window mode needs a 3-D patch size/);
    expect(() => parseModelCard({ ...baseCard, grid: { orientation: 'RRS' } }, 'c.json')).toThrow(/grid\.orientation: each of the L\/R/);
    expect(() => parseModelCard({ ...baseCard, output: { channels: 3, activation: 'softmax', channelLabels: [0, 1, 7] } }, 'c.json')).toThrow(/output channel label 7 has no entry in labels/);
    expect(() => parseModelCard({ ...baseCard, tiling: { patch: [6, 6, 6], placement: 'monai', step: 0.5 } }, 'c.json')).toThrow(/tiling\.step: step belongs to nnunet placement/);
    expect(() => parseModelCard({ ...baseCard, extra: 1 } as ModelCardJson, 'c.json')).toThrow(/Unrecognized key: "extra"/);
  });

  it('resolve the model relative to the card and report a missing model or bad JSON by file', async () => {
    const c = await loadModelCard(fixture('models', 'pointwise-3d.card.json'));
    expect(c.modelFile).toBe(fixture('models', 'pointwise-3d.onnx'));
    expect(c.tiling).toMatchObject({ placement: 'nnunet', step: 0.5, blending: 'gaussian', sigmaScale: 0.125, batchSize: 2, mirrorAxes: [0, 1, 2] });
    const dir = mkdtempSync(join(tmpdir(), 'medseg-card-'));
    writeFileSync(join(dir, 'a.json'), JSON.stringify({ ...baseCard, model: 'nowhere.onnx' }));
    await expect(loadModelCard(join(dir, 'a.json'))).rejects.toThrow(/a\.json: invalid model card:\n {2}model: the ONNX file .*nowhere\.onnx does not exist/);
    writeFileSync(join(dir, 'b.json'), '{"name": ');
    await expect(loadModelCard(join(dir, 'b.json'))).rejects.toThrow(/b\.json: invalid model card:\n {2}not valid JSON/);
  });
});

describe('model grids', () => {
  const scan = { dims: [7, 5, 4] as const, spacing: [0.8, 1.2, 3] as Vec3, origin: [10, -20, 30] as Vec3, direction: permutedDirection([0, 1, 2], [1, 1, 1]) };
  it('closest orientation permutes and flips axes only: an exact signed permutation of the scan grid', () => {
    const g = modelGrid(scan, { orientation: 'RAS', orientationMode: 'closest' });
    expect(orientationCode(g.direction)).toBe('RAS');
    expect(g.dims).toEqual([7, 5, 4]);
    expect(g.spacing).toEqual([0.8, 1.2, 3]);
    const map = indexMap(g, scan);
    expect(map.permutation).toBeDefined();
    // Voxel (0,0,0) of the RAS grid is the scan's far corner in i and j.
    expect(indexToLps(g, [0, 0, 0])).toEqual(indexToLps(scan, [6, 4, 0]).map((v) => expect.closeTo(v, 9)));
  });
  it('a target spacing keeps the field of view (n′ = round(n·s/s′), effective spacing n·s/n′)', () => {
    const g = modelGrid(scan, { orientationMode: 'closest', spacing: [1.5, 1.5, 1.5] });
    expect(g.dims).toEqual([4, 4, 8]); // 5.6/1.5 → 4, 6/1.5 → 4, 12/1.5 → 8
    g.spacing.forEach((v, a) => expect(v).toBeCloseTo([1.4, 1.5, 1.5][a]!, 12));
    // Same centre, same extent.
    const centre = (x: typeof g) => indexToLps(x, [(x.dims[0] - 1) / 2, (x.dims[1] - 1) / 2, (x.dims[2] - 1) / 2]);
    centre(g).forEach((v, a) => expect(v).toBeCloseTo(centre(scan)[a]!, 9));
  });
  it('a fixed size (conform) is centred on the scan, world-aligned when exact', () => {
    const g = modelGrid(scan, { orientation: 'LIA', orientationMode: 'exact', spacing: [1, 1, 1], size: [256, 256, 256] });
    expect([...g.direction]).toEqual([1, 0, 0, 0, 0, -1, 0, -1, 0]);
    const c = indexToLps(g, [127.5, 127.5, 127.5]);
    const sc = indexToLps(scan, [3, 2, 1.5]);
    c.forEach((v, a) => expect(v).toBeCloseTo(sc[a]!, 9));
  });
  it('tensor axes relabel the grid: axes [i, j, k] make the engine W axis the model k axis', () => {
    const m = modelGrid(scan, { orientationMode: 'closest' });
    const e = engineGrid(m, ['i', 'j', 'k']);
    expect(e.dims).toEqual([4, 5, 7]);
    expect([...e.direction]).toEqual([0, 0, 1, 0, 1, 0, 1, 0, 0]);
  });
});

describe('segmentWithRunner (pointwise graph)', () => {
  it('lands every label on the voxel it came from, for all 48 axis permutations and flips of the scan', async () => {
    const dims: [number, number, number] = [7, 5, 4];
    const perms = [[0, 1, 2], [0, 2, 1], [1, 0, 2], [1, 2, 0], [2, 0, 1], [2, 1, 0]];
    const f = (i: number, j: number, k: number) => Math.sin(i * 1.3 + j * 0.7) * 0.6 + 0.2 * k - 0.1;
    let cases = 0;
    for (const perm of perms)
      for (let s = 0; s < 8; s++) {
        const signs = [s & 1 ? -1 : 1, s & 2 ? -1 : 1, s & 4 ? -1 : 1];
        const scan = volumeOf(dims, f, { spacing: [0.7, 1.1, 2.5], origin: [5, -3, 12], direction: permutedDirection(perm, signs) });
        for (const orientation of ['RAS', 'LPI']) {
          const r = await segmentWithRunner(scan, card({ grid: { orientation } }), pointwise.runner);
          expect(orientationCode(r.engineGrid.direction)).toBe(orientation);
          let o = 0;
          for (let k = 0; k < 4; k++) for (let j = 0; j < 5; j++) for (let i = 0; i < 7; i++, o++) if (r.labels.data[o] !== decision(f(i, j, k))) throw new Error(`perm ${perm} signs ${signs} ${orientation}: voxel ${i},${j},${k}`);
          expect(r.labels.dims).toEqual(dims);
          expect(r.labels.direction).toEqual(scan.direction);
          cases++;
        }
      }
    expect(cases).toBe(96);
  });

  it('resamples to a coarser model grid and back: a sphere keeps its place and volume', async () => {
    // x = 1 inside a 9 mm sphere → label 0; 0 outside → label 1. On a 2 mm grid and back with probabilities.
    const dims: [number, number, number] = [40, 36, 32];
    const c: Vec3 = [19.3, 17.1, 15.8];
    const inside = (i: number, j: number, k: number) => (Math.hypot(i - c[0], j - c[1], k - c[2]) <= 9 ? 1 : 0);
    const scan = volumeOf(dims, inside);
    const r = await segmentWithRunner(scan, card({ grid: { spacing: [2, 2, 2] }, tiling: { patch: [8, 8, 8] } }), pointwise.runner, { probabilities: true });
    expect(r.engineGrid.dims).toEqual([20, 18, 16]);
    let truth = 0;
    let predicted = 0;
    let disagree = 0;
    const cent: [number, number, number] = [0, 0, 0];
    let o = 0;
    for (let k = 0; k < 32; k++)
      for (let j = 0; j < 36; j++)
        for (let i = 0; i < 40; i++, o++) {
          const t = inside(i, j, k) === 1;
          const p = r.labels.data[o] === 0;
          if (t) truth++;
          if (p) {
            predicted++;
            cent[0] += i;
            cent[1] += j;
            cent[2] += k;
          }
          if (t !== p) disagree++;
        }
    expect(Math.abs(predicted - truth) / truth).toBeLessThan(0.03);
    expect(disagree / truth).toBeLessThan(0.12); // only boundary voxels
    cent.forEach((v, a) => expect(v / predicted).toBeCloseTo(c[a]!, 0));
    // Softmax probabilities on the scan grid sum to 1.
    const p = r.probabilities!;
    expect(p).toHaveLength(3);
    for (const idx of [0, 5000, 23000, 46079]) expect(p[0]!.data[idx]! + p[1]!.data[idx]! + p[2]!.data[idx]!).toBeCloseTo(1, 5);
  });

  it('returns from an oblique model grid (exact world axes) through buffered interpolation', async () => {
    // A scan rotated 20° about z; the model grid is world-aligned RAS, so voxels do not line up.
    const a = (20 * Math.PI) / 180;
    const direction = [Math.cos(a), Math.sin(a), 0, -Math.sin(a), Math.cos(a), 0, 0, 0, 1] as unknown as Mat3;
    const dims: [number, number, number] = [30, 26, 12];
    const geometry = { spacing: [1, 1, 2] as Vec3, origin: [0, 0, 0] as Vec3, direction };
    // A smooth field of the world position: decisions change along planes in world space.
    const field = (i: number, j: number, k: number) => {
      const p = indexToLps({ ...geometry }, [i, j, k]);
      return (p[0] + 2 * p[1]) / 40 + 0.1 * p[2] / 10;
    };
    const scan = volumeOf(dims, field, geometry);
    const r = await segmentWithRunner(scan, card({ grid: { orientation: 'RAS', orientationMode: 'exact' } }), pointwise.runner);
    let disagree = 0;
    let o = 0;
    for (let k = 0; k < dims[2]; k++) for (let j = 0; j < dims[1]; j++) for (let i = 0; i < dims[0]; i++, o++) if (r.labels.data[o] !== decision(field(i, j, k))) disagree++;
    expect(disagree / scan.data.length).toBeLessThan(0.02);
  });

  it('whole mode with a threshold crop: outside the crop is background', async () => {
    const dims: [number, number, number] = [24, 20, 16];
    // A bright box (1.0) at i 8..13, j 6..9, k 5..8 on a 0 background.
    const f = (i: number, j: number, k: number) => (i >= 8 && i <= 13 && j >= 6 && j <= 9 && k >= 5 && k <= 8 ? 1 : 0);
    const scan = volumeOf(dims, f);
    const r = await segmentWithRunner(scan, card({ mode: 'whole', tiling: {}, input: { divisibleBy: 4 }, crop: { type: 'threshold', fractionOfMax: 0.5, margin: 2 } }), pointwise.runner);
    expect(r.crop).toEqual({ offset: [6, 4, 3], dims: [10, 8, 8] });
    let o = 0;
    for (let k = 0; k < 16; k++)
      for (let j = 0; j < 20; j++)
        for (let i = 0; i < 24; i++, o++) {
          const inCrop = i >= 6 && i < 16 && j >= 4 && j < 12 && k >= 3 && k < 11;
          expect(r.labels.data[o]).toBe(inCrop ? decision(f(i, j, k)) : 0);
        }
  });

  it('refuses the wrong number of image channels', async () => {
    const scan = volumeOf([4, 4, 4], () => 0);
    await expect(segmentWithRunner([scan, scan], card(), pointwise.runner)).rejects.toMatchObject({ code: 'MODEL_MISMATCH', message: expect.stringMatching(/takes 1 image channel\(s\), but 2/) });
  });
});
