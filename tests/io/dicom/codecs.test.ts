import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gunzipSync } from 'node:zlib';
import dicomParser from 'dicom-parser';
import { describe, expect, it } from 'vitest';
import { SegError } from '../../../src/errors.js';
import {
  CodecError,
  CompressedSyntax,
  type DecodedPixels,
  decodeFrame,
  type FrameFormat,
  isLosslessCompressedSyntax,
  isSupportedCompressedSyntax,
  transferSyntaxName,
} from '../../../src/io/dicom/codecs/index.js';
import { decodePackBitsSegment } from '../../../src/io/dicom/codecs/rle.js';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');

interface GoldenEntry {
  file: string;
  transferSyntaxUid: string | null;
  skip?: string;
  rows: number;
  columns: number;
  frames: number;
  samplesPerPixel: number;
  bitsAllocated: number;
  bitsStored: number;
  pixelRepresentation: 0 | 1;
  photometricInterpretation: string;
  planarConfiguration: 0 | 1 | null;
  pixelDtype: string;
  pixelSha256: string;
  pixelMin: number;
  pixelMax: number;
  pixelSum: number;
  colorConverted?: boolean;
  lossyReference?: string;
}

const golden = JSON.parse(readFileSync(resolve(ROOT, 'fixtures/golden/dicom-files.json'), 'utf8')) as {
  files: GoldenEntry[];
};
const encapsulated = golden.files.filter(
  (e) => e.skip === undefined && e.transferSyntaxUid !== null && isSupportedCompressedSyntax(e.transferSyntaxUid),
);

/**
 * Files dicom-parser cannot parse although pydicom can (pydicom falls back to implicit VR). Their single frame is
 * taken from the Pixel Data items directly, so the codec is still checked on them.
 */
const DICOM_PARSER_UNREADABLE = new Set(['fixtures/dicom/pydicom/SC_rgb_jpeg.dcm']);

/** The fragments of the last encapsulated Pixel Data element in a file, found by scanning for its items. */
function scanFragments(bytes: Uint8Array): Uint8Array[] {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let pos = -1;
  for (let i = bytes.length - 12; i >= 0; i--) {
    if (view.getUint32(i, true) === 0x00107fe0 && view.getUint32(i + 4, true) === 0xffffffff) {
      pos = i + 8; // implicit VR: tag, undefined length
      break;
    }
  }
  if (pos < 0) throw new Error('no encapsulated Pixel Data');
  const items: Uint8Array[] = [];
  while (pos + 8 <= bytes.length && view.getUint32(pos, true) === 0xe000fffe) {
    const length = view.getUint32(pos + 4, true);
    items.push(bytes.subarray(pos + 8, pos + 8 + length));
    pos += 8 + length;
  }
  return items.slice(1); // the first item is the basic offset table
}

/** A file's frames' encoded bytes, extracted the way cornerstone's loader does. */
function readFrames(file: string): { frames: Uint8Array[] } {
  const bytes = new Uint8Array(readFileSync(resolve(ROOT, file)));
  if (DICOM_PARSER_UNREADABLE.has(file)) {
    expect(() => dicomParser.parseDicom(bytes)).toThrow();
    const fragments = scanFragments(bytes);
    expect(fragments).toHaveLength(1);
    return { frames: fragments };
  }
  const dataSet = dicomParser.parseDicom(bytes);
  const pixelData = dataSet.elements.x7fe00010;
  if (pixelData === undefined || pixelData.fragments === undefined) throw new Error(`${file}: no fragments`);
  const fragments = pixelData.fragments;
  const frameCount = dataSet.intString('x00280008') ?? 1;
  const frames: Uint8Array[] = [];
  for (let i = 0; i < frameCount; i++) {
    let frame: Uint8Array;
    if ((pixelData.basicOffsetTable ?? []).length > 0) {
      frame = dicomParser.readEncapsulatedImageFrame(dataSet, pixelData, i);
    } else if (frameCount === 1) {
      frame = dicomParser.readEncapsulatedPixelDataFromFragments(dataSet, pixelData, 0, fragments.length);
    } else if (frameCount === fragments.length) {
      frame = dicomParser.readEncapsulatedPixelDataFromFragments(dataSet, pixelData, i, 1);
    } else {
      const table = dicomParser.createJPEGBasicOffsetTable(dataSet, pixelData);
      frame = dicomParser.readEncapsulatedImageFrame(dataSet, pixelData, i, table);
    }
    frames.push(frame);
  }
  return { frames };
}

