/**
 * Segmentation metrics (MONAI definitions) against hand-derived values and a brute-force surface distance in LPS,
 * on anisotropic, oblique, sheared and mismatched grids; and `medseg evaluate`'s loader, JSON report and table.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { evaluateCommand, renderEvaluation, toLabelVolume } from '../../src/workflows/evaluate.js';
import { SegError } from '../../src/errors.js';
import { writeNifti } from '../../src/io/nifti/write.js';
import { evaluateLabels, type LabelEvaluation } from '../../src/measure/evaluate.js';
import { indexToLps } from '../../src/volume/geometry.js';
import type { LabelVolume, Mat3, Vec3, Vec3i, Volume } from '../../src/volume/types.js';
import { rotation } from './shapes.js';

const IDENTITY: Mat3 = [1, 0, 0, 0, 1, 0, 0, 0, 1];

interface GridInit {
  spacing?: Vec3;
  origin?: Vec3;
  direction?: Mat3;
}

function labels(dims: Vec3i, fill: (i: number, j: number, k: number) => number, g: GridInit = {}): LabelVolume {
  const data = new Uint8Array(dims[0] * dims[1] * dims[2]);
  let n = 0;
  for (let k = 0; k < dims[2]; k++) for (let j = 0; j < dims[1]; j++) for (let i = 0; i < dims[0]; i++) data[n++] = fill(i, j, k);
  return { data, dims, spacing: g.spacing ?? [1, 1, 1], origin: g.origin ?? [0, 0, 0], direction: g.direction ?? IDENTITY };
}

/** 1-voxel-thick bar along i: every voxel is a surface voxel (its j and k neighbours are outside the volume). */
const bar = (n: number, from: number, to: number, g: GridInit = {}) => labels([n, 1, 1], (i) => (i >= from && i <= to ? 1 : 0), g);
const ball = (c: Vec3, r: number) => (i: number, j: number, k: number) => ((i - c[0]) ** 2 + (j - c[1]) ** 2 + (k - c[2]) ** 2 <= r * r ? 1 : 0);

function only(v: LabelVolume, other: LabelVolume, options = {}): LabelEvaluation {
  const r = evaluateLabels(v, other, options);
  expect(r.labels).toHaveLength(1);
  return r.labels[0]!;
}

// --- brute force, independent of the implementation: every surface voxel pair, in LPS ---

function surfaceLps(v: LabelVolume, label: number): Vec3[] {
  const [nx, ny, nz] = v.dims;
  const inside = (i: number, j: number, k: number) => i >= 0 && j >= 0 && k >= 0 && i < nx && j < ny && k < nz && v.data[i + j * nx + k * nx * ny] === label;
  const out: Vec3[] = [];
  for (let k = 0; k < nz; k++) {
    for (let j = 0; j < ny; j++) {
      for (let i = 0; i < nx; i++) {
        if (!inside(i, j, k)) continue;
        const neighbours = [inside(i - 1, j, k), inside(i + 1, j, k), inside(i, j - 1, k), inside(i, j + 1, k), inside(i, j, k - 1), inside(i, j, k + 1)];
        if (neighbours.some((x) => !x)) out.push(indexToLps(v, [i, j, k]));
      }
    }
  }
  return out;
}

const directed = (from: Vec3[], to: Vec3[]) => from.map((p) => Math.min(...to.map((q) => Math.hypot(p[0] - q[0], p[1] - q[1], p[2] - q[2]))));

function percentile(values: number[], p: number): number {
  const s = [...values].sort((a, b) => a - b);
  const pos = (p / 100) * (s.length - 1);
  const lo = Math.floor(pos);
  return s[lo]! + (s[Math.min(lo + 1, s.length - 1)]! - s[lo]!) * (pos - lo);
}

function bruteForce(pred: LabelVolume, ref: LabelVolume, label = 1, p = 95) {
  const a = surfaceLps(pred, label);
  const b = surfaceLps(ref, label);
  const ab = directed(a, b);
  const ba = directed(b, a);
  const all = [...ab, ...ba];
  return { hd: Math.max(percentile(ab, p), percentile(ba, p)), hdMax: Math.max(...all), assd: all.reduce((x, y) => x + y, 0) / all.length, surfaces: [a.length, b.length] };
}

