/** Lesions: hand-derived diameters, containing organ, ordering and border flags; balls of known size. */
import { describe, expect, it } from 'vitest';
import { axialAxis, longestDiameter } from '../../src/measure/diameters.js';
import { labelStatistics } from '../../src/measure/stats.js';
import type { LabelVolume, Mat3, Vec3, Vec3i } from '../../src/volume/types.js';
import { expectAllClose } from '../helpers.js';
import { IDENTITY, rasterize, sphere } from './shapes.js';

function labels(dims: Vec3i, voxels: [number, number, number, number][], g: { spacing?: Vec3; direction?: Mat3 } = {}): LabelVolume {
  const data = new Uint8Array(dims[0] * dims[1] * dims[2]);
  for (const [i, j, k, v] of voxels) data[i + j * dims[0] + k * dims[0] * dims[1]] = v;
  return { data, dims, spacing: g.spacing ?? [1, 1, 1], origin: [0, 0, 0], direction: g.direction ?? IDENTITY };
}

const lesionsOf = (v: LabelVolume, lesionLabels = [9]) => labelStatistics(v, { lesionLabels, borderMarginVoxels: 0 }).lesions;

describe('lesion diameters', () => {
  it('measures the longest 3-D and axial diameters between voxel centres (hand-derived)', () => {
    // Voxels (1,1,1), (2,2,1), (3,3,2), 26-connected; spacing 0.5 × 0.7 × 2 mm.
    // 3-D: (1,1,1)–(3,3,2) = √(1² + 1.4² + 2²) = √6.96; axial (slices along k): slice 1 holds (1,1)–(2,2) = √(0.5² + 0.7²)
    const v = labels([6, 6, 4], [[1, 1, 1, 9], [2, 2, 1, 9], [3, 3, 2, 9]], { spacing: [0.5, 0.7, 2] });
    const [l] = lesionsOf(v);
    expect(l!.longestDiameterMm).toBeCloseTo(Math.sqrt(6.96), 12);
    expect(l!.longestAxialDiameterMm).toBeCloseTo(Math.sqrt(0.74), 12);
    expect(l!.axialSlice).toBe(1);
    const ends = l!.diameterEndpointsLps!;
    expectAllClose([...ends[0], ...ends[1]].sort((a, b) => a - b), [0.5, 0.7, 1.5, 2, 2.1, 4].sort((a, b) => a - b), { atol: 1e-12 });
  });

  it('gives 0 for a single voxel and for slices of one voxel', () => {
    const [l] = lesionsOf(labels([5, 5, 5], [[2, 2, 2, 9]]));
    expect([l!.longestDiameterMm, l!.longestAxialDiameterMm]).toEqual([0, 0]);
  });

  it('takes slices along the voxel axis closest to the patient S axis (a sagittal grid)', () => {
    // i → P (+y), j → S (+z), k → L (+x): slices are planes of constant j.
    const sagittal: Mat3 = [0, 1, 0, 0, 0, 1, 1, 0, 0];
    expect(axialAxis(sagittal)).toBe(1);
    // A bar of 3 voxels along j (head–foot): axial diameter 0 (one voxel per axial slice), 3-D diameter 2 × 1.5 mm.
    const v = labels([5, 5, 5], [[2, 1, 2, 9], [2, 2, 2, 9], [2, 3, 2, 9]], { spacing: [1, 1.5, 1], direction: sagittal });
    const r = labelStatistics(v, { lesionLabels: [9], borderMarginVoxels: 0 });
    expect(r.axialAxis).toBe('j');
    expect(r.lesions[0]).toMatchObject({ longestAxialDiameterMm: 0, longestDiameterMm: 3 });
  });

  it('measures a 20 mm and a 40 mm ball at 0.7 mm within a voxel of the diameter', () => {
    for (const r of [10, 20]) {
      const v = rasterize(sphere(r), r, { spacing: [0.7, 0.7, 0.7], direction: IDENTITY }, 9);
      const [l] = lesionsOf(v);
      // Centre-to-centre: at most the diameter, and at least the diameter minus one voxel diagonal (2 × 0.61 mm).
      expect(l!.longestDiameterMm).toBeLessThanOrEqual(2 * r);
      expect(l!.longestDiameterMm).toBeGreaterThanOrEqual(2 * r - 1.22);
      expect(l!.longestAxialDiameterMm).toBeLessThanOrEqual(l!.longestDiameterMm + 1e-9);
      expect(l!.longestAxialDiameterMm).toBeGreaterThanOrEqual(2 * r - 1.22);
    }
  });

  it('agrees with brute force over all voxel pairs on an irregular lesion', () => {
    let s = 7;
    const rnd = () => (s = (s * 48271) % 2147483647) / 2147483647;
    const voxels: [number, number, number, number][] = [];
    for (let k = 2; k < 9; k++) for (let j = 2; j < 12; j++) for (let i = 2; i < 10; i++) if (rnd() < 0.45 || (i === 5 && j === 6)) voxels.push([i, j, k, 9]);
    // Connect everything through a column so it is one lesion.
    for (let k = 2; k < 9; k++) for (let j = 2; j < 12; j++) voxels.push([5, j, k, 9]);
    const spacing: Vec3 = [0.6, 0.9, 1.7];
    const v = labels([12, 14, 11], voxels, { spacing });
    const [l] = lesionsOf(v);
    const pts = [...new Set(voxels.map((p) => p.slice(0, 3).join(',')))].map((x) => x.split(',').map(Number));
    let best = 0;
    let bestAxial = 0;
    for (const a of pts) for (const b of pts) {
      const d = Math.hypot((a[0]! - b[0]!) * spacing[0], (a[1]! - b[1]!) * spacing[1], (a[2]! - b[2]!) * spacing[2]);
      best = Math.max(best, d);
      if (a[2] === b[2]) bestAxial = Math.max(bestAxial, d);
    }
    expect(l!.longestDiameterMm).toBeCloseTo(best, 9);
    expect(l!.longestAxialDiameterMm).toBeCloseTo(bestAxial, 9);
  });

  it('longestDiameter is NaN for an empty set', () => {
    expect(longestDiameter({ mask: new Uint8Array(8), dims: [2, 2, 2], offset: [0, 0, 0] }, { spacing: [1, 1, 1], origin: [0, 0, 0], direction: IDENTITY }).lengthMm).toBeNaN();
  });
});

