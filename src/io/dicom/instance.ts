/**
 * One DICOM file → DicomInstance: identifying tags, pixel format, and per-frame geometry (LPS, mm) from classic
 * tags, enhanced multi-frame functional groups or an RT Dose GridFrameOffsetVector. Pixel data is not read here:
 * only its location, so a folder of thousands of slices is indexed by reading each file's first 64 KiB (one read).
 */
import { closeSync, fstatSync, openSync, readFileSync, readSync } from 'node:fs';
import dicomParser, { type DataSet } from 'dicom-parser';
import { InputFileError } from '../../errors.js';
import { cross, normalize } from '../../volume/geometry.js';
import type { Vec3 } from '../../volume/types.js';
import type { FrameFormat } from './codecs/index.js';
import { requireNonEmptyFile } from '../file-errors.js';
import { ds1, dsArray, firstItem, intStr, items, str, strArray, TAG, us, vec3 } from './dataset.js';
import { DEFLATED_LE, EXPLICIT_BE, EXPLICIT_LE, IMPLICIT_LE, isNativeSyntax } from './transfer-syntax.js';

const HEAD_BYTES = 64 * 1024;

export interface FrameGeometry {
  /** ImagePositionPatient: LPS mm of the centre of the first transmitted pixel. */
  ippLps?: Vec3;
  /** ImageOrientationPatient: row direction (i, along a row, increasing column) and column direction (j). */
  rowCosines?: Vec3;
  colCosines?: Vec3;
  /** PixelSpacing as stored: [row spacing (between rows, along j), column spacing (between columns, along i)]. */
  pixelSpacing?: readonly [number, number];
  sliceThickness?: number;
  rescaleSlope: number;
  rescaleIntercept: number;
}

export type PixelDataLocation =
  | { kind: 'native'; offset: number; length: number; bigEndian: boolean }
  | { kind: 'needs-full-parse'; reason: 'encapsulated' | 'deflated' }
  | { kind: 'none' };

/** One DICOM file; its Image Pixel attributes (rows, columns, bits, representation, photometric) are the FrameFormat. */
export interface DicomInstance extends FrameFormat {
  file: string;
  fileSize: number;
  transferSyntaxUid: string;
  /** True when the file had no Part 10 meta header and its encoding was inferred. */
  noMetaHeader: boolean;
  sopClassUid?: string;
  sopInstanceUid?: string;
  studyInstanceUid?: string;
  seriesInstanceUid?: string;
  frameOfReferenceUid?: string;
  modality?: string;
  studyDescription?: string;
  seriesDescription?: string;
  seriesNumber?: number;
  instanceNumber?: number;
  acquisitionNumber?: number;
  echoNumber?: number;
  temporalPosition?: number;
  studyDate?: string;
  studyId?: string;
  patientName?: string;
  patientId?: string;
  patientBirthDate?: string;
  patientSex?: string;
  imageType: string[];
  numberOfFrames: number;
  /** Geometry of each frame, length numberOfFrames. */
  frames: FrameGeometry[];
  pixelData: PixelDataLocation;
}

function describeError(e: unknown): string {
  if (typeof e === 'string') return e;
  if (e instanceof Error) return e.message;
  // dicom-parser throws { exception, dataSet } objects for some malformed input
  if (e && typeof e === 'object' && 'exception' in e) return String((e as { exception: unknown }).exception);
  return String(e);
}

/** Guesses the encoding of a file without a Part 10 header from its first tag (as pydicom does). */
function guessSyntaxWithoutMeta(bytes: Uint8Array): string | undefined {
  if (bytes.length < 8) return undefined;
  const groupLE = bytes[0]! | (bytes[1]! << 8);
  const groupBE = (bytes[0]! << 8) | bytes[1]!;
  const vrLike = (c: number) => c >= 0x41 && c <= 0x5a;
  const explicit = vrLike(bytes[4]!) && vrLike(bytes[5]!);
  if (groupLE >= 0x0002 && groupLE <= 0x0028) return explicit ? EXPLICIT_LE : IMPLICIT_LE;
  if (groupBE >= 0x0002 && groupBE <= 0x0028 && explicit) return EXPLICIT_BE;
  return undefined;
}

