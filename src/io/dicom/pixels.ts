/**
 * Reading the stored pixel values of one frame. Native data is read straight from the file at its offset (no
 * parse of the whole file); deflated and encapsulated data are parsed with dicom-parser once per file (the last
 * parsed file is cached, so the frames of a multi-frame file are parsed once) and decoded with the codecs.
 */
import { closeSync, openSync, promises as fsp, read } from 'node:fs';
import dicomParser, { type DataSet } from 'dicom-parser';
import { InputFileError, SegError } from '../../errors.js';
import type { VoxelType } from '../../volume/types.js';
import { decodeFrame } from './codecs/index.js';
import { TAG } from './dataset.js';
import { parseDicomBytes, type DicomInstance } from './instance.js';

/** The voxel type of stored values: BitsAllocated and PixelRepresentation. */
export function storedVoxelType(inst: DicomInstance): VoxelType {
  const signed = inst.pixelRepresentation === 1;
  switch (inst.bitsAllocated) {
    case 8:
      return signed ? 'int8' : 'uint8';
    case 16:
      return signed ? 'int16' : 'uint16';
    case 32:
      return signed ? 'int32' : 'uint32';
    default:
      throw new InputFileError(
        'UNSUPPORTED_DATATYPE',
        inst.file,
        inst.bitsAllocated === 1
          ? 'BitsAllocated is 1 (a binary segmentation, e.g. DICOM SEG): not an image series'
          : `BitsAllocated ${inst.bitsAllocated} is not supported (8, 16 or 32 are)`,
      );
  }
}

export function frameBytes(inst: DicomInstance): number {
  return inst.rows * inst.columns * inst.samplesPerPixel * (inst.bitsAllocated / 8);
}

/**
 * Reads frames, keeping one open file and one parsed dataset at a time. Call close() when done.
 * A native frame is one positioned read (pread) straight into the caller's buffer, in libuv's thread pool; the file
 * is opened and closed synchronously (µs each), which saves two of the three thread-pool round trips per file that
 * an async open/read/close costs (docs/benchmarks.md, IO).
 */
export class FrameReader {
  private handle: { file: string; fd: number } | undefined;
  private parsed: { file: string; ds: DataSet } | undefined;

  /**
   * Fills `target` (exactly frameBytes(inst) bytes) with the stored little-endian values of frame `frame`.
   * @throws InputFileError TRUNCATED_FILE, MISSING_PIXEL_DATA, DECODE_FAILED/UNSUPPORTED_TRANSFER_SYNTAX (codecs).
   */
  async readFrame(inst: DicomInstance, frame: number, target: Uint8Array): Promise<void> {
    const n = frameBytes(inst);
    if (target.byteLength !== n) throw new RangeError(`target has ${target.byteLength} bytes, frame needs ${n}`);
    const loc = inst.pixelData;
    if (loc.kind === 'none') throw new InputFileError('MISSING_PIXEL_DATA', inst.file, 'has no Pixel Data element');
    if (loc.kind === 'native') {
      if (loc.length < n * inst.numberOfFrames) {
        throw new InputFileError('TRUNCATED_FILE', inst.file, `Pixel Data has ${loc.length} bytes but ${inst.numberOfFrames} frame(s) of ${inst.columns}×${inst.rows}×${inst.bitsAllocated} bits need ${n * inst.numberOfFrames}`);
      }
      const fd = this.open(inst.file);
      const bytesRead = await new Promise<number>((resolve, reject) => read(fd, target, 0, n, loc.offset + frame * n, (e, got) => (e ? reject(e) : resolve(got))));
      if (bytesRead < n) throw new InputFileError('TRUNCATED_FILE', inst.file, `ends inside the pixel data of frame ${frame + 1}`);
      if (loc.bigEndian) swapInPlace(target, inst.bitsAllocated);
      return;
    }
    const ds = await this.parse(inst.file);
    const el = ds.elements[TAG.PixelData];
    if (!el) throw new InputFileError('MISSING_PIXEL_DATA', inst.file, 'has no Pixel Data element');
    if (loc.reason === 'deflated' && !el.encapsulatedPixelData) {
      const start = el.dataOffset + frame * n;
      if (start + n > ds.byteArray.length || el.length < n * inst.numberOfFrames) {
        throw new InputFileError('TRUNCATED_FILE', inst.file, `inflated Pixel Data is shorter than ${inst.numberOfFrames} frame(s) of ${n} bytes`);
      }
      target.set(ds.byteArray.subarray(start, start + n));
      return;
    }
    const encoded = encapsulatedFrame(ds, el, frame, inst);
    const decoded = await decodeFrame(inst.transferSyntaxUid, encoded, inst).catch((e: unknown) => {
      if (e instanceof SegError) throw new InputFileError(e.code, inst.file, `frame ${frame + 1}: ${e.message}`, { cause: e });
      throw new InputFileError('DECODE_FAILED', inst.file, `frame ${frame + 1} could not be decoded (${String(e)})`, { cause: e });
    });
    const bytes = new Uint8Array(decoded.buffer, decoded.byteOffset, decoded.byteLength);
    if (bytes.byteLength !== n) {
      throw new InputFileError('DECODE_FAILED', inst.file, `frame ${frame + 1} decoded to ${bytes.byteLength} bytes, expected ${n}`);
    }
    target.set(bytes);
  }

