/** Small-island removal by volume in mm³: hand-derived cases on anisotropic and oblique grids. */
import { describe, expect, it } from 'vitest';
import { removeSmallIslands } from '../../src/postprocess/islands.js';
import type { LabelVolume, Mat3, Vec3, Vec3i } from '../../src/volume/types.js';

const IDENTITY: Mat3 = [1, 0, 0, 0, 1, 0, 0, 0, 1];

function volume(dims: Vec3i, voxels: [number, number, number, number][], spacing: Vec3 = [1, 1, 1], direction: Mat3 = IDENTITY): LabelVolume {
  const data = new Uint8Array(dims[0] * dims[1] * dims[2]);
  for (const [i, j, k, v] of voxels) data[i + j * dims[0] + k * dims[0] * dims[1]] = v;
  return { data, dims, spacing, origin: [0, 0, 0], direction };
}

const at = (v: LabelVolume, i: number, j: number, k: number) => v.data[i + j * v.dims[0] + k * v.dims[0] * v.dims[1]];

describe('removeSmallIslands', () => {
  it('removes components below the threshold in mm³, not in voxels', () => {
    // spacing 0.5 × 0.5 × 2 mm → 0.5 mm³ per voxel. Label 1: a 3-voxel bar (1.5 mm³) and a 5-voxel bar (2.5 mm³).
    const bar3: [number, number, number, number][] = [0, 1, 2].map((i) => [i, 0, 0, 1]);
    const bar5: [number, number, number, number][] = [0, 1, 2, 3, 4].map((i) => [i, 3, 2, 1]);
    const v = volume([6, 5, 4], [...bar3, ...bar5], [0.5, 0.5, 2]);
    const r = removeSmallIslands(v, { minVolumeMm3: 2 });
    expect(r).toEqual([{ label: 1, components: 2, removedComponents: 1, removedVoxels: 3, removedVolumeMm3: 1.5 }]);
    expect([at(v, 0, 0, 0), at(v, 2, 0, 0), at(v, 0, 3, 2), at(v, 4, 3, 2)]).toEqual([0, 0, 1, 1]);
  });

  it('keeps a component whose volume equals the threshold (strictly below is removed)', () => {
    const v = volume([4, 1, 1], [[0, 0, 0, 1], [1, 0, 0, 1]], [1, 1, 1.5]);
    // 2 voxels × 1.5 mm³ = 3 mm³
    expect(removeSmallIslands(v, { minVolumeMm3: 3 })[0]!.removedComponents).toBe(0);
    expect(removeSmallIslands(v, { minVolumeMm3: 3.0001 })[0]!.removedComponents).toBe(1);
  });

  it('uses |det(direction)| for the voxel volume on a sheared grid', () => {
    // k axis tilted 30° from z in the x–z plane: det = cos 30° = 0.866 → a voxel is 0.866 mm³.
    const t = Math.PI / 6;
    const sheared: Mat3 = [1, 0, 0, 0, 1, 0, Math.sin(t), 0, Math.cos(t)];
    const v = volume([3, 1, 1], [[0, 0, 0, 2]], [1, 1, 1], sheared);
    expect(removeSmallIslands(v, { minVolumeMm3: 0.87 })[0]).toMatchObject({ removedVoxels: 1 });
    expect(removeSmallIslands(volume([3, 1, 1], [[0, 0, 0, 2]], [1, 1, 1], sheared), { minVolumeMm3: 0.86 })[0]).toMatchObject({ removedVoxels: 0 });
    expect(removeSmallIslands(volume([3, 1, 1], [[0, 0, 0, 2]], [1, 1, 1], sheared), { minVolumeMm3: 0.86 })[0]!.removedVolumeMm3).toBe(0);
  });

  it('counts diagonal neighbours as one island at 26-connectivity and as separate ones at 6', () => {
    // Two voxels sharing a corner only; each alone is 1 mm³, together 2 mm³; threshold 1.5 mm³.
    const make = () => volume([3, 3, 3], [[0, 0, 0, 1], [1, 1, 1, 1]]);
    const v26 = make();
    expect(removeSmallIslands(v26, { minVolumeMm3: 1.5, connectivity: 26 })[0]).toMatchObject({ components: 1, removedVoxels: 0 });
    const v6 = make();
    expect(removeSmallIslands(v6, { minVolumeMm3: 1.5, connectivity: 6 })[0]).toMatchObject({ components: 2, removedVoxels: 2 });
    expect(v6.data.every((x) => x === 0)).toBe(true);
  });

  it('touches only the listed labels', () => {
    const v = volume([5, 1, 1], [[0, 0, 0, 1], [2, 0, 0, 2], [4, 0, 0, 3]]);
    const r = removeSmallIslands(v, { minVolumeMm3: 5, labels: [2, 9] });
    expect(r.map((x) => x.label)).toEqual([2]);
    expect([...v.data]).toEqual([1, 0, 0, 0, 3]);
  });

  it('rejects bad thresholds, labels and connectivities with the value', () => {
    const v = volume([2, 1, 1], []);
    expect(() => removeSmallIslands(v, { minVolumeMm3: -1 })).toThrow('minVolumeMm3 must be a finite number ≥ 0 (mm³), got -1');
    expect(() => removeSmallIslands(v, { minVolumeMm3: 1, labels: [0] })).toThrow('labels must be integers 1…65535 (0 is the background), got 0');
    expect(() => removeSmallIslands(v, { minVolumeMm3: 1, connectivity: 8 as 6 })).toThrow('connectivity must be 6, 18 or 26, got 8');
  });
});
