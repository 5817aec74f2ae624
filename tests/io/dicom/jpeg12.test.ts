/**
 * 12-bit DCT JPEG (JPEG Extended, 1.2.840.10008.1.2.4.51) against DCMTK's dcmdjpeg: fixtures/golden/jpeg12.json,
 * made by scripts/golden/jpeg12.py (pydicom's JPGExtended.dcm and JPEG-lossy.dcm plus small synthetic files in
 * fixtures/dicom/jpeg12/: sequential SOF1, progressive SOF2, signed, colour YBR_FULL_422 and RGB, and a
 * GDCM-written precision-16 DCT stream that is refused).
 *
 * Tolerance: none, the decoded values must equal dcmdjpeg's exactly. Lossy decoders in general differ by ±1 where
 * their IDCT or upsampling rounds differently, but dcmjs-codecs runs the same IJG 6b 12-bit code as dcmdjpeg (DCMTK's
 * libijg12, library defaults), so any difference means a real change. Measured: max |diff| 0 on every file; GDCM
 * 3.0.21 (also IJG 6b 12-bit) agrees exactly too, except that it leaves YCbCr unconverted. Should the package move
 * to another 12-bit decoder (e.g. libjpeg-turbo 3), expect ±1 and give this test a stated tolerance then.
 */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import dicomParser from 'dicom-parser';
import { describe, expect, it } from 'vitest';
import {
  CodecError,
  CompressedSyntax,
  type DecodedPixels,
  decodeFrame,
  type FrameFormat,
} from '../../../src/io/dicom/codecs/index.js';
import { readDicomVolume } from '../../../src/io/dicom/index.js';
import { fixture, rejection, ROOT, sha256, stats } from '../../helpers.js';

interface Jpeg12Entry {
  file: string;
  transferSyntaxUid: string;
  sof: string;
  precision: number;
  rows: number;
  columns: number;
  samplesPerPixel: number;
  bitsAllocated: number;
  bitsStored: number;
  pixelRepresentation: 0 | 1;
  photometricInterpretation: string;
  reference: 'dcmdjpeg' | null;
  unsupported?: string;
  dtype?: '<u2' | '<i2';
  sha256?: string;
  min?: number;
  max?: number;
  sum?: number;
  mean?: number;
  samples?: [number, number, number, number][];
  gdcm?: { maxAbsDiff?: number; skip?: string; decodes?: boolean };
}

const golden = JSON.parse(readFileSync(fixture('golden', 'jpeg12.json'), 'utf8')) as { entries: Jpeg12Entry[] };
const decodable = golden.entries.filter((e) => e.reference === 'dcmdjpeg');
const EXTENDED = CompressedSyntax.JpegExtended12Bit;
const EXTENDED_NAME = 'JPEG Extended (Process 2 & 4) (1.2.840.10008.1.2.4.51)';
/** dcmcjpeg +ep writes progressive streams under Full Progression (4.55), which medseg does not accept as a file. */
const FULL_PROGRESSION = '1.2.840.10008.1.2.4.55';

function entry(file: string): Jpeg12Entry {
  const found = golden.entries.find((e) => e.file === file);
  if (found === undefined) throw new Error(`no golden entry for ${file}`);
  return found;
}

/** The single frame of a file, assembled from its fragments. */
function frameOf(file: string): Uint8Array {
  const dataSet = dicomParser.parseDicom(new Uint8Array(readFileSync(resolve(ROOT, file))));
  const pixelData = dataSet.elements.x7fe00010;
  if (pixelData?.fragments === undefined) throw new Error(`${file}: no encapsulated Pixel Data`);
  return dicomParser.readEncapsulatedPixelDataFromFragments(dataSet, pixelData, 0, pixelData.fragments.length);
}

function formatOf(e: Jpeg12Entry): FrameFormat {
  return {
    rows: e.rows,
    columns: e.columns,
    samplesPerPixel: e.samplesPerPixel,
    bitsAllocated: e.bitsAllocated,
    bitsStored: e.bitsStored,
    pixelRepresentation: e.pixelRepresentation,
    planarConfiguration: 0,
    photometricInterpretation: e.photometricInterpretation,
  };
}

