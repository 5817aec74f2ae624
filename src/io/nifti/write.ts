/**
 * NIfTI-1 writing (.nii, .nii.gz) of images and label maps. The geometry goes into both sform and qform (qform only
 * when the direction is orthonormal), from the LPS geometry flipped to NIfTI's RAS. Header layout and encoding come
 * from nifti-reader-js's NIFTI1.toArrayBuffer.
 */
import { constants as zc, createGzip } from 'node:zlib';
import * as nifti from 'nifti-reader-js';
import { affineToQuaternion, geometryToNiftiAffine } from '../../volume/geometry.js';
import type { Volume } from '../../volume/types.js';
import { voxelTypeOf } from '../../volume/voxel-types.js';
import { writeFileAtomic } from '../atomic-write.js';
import { BYTES_PER_VOXEL, NIFTI_CODE_BY_TYPE } from './datatypes.js';

export interface WriteNiftiOptions {
  /** NIfTI xform code for sform and qform: 1 scanner anatomical (default), 2 aligned, 3 Talairach, 4 MNI. */
  xformCode?: number;
  /** Up to 79 ASCII characters stored in `descrip`. */
  description?: string;
  /** Intent code, e.g. 1002 (NIFTI_INTENT_LABEL) for label maps. */
  intentCode?: number;
  /** gzip level for .nii.gz (default 6). */
  gzipLevel?: number;
  /** Values stored in scl_slope/scl_inter (default: unscaled). */
  sclSlope?: number;
  sclInter?: number;
}

/** Builds the 352-byte NIfTI-1 header (348 + 4 extension bytes) for a volume. */
export function niftiHeaderBytes(volume: Volume, options: WriteNiftiOptions = {}): Uint8Array {
  const type = voxelTypeOf(volume.data);
  const affine = geometryToNiftiAffine(volume);
  const q = affineToQuaternion(affine);
  const code = options.xformCode ?? 1;
  const h = new nifti.NIFTI1();
  h.littleEndian = true;
  h.dim_info = 0;
  h.dims = [3, volume.dims[0], volume.dims[1], volume.dims[2], 1, 1, 1, 1];
  h.intent_code = options.intentCode ?? 0;
  h.datatypeCode = NIFTI_CODE_BY_TYPE[type];
  h.numBitsPerVoxel = BYTES_PER_VOXEL[type] * 8;
  h.pixDims = [q?.qfac ?? 1, volume.spacing[0], volume.spacing[1], volume.spacing[2], 0, 0, 0, 0];
  h.vox_offset = 352;
  h.scl_slope = options.sclSlope ?? 1;
  h.scl_inter = options.sclInter ?? 0;
  h.xyzt_units = 2; // NIFTI_UNITS_MM
  h.description = (options.description ?? 'medseg').replace(/[^\x20-\x7e]/g, '?').slice(0, 79);
  h.aux_file = '';
  h.intent_name = '';
  h.qform_code = q ? code : 0;
  h.sform_code = code;
  h.quatern_b = q?.b ?? 0;
  h.quatern_c = q?.c ?? 0;
  h.quatern_d = q?.d ?? 0;
  h.qoffset_x = affine[3]!;
  h.qoffset_y = affine[7]!;
  h.qoffset_z = affine[11]!;
  h.affine = [affine.slice(0, 4), affine.slice(4, 8), affine.slice(8, 12), [0, 0, 0, 1]];
  h.magic = 'n+1';
  return new Uint8Array(h.toArrayBuffer(false));
}

/**
 * Writes a volume as NIfTI-1 (`.nii` or `.nii.gz` by extension), atomically. Voxels are written as stored, little
 * endian, in the volume's own type.
 * @throws SegError WRITE_FAILED naming the file.
 */
export async function writeNifti(file: string, volume: Volume, options: WriteNiftiOptions = {}): Promise<void> {
  const header = niftiHeaderBytes(volume, options);
  const data = new Uint8Array(volume.data.buffer, volume.data.byteOffset, volume.data.byteLength);
  const gz = /\.gz$/i.test(file);
  await writeFileAtomic(file, [header, data], gz ? createGzip({ level: options.gzipLevel ?? 6, strategy: zc.Z_DEFAULT_STRATEGY, chunkSize: 1 << 20 }) : undefined);
}