function formatOf(entry: GoldenEntry): FrameFormat {
  return {
    rows: entry.rows,
    columns: entry.columns,
    samplesPerPixel: entry.samplesPerPixel,
    bitsAllocated: entry.bitsAllocated,
    bitsStored: entry.bitsStored,
    pixelRepresentation: entry.pixelRepresentation,
    planarConfiguration: entry.planarConfiguration ?? 0,
    photometricInterpretation: entry.photometricInterpretation,
  };
}

const DTYPE_OF: Record<string, string> = {
  Uint8Array: '|u1',
  Int8Array: '|i1',
  Uint16Array: '<u2',
  Int16Array: '<i2',
  Uint32Array: '<u4',
  Int32Array: '<i4',
};

async function decodeAll(entry: GoldenEntry): Promise<DecodedPixels[]> {
  const { frames } = readFrames(entry.file);
  expect(frames).toHaveLength(entry.frames);
  const out: DecodedPixels[] = [];
  for (const frame of frames) out.push(await decodeFrame(entry.transferSyntaxUid as string, frame, formatOf(entry)));
  return out;
}

function sha256(parts: DecodedPixels[]): string {
  const hash = createHash('sha256');
  for (const p of parts) hash.update(new Uint8Array(p.buffer, p.byteOffset, p.byteLength));
  return hash.digest('hex');
}

describe('decodeFrame against pydicom (fixtures/golden/dicom-files.json)', () => {
  it('covers every encapsulated family', () => {
    const syntaxes = new Set(encapsulated.map((e) => e.transferSyntaxUid));
    for (const uid of ['.50', '.51', '.70', '.80', '.81', '.90', '.91']) {
      expect(syntaxes.has(`1.2.840.10008.1.2.4${uid}`)).toBe(true);
    }
    expect(syntaxes.has(CompressedSyntax.RleLossless)).toBe(true);
  });

  const lossless = encapsulated.filter((e) => isLosslessCompressedSyntax(e.transferSyntaxUid as string));
  it.each(lossless.map((e) => [e.file, e] as const))('%s decodes bit-identical to pydicom', async (_file, entry) => {
    const frames = await decodeAll(entry);
    for (const f of frames) {
      expect(DTYPE_OF[f.constructor.name]).toBe(entry.pixelDtype);
      expect(f.length).toBe(entry.rows * entry.columns * entry.samplesPerPixel);
    }
    expect(sha256(frames)).toBe(entry.pixelSha256);
  });

  const lossy = encapsulated.filter((e) => !isLosslessCompressedSyntax(e.transferSyntaxUid as string));
  it.each(lossy.map((e) => [e.file, e] as const))('%s decodes close to pydicom', async (_file, entry) => {
    const frames = await decodeAll(entry);
    const decoded = frames.flatMap((f) => Array.from(f));
    for (const f of frames) expect(DTYPE_OF[f.constructor.name]).toBe(entry.pixelDtype);
    if (entry.lossyReference === undefined) {
      // Deterministic integer (JPEG-LS) or identical-library decoding: bit-identical. OpenJPEG for JPEG 2000; for
      // 12-bit JPEG Extended (JPGExtended.dcm, JPEG-lossy.dcm) GDCM and dcmjs-codecs both run IJG 6b's 12-bit build
      // (more in jpeg12.test.ts).
      expect(sha256(frames)).toBe(entry.pixelSha256);
      return;
    }
    const reference = readReference(entry);
    expect(decoded.length).toBe(reference.length);
    let sumAbs = 0;
    let maxAbs = 0;
    for (let i = 0; i < decoded.length; i++) {
      const d = Math.abs((decoded[i] as number) - (reference[i] as number));
      sumAbs += d;
      if (d > maxAbs) maxAbs = d;
    }
    // Decoders may differ by IDCT/upsampling rounding, and pydicom's YBR->RGB conversion (colorConverted) by its
    // own rounding. Measured with libjpeg-turbo (codec-libjpeg-turbo-8bit 1.2.8) against GDCM 3.0.21 + pydicom
    // 2.3.1 on all 14 8-bit DCT files: no difference at all (mean 0, max 0); the bounds leave room for rounding.
    expect(sumAbs / decoded.length).toBeLessThanOrEqual(LOSSY_MEAN_TOLERANCE);
    expect(maxAbs).toBeLessThanOrEqual(LOSSY_MAX_TOLERANCE);
  });
});

