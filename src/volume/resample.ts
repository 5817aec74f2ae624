/**
 * Pulls scalar voxels of one grid onto another through an IndexMap: exact copies for signed permutations,
 * trilinear or nearest-neighbour interpolation otherwise.
 */
import type { IndexMap } from './index-map.js';
import type { Vec3i, VoxelArray } from './types.js';

export type Interpolation = 'linear' | 'nearest';

export interface ResampleOptions {
  interpolation: Interpolation;
  /** Value for output voxels whose centre lies more than half a voxel outside the input; 'border' repeats the edge. */
  fill: number | 'border';
}

/**
 * Resamples `src` (dims `srcDims`) onto an output grid of `outDims`, where map gives src index = M · out + b.
 * Within half a voxel of the edge the edge value is used (the voxel's own extent), beyond that `fill`.
 */
export function resampleScalar(
  src: ArrayLike<number>,
  srcDims: Vec3i,
  outDims: Vec3i,
  map: IndexMap,
  options: ResampleOptions,
  out: Float32Array = new Float32Array(outDims[0] * outDims[1] * outDims[2]),
): Float32Array {
  if (map.permutation) return permuteInto(src, srcDims, outDims, map.permutation, out);
  const [nx, ny, nz] = srcDims;
  const [ox, oy, oz] = outDims;
  const m = map.m;
  const [m0, m1, m2, m3, m4, m5, m6, m7, m8] = m as [number, number, number, number, number, number, number, number, number];
  const border = options.fill === 'border';
  const fill = border ? 0 : (options.fill as number);
  const nearest = options.interpolation === 'nearest';
  const sxy = nx * ny;
  let o = 0;
  for (let k = 0; k < oz; k++) {
    for (let j = 0; j < oy; j++) {
      let x = map.b[0] + m1 * j + m2 * k;
      let y = map.b[1] + m4 * j + m5 * k;
      let z = map.b[2] + m7 * j + m8 * k;
      for (let i = 0; i < ox; i++, o++, x += m0, y += m3, z += m6) {
        if (!border && (x < -0.5 || y < -0.5 || z < -0.5 || x > nx - 0.5 || y > ny - 0.5 || z > nz - 0.5)) {
          out[o] = fill;
          continue;
        }
        const cx = x < 0 ? 0 : x > nx - 1 ? nx - 1 : x;
        const cy = y < 0 ? 0 : y > ny - 1 ? ny - 1 : y;
        const cz = z < 0 ? 0 : z > nz - 1 ? nz - 1 : z;
        if (nearest) {
          out[o] = src[Math.round(cx) + Math.round(cy) * nx + Math.round(cz) * sxy]!;
          continue;
        }
        const x0 = Math.min(Math.floor(cx), nx - 2 < 0 ? 0 : nx - 2);
        const y0 = Math.min(Math.floor(cy), ny - 2 < 0 ? 0 : ny - 2);
        const z0 = Math.min(Math.floor(cz), nz - 2 < 0 ? 0 : nz - 2);
        const fx = cx - x0;
        const fy = cy - y0;
        const fz = cz - z0;
        const dx = nx > 1 ? 1 : 0;
        const dy = ny > 1 ? nx : 0;
        const dz = nz > 1 ? sxy : 0;
        const p = x0 + y0 * nx + z0 * sxy;
        const c00 = src[p]! + fx * (src[p + dx]! - src[p]!);
        const c10 = src[p + dy]! + fx * (src[p + dy + dx]! - src[p + dy]!);
        const c01 = src[p + dz]! + fx * (src[p + dz + dx]! - src[p + dz]!);
        const c11 = src[p + dz + dy]! + fx * (src[p + dz + dy + dx]! - src[p + dz + dy]!);
        const c0 = c00 + fy * (c10 - c00);
        const c1 = c01 + fy * (c11 - c01);
        out[o] = c0 + fz * (c1 - c0);
      }
    }
  }
  return out;
}

/** Exact copy through a signed axis permutation (from[r] = offset[r] + sign[r] · to[axis[r]]). */
export function permuteInto<T extends { [n: number]: number; length: number }>(
  src: ArrayLike<number>,
  srcDims: Vec3i,
  outDims: Vec3i,
  perm: NonNullable<IndexMap['permutation']>,
  out: T,
): T {
  const [nx, ny] = srcDims;
  const strideOf = [1, nx, nx * ny];
  // Stride in src for a unit step along each output axis, and the src index of output voxel 0.
  const step = [0, 0, 0];
  let base = 0;
  for (let r = 0; r < 3; r++) {
    step[perm.axis[r]!] = perm.sign[r]! * strideOf[r]!;
    base += perm.offset[r]! * strideOf[r]!;
  }
  const [sx, sy, sz] = step as [number, number, number];
  const [ox, oy, oz] = outDims;
  let o = 0;
  for (let k = 0; k < oz; k++) {
    for (let j = 0; j < oy; j++) {
      let p = base + j * sy + k * sz;
      for (let i = 0; i < ox; i++, o++, p += sx) out[o] = src[p]!;
    }
  }
  return out;
}

/** Rounds and clamps to 0..255 in place (conform's uint8 output). */
export function quantizeUint8(data: Float32Array): void {
  for (let n = 0; n < data.length; n++) {
    const v = Math.round(data[n]!);
    data[n] = v < 0 ? 0 : v > 255 ? 255 : v;
  }
}

/** A Float32Array view or copy of any voxel array. */
export function toFloat32(data: VoxelArray): Float32Array {
  return data instanceof Float32Array ? data : Float32Array.from(data);
}
