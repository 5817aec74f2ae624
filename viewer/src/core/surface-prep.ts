/**
 * Preparation of the 3D view's label surfaces: per label its voxel bounding box, and a block-averaged occupancy
 * grid (voxels of the label per s×s×s block, s chosen per label so the grid stays small) padded by one empty block
 * on every side so that the extracted surface is closed. Marching cubes at half occupancy on that grid gives a
 * smooth surface at a bounded cost whatever the scan size. Index space (voxel i, j, k), no world geometry here.
 *
 * The passes are generators that yield after each slab of slices, so the page can hand control back to the
 * browser between slabs and stay responsive on a 512×512×300 map.
 */
import type { Vec3, Vec3i } from './geometry.js';

export interface LabelBox {
  value: number;
  /** Inclusive voxel-index bounds. */
  min: [number, number, number];
  max: [number, number, number];
  voxels: number;
}

export interface OccupancyGrid {
  value: number;
  /** Block edge in voxels (1 = the voxels themselves). */
  stride: number;
  /** Grid points along i, j, k (including the empty padding). */
  dims: Vec3i;
  /** Voxel-index coordinates (fractional) of grid point (0, 0, 0): the centre of the padding block before the box. */
  originIndex: Vec3;
  /** Voxels of the label per block, 0 … stride³ (≤ 216). */
  counts: Uint8Array;
  /** The iso-value of the surface: half a block. */
  isoValue: number;
}

/** Slices handled between two yields. */
const SLAB = 8;

/** Bounding boxes of every non-zero label (one pass; yields between slabs). */
export function* labelBoxes(data: ArrayLike<number>, dims: Vec3i): Generator<void, Map<number, LabelBox>> {
  const [nx, ny, nz] = dims;
  const boxes = new Map<number, LabelBox>();
  for (let k = 0; k < nz; k++) {
    for (let j = 0; j < ny; j++) {
      const row = (k * ny + j) * nx;
      for (let i = 0; i < nx; i++) {
        const v = data[row + i]!;
        if (v === 0) continue;
        let b = boxes.get(v);
        if (!b) {
          b = { value: v, min: [i, j, k], max: [i, j, k], voxels: 0 };
          boxes.set(v, b);
        }
        b.voxels++;
        if (i < b.min[0]) b.min[0] = i;
        if (i > b.max[0]) b.max[0] = i;
        if (j < b.min[1]) b.min[1] = j;
        if (j > b.max[1]) b.max[1] = j;
        // k only grows, so the first voxel seen fixed min[2].
        if (k > b.max[2]) b.max[2] = k;
      }
    }
    if (k % SLAB === SLAB - 1) yield;
  }
  return boxes;
}

/**
 * The block edge for a box: the smallest s ≥ 1 with at most `maxPoints` blocks, capped at 6 (so a block's count,
 * at most s³ = 216, fits a byte).
 */
export function strideFor(box: Pick<LabelBox, 'min' | 'max'>, maxPoints: number): number {
  const n = (box.max[0] - box.min[0] + 1) * (box.max[1] - box.min[1] + 1) * (box.max[2] - box.min[2] + 1);
  return Math.min(6, Math.max(1, Math.ceil(Math.cbrt(n / maxPoints))));
}

/**
 * Occupancy grids of the given labels in one pass over the map (yields between slabs).
 * Grid point g along an axis stands for the block of voxels [min + (g − 1)·s, min + g·s − 1].
 */
export function* occupancyGrids(data: ArrayLike<number>, dims: Vec3i, boxes: Iterable<LabelBox>, maxPoints = 1_000_000): Generator<void, OccupancyGrid[]> {
  const [nx, ny, nz] = dims;
  const grids: OccupancyGrid[] = [];
  const byValue = new Map<number, { grid: OccupancyGrid; min: [number, number, number]; gx: number; gxy: number }>();
  for (const b of boxes) {
    const s = strideFor(b, maxPoints);
    const gd = [0, 1, 2].map((c) => Math.ceil((b.max[c]! - b.min[c]! + 1) / s) + 2) as unknown as Vec3i;
    const grid: OccupancyGrid = {
      value: b.value,
      stride: s,
      dims: gd,
      originIndex: [0, 1, 2].map((c) => b.min[c]! - s + (s - 1) / 2) as unknown as Vec3,
      counts: new Uint8Array(gd[0] * gd[1] * gd[2]),
      isoValue: (s * s * s) / 2,
    };
    grids.push(grid);
    byValue.set(b.value, { grid, min: b.min, gx: gd[0], gxy: gd[0] * gd[1] });
  }
  for (let k = 0; k < nz; k++) {
    for (let j = 0; j < ny; j++) {
      const row = (k * ny + j) * nx;
      for (let i = 0; i < nx; i++) {
        const v = data[row + i]!;
        if (v === 0) continue;
        const e = byValue.get(v);
        if (!e) continue;
        const s = e.grid.stride;
        const g = Math.floor((i - e.min[0]) / s) + 1 + (Math.floor((j - e.min[1]) / s) + 1) * e.gx + (Math.floor((k - e.min[2]) / s) + 1) * e.gxy;
        e.grid.counts[g]!++;
      }
    }
    if (k % SLAB === SLAB - 1) yield;
  }
  return grids;
}

/** Runs a generator to completion at once (when the caller must wait for the result anyway). */
export function runNow<T>(gen: Generator<void, T>): T {
  for (;;) {
    const r = gen.next();
    if (r.done) return r.value;
  }
}

/** Runs a generator to completion, yielding to the browser (a macrotask) between steps. */
export async function runYielding<T>(gen: Generator<void, T>, pause: () => Promise<void>): Promise<T> {
  for (;;) {
    const r = gen.next();
    if (r.done) return r.value;
    await pause();
  }
}

/**
 * A 3×3×3 binomial blur ([1, 2, 1]/4 along each axis) of an occupancy grid, as float32. Marching cubes on the blurred
 * grid at the same iso-value gives a smoother surface (no voxel staircase) that stays where the boundary was: the
 * blur is symmetric, so a flat boundary does not move. Values beyond the grid count as 0 (the padding is empty).
 */
export function smoothGrid(counts: ArrayLike<number>, dims: Vec3i): Float32Array {
  const [nx, ny, nz] = dims;
  let src = Float32Array.from(counts);
  let dst = new Float32Array(src.length);
  const strides = [1, nx, nx * ny];
  for (const axis of [0, 1, 2] as const) {
    const n = dims[axis];
    const s = strides[axis]!;
    for (let k = 0; k < nz; k++) {
      for (let j = 0; j < ny; j++) {
        for (let i = 0; i < nx; i++) {
          const idx = i + j * nx + k * nx * ny;
          const pos = axis === 0 ? i : axis === 1 ? j : k;
          const before = pos > 0 ? src[idx - s]! : 0;
          const after = pos < n - 1 ? src[idx + s]! : 0;
          dst[idx] = (before + 2 * src[idx]! + after) / 4;
        }
      }
    }
    [src, dst] = [dst, src];
  }
  return src;
}
