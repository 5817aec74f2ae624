/**
 * NIfTI-1/2 (.nii, .nii.gz, .hdr/.img pairs) and Analyze 7.5 reading into a Volume (LPS, mm).
 *
 * Speed and memory: the voxels are read (or inflated) straight into the final typed array, so a .nii.gz costs one
 * streaming gunzip plus one memcpy per 1 MiB chunk, and peak memory is the volume plus one chunk. Only the voxels
 * of the requested volume of a 4D file are kept, and inflation stops once they are complete.
 */
import { createReadStream, promises as fsp } from 'node:fs';
import { createGunzip } from 'node:zlib';
import { InputFileError, SegError } from '../../errors.js';
import { niftiAffineToGeometry } from '../../volume/geometry.js';
import { applyRescale, minMax, scaledVoxelType } from '../../volume/scale.js';
import type { Volume, VoxelArray } from '../../volume/types.js';
import { makeVolume } from '../../volume/volume.js';
import { allocateVoxels } from '../../volume/voxel-types.js';
import { requireNonEmptyFile } from '../file-errors.js';
import { BYTES_PER_VOXEL } from './datatypes.js';
import { HEADER_BYTES_NEEDED, parseNiftiHeader, type NiftiHeaderInfo } from './header.js';

const CHUNK_BYTES = 1 << 20;
/** deflate cannot expand by more than about 1032:1; a header claiming more data than that is lying. */
const MAX_DEFLATE_RATIO = 1032;

export interface ReadNiftiOptions {
  /** Which volume of a 4D (or higher) file to read; 0-based. Required to be in range. */
  volumeIndex?: number;
  /** Apply scl_slope/scl_inter (default true). When false, `volume.data` holds the stored values. */
  applyScaling?: boolean;
}

export interface NiftiImage {
  volume: Volume;
  header: NiftiHeaderInfo;
  /** Number of 3D volumes in the file (product of dims 4..7). */
  volumeCount: number;
  volumeIndex: number;
  /** Things a careful user should know (e.g. "no sform/qform: geometry from pixdim"). */
  warnings: string[];
}

function isGzip(head: Uint8Array): boolean {
  return head.length >= 2 && head[0] === 0x1f && head[1] === 0x8b;
}

/** The files holding header and voxels: the same for .nii, a .hdr/.img pair otherwise. */
async function locatePair(file: string): Promise<{ headerFile: string; imageFile: string }> {
  const m = /^(.*)\.(hdr|img)(\.gz)?$/i.exec(file);
  if (!m) return { headerFile: file, imageFile: file };
  const base = m[1]!;
  const gz = m[3] ?? '';
  const upper = m[2] === m[2]!.toUpperCase();
  const ext = (e: string) => (upper ? e.toUpperCase() : e);
  const headerFile = `${base}.${ext('hdr')}${gz}`;
  const candidates = [`${base}.${ext('img')}${gz}`, `${base}.${ext('img')}`, `${base}.${ext('img')}.gz`];
  for (const c of candidates) {
    try {
      await fsp.access(c);
      return { headerFile, imageFile: c };
    } catch {
      // try the next spelling
    }
  }
  throw new InputFileError('FILE_NOT_FOUND', file, `is half of a .hdr/.img pair but ${candidates[0]} does not exist`);
}

async function readHeadBytes(file: string, n: number): Promise<Uint8Array> {
  const fh = await fsp.open(file, 'r');
  try {
    const buf = Buffer.alloc(n);
    const { bytesRead } = await fh.read(buf, 0, n, 0);
    return buf.subarray(0, bytesRead);
  } finally {
    await fh.close();
  }
}

/**
 * Streams the (inflated) bytes of `file`, calling `onChunk` with each piece and its offset; `onChunk` returns
 * false to stop early. Maps zlib failures to InputFileError.
 */
async function streamBytes(file: string, gz: boolean, onChunk: (chunk: Buffer, offset: number) => boolean): Promise<number> {
  const source = createReadStream(file, { highWaterMark: CHUNK_BYTES });
  const stream = gz ? source.pipe(createGunzip({ chunkSize: CHUNK_BYTES })) : source;
  if (gz) source.on('error', (e) => stream.destroy(e));
  let offset = 0;
  try {
    for await (const chunk of stream as AsyncIterable<Buffer>) {
      const go = onChunk(chunk, offset);
      offset += chunk.length;
      if (!go) break;
    }
  } catch (cause) {
    if (cause instanceof SegError) throw cause;
    const msg = (cause as Error).message;
    const code = /unexpected end/i.test(msg) ? 'TRUNCATED_FILE' : 'INVALID_HEADER';
    throw new InputFileError(code, file, `${gz ? 'gzip stream is corrupt or truncated' : 'read failed'} after ${offset} bytes (${msg})`, { cause });
  } finally {
    source.destroy();
    if (stream !== source) stream.destroy();
  }
  return offset;
}

/**
 * Reads a NIfTI-1/2 or Analyze 7.5 image as a Volume in LPS.
 * @throws InputFileError (FILE_NOT_FOUND, EMPTY_FILE, NOT_NIFTI, TRUNCATED_FILE, INVALID_HEADER,
 *   UNSUPPORTED_DATATYPE, TOO_LARGE, VOLUME_INDEX), always naming the file.
 */
