/**
 * Affine maps between the voxel indices of two grids (from = M · to + b), detecting exact signed permutations so that
 * data can move between grids without interpolation. Used by inference (scan ↔ model grid) and measurement
 * (prediction → reference grid).
 */
import { indexToLps, lpsToIndex } from './geometry.js';
import type { Geometry, Vec3, Vec3i } from './types.js';

export interface GridGeometry extends Geometry {
  readonly dims: Vec3i;
}

/**
 * Affine map from `to` voxel indices to `from` voxel indices: from = M · to + b (M row-major 3×3).
 * Used to pull voxels of `from` onto the grid `to`.
 */
export interface IndexMap {
  readonly m: readonly number[];
  readonly b: Vec3;
  /** When every output voxel centre lands exactly on an input voxel centre: the permutation, signs and offsets. */
  readonly permutation?: { readonly axis: Vec3i; readonly sign: Vec3i; readonly offset: Vec3i };
}

export function indexMap(to: GridGeometry, from: GridGeometry): IndexMap {
  const b = lpsToIndex(from, indexToLps(to, [0, 0, 0]));
  const cols = [0, 1, 2].map((a) => {
    const unit: [number, number, number] = [0, 0, 0];
    unit[a] = 1;
    const p = lpsToIndex(from, indexToLps(to, unit));
    return [p[0] - b[0], p[1] - b[1], p[2] - b[2]];
  });
  const m = [0, 1, 2].flatMap((r) => [cols[0]![r]!, cols[1]![r]!, cols[2]![r]!]);
  const permutation = asSignedPermutation(m, b, to.dims, from.dims);
  return permutation ? { m, b, permutation } : { m, b };
}

const EXACT = 1e-5;

function asSignedPermutation(m: readonly number[], b: Vec3, toDims: Vec3i, fromDims: Vec3i): IndexMap['permutation'] {
  const axisOf: number[] = [];
  const sign: number[] = [];
  for (let r = 0; r < 3; r++) {
    const row = [m[3 * r]!, m[3 * r + 1]!, m[3 * r + 2]!];
    const nz = row.map((v, c) => ({ v, c })).filter((e) => Math.abs(e.v) > EXACT);
    if (nz.length !== 1 || Math.abs(Math.abs(nz[0]!.v) - 1) > EXACT) return undefined;
    axisOf.push(nz[0]!.c);
    sign.push(Math.sign(nz[0]!.v));
  }
  if (new Set(axisOf).size !== 3) return undefined;
  const offset = b.map((v) => Math.round(v));
  if (b.some((v, r) => Math.abs(v - offset[r]!) > 1e-3)) return undefined;
  // Require the two grids to cover each other exactly (same extent), the common case of pure reorientation.
  for (let r = 0; r < 3; r++) {
    const n = toDims[axisOf[r]!]!;
    if (n !== fromDims[r]) return undefined;
    const last = offset[r]! + sign[r]! * (n - 1);
    if (Math.min(offset[r]!, last) !== 0 || Math.max(offset[r]!, last) !== fromDims[r]! - 1) return undefined;
  }
  // Here row r (a `from` axis) takes `to` axis axisOf[r]. Store per `from` axis.
  return { axis: axisOf as unknown as Vec3i, sign: sign as unknown as Vec3i, offset: offset as unknown as Vec3i };
}
