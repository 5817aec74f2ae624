/**
 * NIfTI-1/2 and Analyze 7.5 header parsing (fields via nifti-reader-js) and the voxel→world affine chosen as nibabel
 * chooses it: sform when sform_code > 0, else qform when qform_code > 0, else the "base" affine from pixdim.
 * Affines here are NIfTI world space (RAS+, mm), row-major 4×4.
 */
import * as nifti from 'nifti-reader-js';
import { InputFileError, MAX_VOXELS } from '../../errors.js';
import type { VoxelType } from '../../volume/types.js';
import { NIFTI_TYPE_BY_CODE, UNSUPPORTED_NIFTI_TYPES } from './datatypes.js';

/** Bytes to read before the header can be parsed: a NIfTI-2 header is 540 bytes plus 4 extension bytes. */
export const HEADER_BYTES_NEEDED = 544;

export type GeometrySource = 'sform' | 'qform' | 'pixdim' | 'analyze';

export interface NiftiHeaderInfo {
  format: 'nifti1' | 'nifti2' | 'analyze';
  /** True for a .hdr/.img pair (NIfTI "ni1"/"ni2" magic, or Analyze 7.5). */
  pair: boolean;
  littleEndian: boolean;
  /** dim[1..dim[0]], at least 3 entries (missing spatial dims are 1). */
  shape: number[];
  datatypeCode: number;
  voxelType: VoxelType;
  voxOffset: number;
  sclSlope: number;
  sclInter: number;
  sformCode: number;
  qformCode: number;
  pixdim: number[];
  description: string;
  /** The affine nibabel's img.affine gives (RAS, row-major 4×4), and which header fields it came from. */
  affine: number[];
  geometrySource: GeometrySource;
  sform: number[];
  qform: number[];
}

/** Reads sform rows straight from the raw header: nifti-reader-js overwrites its `affine` with the qform when
 * qform_code > sform_code, so the stored srow_* values are only reachable from the bytes. */
function rawSform(view: DataView, version: 1 | 2, littleEndian: boolean): number[] {
  const out: number[] = [];
  for (let n = 0; n < 12; n++) {
    out.push(version === 1 ? view.getFloat32(280 + 4 * n, littleEndian) : view.getFloat64(400 + 8 * n, littleEndian));
  }
  return [...out, 0, 0, 0, 1];
}

/**
 * nibabel's base affine (`shape_zoom_affine(shape, zooms, x_flip=True)`): radiological x flip, origin at the volume
 * centre. Used for NIfTI files without sform/qform and for Analyze files.
 */
export function baseAffine(shape: readonly number[], zooms: readonly number[], originVoxel?: readonly number[]): number[] {
  const z = [-(zooms[0] ?? 1), zooms[1] ?? 1, zooms[2] ?? 1];
  const o = originVoxel ?? [0, 1, 2].map((c) => ((shape[c] ?? 1) - 1) / 2);
  return [z[0]!, 0, 0, -o[0]! * z[0]!, 0, z[1]!, 0, -o[1]! * z[1]!, 0, 0, z[2]!, -o[2]! * z[2]!, 0, 0, 0, 1];
}

function readAnalyzeOrigin(view: DataView, littleEndian: boolean, shape: readonly number[]): number[] | undefined {
  // SPM stores the origin (1-based voxel index) as three int16 in Analyze's `originator` field (bytes 253..258);
  // nibabel's Spm99AnalyzeHeader uses it when it is set and otherwise falls back to the volume centre.
  const o = [0, 1, 2].map((c) => view.getInt16(253 + 2 * c, littleEndian));
  if (o.every((v) => v === 0)) return undefined;
  return o.map((v, c) => (v > 0 && v <= (shape[c] ?? 1) ? v - 1 : ((shape[c] ?? 1) - 1) / 2));
}

function magicOf(view: DataView, offset: number, length: number): string {
  let s = '';
  for (let n = 0; n < length && offset + n < view.byteLength; n++) {
    const c = view.getUint8(offset + n);
    if (c === 0) break;
    s += String.fromCharCode(c);
  }
  return s;
}

/**
 * Parses a NIfTI-1, NIfTI-2 or Analyze 7.5 header from the first bytes of a (decompressed) file.
 * @throws InputFileError NOT_NIFTI, INVALID_HEADER, UNSUPPORTED_DATATYPE or TOO_LARGE, naming `file`.
 */