export async function readNifti(file: string, options: ReadNiftiOptions = {}): Promise<NiftiImage> {
  const { headerFile, imageFile } = await locatePair(file);
  const headerStat = await requireNonEmptyFile(headerFile);
  const imageStat = imageFile === headerFile ? headerStat : await requireNonEmptyFile(imageFile);

  const first = await readHeadBytes(headerFile, 2);
  const headerGz = isGzip(first);
  let headBytes: Uint8Array;
  if (headerGz) {
    const parts: Buffer[] = [];
    let have = 0;
    await streamBytes(headerFile, true, (chunk) => {
      parts.push(chunk);
      have += chunk.length;
      return have < HEADER_BYTES_NEEDED;
    });
    headBytes = Buffer.concat(parts).subarray(0, HEADER_BYTES_NEEDED);
  } else {
    headBytes = await readHeadBytes(headerFile, HEADER_BYTES_NEEDED);
  }
  const header = parseNiftiHeader(headBytes, headerFile);

  const [nx, ny, nz] = header.shape as [number, number, number];
  const volumeCount = header.shape.slice(3).reduce((a, b) => a * b, 1);
  const volumeIndex = options.volumeIndex ?? 0;
  if (!Number.isInteger(volumeIndex) || volumeIndex < 0 || volumeIndex >= volumeCount) {
    throw new InputFileError(
      'VOLUME_INDEX',
      file,
      volumeCount > 1
        ? `has ${volumeCount} volumes (shape ${header.shape.join('×')}); volume index ${volumeIndex} is out of range 0..${volumeCount - 1}`
        : `is a single 3D volume; volume index ${volumeIndex} does not exist`,
    );
  }
  const voxels = nx * ny * nz;
  const bpv = BYTES_PER_VOXEL[header.voxelType];
  const volumeBytes = voxels * bpv;
  const start = header.voxOffset + volumeIndex * volumeBytes;
  const end = start + volumeBytes;

  const imageGz = imageFile === headerFile ? headerGz : isGzip(await readHeadBytes(imageFile, 2));
  const available = imageGz ? imageStat.size * MAX_DEFLATE_RATIO : imageStat.size;
  if (end > available) {
    throw new InputFileError(
      'TRUNCATED_FILE',
      imageFile,
      `header declares ${header.shape.join('×')} ${header.voxelType} voxels (${end} bytes needed up to volume ${volumeIndex}) but the file ${imageGz ? 'cannot inflate to' : 'has only'} ${imageGz ? 'that many bytes' : `${imageStat.size} bytes`}`,
    );
  }

  const raw = allocateVoxels(header.voxelType, voxels);
  const target = new Uint8Array(raw.buffer, raw.byteOffset, raw.byteLength);
  let filled = 0;
  if (imageGz) {
    await streamBytes(imageFile, true, (chunk, offset) => {
      const chunkEnd = offset + chunk.length;
      if (chunkEnd > start && offset < end) {
        const from = Math.max(start, offset);
        const to = Math.min(end, chunkEnd);
        target.set(chunk.subarray(from - offset, to - offset), from - start);
        filled += to - from;
      }
      return chunkEnd < end;
    });
  } else {
    const fh = await fsp.open(imageFile, 'r');
    try {
      while (filled < volumeBytes) {
        const { bytesRead } = await fh.read(target, filled, Math.min(volumeBytes - filled, 1 << 30), start + filled);
        if (bytesRead === 0) break;
        filled += bytesRead;
      }
    } finally {
      await fh.close();
    }
  }
  if (filled < volumeBytes) {
    throw new InputFileError('TRUNCATED_FILE', imageFile, `ends after ${filled} of the ${volumeBytes} voxel bytes of volume ${volumeIndex} (${header.shape.join('×')} ${header.voxelType})`);
  }
  if (!header.littleEndian && bpv > 1) swapBytes(target, bpv);

  const warnings: string[] = [];
  if (header.geometrySource === 'pixdim') warnings.push('no sform or qform (both codes 0): geometry comes from pixdim only, as nibabel does; orientation is a guess');
  if (header.geometrySource === 'analyze') warnings.push('Analyze 7.5 has no orientation: assumed radiological (LAS) as nibabel does');

  let data: VoxelArray = raw;
  const slope = header.sclSlope;
  const inter = header.sclInter;
  if ((options.applyScaling ?? true) && slope !== 0 && !(slope === 1 && inter === 0)) {
    const [lo, hi] = minMax(raw);
    data = applyRescale(raw, slope, inter, scaledVoxelType(header.voxelType, lo, hi, slope, inter));
  }
  let volume: Volume;
  try {
    volume = makeVolume({ data, dims: [nx, ny, nz], ...niftiAffineToGeometry(header.affine) });
  } catch (e) {
    throw new InputFileError('INVALID_HEADER', headerFile, `unusable ${header.geometrySource} geometry: ${(e as Error).message}`, { cause: e });
  }
  return { volume, header, volumeCount, volumeIndex, warnings };
}

function swapBytes(bytes: Uint8Array, width: number): void {
  const b = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (width === 2) b.swap16();
  else if (width === 4) b.swap32();
  else if (width === 8) b.swap64();
}