/** float32 distances (as MONAI returns them) against float64 brute force: 1e-5 relative. */
function expectMatchesBruteForce(r: LabelEvaluation, pred: LabelVolume, ref: LabelVolume, p = 95) {
  const bf = bruteForce(pred, ref, r.label, p);
  expect([r.predSurfaceVoxels, r.refSurfaceVoxels]).toEqual(bf.surfaces);
  for (const [got, want] of [
    [r.hdPercentileMm, bf.hd],
    [r.hdMaxMm, bf.hdMax],
    [r.assdMm, bf.assd],
  ] as const) {
    expect(Math.abs(got - want), `${got} vs ${want}`).toBeLessThanOrEqual(1e-5 * Math.max(1, want));
  }
}

/** Deterministic blobs: a few random balls plus scattered single voxels (park–miller LCG). */
function blob(dims: Vec3i, seed: number, g: GridInit = {}): LabelVolume {
  let s = seed;
  const rnd = () => (s = (s * 48271) % 2147483647) / 2147483647;
  const balls = Array.from({ length: 3 }, () => ({ c: [rnd() * dims[0], rnd() * dims[1], rnd() * dims[2]] as Vec3, r: 1.5 + rnd() * 3 }));
  return labels(dims, (i, j, k) => (balls.some((b) => ball(b.c, b.r)(i, j, k)) || rnd() < 0.02 ? 1 : 0), g);
}

