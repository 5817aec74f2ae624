/** Voxel array helpers: the closed set of voxel types and their constructors. */
import type { VoxelArray, VoxelType } from './types.js';

export const VOXEL_CONSTRUCTORS = {
  uint8: Uint8Array,
  int8: Int8Array,
  uint16: Uint16Array,
  int16: Int16Array,
  uint32: Uint32Array,
  int32: Int32Array,
  float32: Float32Array,
  float64: Float64Array,
} as const;

export function voxelTypeOf(data: VoxelArray): VoxelType {
  if (data instanceof Uint8Array) return 'uint8';
  if (data instanceof Int8Array) return 'int8';
  if (data instanceof Uint16Array) return 'uint16';
  if (data instanceof Int16Array) return 'int16';
  if (data instanceof Uint32Array) return 'uint32';
  if (data instanceof Int32Array) return 'int32';
  if (data instanceof Float32Array) return 'float32';
  return 'float64';
}

export function allocateVoxels(type: VoxelType, length: number): VoxelArray {
  return new VOXEL_CONSTRUCTORS[type](length);
}

/** Value range of each integer voxel type; floats hold every value we produce. */
const INT_RANGES: Partial<Record<VoxelType, readonly [number, number]>> = {
  uint8: [0, 255],
  int8: [-128, 127],
  uint16: [0, 65535],
  int16: [-32768, 32767],
  uint32: [0, 4294967295],
  int32: [-2147483648, 2147483647],
};

/**
 * The smallest voxel type that holds every value in [min, max] exactly; `integral` says whether all values are
 * whole numbers. Non-integral data is float32 when float32 represents every value exactly, else float64.
 */
export function smallestExactType(min: number, max: number, integral: boolean, float32Exact = false): VoxelType {
  if (integral) {
    for (const t of ['uint8', 'int8', 'uint16', 'int16', 'uint32', 'int32'] as const) {
      const r = INT_RANGES[t]!;
      if (min >= r[0] && max <= r[1]) return t;
    }
    return Math.max(Math.abs(min), Math.abs(max)) <= 2 ** 24 ? 'float32' : 'float64';
  }
  return float32Exact ? 'float32' : 'float64';
}

/** Min, max and whether every value is a whole number, in one pass. */
export function valueRange(data: ArrayLike<number>): { min: number; max: number; integral: boolean } {
  let min = Infinity;
  let max = -Infinity;
  let integral = true;
  for (let n = 0; n < data.length; n++) {
    const v = data[n]!;
    if (v < min) min = v;
    if (v > max) max = v;
    if (integral && !Number.isInteger(v)) integral = false;
  }
  return { min, max, integral };
}