/** The transfer syntax to decode an entry's frame under: its own, or 4.51 for the progressive (4.55) stream. */
function decodeUid(e: Jpeg12Entry): string {
  return e.transferSyntaxUid === FULL_PROGRESSION ? EXTENDED : e.transferSyntaxUid;
}

async function codecError(uid: string, frame: Uint8Array, format: FrameFormat): Promise<CodecError> {
  const error = await rejection(decodeFrame(uid, frame, format));
  expect(error).toBeInstanceOf(CodecError);
  return error as CodecError;
}

describe('12-bit JPEG Extended decodes exactly like dcmdjpeg (fixtures/golden/jpeg12.json)', () => {
  it('covers sequential and progressive, unsigned and signed, greyscale and colour', () => {
    const kinds = new Set(decodable.map((e) => `${e.sof} ${e.pixelRepresentation} ${e.samplesPerPixel}`));
    for (const kind of ['0xFFC1 0 1', '0xFFC2 0 1', '0xFFC1 1 1', '0xFFC1 0 3']) {
      expect(kinds.has(kind), kind).toBe(true); // SOF, Pixel Representation, samples per pixel
    }
    const colour = decodable.filter((e) => e.samplesPerPixel === 3).map((e) => e.photometricInterpretation);
    expect(colour.sort()).toEqual(['RGB', 'YBR_FULL_422']); // converted to RGB, and stored as RGB
    expect(decodable.every((e) => e.precision === 12)).toBe(true);
    expect(decodable.map((e) => e.file)).toContain('fixtures/dicom/pydicom/JPGExtended.dcm');
    expect(decodable.map((e) => e.file)).toContain('fixtures/dicom/pydicom/JPEG-lossy.dcm');
  });

  it.each(decodable.map((e) => [`${e.file} (${e.sof}, ${e.photometricInterpretation})`, e] as const))(
    '%s',
    async (_name, e) => {
      const pixels = await decodeFrame(decodeUid(e), frameOf(e.file), formatOf(e));
      expect(pixels).toBeInstanceOf(e.dtype === '<i2' ? Int16Array : Uint16Array);
      expect(pixels.length).toBe(e.rows * e.columns * e.samplesPerPixel);
      // Samples and statistics first: a failure then shows where and by how much, not just another hash.
      for (const [row, column, sample, value] of e.samples ?? []) {
        const at = (row * e.columns + column) * e.samplesPerPixel + sample;
        expect(pixels[at], `(${row}, ${column}, ${sample})`).toBe(value);
      }
      const s = stats(pixels);
      expect([s.min, s.max, s.sum]).toEqual([e.min, e.max, e.sum]);
      expect(sha256(pixels)).toBe(e.sha256);
    },
  );

  it('GDCM agrees with dcmdjpeg wherever both give the same colour space (recorded by the golden script)', () => {
    for (const e of decodable) {
      if (e.photometricInterpretation.startsWith('YBR')) expect(e.gdcm?.skip, e.file).toContain('YBR_FULL');
      else expect(e.gdcm?.maxAbsDiff, e.file).toBe(0);
    }
  });
});