describe('evaluateLabels: hand-derived cases', () => {
  it('scores two overlapping bars with the hand-derived Dice, IoU, HD95, ASSD and volumes', () => {
    // pred i = 2..5, ref i = 3..7 (10×1×1, spacing 0.5 mm along i): |A| = 4, |B| = 5, |A∩B| = 3
    // Dice = 2·3/9 = 2/3, IoU = 3/6 = 0.5. Every voxel is a surface voxel.
    // pred→ref (voxels): 1, 0, 0, 0; ref→pred: 0, 0, 0, 1, 2
    // P95 pred→ref: position 0.95·3 = 2.85 in [0, 0, 0, 1] → 0.85; ref→pred: 0.95·4 = 3.8 in [0, 0, 0, 1, 2] → 1.8
    // HD95 = max(0.85, 1.8)·0.5 mm = 0.9 mm; HD = 2·0.5 = 1 mm; ASSD = (1 + 1 + 2)/9 · 0.5 = 2/9 mm
    // voxel 0.5 mm³: 0.002 mL vs 0.0025 mL, −0.0005 mL, −20 %
    const r = only(bar(10, 2, 5, { spacing: [0.5, 1, 1] }), bar(10, 3, 7, { spacing: [0.5, 1, 1] }));
    expect(r).toMatchObject({ label: 1, empty: 'none', predVoxels: 4, refVoxels: 5, intersectionVoxels: 3, predSurfaceVoxels: 4, refSurfaceVoxels: 5 });
    expect(r.dice).toBeCloseTo(2 / 3, 12);
    expect(r.iou).toBeCloseTo(0.5, 12);
    expect(r.hdPercentileMm).toBeCloseTo(0.9, 6);
    expect(r.hdMaxMm).toBeCloseTo(1, 6);
    expect(r.assdMm).toBeCloseTo(2 / 9, 6);
    expect(r.predVolumeMl).toBeCloseTo(0.002, 12);
    expect(r.refVolumeMl).toBeCloseTo(0.0025, 12);
    expect(r.volumeDifferenceMl).toBeCloseTo(-0.0005, 12);
    expect(r.volumeDifferencePercent).toBeCloseTo(-20, 9);
  });

  it('takes other percentiles the same way: 100 is the Hausdorff distance, 50 the larger directed median', () => {
    // Same bars at 1 mm: P100 = max(1, 2) = 2; P50 pred→ref [0,0,0,1] at 1.5 → 0, ref→pred [0,0,0,1,2] at 2 → 0
    expect(only(bar(10, 2, 5), bar(10, 3, 7), { percentile: 100 }).hdPercentileMm).toBeCloseTo(2, 6);
    expect(only(bar(10, 2, 5), bar(10, 3, 7), { percentile: 50 }).hdPercentileMm).toBeCloseTo(0, 6);
  });

  it('gives Dice 1, IoU 1 and zero distances for identical masks', () => {
    const v = labels([20, 20, 20], ball([10, 9, 10], 6), { spacing: [0.8, 0.8, 2] });
    const r = only(v, { ...v, data: v.data.slice() });
    expect([r.dice, r.iou, r.hdPercentileMm, r.hdMaxMm, r.assdMm, r.volumeDifferenceMl]).toEqual([1, 1, 0, 0, 0, 0]);
  });

  it('scores disjoint masks as Dice 0 with the gap between their nearest faces', () => {
    // pred i = 0..1, ref i = 5..6: pred→ref 5, 4; ref→pred 4, 5 → P95 = 4 + 0.95 = 4.95, HD = 5, ASSD = 18/4
    const r = only(bar(10, 0, 1), bar(10, 5, 6));
    expect([r.dice, r.iou]).toEqual([0, 0]);
    expect(r.hdPercentileMm).toBeCloseTo(4.95, 6);
    expect(r.hdMaxMm).toBeCloseTo(5, 6);
    expect(r.assdMm).toBeCloseTo(4.5, 6);
  });

  it('returns Dice 0 and infinite distances when exactly one mask is empty', () => {
    const missed = only(bar(10, 0, -1), bar(10, 3, 4));
    expect(missed).toMatchObject({ empty: 'prediction', dice: 0, iou: 0, hdPercentileMm: Infinity, hdMaxMm: Infinity, assdMm: Infinity, volumeDifferencePercent: -100 });
    const spurious = only(bar(10, 3, 4), bar(10, 0, -1));
    expect(spurious).toMatchObject({ empty: 'reference', dice: 0, iou: 0, hdPercentileMm: Infinity, assdMm: Infinity, refVoxels: 0, predVoxels: 2, predSurfaceVoxels: 2 });
    expect(spurious.volumeDifferencePercent).toBeNaN();
  });

  it('returns NaN for every metric of a requested label that is in neither map', () => {
    const [r] = evaluateLabels(bar(10, 3, 4), bar(10, 3, 4), { labels: [7] }).labels;
    expect(r).toMatchObject({ label: 7, empty: 'both', predVoxels: 0, refVoxels: 0, predVolumeMl: 0, refVolumeMl: 0 });
    for (const v of [r!.dice, r!.iou, r!.hdPercentileMm, r!.hdMaxMm, r!.assdMm, r!.volumeDifferencePercent]) expect(v).toBeNaN();
  });

  it('reports every non-zero label present in either map, in order', () => {
    const pred = labels([12, 1, 1], (i) => [0, 3, 3, 3, 0, 1, 1, 0, 0, 0, 0, 0][i]!);
    const ref = labels([12, 1, 1], (i) => [0, 3, 3, 0, 0, 1, 1, 0, 0, 9, 9, 0][i]!);
    const r = evaluateLabels(pred, ref);
    expect(r.labels.map((l) => [l.label, l.empty, l.dice])).toEqual([
      [1, 'none', 1],
      [3, 'none', 0.8],
      [9, 'prediction', 0],
    ]);
  });

  it('refuses bad options with the offending value', () => {
    expect(() => evaluateLabels(bar(4, 0, 1), bar(4, 0, 1), { percentile: 101 })).toThrow(new RangeError('percentile must be between 0 and 100, got 101'));
    expect(() => evaluateLabels(bar(4, 0, 1), bar(4, 0, 1), { labels: [0] })).toThrow(new RangeError('labels must be integers 1…65535 (0 is the background), got 0'));
  });
});

