/**
 * labelStatistics: hand-derived volumes, centroids, bounding boxes, border flags, soft volumes and intensity
 * statistics on anisotropic, rotated and sheared grids.
 */
import { describe, expect, it } from 'vitest';
import { SegError } from '../../src/errors.js';
import { labelStatistics, lesionLabelsFromMetadata, type StructureStats } from '../../src/measure/stats.js';
import type { LabelVolume, Mat3, Vec3, Vec3i, Volume, VoxelArray } from '../../src/volume/types.js';
import { expectAllClose } from '../helpers.js';
import { IDENTITY } from './shapes.js';

function labels(dims: Vec3i, voxels: [number, number, number, number][], g: { spacing?: Vec3; origin?: Vec3; direction?: Mat3 } = {}): LabelVolume {
  const data = new Uint8Array(dims[0] * dims[1] * dims[2]);
  for (const [i, j, k, v] of voxels) data[i + j * dims[0] + k * dims[0] * dims[1]] = v;
  return { data, dims, spacing: g.spacing ?? [1, 1, 1], origin: g.origin ?? [0, 0, 0], direction: g.direction ?? IDENTITY };
}

function block(dims: Vec3i, lo: Vec3i, hi: Vec3i, value: number, into?: LabelVolume): LabelVolume {
  const v = into ?? labels(dims, []);
  for (let k = lo[2]; k <= hi[2]; k++) for (let j = lo[1]; j <= hi[1]; j++) for (let i = lo[0]; i <= hi[0]; i++) v.data[i + j * dims[0] + k * dims[0] * dims[1]] = value;
  return v;
}

const only = (s: StructureStats[], label: number) => s.find((x) => x.label === label)!;

describe('labelStatistics: geometry', () => {
  // i → +y (P), j → −x (R), k → +z (S); spacing 0.5 × 2 × 3 mm, origin (10, −5, 7)
  const ROT90: Mat3 = [0, 1, 0, -1, 0, 0, 0, 0, 1];
  const v = labels([4, 3, 2], [[0, 0, 0, 1], [1, 0, 0, 1], [3, 2, 1, 1], [2, 1, 0, 4]], { spacing: [0.5, 2, 3], origin: [10, -5, 7], direction: ROT90 });

  it('gives voxels, volume, centroid and bounds in LPS (hand-derived)', () => {
    const s = only(labelStatistics(v, { borderMarginVoxels: 0 }).structures, 1);
    // 3 voxels × 3 mm³ = 0.009 mL; mean index (4/3, 2/3, 1/3):
    // x = 10 − 2·(2/3) = 8.6667, y = −5 + 0.5·(4/3) = −4.3333, z = 7 + 3·(1/3) = 8
    expect(s.voxels).toBe(3);
    expect(s.volumeMl).toBeCloseTo(0.009, 12);
    expectAllClose(s.centroidLps!, [10 - 4 / 3, -5 + 2 / 3, 8], { atol: 1e-9 });
    expect(s.boundsIjk).toEqual({ min: [0, 0, 0], max: [3, 2, 1] });
    // voxel centres: (10, −5, 7), (10, −4.5, 7), (10 − 4, −5 + 1.5, 10) = (6, −3.5, 10)
    expectAllClose(s.boundsLps!.min, [6, -5, 7], { atol: 1e-9 });
    expectAllClose(s.boundsLps!.max, [10, -3.5, 10], { atol: 1e-9 });
    expect(s.components).toBe(2);
    expect(s).toMatchObject({ name: 'label 1', lesion: false, incomplete: false, cutBy: [], intensity: null, softVolumeMl: null });
  });

  it('uses |det(direction)| for volumes on a sheared grid', () => {
    // k axis tilted 30° towards x: det = cos 30°
    const t = Math.PI / 6;
    const sheared = labels([2, 2, 2], [[0, 0, 0, 1], [1, 1, 1, 1]], { spacing: [1, 2, 5], direction: [1, 0, 0, 0, 1, 0, Math.sin(t), 0, Math.cos(t)] });
    const r = labelStatistics(sheared, { borderMarginVoxels: 0 });
    expect(r.voxelVolumeMm3).toBeCloseTo(10 * Math.cos(t), 12);
    expect(only(r.structures, 1).volumeMl).toBeCloseTo((2 * 10 * Math.cos(t)) / 1000, 12);
  });

  it('reports requested and named labels that are absent with zeros and nulls', () => {
    const r = labelStatistics(v, { labels: [1, 9], names: new Map([[9, 'spleen']]) });
    expect(r.structures.map((s) => s.label)).toEqual([1, 9]);
    expect(only(r.structures, 9)).toMatchObject({ name: 'spleen', voxels: 0, volumeMl: 0, surfaceAreaMm2: 0, components: 0, centroidLps: null, boundsIjk: null, incomplete: false });
    const named = labelStatistics(v, { names: new Map([[7, 'liver']]) });
    expect(named.structures.map((s) => s.label)).toEqual([1, 4, 7]);
  });

  it('rejects labels outside 1…65535 and degenerate geometry', () => {
    expect(() => labelStatistics(v, { labels: [0] })).toThrow('labels must be integers 1…65535 (0 is the background), got 0');
    expect(() => labelStatistics({ ...v, spacing: [0, 1, 1] })).toThrow(/spacing must be positive finite mm/);
  });
});