describe('12-bit JPEG files through readDicomVolume', () => {
  it('a CT slice: stored values as dcmdjpeg decodes them, HU with the intercept', async () => {
    const e = entry('fixtures/dicom/jpeg12/ct12_sof1.dcm');
    const { volume } = await readDicomVolume(resolve(ROOT, e.file), { applyRescale: false });
    expect([...volume.dims]).toEqual([e.columns, e.rows, 1]);
    expect(sha256(volume.data)).toBe(e.sha256);
    const hu = await readDicomVolume(resolve(ROOT, e.file));
    expect(stats(hu.volume.data).min).toBe((e.min as number) - 1024);
    expect(stats(hu.volume.data).max).toBe((e.max as number) - 1024);
  });

  it('signed (Pixel Representation 1): sign-extended from bit 11', async () => {
    const e = entry('fixtures/dicom/jpeg12/ct12_sof1_signed.dcm');
    const { volume } = await readDicomVolume(resolve(ROOT, e.file), { applyRescale: false });
    expect(volume.data).toBeInstanceOf(Int16Array);
    expect(sha256(volume.data)).toBe(e.sha256);
    expect(e.min).toBeLessThan(0);
  });

  it('a precision-16 DCT stream (GDCM lossy) -> UNSUPPORTED_TRANSFER_SYNTAX naming file and precision', async () => {
    const e = entry('fixtures/dicom/jpeg12/ct16_gdcm_lossy.dcm');
    expect(e.precision).toBe(16);
    expect(e.reference).toBeNull(); // dcmdjpeg cannot decode it either
    const file = resolve(ROOT, e.file);
    const error = await rejection(readDicomVolume(file));
    expect(error.code).toBe('UNSUPPORTED_TRANSFER_SYNTAX');
    expect(error.message).toContain(file);
    expect(error.message).toContain(EXTENDED_NAME);
    expect(error.message).toContain('16-bit JPEG (DCT)');
  });
});

describe('12-bit JPEG errors', () => {
  const e = entry('fixtures/dicom/pydicom/JPGExtended.dcm');
  const frame = frameOf(e.file);

  it('a truncated codestream -> DECODE_FAILED', async () => {
    for (const keep of [0.5, 0.1]) {
      const error = await codecError(EXTENDED, frame.slice(0, Math.floor(frame.length * keep)), formatOf(e));
      expect(error.code).toBe('DECODE_FAILED');
      expect(error.message).toContain(EXTENDED_NAME);
      expect(error.message).toContain('truncated');
    }
  });

  /** The frame's marker segments up to its scan, then EOI: a stream without image data. */
  function withoutScan(): Uint8Array {
    let pos = 2;
    while (!(frame[pos] === 0xff && frame[pos + 1] === 0xda)) {
      pos += 2 + (((frame[pos + 2] as number) << 8) | (frame[pos + 3] as number));
    }
    return Uint8Array.from([...frame.subarray(0, pos), 0xff, 0xd9]);
  }

  it('a stream the IJG decoder rejects -> DECODE_FAILED with its message; later frames still decode', async () => {
    const error = await codecError(EXTENDED, withoutScan(), formatOf(e));
    expect(error.code).toBe('DECODE_FAILED');
    expect(error.message).toContain(EXTENDED_NAME);
    expect(error.message).toContain('IJG 12-bit decoder');
    expect(sha256(await decodeFrame(EXTENDED, frame, formatOf(e)))).toBe(e.sha256);
  });

  it('good frames decoded alongside failing ones are unaffected (a failed instance is replaced)', async () => {
    const results = await Promise.allSettled([
      decodeFrame(EXTENDED, frame, formatOf(e)),
      decodeFrame(EXTENDED, withoutScan(), formatOf(e)),
      decodeFrame(EXTENDED, frame, formatOf(e)),
      decodeFrame(EXTENDED, withoutScan(), formatOf(e)),
      decodeFrame(EXTENDED, frame, formatOf(e)),
    ]);
    results.forEach((r, i) => {
      if (i % 2 === 1) {
        expect(r.status).toBe('rejected');
        expect((r as PromiseRejectedResult).reason).toBeInstanceOf(CodecError);
      } else {
        expect(r.status).toBe('fulfilled');
        expect(sha256((r as PromiseFulfilledResult<DecodedPixels>).value)).toBe(e.sha256);
      }
    });
  });

  it('Bits Allocated 8 with 12-bit samples -> DECODE_FAILED', async () => {
    const error = await codecError(EXTENDED, frame, { ...formatOf(e), bitsAllocated: 8, bitsStored: 8 });
    expect(error.code).toBe('DECODE_FAILED');
    expect(error.message).toContain('Bits Allocated (8)');
  });

  it('a 12-bit stream under JPEG Baseline (4.50) decodes too (the codestream decides, as for 8-bit)', async () => {
    const pixels = await decodeFrame(CompressedSyntax.JpegBaseline8Bit, frame, formatOf(e));
    expect(sha256(pixels)).toBe(e.sha256);
  });
});