describe('evaluateLabels: distances in millimetres', () => {
  it('finds the Hausdorff distance of a cube shifted by 3 voxels along x: exactly 3·spacing', () => {
    // B = A + 3 voxels along i: every surface voxel p of A has p + 3 in B's surface (so HD ≤ 3·si), and A's −i face
    // is 3 voxels from B's nearest voxel (B starts 3 voxels further): HD = 3 · 0.7 = 2.1 mm exactly.
    const g: GridInit = { spacing: [0.7, 1.1, 1.3] };
    const cube = (x0: number) => labels([24, 14, 14], (i, j, k) => (i >= x0 && i < x0 + 8 && j >= 3 && j < 11 && k >= 3 && k < 11 ? 1 : 0), g);
    const r = only(cube(4), cube(7));
    expect(r.hdMaxMm).toBeCloseTo(2.1, 6);
    expect(r.hdPercentileMm).toBeLessThanOrEqual(2.1 + 1e-6);
    expect(r.dice).toBeCloseTo((2 * 5) / 16, 12); // overlap 5 of 8 slabs
    expectMatchesBruteForce(r, cube(4), cube(7));
  });

  it('measures a sphere shifted by k slices with 2.5 mm slices as 2.5·k mm', () => {
    const g: GridInit = { spacing: [0.9, 0.9, 2.5] };
    for (const k of [1, 2, 3]) {
      const a = labels([24, 24, 22], ball([12, 11, 9], 6), g);
      const b = labels([24, 24, 22], ball([12, 11, 9 + k], 6), g);
      const r = only(a, b);
      expect(r.hdMaxMm).toBeCloseTo(2.5 * k, 6);
      expect(r.hdPercentileMm).toBeGreaterThan(0);
      expect(r.hdPercentileMm).toBeLessThanOrEqual(2.5 * k + 1e-6);
      expect(r.assdMm).toBeGreaterThan(0);
      expect(r.assdMm).toBeLessThanOrEqual(2.5 * k + 1e-6);
      expectMatchesBruteForce(r, a, b);
    }
  });

  it('matches a brute-force surface distance on random blobs with anisotropic spacing', () => {
    const g: GridInit = { spacing: [0.8, 1.3, 2.5], origin: [-40, 12, 7] };
    for (const seed of [1, 2, 3, 4]) {
      const pred = blob([14, 12, 10], seed, g);
      const ref = blob([14, 12, 10], seed + 100, g);
      expectMatchesBruteForce(only(pred, ref), pred, ref);
    }
  });

  it('gives the same millimetre distances on an oblique orthonormal grid as on an axis-aligned one', () => {
    const spacing: Vec3 = [0.8, 1.3, 2.5];
    const oblique: GridInit = { spacing, origin: [10, -20, 30], direction: rotation([1 / Math.sqrt(3), 1 / Math.sqrt(3), 1 / Math.sqrt(3)], 30) };
    const straight = only(blob([14, 12, 10], 7, { spacing }), blob([14, 12, 10], 8, { spacing }));
    const pred = blob([14, 12, 10], 7, oblique);
    const ref = blob([14, 12, 10], 8, oblique);
    const r = evaluateLabels(pred, ref);
    expect(r.distanceMethod).toBe('edt');
    expect(r.labels[0]).toEqual(straight);
    expectMatchesBruteForce(r.labels[0]!, pred, ref);
  });

  it('measures a sheared (gantry-tilted) grid exactly, by nearest-neighbour search in LPS', () => {
    const t = (20 * Math.PI) / 180;
    const tilted: GridInit = { spacing: [0.9, 0.9, 2], direction: [1, 0, 0, 0, 1, 0, 0, Math.sin(t), Math.cos(t)] };
    const pred = blob([14, 12, 10], 11, tilted);
    const ref = blob([14, 12, 10], 12, tilted);
    const r = evaluateLabels(pred, ref);
    expect(r.distanceMethod).toBe('kd-tree');
    expect(r.notes).toEqual(['the reference grid is sheared (non-orthogonal axes): surface distances come from an exact nearest-neighbour search in LPS instead of the distance transform']);
    expectMatchesBruteForce(r.labels[0]!, pred, ref);
    // The shear matters: the same voxels on an orthogonal grid are at other distances.
    expect(only(blob([14, 12, 10], 11, { spacing: [0.9, 0.9, 2] }), blob([14, 12, 10], 12, { spacing: [0.9, 0.9, 2] })).assdMm).not.toBeCloseTo(r.labels[0]!.assdMm, 3);
  });
});

