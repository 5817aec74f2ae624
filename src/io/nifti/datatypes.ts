/** NIfTI datatype codes (nifti1.h) and their voxel types. */
import type { VoxelType } from '../../volume/types.js';

export const NIFTI_TYPE_BY_CODE: Readonly<Record<number, VoxelType>> = {
  2: 'uint8',
  4: 'int16',
  8: 'int32',
  16: 'float32',
  64: 'float64',
  256: 'int8',
  512: 'uint16',
  768: 'uint32',
};

export const NIFTI_CODE_BY_TYPE: Readonly<Record<VoxelType, number>> = {
  uint8: 2,
  int16: 4,
  int32: 8,
  float32: 16,
  float64: 64,
  int8: 256,
  uint16: 512,
  uint32: 768,
};

/** Names of the datatypes medseg refuses, for error messages. */
export const UNSUPPORTED_NIFTI_TYPES: Readonly<Record<number, string>> = {
  0: 'unknown (0)',
  1: 'binary (1 bit)',
  32: 'complex64',
  128: 'RGB24',
  1024: 'int64',
  1280: 'uint64',
  1536: 'float128',
  1792: 'complex128',
  2048: 'complex256',
  2304: 'RGBA32',
};

export const BYTES_PER_VOXEL: Readonly<Record<VoxelType, number>> = {
  uint8: 1,
  int8: 1,
  uint16: 2,
  int16: 2,
  uint32: 4,
  int32: 4,
  float32: 4,
  float64: 8,
};