describe('labelStatistics: structures cut by the scan border', () => {
  const dims: Vec3i = [20, 20, 20];
  const v = block(dims, [2, 5, 5], [10, 12, 12], 1);
  block(dims, [3, 3, 3], [16, 4, 16], 2, v);
  block(dims, [12, 8, 15], [15, 12, 19], 3, v);

  it('flags a structure with a voxel within 3 voxels of a face, naming the face and its patient side', () => {
    const r = labelStatistics(v);
    // index 2 < 3 on the i-min face; identity direction: outward −x = patient Right
    expect(only(r.structures, 1)).toMatchObject({ incomplete: true, cutBy: [{ axis: 'i', side: 'min', patient: 'R' }] });
    // 3 … 16 keeps 3 planes free on every side of a 20-voxel axis: complete
    expect(only(r.structures, 2)).toMatchObject({ incomplete: false, cutBy: [] });
    // k = 19 is the last plane: superior face
    expect(only(r.structures, 3)).toMatchObject({ incomplete: true, cutBy: [{ axis: 'k', side: 'max', patient: 'S' }] });
    expect(r.borderMarginVoxels).toBe(3);
  });

  it('names the patient side from the direction (an RAS-ordered grid: i-min looks Left)', () => {
    const ras = { ...v, direction: [-1, 0, 0, 0, -1, 0, 0, 0, 1] as Mat3 };
    expect(only(labelStatistics(ras).structures, 1).cutBy).toEqual([{ axis: 'i', side: 'min', patient: 'L' }]);
  });

  it('takes the margin from the options', () => {
    expect(only(labelStatistics(v, { borderMarginVoxels: 2 }).structures, 1).incomplete).toBe(false);
    expect(only(labelStatistics(v, { borderMarginVoxels: 4 }).structures, 2).incomplete).toBe(true);
  });
});

describe('labelStatistics: soft volume from probabilities', () => {
  it('recovers the volume of a ball from partial-volume probabilities better than the voxel count', () => {
    // r = 6 mm ball at 2 mm voxels; probability = fraction of 8³ sub-samples inside (exact partial volume to ~0.1 %).
    const dims: Vec3i = [10, 10, 10];
    const centre: Vec3 = [9.3, 8.9, 9.6];
    const p = new Float32Array(1000);
    const v = labels(dims, [], { spacing: [2, 2, 2] });
    let n = 0;
    for (let k = 0; k < 10; k++) for (let j = 0; j < 10; j++) for (let i = 0; i < 10; i++, n++) {
      let inside = 0;
      for (let c = 0; c < 512; c++) {
        const x = 2 * i - 1 + (2 * ((c % 8) + 0.5)) / 8;
        const y = 2 * j - 1 + (2 * ((c >> 3) % 8) + 1) / 8;
        const z = 2 * k - 1 + (2 * (c >> 6) + 1) / 8;
        if ((x - centre[0]) ** 2 + (y - centre[1]) ** 2 + (z - centre[2]) ** 2 <= 36) inside++;
      }
      p[n] = inside / 512;
      if (p[n]! >= 0.5) v.data[n] = 1;
    }
    const truthMl = ((4 / 3) * Math.PI * 216) / 1000;
    const s = only(labelStatistics(v, { probabilities: new Map([[1, { ...v, data: p }]]) }).structures, 1);
    expect(Math.abs(s.softVolumeMl! / truthMl - 1)).toBeLessThan(0.005);
    expect(Math.abs(s.softVolumeMl! - truthMl)).toBeLessThan(Math.abs(s.volumeMl - truthMl));
  });

  it('refuses a probability map on another grid', () => {
    const v = labels([4, 4, 4], [[1, 1, 1, 1]]);
    const p: Volume = { data: new Float32Array(125), dims: [5, 5, 5], spacing: [1, 1, 1], origin: [0, 0, 0], direction: IDENTITY };
    expect(() => labelStatistics(v, { probabilities: new Map([[1, p]]), name: 'seg.nii.gz' })).toThrow(
      'the probability map of label 1 is on another grid (dims 5×5×5) than seg.nii.gz (dims 4×4×4); soft volumes need probabilities on the label grid (medseg segment --probabilities writes them there)',
    );
  });
});