describe('evaluateLabels: grids that differ', () => {
  it('resamples a prediction on a finer grid onto the reference grid, with a note', () => {
    // Reference: 20³ at 1 mm, cube i, j, k = 5..10. Prediction: 40³ at 0.5 mm over the same extent (origin −0.25);
    // reference voxel i sits at prediction index 2i + 0.5, which nearest neighbour rounds to 2i + 1, so the same cube
    // is prediction indices 10..21.
    const ref = labels([20, 20, 20], (i, j, k) => (Math.min(i, j, k) >= 5 && Math.max(i, j, k) <= 10 ? 1 : 0));
    const pred = labels([40, 40, 40], (i, j, k) => (Math.min(i, j, k) >= 10 && Math.max(i, j, k) <= 21 ? 1 : 0), { spacing: [0.5, 0.5, 0.5], origin: [-0.25, -0.25, -0.25] });
    const r = evaluateLabels(pred, ref);
    expect(r.resampled).toBe(true);
    expect(r.labels[0]).toMatchObject({ dice: 1, hdMaxMm: 0, predVoxels: 216, refVoxels: 216 });
    expect(r.notes).toEqual([
      'prediction grid differs from the reference grid (dims 40×40×40 vs 20×20×20, spacing 0.5×0.5×0.5 vs 1×1×1 mm, origin (-0.25, -0.25, -0.25) vs (0, 0, 0) mm): ' +
        'resampled prediction onto the reference grid with nearest neighbour; its voxel counts and volumes are measured there',
    ]);
  });

  it('copies a prediction stored flipped along i exactly, and says when it covers only part of the reference', () => {
    const ref = blob([14, 12, 10], 21);
    const flippedData = new Uint8Array(ref.data.length);
    for (let n = 0; n < ref.data.length; n++) {
      const i = n % 14;
      flippedData[n - i + (13 - i)] = ref.data[n]!;
    }
    const flipped: LabelVolume = { ...ref, data: flippedData, origin: [13, 0, 0], direction: [-1, 0, 0, 0, 1, 0, 0, 0, 1] };
    const r = evaluateLabels(flipped, ref);
    expect(r.labels[0]).toMatchObject({ dice: 1, hdMaxMm: 0 });
    expect(r.notes[0]).toContain('by an axis permutation/flip only: copied onto the reference grid exactly');

    const half = labels([7, 12, 10], () => 1, { origin: [-0.2, 0, 0] });
    const partial = evaluateLabels(half, ref, { labels: [1] });
    expect(partial.notes[1]).toBe('prediction covers only part of the reference grid: reference voxels outside it count as background');
  });

  it('refuses volumes that do not overlap in patient space, saying where each lies', () => {
    const ref = bar(10, 2, 5);
    const far = bar(10, 2, 5, { origin: [500, 0, 0] });
    const call = () => evaluateLabels(far, ref, { names: { prediction: 'pred.nii.gz', reference: 'ref.nii.gz' } });
    expect(call).toThrow(SegError);
    expect(call).toThrow(
      'pred.nii.gz and ref.nii.gz do not overlap in patient space (origin (500, 0, 0) vs (0, 0, 0) mm): pred.nii.gz spans x 499.5…509.5, y -0.5…0.5, z -0.5…0.5, ' +
        'ref.nii.gz spans x -0.5…9.5, y -0.5…0.5, z -0.5…0.5 (LPS mm). They are not in the same frame of reference; ' +
        "compare a prediction made on the same scan as the reference, saved with that scan's geometry.",
    );
    expect(() => evaluateLabels(far, ref)).toThrow(expect.objectContaining({ code: 'INVALID_GEOMETRY' }));
  });

  it('refuses degenerate geometry', () => {
    const bad = { ...bar(10, 2, 5), spacing: [0, 1, 1] as Vec3 };
    expect(() => evaluateLabels(bad, bar(10, 2, 5))).toThrow('prediction: spacing must be positive finite mm, got [0, 1, 1]; cannot measure in millimetres on this grid');
    const flat = { ...bar(10, 2, 5), direction: [1, 0, 0, 0, 1, 0, 0, 1, 0] as unknown as Mat3 };
    expect(() => evaluateLabels(bar(10, 2, 5), flat)).toThrow(expect.objectContaining({ code: 'INVALID_GEOMETRY', message: expect.stringContaining('reference: direction axes are (nearly) coplanar') }));
  });
});

