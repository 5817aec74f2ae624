/**
 * NIfTI-1/2 volumes for the viewer, assembled while they download: the gzip stream is inflated by the platform's
 * DecompressionStream and the voxels go straight into one buffer of the exact size (known as soon as the header
 * has arrived), so a 150 MB scan never exists twice in memory. Header fields come from nifti-reader-js; the LPS
 * grid from geometry.ts. Only the first volume of a 4-D file is kept. World space: LPS, mm.
 */
import { NIFTI1, NIFTI2 } from 'nifti-reader-js';
import { niftiGrid, type GeometrySource, type Grid } from './geometry.js';

export type VoxelArray = Uint8Array | Int8Array | Uint16Array | Int16Array | Uint32Array | Int32Array | Float32Array | Float64Array;

/** A loaded volume: voxels (i fastest) on an LPS grid. */
export interface ViewerVolume extends Grid {
  data: VoxelArray;
  /** Which header fields the geometry came from. */
  geometrySource: GeometrySource;
}

/** A scan with its value range (one pass over the voxels, done once: vtk.js is handed the same range). */
export interface ScanVolume extends ViewerVolume {
  min: number;
  max: number;
  /** True when every value is an integer (CT in HU, most MR). */
  integral: boolean;
}

type VoxelCtor = { new (buffer: ArrayBuffer): VoxelArray; new (length: number): VoxelArray; readonly BYTES_PER_ELEMENT: number };

/** NIfTI datatype codes the viewer reads (scalar types; RGB and complex images are refused with a message). */
const TYPES: Readonly<Record<number, VoxelCtor>> = {
  2: Uint8Array,
  4: Int16Array,
  8: Int32Array,
  16: Float32Array,
  64: Float64Array,
  256: Int8Array,
  512: Uint16Array,
  768: Uint32Array,
};

export class NiftiFormatError extends Error {
  override name = 'NiftiFormatError';
}

interface ParsedHeader {
  header: NIFTI1 | NIFTI2;
  grid: Grid;
  geometrySource: GeometrySource;
  ctor: VoxelCtor;
  voxOffset: number;
  voxelBytes: number;
  littleEndian: boolean;
}

/** Bytes needed before the header can be parsed (NIfTI-2: 540 + the 4 extension bytes). */
const HEADER_BYTES = 544;

function parseHeader(head: Uint8Array, name: string): ParsedHeader {
  const view = new DataView(head.buffer, head.byteOffset, head.byteLength);
  const sizeLE = view.getInt32(0, true);
  const sizeBE = view.getInt32(0, false);
  const version = sizeLE === 348 || sizeBE === 348 ? 1 : sizeLE === 540 || sizeBE === 540 ? 2 : 0;
  if (version === 0) throw new NiftiFormatError(`${name} is not a NIfTI file (sizeof_hdr is ${sizeLE}, expected 348 or 540)`);
  const littleEndian = sizeLE === 348 || sizeLE === 540;
  const headerSize = version === 1 ? 348 : 540;
  // nifti-reader-js would read extensions past the bytes we give it: hand it a copy with the extension flag cleared.
  const copy = new Uint8Array(HEADER_BYTES + 8);
  copy.set(head.subarray(0, Math.min(head.byteLength, HEADER_BYTES)));
  copy.fill(0, headerSize, headerSize + 4);
  const header = version === 1 ? new NIFTI1() : new NIFTI2();
  header.readHeader(copy.buffer);
  // nifti-reader-js replaces its `affine` by the qform when qform_code > sform_code; the stored srow_* rows are read
  // from the bytes (NIfTI-1: 12 float32 at 280, NIfTI-2: 12 float64 at 400).
  const srow = Array.from({ length: 12 }, (_, n) => (version === 1 ? view.getFloat32(280 + 4 * n, littleEndian) : view.getFloat64(400 + 8 * n, littleEndian)));
  const ctor = TYPES[header.datatypeCode];
  if (!ctor) throw new NiftiFormatError(`${name}: NIfTI datatype ${header.datatypeCode} cannot be displayed; the viewer shows scalar uint8/int8/uint16/int16/uint32/int32/float32/float64 images`);
  let grid: Grid;
  let geometrySource: GeometrySource;
  try {
    ({ grid, source: geometrySource } = niftiGrid({ ...header, srow }));
  } catch (e) {
    throw new NiftiFormatError(`${name}: ${(e as Error).message}`);
  }
  const voxels = grid.dims[0] * grid.dims[1] * grid.dims[2];
  if (!(voxels > 0) || grid.dims.some((d) => !Number.isInteger(d) || d < 1)) throw new NiftiFormatError(`${name}: dimensions [${grid.dims.join(', ')}] must be positive integers`);
  if (!(header.vox_offset >= headerSize)) throw new NiftiFormatError(`${name}: vox_offset ${header.vox_offset} points inside the header`);
  return { header, grid, geometrySource, ctor, voxOffset: Math.round(header.vox_offset), voxelBytes: voxels * ctor.BYTES_PER_ELEMENT, littleEndian };
}