/** Bounds on |ours - pydicom| for 8-bit lossy DCT JPEG: mean over all samples, and largest single sample. */
const LOSSY_MEAN_TOLERANCE = 0.5;
const LOSSY_MAX_TOLERANCE = 2;

function readReference(entry: GoldenEntry): ArrayLike<number> {
  const bytes = gunzipSync(readFileSync(resolve(ROOT, entry.lossyReference as string)));
  const buffer = bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength);
  switch (entry.pixelDtype) {
    case '|u1':
      return new Uint8Array(buffer);
    case '|i1':
      return new Int8Array(buffer);
    case '<u2':
      return new Uint16Array(buffer);
    case '<i2':
      return new Int16Array(buffer);
    default:
      throw new Error(`no reference reader for ${entry.pixelDtype}`);
  }
}

async function codecError(uid: string, frame: Uint8Array, format: FrameFormat): Promise<CodecError> {
  const error = await decodeFrame(uid, frame, format).then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(CodecError);
  expect(error).toBeInstanceOf(SegError);
  return error as CodecError;
}

function goldenEntry(file: string): GoldenEntry {
  const entry = golden.files.find((e) => e.file === file);
  if (entry === undefined) throw new Error(`no golden entry for ${file}`);
  return entry;
}

describe('JPEG baseline colour', () => {
  it('a GDCM-written "RGB" JPEG (YCbCr-coded) decodes close to the uncompressed original', async () => {
    // SC_rgb_2frame_jpeg_baseline.dcm was made by gdcmconv --jpeg --lossy from SC_rgb_rle_2frame.dcm.
    const jpeg = await decodeAll(goldenEntry('fixtures/dicom/compressed/SC_rgb_2frame_jpeg_baseline.dcm'));
    const original = await decodeAll(goldenEntry('fixtures/dicom/pydicom/SC_rgb_rle_2frame.dcm'));
    let sumAbs = 0;
    let count = 0;
    jpeg.forEach((frame, f) => {
      const source = original[f] as DecodedPixels;
      for (let i = 0; i < frame.length; i++) sumAbs += Math.abs((frame[i] as number) - (source[i] as number));
      count += frame.length;
    });
    expect(Array.from((jpeg[0] as DecodedPixels).slice(0, 3))).toEqual([254, 0, 0]); // pure red stays red
    expect(sumAbs / count).toBeLessThan(3);
  });
});

