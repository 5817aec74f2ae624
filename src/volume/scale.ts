/** Linear rescaling of stored voxel values (NIfTI scl_slope/scl_inter, DICOM RescaleSlope/Intercept). */
import type { VoxelArray, VoxelType } from './types.js';
import { allocateVoxels, smallestExactType } from './voxel-types.js';

/**
 * The voxel type that holds `raw · slope + inter` exactly (or as closely as float64 allows).
 * Integer slope and intercept keep integer data integer (e.g. CT stored as uint16 with intercept −1024 → int16);
 * otherwise small integers become float32 (exact to 24 bits) and anything wider float64.
 */
export function scaledVoxelType(rawType: VoxelType, rawMin: number, rawMax: number, slope: number, inter: number): VoxelType {
  if (slope === 1 && inter === 0) return rawType;
  const a = rawMin * slope + inter;
  const b = rawMax * slope + inter;
  const isIntRaw = rawType !== 'float32' && rawType !== 'float64';
  if (isIntRaw && Number.isInteger(slope) && Number.isInteger(inter)) {
    return smallestExactType(Math.min(a, b), Math.max(a, b), true);
  }
  const narrow = rawType === 'uint8' || rawType === 'int8' || rawType === 'uint16' || rawType === 'int16' || rawType === 'float32';
  return narrow ? 'float32' : 'float64';
}

/** Returns `raw · slope + inter` in `outType` (a new array; `raw` is untouched). Arithmetic is float64. */
export function applyRescale(raw: VoxelArray, slope: number, inter: number, outType: VoxelType): VoxelArray {
  const out = allocateVoxels(outType, raw.length);
  for (let n = 0; n < raw.length; n++) out[n] = raw[n]! * slope + inter;
  return out;
}

/** Min and max of an array in one pass. */
export function minMax(data: ArrayLike<number>): [number, number] {
  let lo = Infinity;
  let hi = -Infinity;
  for (let n = 0; n < data.length; n++) {
    const v = data[n]!;
    if (v < lo) lo = v;
    if (v > hi) hi = v;
  }
  return [lo, hi];
}