/**
 * Collects a decompressed NIfTI byte stream chunk by chunk: header bytes first, then the voxels of the first volume
 * straight into their final, exactly sized (so always aligned) buffer.
 */
export class NiftiAssembler {
  private head: Uint8Array = new Uint8Array(0);
  private parsed: ParsedHeader | undefined;
  private voxels: Uint8Array | undefined;
  /** Decompressed bytes seen so far. */
  private offset = 0;

  constructor(private readonly name: string) {}

  /** Bytes of voxel data expected (known once the header has arrived). */
  get expectedVoxelBytes(): number | undefined {
    return this.parsed?.voxelBytes;
  }

  push(chunk: Uint8Array): void {
    if (!this.parsed) {
      const joined = new Uint8Array(this.head.byteLength + chunk.byteLength);
      joined.set(this.head);
      joined.set(chunk, this.head.byteLength);
      this.head = joined;
      if (this.head.byteLength < HEADER_BYTES) return;
      this.parsed = parseHeader(this.head, this.name);
      this.voxels = new Uint8Array(this.parsed.voxelBytes);
      const pending = this.head;
      this.head = new Uint8Array(0);
      this.offset = 0;
      this.consume(pending);
      return;
    }
    this.consume(chunk);
  }

  private consume(chunk: Uint8Array): void {
    const p = this.parsed!;
    const start = this.offset;
    this.offset += chunk.byteLength;
    // The chunk covers decompressed bytes [start, start + length); voxels are [voxOffset, voxOffset + voxelBytes).
    const from = Math.max(start, p.voxOffset);
    const to = Math.min(this.offset, p.voxOffset + p.voxelBytes);
    if (to > from) this.voxels!.set(chunk.subarray(from - start, to - start), from - p.voxOffset);
  }

  /**
   * The volume, once every voxel byte has arrived (byte-swapped when big-endian, scl_slope/scl_inter applied).
   * @throws NiftiFormatError for a truncated stream.
   */
  finish(): ViewerVolume {
    if (!this.parsed) {
      // A file shorter than HEADER_BYTES can still be a complete tiny NIfTI-1 file.
      if (this.head.byteLength >= 352) {
        const pending = this.head;
        this.head = new Uint8Array(0);
        this.parsed = parseHeader(pending, this.name);
        this.voxels = new Uint8Array(this.parsed.voxelBytes);
        this.consume(pending);
      } else throw new NiftiFormatError(`${this.name} is truncated: ${this.head.byteLength} bytes, a NIfTI header needs at least 348 (+4)`);
    }
    const p = this.parsed;
    const got = Math.max(0, Math.min(this.offset - p.voxOffset, p.voxelBytes));
    if (got < p.voxelBytes) throw new NiftiFormatError(`${this.name} is truncated: ${got} of ${p.voxelBytes} voxel bytes arrived`);
    const bytes = this.voxels!;
    if (!p.littleEndian && p.ctor.BYTES_PER_ELEMENT > 1) swapBytes(bytes, p.ctor.BYTES_PER_ELEMENT);
    let data: VoxelArray = new p.ctor(bytes.buffer as ArrayBuffer);
    const slope = Number.isFinite(p.header.scl_slope) ? p.header.scl_slope : 0;
    const inter = Number.isFinite(p.header.scl_inter) ? p.header.scl_inter : 0;
    if (slope !== 0 && !(slope === 1 && inter === 0)) data = rescale(data, slope, inter);
    return { ...p.grid, data, geometrySource: p.geometrySource };
  }
}