  close(): void {
    if (this.handle) closeSync(this.handle.fd);
    this.handle = undefined;
    this.parsed = undefined;
  }

  private open(file: string): number {
    if (this.handle?.file === file) return this.handle.fd;
    if (this.handle) closeSync(this.handle.fd);
    this.handle = undefined; // not left pointing at a closed fd if the open below throws
    this.handle = { file, fd: openSync(file, 'r') };
    return this.handle.fd;
  }

  private async parse(file: string): Promise<DataSet> {
    if (this.parsed?.file === file) return this.parsed.ds;
    const bytes = await fsp.readFile(file);
    const { ds } = parseDicomBytes(bytes, file, false);
    if (ds.warnings.length > 0 && !ds.elements[TAG.PixelData]) {
      throw new InputFileError('TRUNCATED_FILE', file, `Pixel Data cannot be read (${ds.warnings[0]})`);
    }
    this.parsed = { file, ds };
    return ds;
  }
}

/** The compressed bytes of one frame of encapsulated Pixel Data (as cornerstone's dicom-image-loader finds them). */
function encapsulatedFrame(ds: DataSet, el: dicomParser.Element, frame: number, inst: DicomInstance): Uint8Array {
  try {
    const fragments = el.fragments ?? [];
    if (fragments.length === 0) throw new Error('no fragments');
    if (inst.numberOfFrames === 1) return dicomParser.readEncapsulatedPixelDataFromFragments(ds, el, 0, fragments.length);
    if (el.basicOffsetTable && el.basicOffsetTable.length > 0) return dicomParser.readEncapsulatedImageFrame(ds, el, frame);
    if (fragments.length === inst.numberOfFrames) return dicomParser.readEncapsulatedPixelDataFromFragments(ds, el, frame, 1);
    const table = dicomParser.createJPEGBasicOffsetTable(ds, el);
    return dicomParser.readEncapsulatedImageFrame(ds, el, frame, table);
  } catch (e) {
    const msg = e instanceof Error ? e.message : typeof e === 'object' && e && 'exception' in e ? String((e as { exception: unknown }).exception) : String(e);
    throw new InputFileError('DECODE_FAILED', inst.file, `cannot locate compressed frame ${frame + 1} of ${inst.numberOfFrames} in the encapsulated Pixel Data (${msg})`, { cause: e });
  }
}

function swapInPlace(bytes: Uint8Array, bitsAllocated: number): void {
  const b = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (bitsAllocated === 16) b.swap16();
  else if (bitsAllocated === 32) b.swap32();
}