describe('lesion organ, order and border', () => {
  /** A single lesion voxel at (3,3,3) of a 7³ map, with its 3×3×3 neighbourhood painted by plane k. */
  function surrounded(planes: [number, number, number]): LabelVolume {
    const v = labels([7, 7, 7], []);
    for (let k = 2; k <= 4; k++) for (let j = 2; j <= 4; j++) for (let i = 2; i <= 4; i++) v.data[i + 7 * j + 49 * k] = planes[k - 2]!;
    v.data[3 + 7 * 3 + 49 * 3] = 9;
    return v;
  }

  it('finds the organ holding most of the 1-voxel shell (17 of 26 voxels)', () => {
    // planes k = 2, 3 → organ 1 (9 + 8 shell voxels), plane k = 4 → organ 2 (9)
    const [l] = lesionsOf(surrounded([1, 1, 2]));
    expect(l!.organ).toEqual({ label: 1, shellVoxels: 17, shellFraction: 17 / 26 });
  });

  it('breaks ties towards the smaller label, ignores other lesion labels and background, and gives null without organ', () => {
    // k = 2 → 3 (9 voxels), k = 3 → 0 (8 voxels), k = 4 → 2 (9 voxels): tie 9–9 → label 2
    expect(lesionsOf(surrounded([3, 0, 2]))[0]!.organ).toEqual({ label: 2, shellVoxels: 9, shellFraction: 9 / 26 });
    // label 8 is a lesion label too: never an organ
    expect(lesionsOf(surrounded([8, 8, 1]), [8, 9]).find((l) => l.label === 9)!.organ).toEqual({ label: 1, shellVoxels: 9, shellFraction: 9 / 26 });
    expect(lesionsOf(surrounded([0, 0, 0]))[0]!.organ).toBeNull();
  });

  it('orders lesions by label, then largest first, and numbers them per label', () => {
    const v = labels([12, 6, 6], [[1, 1, 1, 9], [5, 1, 1, 9], [6, 1, 1, 9], [7, 1, 1, 9], [9, 3, 3, 8], [10, 3, 3, 8]]);
    const ls = lesionsOf(v, [8, 9]);
    expect(ls.map((l) => [l.label, l.index, l.voxels])).toEqual([
      [8, 1, 2],
      [9, 1, 3],
      [9, 2, 1],
    ]);
    const s = labelStatistics(v, { lesionLabels: [9] }).structures.find((x) => x.label === 9)!;
    expect(s).toMatchObject({ lesion: true, components: 2, voxels: 4 });
  });

  it('gives volume and centroid per lesion and flags one cut by the scan border', () => {
    const v = labels([10, 10, 10], [[0, 4, 4, 9], [1, 4, 4, 9], [5, 5, 5, 9]], { spacing: [1, 1, 2] });
    const ls = labelStatistics(v, { lesionLabels: [9] }).lesions;
    expect(ls[0]).toMatchObject({ voxels: 2, incomplete: true, cutBy: [{ axis: 'i', side: 'min', patient: 'R' }] });
    expect(ls[0]!.volumeMl).toBeCloseTo(0.004, 12);
    expectAllClose(ls[0]!.centroidLps, [0.5, 4, 8], { atol: 1e-12 });
    expect(ls[1]).toMatchObject({ voxels: 1, incomplete: false, cutBy: [] });
  });
});