function hasPreamble(bytes: Uint8Array): boolean {
  return bytes.length >= 132 && bytes[128] === 0x44 && bytes[129] === 0x49 && bytes[130] === 0x43 && bytes[131] === 0x4d;
}

/**
 * Parses DICOM bytes with dicom-parser, inferring the encoding of files without a meta header.
 * @throws InputFileError NOT_DICOM or INVALID_HEADER/TRUNCATED_FILE.
 */
export function parseDicomBytes(bytes: Buffer, file: string, untilPixelData: boolean): { ds: DataSet; noMeta: boolean } {
  const options = untilPixelData ? { untilTag: TAG.PixelData } : {};
  if (hasPreamble(bytes)) {
    try {
      return { ds: dicomParser.parseDicom(bytes, options), noMeta: false };
    } catch (e) {
      const msg = describeError(e);
      const code = /overrun|beyond|end of buffer|outside the bounds/i.test(msg) ? 'TRUNCATED_FILE' : 'INVALID_HEADER';
      throw new InputFileError(code, file, `DICOM file cannot be parsed (${msg})`, { cause: e });
    }
  }
  const guess = guessSyntaxWithoutMeta(bytes);
  if (!guess) {
    throw new InputFileError('NOT_DICOM', file, 'not a DICOM file (no "DICM" marker at byte 128 and no DICOM tag at its start)');
  }
  try {
    const ds = dicomParser.parseDicom(bytes, { ...options, TransferSyntaxUID: guess });
    if (!ds.elements[TAG.SOPClassUID] && !ds.elements[TAG.Rows] && !ds.elements[TAG.Modality]) {
      throw new Error('no SOP Class UID, Modality or Rows element');
    }
    return { ds, noMeta: true };
  } catch (e) {
    if (e instanceof InputFileError) throw e;
    throw new InputFileError('NOT_DICOM', file, `not a readable DICOM file (no meta header; parsing as ${guess} failed: ${describeError(e)})`, { cause: e });
  }
}

/** Reused for every header's first read (allocated once, not zero-filled): instances copy what they keep. */
let headBuffer: Buffer | undefined;

/**
 * Reads the header of one DICOM file: one `pread` of its first 64 KiB into a shared buffer, or the whole file when
 * its header is longer or the dataset is deflated.
 * The I/O is synchronous on purpose: a header read is a few µs from the page cache, while async stat/open/read/close
 * cost four thread-pool round trips per file (the 300-file benchmark's scan took 74–87 ms with them, 44–58 ms
 * without, most of that now parsing; docs/benchmarks.md, IO). scanDicom yields to the event loop between batches.
 * @throws InputFileError FILE_NOT_FOUND, EMPTY_FILE, NOT_DICOM, INVALID_HEADER, TRUNCATED_FILE.
 */
export async function readDicomInstance(file: string): Promise<DicomInstance> {
  let fd: number;
  try {
    fd = openSync(file, 'r');
  } catch (e) {
    await requireNonEmptyFile(file); // throws the typed error for a missing or unreadable file
    throw e;
  }
  let parsed: { ds: DataSet; noMeta: boolean } | undefined;
  let size: number;
  try {
    const st = fstatSync(fd);
    size = st.size;
    if (st.isDirectory() || size === 0) await requireNonEmptyFile(file); // throws UNSUPPORTED_FORMAT / EMPTY_FILE
    if (size > HEAD_BYTES) {
      headBuffer ??= Buffer.allocUnsafe(HEAD_BYTES);
      const bytes = headBuffer.subarray(0, readSync(fd, headBuffer, 0, HEAD_BYTES, 0));
      try {
        parsed = parseDicomBytes(bytes, file, true);
        if (str(parsed.ds, TAG.TransferSyntaxUID) === DEFLATED_LE || !parsed.ds.elements[TAG.PixelData]) parsed = undefined;
      } catch (e) {
        if (e instanceof InputFileError && e.code === 'NOT_DICOM') throw e;
        parsed = undefined;
      }
    }
    parsed ??= parseDicomBytes(readFileSync(fd), file, true);
  } finally {
    closeSync(fd);
  }
  try {
    return instanceFromDataSet(parsed.ds, file, size, parsed.noMeta);
  } catch (e) {
    if (e instanceof InputFileError) throw e;
    // dicom-parser's accessors throw plain strings on elements that run past the buffer
    throw new InputFileError('INVALID_HEADER', file, `malformed DICOM element (${describeError(e)})`, { cause: e });
  }
}