describe('decodeFrame errors', () => {
  const cases: { file: string; uid: string }[] = [
    { file: 'fixtures/dicom/pydicom/SC_rgb_jpeg_dcmtk.dcm', uid: CompressedSyntax.JpegBaseline8Bit },
    { file: 'fixtures/dicom/compressed/CT_small_jpeg_lossless_sv1.dcm', uid: CompressedSyntax.JpegLosslessSV1 },
    { file: 'fixtures/dicom/compressed/CT_small_jpeg_ls_lossless.dcm', uid: CompressedSyntax.JpegLsLossless },
    { file: 'fixtures/dicom/compressed/CT_small_j2k_lossless.dcm', uid: CompressedSyntax.Jpeg2000Lossless },
    { file: 'fixtures/dicom/compressed/CT_small_rle.dcm', uid: CompressedSyntax.RleLossless },
  ];

  it.each(cases.map((c) => [transferSyntaxName(c.uid), c] as const))(
    '%s: truncated codestream -> DECODE_FAILED',
    async (name, { file, uid }) => {
      const entry = goldenEntry(file);
      const frame = readFrames(file).frames[0] as Uint8Array;
      for (const keep of [0.5, 0.1]) {
        const error = await codecError(uid, frame.slice(0, Math.floor(frame.length * keep)), formatOf(entry));
        expect(error.code).toBe('DECODE_FAILED');
        expect(error.message).toContain(name);
        expect(error.transferSyntaxUid).toBe(uid);
      }
    },
  );

  it.each(cases.map((c) => [transferSyntaxName(c.uid), c] as const))(
    '%s: garbage bytes -> DECODE_FAILED',
    async (name, { file, uid }) => {
      const entry = goldenEntry(file);
      let seed = 12345;
      const garbage = new Uint8Array(4096).map(() => {
        seed = (seed * 1103515245 + 12345) >>> 0;
        return seed >>> 24;
      });
      for (const frame of [garbage, new Uint8Array(16), new Uint8Array([0xff, 0xd8, 0xff])]) {
        const error = await codecError(uid, frame, formatOf(entry));
        expect(error.code).toBe('DECODE_FAILED');
        expect(error.message).toContain(name);
      }
    },
  );

  it('JPEG-LS with a garbage pad byte after EOI (DCMTK/Orthanc transcoding) decodes as without it', async () => {
    const file = 'fixtures/dicom/compressed/CT_small_jpeg_ls_lossless.dcm';
    const entry = goldenEntry(file);
    const frame = readFrames(file).frames[0] as Uint8Array;
    let end = frame.length;
    while (frame[end - 1] === 0) end--;
    const exact = frame.slice(0, end);
    expect(Array.from(exact.slice(-2))).toEqual([0xff, 0xd9]);
    const reference = await decodeFrame(CompressedSyntax.JpegLsLossless, exact, formatOf(entry));
    for (const pad of [0x69, 0x04, 0xff]) {
      const padded = new Uint8Array(end + 1);
      padded.set(exact);
      padded[end] = pad;
      const decoded = await decodeFrame(CompressedSyntax.JpegLsLossless, padded, formatOf(entry));
      expect(sha256([decoded])).toBe(sha256([reference]));
    }
    // Two garbage bytes are not padding: refused as before.
    const twoBytes = new Uint8Array(end + 2);
    twoBytes.set(exact);
    twoBytes.set([0x12, 0x34], end);
    expect((await codecError(CompressedSyntax.JpegLsLossless, twoBytes, formatOf(entry))).code).toBe('DECODE_FAILED');
  });

  it('an empty frame -> DECODE_FAILED', async () => {
    const format = formatOf(goldenEntry(cases[4]!.file));
    const error = await codecError(CompressedSyntax.RleLossless, new Uint8Array(0), format);
    expect(error.code).toBe('DECODE_FAILED');
  });

  it('a codestream whose size disagrees with the header -> DECODE_FAILED', async () => {
    const file = 'fixtures/dicom/compressed/MR_small_jpeg_ls_lossless.dcm';
    const format = { ...formatOf(goldenEntry(file)), rows: 32 };
    const error = await codecError(CompressedSyntax.JpegLsLossless, readFrames(file).frames[0]!, format);
    expect(error.code).toBe('DECODE_FAILED');
    expect(error.message).toContain('64x64');
  });

  it.each([
    ['1.2.840.10008.1.2.4.100', 'MPEG2 Main Profile / Main Level (1.2.840.10008.1.2.4.100)'],
    ['1.2.840.10008.1.2.1', 'Explicit VR Little Endian (1.2.840.10008.1.2.1)'],
    ['1.2.3.4', 'unknown transfer syntax (1.2.3.4)'],
  ])('unsupported UID %s -> UNSUPPORTED_TRANSFER_SYNTAX', async (uid, name) => {
    const error = await codecError(uid, new Uint8Array(100), formatOf(goldenEntry(cases[0]!.file)));
    expect(error.code).toBe('UNSUPPORTED_TRANSFER_SYNTAX');
    expect(error.message).toContain(name);
  });

  it('the supported-syntax list and names', () => {
    expect(isSupportedCompressedSyntax('1.2.840.10008.1.2.4.70')).toBe(true);
    expect(isSupportedCompressedSyntax('1.2.840.10008.1.2.4.70\0')).toBe(true);
    expect(isSupportedCompressedSyntax('1.2.840.10008.1.2.1')).toBe(false);
    expect(isSupportedCompressedSyntax('1.2.840.10008.1.2.1.99')).toBe(false);
    expect(transferSyntaxName('1.2.840.10008.1.2.4.70')).toBe('JPEG Lossless, SV1 (1.2.840.10008.1.2.4.70)');
  });
});