describe('labelStatistics: intensities', () => {
  const dims: Vec3i = [6, 5, 4];
  const seg = block(dims, [1, 1, 2], [2, 3, 2], 1);
  function image(make: (n: number) => VoxelArray, offset = 0, g: Partial<Omit<Volume, 'data'>> = {}): Volume {
    const data = make(120);
    let n = 0;
    for (let k = 0; k < 4; k++) for (let j = 0; j < 5; j++) for (let i = 0; i < 6; i++) data[n++] = i + 10 * j + 100 * k + offset;
    return { data, dims, spacing: [1, 1, 1], origin: [0, 0, 0], direction: IDENTITY, ...g };
  }
  // Label 1 holds i ∈ {1, 2}, j ∈ {1, 2, 3}, k = 2 → 211, 212, 221, 222, 231, 232:
  // mean 221.5, median (221 + 222)/2, deviations ±0.5, ±9.5, ±10.5 → variance 401.5/6 → std 8.18026
  const std = Math.sqrt(401.5 / 6);

  it('gives min, max, mean, median and population std of an int16 image (histogram median)', () => {
    const r = labelStatistics(seg, { image: image((n) => new Int16Array(n)) });
    const s = only(r.structures, 1).intensity!;
    expect(s).toMatchObject({ voxels: 6, min: 211, max: 232, median: 221.5 });
    expect(s.mean).toBeCloseTo(221.5, 12);
    expect(s.std).toBeCloseTo(std, 12);
    expect(r.intensitySampling).toBe('same-grid');
  });

  it('gives the same on a float32 image (selection median)', () => {
    const s = only(labelStatistics(seg, { image: image((n) => new Float32Array(n), 0.25) }).structures, 1).intensity!;
    expect(s).toMatchObject({ voxels: 6, min: 211.25, max: 232.25, median: 221.75 });
    expect(s.std).toBeCloseTo(std, 9);
  });

  it('reads an image on a flipped grid at the same patient positions', () => {
    // The same LPS field on a grid whose i axis runs the other way (origin at the old last column).
    const flipped = image((n) => new Int16Array(n), 0, { origin: [5, 0, 0], direction: [-1, 0, 0, 0, 1, 0, 0, 0, 1] });
    // value at flipped index i is stored for LPS x = 5 − i: rewrite it as the field of x so positions match.
    let n = 0;
    for (let k = 0; k < 4; k++) for (let j = 0; j < 5; j++) for (let i = 0; i < 6; i++) flipped.data[n++] = 5 - i + 10 * j + 100 * k;
    const r = labelStatistics(seg, { image: flipped, imageName: 'ct' });
    expect(only(r.structures, 1).intensity).toMatchObject({ voxels: 6, min: 211, max: 232, median: 221.5 });
    expect(r.intensitySampling).toBe('nearest');
    expect(r.notes[0]).toMatch(/^ct is on another grid than the labels: intensities are read at the nearest image voxel/);
  });

  it('refuses an image that does not overlap the labels', () => {
    const far = image((n) => new Int16Array(n), 0, { origin: [500, 0, 0] });
    let error: unknown;
    try {
      labelStatistics(seg, { image: far, imageName: 'ct.nii.gz' });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(SegError);
    expect(error).toMatchObject({ code: 'INVALID_GEOMETRY' });
    expect((error as Error).message).toBe(
      'ct.nii.gz: none of the 6 labelled voxels lies inside the image (LPS extents do not overlap); the image and the label map are not in the same frame of reference. Pass the scan that the labels were made on.',
    );
  });
});

describe('lesionLabelsFromMetadata', () => {
  it('picks labels whose category is SNOMED CT 49755003 (SCT or the older SRT designator)', () => {
    const morph = (scheme: string) => ({ scheme, value: '49755003', meaning: 'Morphologically Altered Structure' });
    const anatomy = { scheme: 'SCT', value: '123037004', meaning: 'Anatomical Structure' };
    expect(lesionLabelsFromMetadata([{ value: 1, category: anatomy }, { value: 8, category: morph('SCT') }, { value: 9, category: morph('SRT') }, { value: 10 }])).toEqual([8, 9]);
  });
});