function frameGeometryFrom(groups: (DataSet | undefined)[], top: DataSet): FrameGeometry {
  const pick = <T>(f: (d: DataSet) => T | undefined): T | undefined => {
    for (const g of groups) {
      if (!g) continue;
      const v = f(g);
      if (v !== undefined) return v;
    }
    return f(top);
  };
  const iop = pick((g) => dsArray(firstItem(g, TAG.PlaneOrientationSequence) ?? g, TAG.ImageOrientationPatient));
  const ipp = pick((g) => vec3(dsArray(firstItem(g, TAG.PlanePositionSequence) ?? g, TAG.ImagePositionPatient)));
  const ps = pick((g) => dsArray(firstItem(g, TAG.PixelMeasuresSequence) ?? g, TAG.PixelSpacing));
  const thickness = pick((g) => ds1(firstItem(g, TAG.PixelMeasuresSequence) ?? g, TAG.SliceThickness));
  const slope = pick((g) => ds1(firstItem(g, TAG.PixelValueTransformationSequence) ?? g, TAG.RescaleSlope));
  const intercept = pick((g) => ds1(firstItem(g, TAG.PixelValueTransformationSequence) ?? g, TAG.RescaleIntercept));
  return {
    ippLps: ipp,
    rowCosines: iop && iop.length >= 6 ? [iop[0]!, iop[1]!, iop[2]!] : undefined,
    colCosines: iop && iop.length >= 6 ? [iop[3]!, iop[4]!, iop[5]!] : undefined,
    pixelSpacing: ps && ps.length >= 2 ? [ps[0]!, ps[1]!] : undefined,
    sliceThickness: thickness,
    // No Modality LUT means stored values are the output values (PS3.3 C.11.1): identity, not a guess.
    rescaleSlope: slope === undefined || slope === 0 ? 1 : slope,
    rescaleIntercept: intercept ?? 0,
  };
}

