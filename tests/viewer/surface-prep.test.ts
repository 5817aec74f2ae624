/** Occupancy grids for the 3D surfaces (index space): boxes, block counts, padding, smoothing. */
import { describe, expect, it } from 'vitest';
import { labelBoxes, occupancyGrids, runYielding, smoothGrid, strideFor } from '../../viewer/src/core/surface-prep.js';

const noPause = () => Promise.resolve();

/** 10×8×20 map: label 1 a 4×3×10 block at (2, 1, 5), label 3 one voxel at (9, 7, 19). */
function map(): Uint8Array {
  const [nx, ny, nz] = [10, 8, 20];
  const d = new Uint8Array(nx * ny * nz);
  for (let k = 5; k < 15; k++) for (let j = 1; j < 4; j++) for (let i = 2; i < 6; i++) d[i + j * nx + k * nx * ny] = 1;
  d[9 + 7 * nx + 19 * nx * ny] = 3;
  return d;
}

describe('surface preparation', () => {
  it('finds each label bounding box and voxel count in one pass', async () => {
    const boxes = await runYielding(labelBoxes(map(), [10, 8, 20]), noPause);
    expect([...boxes.values()]).toEqual([
      { value: 1, min: [2, 1, 5], max: [5, 3, 14], voxels: 120 },
      { value: 3, min: [9, 7, 19], max: [9, 7, 19], voxels: 1 },
    ]);
  });

  it('chooses the smallest block edge that keeps the grid under the limit, at most 6', () => {
    expect(strideFor({ min: [0, 0, 0], max: [99, 99, 99] }, 1_000_000)).toBe(1);
    // 512×512×300 = 78.6 M voxels → 78.6 blocks of 1 M: edge ⌈78.6^(1/3)⌉ = 5
    expect(strideFor({ min: [0, 0, 0], max: [511, 511, 299] }, 1_000_000)).toBe(5);
    expect(strideFor({ min: [0, 0, 0], max: [511, 511, 299] }, 1000)).toBe(6);
  });

  it('counts the voxels of each block, with one empty block of padding on every side', async () => {
    const data = map();
    const boxes = await runYielding(labelBoxes(data, [10, 8, 20]), noPause);
    const grids = await runYielding(occupancyGrids(data, [10, 8, 20], boxes.values(), 50), noPause);
    const g1 = grids.find((g) => g.value === 1)!;
    // 120 voxels in a 4×3×10 box with at most 50 points → edge ⌈(120/50)^(1/3)⌉ = 2: 2×2×5 blocks + 2 padding each
    expect(g1.stride).toBe(2);
    expect(g1.dims).toEqual([4, 4, 7]);
    expect(g1.isoValue).toBe(4);
    expect(g1.counts.reduce((a, b) => a + b, 0)).toBe(120);
    // Grid point 1 holds voxels [min, min + 1]; point 0 is centred one block before the box.
    expect(g1.originIndex).toEqual([2 - 2 + 0.5, 1 - 2 + 0.5, 5 - 2 + 0.5]);
    const [gx, gy, gz] = g1.dims;
    for (let k = 0; k < gz; k++) for (let j = 0; j < gy; j++) for (let i = 0; i < gx; i++) {
      if (i === 0 || j === 0 || k === 0 || i === gx - 1 || j === gy - 1 || k === gz - 1) expect(g1.counts[i + j * gx + k * gx * gy]).toBe(0);
    }
    // The 3-voxel-high box in blocks of 2: the first row of blocks holds 2·2·2 = 8 voxels, the second 2·1·2 = 4.
    expect(g1.counts[1 + 1 * gx + 1 * gx * gy]).toBe(8);
    expect(g1.counts[1 + 2 * gx + 1 * gx * gy]).toBe(4);
    const g3 = grids.find((g) => g.value === 3)!;
    expect([g3.stride, ...g3.dims, g3.counts[1 + 3 + 9]]).toEqual([1, 3, 3, 3, 1]);
  });

  it('smooths a grid without moving a flat boundary or losing its total', () => {
    // A half-filled 6×6×6 grid (i < 3 full): the 0.5 crossing stays between i = 2 and i = 3 in the interior.
    const dims = [6, 6, 6] as const;
    const counts = new Uint8Array(216);
    for (let n = 0; n < 216; n++) if (n % 6 < 3) counts[n] = 1;
    const s = smoothGrid(counts, dims);
    const at = (i: number) => s[i + 6 * 3 + 36 * 3]!;
    expect([at(1), at(2), at(3), at(4)]).toEqual([1, 0.75, 0.25, 0]);
    // Away from the grid's faces a binomial blur keeps the sum of a bump that stays inside.
    const bump = new Uint8Array(216);
    bump[2 + 6 * 2 + 36 * 2] = 64;
    expect(smoothGrid(bump, dims).reduce((a, b) => a + b, 0)).toBeCloseTo(64, 9);
  });
});