describe('RLE Lossless', () => {
  /** Builds an RLE frame from PackBits segments. */
  function rleFrame(segments: number[][]): Uint8Array {
    const header = new Uint8Array(64);
    const view = new DataView(header.buffer);
    view.setUint32(0, segments.length, true);
    let offset = 64;
    segments.forEach((segment, i) => {
      view.setUint32(4 + 4 * i, offset, true);
      offset += segment.length;
    });
    return Uint8Array.from([...header, ...segments.flat()]);
  }

  it('decodes a hand-built PackBits segment (literal, replicate and no-op runs)', () => {
    const data = Uint8Array.from([2, 10, 11, 12, 0xfd, 7, 0x80, 0, 99]);
    const plane = new Uint8Array(8);
    decodePackBitsSegment(data, 0, data.length, plane);
    expect(Array.from(plane)).toEqual([10, 11, 12, 7, 7, 7, 7, 99]);
  });

  it('decodes signed 16-bit: most significant byte segment first, then sign from Bits Stored', async () => {
    // 2x2 pixels: 0x0102, 0xfffe (-2), 0x0fff (-1 in 12 bits), 0x0800 (-2048 in 12 bits)
    const frame = rleFrame([
      [3, 0x01, 0xff, 0x0f, 0x08],
      [3, 0x02, 0xfe, 0xff, 0x00],
    ]);
    const format: FrameFormat = {
      rows: 2,
      columns: 2,
      samplesPerPixel: 1,
      bitsAllocated: 16,
      bitsStored: 12,
      pixelRepresentation: 1,
      planarConfiguration: 0,
      photometricInterpretation: 'MONOCHROME2',
    };
    const pixels = await decodeFrame(CompressedSyntax.RleLossless, frame, format);
    expect(pixels).toBeInstanceOf(Int16Array);
    expect(Array.from(pixels)).toEqual([0x0102, -2, -1, -2048]);
  });

  it('interleaves 8-bit RGB planes and decodes 32-bit samples', async () => {
    const rgb = rleFrame([
      [0xff, 1],
      [1, 2, 3],
      [0xff, 4],
    ]);
    const format: FrameFormat = {
      rows: 1,
      columns: 2,
      samplesPerPixel: 3,
      bitsAllocated: 8,
      bitsStored: 8,
      pixelRepresentation: 0,
      planarConfiguration: 1,
      photometricInterpretation: 'RGB',
    };
    expect(Array.from(await decodeFrame(CompressedSyntax.RleLossless, rgb, format))).toEqual([1, 2, 4, 1, 3, 4]);

    const u32 = rleFrame([[0, 0xff], [0, 0x00], [0, 0x12], [0, 0x34]]);
    const pixels = await decodeFrame(CompressedSyntax.RleLossless, u32, {
      ...format,
      columns: 1,
      samplesPerPixel: 1,
      bitsAllocated: 32,
      bitsStored: 32,
      photometricInterpretation: 'MONOCHROME2',
    });
    expect(pixels).toBeInstanceOf(Uint32Array);
    expect(Array.from(pixels)).toEqual([0xff001234]);
  });

  it('rejects a header whose segment count does not match the format', async () => {
    const error = await codecError(CompressedSyntax.RleLossless, rleFrame([[0, 1]]), {
      rows: 1,
      columns: 1,
      samplesPerPixel: 1,
      bitsAllocated: 16,
      bitsStored: 16,
      pixelRepresentation: 0,
      planarConfiguration: 0,
      photometricInterpretation: 'MONOCHROME2',
    });
    expect(error.code).toBe('DECODE_FAILED');
    expect(error.message).toContain('RLE Lossless (1.2.840.10008.1.2.5)');
    expect(error.message).toContain('2');
  });
});

describe('output arrays', () => {
  it('are fresh arrays, not views into the input or decoder memory', async () => {
    const file = 'fixtures/dicom/compressed/MR_small_jpeg_ls_lossless.dcm';
    const entry = goldenEntry(file);
    const frame = readFrames(file).frames[0] as Uint8Array;
    const a = await decodeFrame(CompressedSyntax.JpegLsLossless, frame, formatOf(entry));
    const b = await decodeFrame(CompressedSyntax.JpegLsLossless, frame, formatOf(entry));
    expect(a.buffer).not.toBe(b.buffer);
    expect(a.byteOffset).toBe(0);
    expect(a.buffer.byteLength).toBe(a.byteLength);
    expect(Array.from(a)).toEqual(Array.from(b));
  });
});