/** Builds the instance record from a parsed dataset (exported for tests that parse in memory). */
export function instanceFromDataSet(ds: DataSet, file: string, fileSize: number, noMeta: boolean): DicomInstance {
  const transferSyntaxUid = str(ds, TAG.TransferSyntaxUID) ?? (ds.byteArrayParser === dicomParser.bigEndianByteArrayParser ? EXPLICIT_BE : IMPLICIT_LE);
  const rows = us(ds, TAG.Rows) ?? 0;
  const columns = us(ds, TAG.Columns) ?? 0;
  const bitsAllocated = us(ds, TAG.BitsAllocated) ?? 0;
  const numberOfFrames = Math.max(1, intStr(ds, TAG.NumberOfFrames) ?? 1);
  const samplesPerPixel = us(ds, TAG.SamplesPerPixel) ?? 1;
  const pixelEl = ds.elements[TAG.PixelData];

  const shared = firstItem(ds, TAG.SharedFunctionalGroupsSequence);
  const perFrame = items(ds, TAG.PerFrameFunctionalGroupsSequence);
  const frames: FrameGeometry[] = [];
  if (perFrame.length > 0 || shared) {
    for (let f = 0; f < numberOfFrames; f++) frames.push(frameGeometryFrom([perFrame[f], shared], ds));
  } else {
    const base = frameGeometryFrom([], ds);
    const offsets = dsArray(ds, TAG.GridFrameOffsetVector);
    if (numberOfFrames > 1 && offsets && offsets.length === numberOfFrames && base.ippLps && base.rowCosines && base.colCosines) {
      // RT Dose: frame f lies offsets[f] mm along the normal; relative to IPP when offsets[0] is 0, else absolute.
      const n = normalize(cross(base.rowCosines, base.colCosines));
      const ipp = base.ippLps;
      const along = offsets[0] === 0 ? 0 : ipp[0] * n[0] + ipp[1] * n[1] + ipp[2] * n[2];
      for (const o of offsets) {
        const d = o - along;
        frames.push({ ...base, ippLps: [ipp[0] + d * n[0], ipp[1] + d * n[1], ipp[2] + d * n[2]] });
      }
    } else {
      for (let f = 0; f < numberOfFrames; f++) frames.push(f === 0 ? base : { ...base, ippLps: undefined });
    }
  }

  let pixelData: PixelDataLocation = { kind: 'none' };
  if (pixelEl) {
    if (transferSyntaxUid === DEFLATED_LE) pixelData = { kind: 'needs-full-parse', reason: 'deflated' };
    else if (!isNativeSyntax(transferSyntaxUid) || pixelEl.hadUndefinedLength || pixelEl.length === 0xffffffff) {
      pixelData = { kind: 'needs-full-parse', reason: 'encapsulated' };
    } else {
      pixelData = { kind: 'native', offset: pixelEl.dataOffset, length: pixelEl.length, bigEndian: transferSyntaxUid === EXPLICIT_BE };
      if (pixelEl.dataOffset + pixelEl.length > fileSize) {
        throw new InputFileError('TRUNCATED_FILE', file, `Pixel Data claims ${pixelEl.length} bytes at offset ${pixelEl.dataOffset} but the file has only ${fileSize} bytes`);
      }
    }
  }
  const pr = us(ds, TAG.PixelRepresentation) ?? 0;
  return {
    file,
    fileSize,
    transferSyntaxUid,
    noMetaHeader: noMeta,
    sopClassUid: str(ds, TAG.SOPClassUID),
    sopInstanceUid: str(ds, TAG.SOPInstanceUID),
    studyInstanceUid: str(ds, TAG.StudyInstanceUID),
    seriesInstanceUid: str(ds, TAG.SeriesInstanceUID),
    frameOfReferenceUid: str(ds, TAG.FrameOfReferenceUID),
    modality: str(ds, TAG.Modality),
    studyDescription: str(ds, TAG.StudyDescription),
    seriesDescription: str(ds, TAG.SeriesDescription),
    seriesNumber: intStr(ds, TAG.SeriesNumber),
    instanceNumber: intStr(ds, TAG.InstanceNumber),
    acquisitionNumber: intStr(ds, TAG.AcquisitionNumber),
    echoNumber: intStr(ds, TAG.EchoNumbers),
    temporalPosition: intStr(ds, TAG.TemporalPositionIdentifier),
    studyDate: str(ds, TAG.StudyDate),
    studyId: str(ds, TAG.StudyID),
    patientName: str(ds, TAG.PatientName),
    patientId: str(ds, TAG.PatientID),
    patientBirthDate: str(ds, TAG.PatientBirthDate),
    patientSex: str(ds, TAG.PatientSex),
    imageType: strArray(ds, TAG.ImageType).map((s) => s.toUpperCase()),
    rows,
    columns,
    samplesPerPixel,
    bitsAllocated,
    bitsStored: us(ds, TAG.BitsStored) ?? bitsAllocated,
    pixelRepresentation: pr === 1 ? 1 : 0,
    photometricInterpretation: (str(ds, TAG.PhotometricInterpretation) ?? 'MONOCHROME2').toUpperCase(),
    planarConfiguration: us(ds, TAG.PlanarConfiguration) === 1 ? 1 : 0,
    numberOfFrames,
    frames,
    pixelData,
  };
}