function swapBytes(bytes: Uint8Array, width: number): void {
  for (let n = 0; n < bytes.length; n += width) {
    for (let a = n, b = n + width - 1; a < b; a++, b--) {
      const t = bytes[a]!;
      bytes[a] = bytes[b]!;
      bytes[b] = t;
    }
  }
}

/** Applies NIfTI scaling (scl_slope, scl_inter) for display, as float32 (exact for any 16-bit scan). */
function rescale(raw: VoxelArray, slope: number, inter: number): VoxelArray {
  const out = new Float32Array(raw.length);
  for (let n = 0; n < raw.length; n++) out[n] = raw[n]! * slope + inter;
  return out;
}

/** The volume with its value range. */
export function withRange(v: ViewerVolume): ScanVolume {
  return { ...v, ...valueRange(v.data) };
}

/** Minimum, maximum and whether all values are integers (about 3 ns per voxel). */
export function valueRange(data: ArrayLike<number>): { min: number; max: number; integral: boolean } {
  let min = Infinity;
  let max = -Infinity;
  let integral = true;
  const intType = !(data instanceof Float32Array || data instanceof Float64Array);
  for (let n = 0; n < data.length; n++) {
    const v = data[n]!;
    if (v < min) min = v;
    if (v > max) max = v;
    if (!intType && integral && v !== Math.round(v)) integral = false;
  }
  if (data.length === 0) return { min: 0, max: 0, integral: true };
  return { min, max, integral };
}

/** Reads a whole byte stream into a NiftiAssembler. */
export async function assembleNifti(stream: ReadableStream<Uint8Array>, name: string): Promise<ViewerVolume> {
  const assembler = new NiftiAssembler(name);
  const reader = stream.getReader();
  const next = () =>
    reader.read().catch((e: unknown) => {
      throw new NiftiFormatError(`${name} could not be read: ${(e as Error).message} (a damaged or truncated gzip stream?)`);
    });
  for (;;) {
    const chunk = await next();
    if (chunk.done) break;
    assembler.push(chunk.value);
  }
  return assembler.finish();
}

/** Whether bytes start with the gzip magic number. */
export function isGzip(head: Uint8Array): boolean {
  return head.length >= 2 && head[0] === 0x1f && head[1] === 0x8b;
}

/**
 * The decompressed bytes of a NIfTI stream: inflated by the platform's DecompressionStream when gzipped (sniffed from
 * the first bytes, not from a name), passed through otherwise.
 */
export async function maybeGunzip(stream: ReadableStream<Uint8Array>): Promise<ReadableStream<Uint8Array>> {
  const reader = stream.getReader();
  let first = new Uint8Array(0);
  while (first.byteLength < 2) {
    const { done, value } = await reader.read();
    if (done) break;
    const joined = new Uint8Array(first.byteLength + value.byteLength);
    joined.set(first);
    joined.set(value, first.byteLength);
    first = joined;
  }
  const gzipped = isGzip(first);
  let pending: Uint8Array | undefined = first.byteLength ? first : undefined;
  const raw = new ReadableStream<Uint8Array>({
    async pull(controller) {
      if (pending) {
        controller.enqueue(pending);
        pending = undefined;
        return;
      }
      const { done, value } = await reader.read();
      if (done) controller.close();
      else controller.enqueue(value);
    },
    cancel(reason) {
      return reader.cancel(reason);
    },
  });
  // DecompressionStream accepts any BufferSource, which includes Uint8Array; TypeScript's stream types are invariant.
  const gunzip = new DecompressionStream('gzip') as unknown as { readable: ReadableStream<Uint8Array>; writable: WritableStream<Uint8Array> };
  return gzipped ? raw.pipeThrough(gunzip) : raw;
}