describe('medseg evaluate', () => {
  const dir = mkdtempSync(join(tmpdir(), 'medseg-evaluate-'));
  const asVolume = (v: LabelVolume, data: Volume['data']): Volume => ({ ...v, data });

  it('reads two NIfTI label maps and reports JSON-safe metrics with null for infinite distances', async () => {
    // The bars of the first test at 5 × 10 × 10 mm voxels (0.5 mL): distances × 5, volumes 2 and 2.5 mL.
    const g: GridInit = { spacing: [5, 10, 10] };
    const pred = labels([12, 1, 1], (i) => [0, 0, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0][i]!, g);
    const ref = labels([12, 1, 1], (i) => [0, 0, 0, 1, 1, 1, 1, 1, 0, 0, 2, 2][i]!, g);
    await writeNifti(join(dir, 'pred.nii.gz'), pred, { intentCode: 1002 });
    // The reference as float32 holding whole numbers, as some tools save label maps.
    await writeNifti(join(dir, 'ref.nii'), asVolume(ref, Float32Array.from(ref.data)));
    const report = await evaluateCommand(join(dir, 'pred.nii.gz'), join(dir, 'ref.nii'));
    expect(JSON.parse(JSON.stringify(report))).toEqual(report);
    expect(report.labels).toEqual([
      { label: 1, empty: 'none', dice: 0.666667, iou: 0.5, hdPercentileMm: 9, hdMaxMm: 10, assdMm: 2.222222, predVolumeMl: 2, refVolumeMl: 2.5, volumeDifferenceMl: -0.5, volumeDifferencePercent: -20, predVoxels: 4, refVoxels: 5, intersectionVoxels: 3, predSurfaceVoxels: 4, refSurfaceVoxels: 5 },
      { label: 2, empty: 'prediction', dice: 0, iou: 0, hdPercentileMm: null, hdMaxMm: null, assdMm: null, predVolumeMl: 0, refVolumeMl: 1, volumeDifferenceMl: -1, volumeDifferencePercent: -100, predVoxels: 0, refVoxels: 2, intersectionVoxels: 0, predSurfaceVoxels: 0, refSurfaceVoxels: 2 },
    ]);
    expect(report).toMatchObject({ percentile: 95, resampled: false, distanceMethod: 'edt', notes: [], grid: { dims: [12, 1, 1], voxelVolumeMm3: 500 } });
    const table = renderEvaluation(report).split('\n');
    expect(table.slice(1)).toEqual([
      '  label    Dice     IoU  HD95 mm  ASSD mm  pred mL  ref mL  diff mL   diff %',
      '      1  0.6667  0.5000     9.00     2.22     2.00    2.50    -0.50   -20.0%',
      '      2  0.0000  0.0000      inf      inf     0.00    1.00    -1.00  -100.0%',
      'label 2: missing from the prediction (distances infinite)',
    ]);
    expect(table[0]).toBe(`${join(dir, 'pred.nii.gz')} vs ${join(dir, 'ref.nii')} on the reference grid 12×1×1, spacing 5×10×10 mm`);
  });

  it('refuses a map of non-integral values, naming the voxel', () => {
    const v = bar(4, 0, 1);
    const probs = asVolume(v, Float32Array.from([0.25, 1, 0, 0]));
    expect(() => toLabelVolume(probs, 'probs.nii')).toThrow(
      'probs.nii: not a label map: voxel (0, 0, 0) holds 0.25; labels must be whole numbers 0…65535 (is this a probability map or an image? threshold or argmax it into labels first)',
    );
    expect(() => toLabelVolume(asVolume(v, Int16Array.from([0, 0, -1, 0])), 'ct.nii')).toThrow(
      expect.objectContaining({ code: 'UNSUPPORTED_DATATYPE', message: 'ct.nii: not a label map: voxel (2, 0, 0) holds -1; labels must be whole numbers 0…65535' }),
    );
    const wide = toLabelVolume(asVolume(v, Int32Array.from([0, 300, 2, 0])), 'x');
    expect(wide.data).toEqual(Uint16Array.from([0, 300, 2, 0]));
  });
});