export function parseNiftiHeader(bytes: Uint8Array, file: string): NiftiHeaderInfo {
  if (bytes.byteLength < 348) {
    throw new InputFileError('TRUNCATED_FILE', file, `only ${bytes.byteLength} bytes: a NIfTI/Analyze header needs at least 348`);
  }
  const ab = bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + Math.min(bytes.byteLength, HEADER_BYTES_NEEDED)) as ArrayBuffer;
  const view = new DataView(ab);
  const sizeLE = view.getInt32(0, true);
  const sizeBE = view.getInt32(0, false);
  let version: 1 | 2;
  let littleEndian: boolean;
  if (sizeLE === 348 || sizeBE === 348) {
    version = 1;
    littleEndian = sizeLE === 348;
  } else if (sizeLE === 540 || sizeBE === 540) {
    version = 2;
    littleEndian = sizeLE === 540;
  } else {
    throw new InputFileError('NOT_NIFTI', file, `not a NIfTI or Analyze file (sizeof_hdr is ${sizeLE}, expected 348 or 540)`);
  }
  if (version === 2 && bytes.byteLength < 540) {
    throw new InputFileError('TRUNCATED_FILE', file, `only ${bytes.byteLength} bytes: a NIfTI-2 header needs 540`);
  }
  const magic = version === 1 ? magicOf(view, 344, 4) : magicOf(view, 4, 4);
  let format: NiftiHeaderInfo['format'];
  let pair: boolean;
  if (magic === 'n+1' || magic === 'n+2') {
    format = version === 1 ? 'nifti1' : 'nifti2';
    pair = false;
  } else if (magic === 'ni1' || magic === 'ni2') {
    format = version === 1 ? 'nifti1' : 'nifti2';
    pair = true;
  } else if (version === 1) {
    format = 'analyze';
    pair = true;
  } else {
    throw new InputFileError('NOT_NIFTI', file, `NIfTI-2 sized header with unknown magic "${magic}"`);
  }

  let h: nifti.NIFTI1 | nifti.NIFTI2;
  try {
    h = version === 1 ? new nifti.NIFTI1() : new nifti.NIFTI2();
    // Hand nifti-reader-js a copy with the extension flag cleared: medseg does not use extensions, and the library
    // would otherwise read past the header bytes we give it.
    const copy = new Uint8Array(HEADER_BYTES_NEEDED + 8);
    copy.set(new Uint8Array(ab));
    copy.fill(0, version === 1 ? 348 : 540, (version === 1 ? 348 : 540) + 4);
    h.readHeader(copy.buffer);
  } catch (cause) {
    throw new InputFileError('INVALID_HEADER', file, `unreadable header (${(cause as Error).message})`, { cause });
  }

  const ndim = h.dims[0] ?? 0;
  if (!(ndim >= 1 && ndim <= 7)) {
    throw new InputFileError('INVALID_HEADER', file, `dim[0] is ${ndim}; it must be 1 to 7`);
  }
  const shape: number[] = [];
  for (let d = 1; d <= Math.max(ndim, 3); d++) shape.push(d <= ndim ? (h.dims[d] ?? 0) : 1);
  if (shape.some((d) => !Number.isInteger(d) || d < 1)) {
    throw new InputFileError('INVALID_HEADER', file, `dimensions [${shape.join(', ')}] must all be positive integers`);
  }
  const spatialVoxels = shape[0]! * shape[1]! * shape[2]!;
  if (spatialVoxels > MAX_VOXELS) {
    throw new InputFileError('TOO_LARGE', file, `header claims ${shape.slice(0, 3).join('×')} = ${spatialVoxels.toExponential(3)} voxels per volume; at most ${MAX_VOXELS} are supported`);
  }
  const voxelType = NIFTI_TYPE_BY_CODE[h.datatypeCode];
  if (!voxelType) {
    const name = UNSUPPORTED_NIFTI_TYPES[h.datatypeCode] ?? `code ${h.datatypeCode}`;
    throw new InputFileError('UNSUPPORTED_DATATYPE', file, `datatype ${name} is not supported; medseg reads uint8, int8, int16, uint16, int32, uint32, float32 and float64 scalar images (convert with e.g. fslmaths -odt float)`);
  }
  const pixdim = [...h.pixDims];
  const zooms = [1, 2, 3].map((c) => pixdim[c] ?? 1);
  const voxOffset = format === 'analyze' || pair ? 0 : h.vox_offset;
  if (!pair && !(voxOffset >= (version === 1 ? 348 : 540))) {
    throw new InputFileError('INVALID_HEADER', file, `vox_offset ${voxOffset} points inside the header`);
  }

  const sform = rawSform(view, version, littleEndian);
  const qform = format === 'analyze' ? baseAffine(shape, zooms) : qformAffine(h);
  let affine: number[];
  let geometrySource: GeometrySource;
  const sformCode = format === 'analyze' ? 0 : h.sform_code;
  const qformCode = format === 'analyze' ? 0 : h.qform_code;
  if (format === 'analyze') {
    affine = baseAffine(shape, zooms.map(Math.abs), readAnalyzeOrigin(view, littleEndian, shape));
    geometrySource = 'analyze';
  } else if (sformCode > 0) {
    affine = sform;
    geometrySource = 'sform';
  } else if (qformCode > 0) {
    affine = qformAffine(h);
    geometrySource = 'qform';
  } else {
    affine = baseAffine(shape, zooms);
    geometrySource = 'pixdim';
  }
  const slope = Number.isFinite(h.scl_slope) ? h.scl_slope : 0;
  const inter = Number.isFinite(h.scl_inter) ? h.scl_inter : 0;
  return {
    format,
    pair,
    littleEndian,
    shape,
    datatypeCode: h.datatypeCode,
    voxelType,
    voxOffset,
    sclSlope: slope,
    sclInter: inter,
    sformCode,
    qformCode,
    pixdim,
    description: h.description ?? '',
    affine,
    geometrySource,
    sform,
    qform,
  };
}

/** The qform affine as nibabel computes it: qfac is pixdim[0] when it is −1, else 1 (nibabel resets other values). */
function qformAffine(h: nifti.NIFTI1 | nifti.NIFTI2): number[] {
  const qfac = h.pixDims[0] === -1 ? -1 : 1;
  const m = h.convertNiftiQFormToNiftiSForm(
    h.quatern_b, h.quatern_c, h.quatern_d, h.qoffset_x, h.qoffset_y, h.qoffset_z,
    h.pixDims[1] ?? 1, h.pixDims[2] ?? 1, h.pixDims[3] ?? 1, qfac,
  );
  return m.flat();
}
