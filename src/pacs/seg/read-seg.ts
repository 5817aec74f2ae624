/**
 * medseg's DICOM Segmentation (SEG) reader, on dicom-parser like src/io/dicom: segment descriptions and a label map
 * Volume (LPS mm) rebuilt from each frame's PlanePosition, the shared PlaneOrientation and PixelMeasures. With the
 * source series it is the source's grid (frames are placed by position, whatever their order or references);
 * without it, the grid spanned by the frames' positions.
 *
 * Overlaps (a voxel in several segments, possible in foreign SEGs): the label map keeps the highest segment number;
 * `masks` (option perSegment) keeps every segment on its own. FRACTIONAL SEGs: `fractions` holds each segment's
 * stored value / MaximumFractionalValue, and the label map marks voxels whose fraction is > 0.5.
 */
import { promises as fsp } from 'node:fs';
import type { DataSet } from 'dicom-parser';
import { InputFileError } from '../../errors.js';
import { dsArray, firstItem, intStr, items, str, TAG, us, vec3 } from '../../io/dicom/dataset.js';
import { parseDicomBytes } from '../../io/dicom/instance.js';
import type { DicomVolume } from '../../io/dicom/load-volume.js';
import { EXPLICIT_LE, IMPLICIT_LE } from '../../io/dicom/transfer-syntax.js';
import { requireNonEmptyFile } from '../../io/file-errors.js';
import { axis, cross, dot, lpsToIndex, normalize, sub } from '../../volume/geometry.js';
import type { Mat3, Vec3, Volume } from '../../volume/types.js';
import { makeVolume } from '../../volume/volume.js';
import { bitAt } from './bits.js';
import { dicomLabToSrgb, type DicomLab, type Rgb8 } from './colour.js';
import { SEG_TAG, SEGMENTATION_STORAGE, type CodedConcept } from './constants.js';

export interface SegSegment {
  number: number;
  label: string;
  algorithmType?: string;
  algorithmName?: string;
  category?: CodedConcept;
  type?: CodedConcept;
  /** RecommendedDisplayCIELabValue as stored, and its sRGB equivalent. */
  cielab?: DicomLab;
  color?: Rgb8;
  /** Frames of this segment in the file. */
  frames: number;
}

export interface SegFrame {
  /** 1-based segment number (ReferencedSegmentNumber). */
  segment: number;
  /** Plane of the output grid (0-based k). */
  k: number;
  positionLps: Vec3;
  /** The first DerivationImage source, when the frame names one. */
  referencedSopInstanceUid?: string;
  /** 1-based frame of a multi-frame source (ReferencedFrameNumber). */
  referencedFrameNumber?: number;
  /** Pixels set (BINARY) or with a nonzero stored fraction (FRACTIONAL). */
  setPixels: number;
}

export interface ReadSegOptions {
  /** The source series: the label map is returned on its grid, and frames off that grid are errors. */
  source?: DicomVolume;
  /** Also return one mask per segment (overlaps kept). */
  perSegment?: boolean;
}

export interface ReadSegResult {
  file: string;
  sopInstanceUid?: string;
  seriesInstanceUid?: string;
  studyInstanceUid?: string;
  frameOfReferenceUid?: string;
  referencedSeriesInstanceUid?: string;
  segmentationType: 'BINARY' | 'FRACTIONAL';
  fractionalType?: string;
  maxFractionalValue?: number;
  segments: SegSegment[];
  frames: SegFrame[];
  /** Segment numbers per voxel (0 = none; the highest number where segments overlap). */
  labelMap: Volume<Uint8Array | Uint16Array>;
  masks?: Map<number, Volume<Uint8Array>>;
  fractions?: Map<number, Volume<Float32Array>>;
  /** Voxels that belong to more than one segment. */
  overlapVoxels: number;
  notes: string[];
}

const POSITION_TOL_MM = 0.01;
const ORIENTATION_TOL = 1e-4;

function invalid(file: string, problem: string): InputFileError {
  return new InputFileError('INVALID_SEG', file, problem);
}

function codeOf(ds: DataSet | undefined): CodedConcept | undefined {
  if (!ds) return undefined;
  const value = str(ds, SEG_TAG.CodeValue);
  const scheme = str(ds, SEG_TAG.CodingSchemeDesignator);
  const meaning = str(ds, SEG_TAG.CodeMeaning);
  return value && scheme && meaning ? { scheme, value, meaning } : undefined;
}

/** US values of an element with VM > 1 (dicom-parser's uint16 takes an index). */
function usArray(ds: DataSet, tag: string): number[] {
  const el = ds.elements[tag];
  if (!el) return [];
  return Array.from({ length: el.length / 2 }, (_, n) => ds.uint16(tag, n)!);
}

/** Reads the whole file and parses it, or throws a typed error naming the file. */
async function parseFile(file: string): Promise<DataSet> {
  await requireNonEmptyFile(file);
  const bytes = await fsp.readFile(file);
  const { ds } = parseDicomBytes(bytes, file, false);
  return ds;
}

function readSegments(ds: DataSet, file: string): SegSegment[] {
  const seq = items(ds, SEG_TAG.SegmentSequence);
  if (seq.length === 0) throw invalid(file, 'has no SegmentSequence (0062,0002): no segment is described');
  const segments = seq.map((s, n) => {
    const number = us(s, SEG_TAG.SegmentNumber);
    if (number === undefined) throw invalid(file, `SegmentSequence item ${n + 1} has no SegmentNumber`);
    const lab = usArray(s, SEG_TAG.RecommendedDisplayCIELabValue);
    const cielab = lab.length === 3 ? ([lab[0]!, lab[1]!, lab[2]!] as const) : undefined;
    const seg: SegSegment = { number, label: str(s, SEG_TAG.SegmentLabel) ?? `segment ${number}`, frames: 0 };
    const algorithmType = str(s, SEG_TAG.SegmentAlgorithmType);
    const algorithmName = str(s, SEG_TAG.SegmentAlgorithmName);
    const category = codeOf(firstItem(s, SEG_TAG.SegmentedPropertyCategoryCodeSequence));
    const type = codeOf(firstItem(s, SEG_TAG.SegmentedPropertyTypeCodeSequence));
    if (algorithmType) seg.algorithmType = algorithmType;
    if (algorithmName) seg.algorithmName = algorithmName;
    if (category) seg.category = category;
    if (type) seg.type = type;
    if (cielab) {
      seg.cielab = cielab;
      seg.color = dicomLabToSrgb(cielab);
    }
    return seg;
  });
  const numbers = new Set(segments.map((s) => s.number));
  if (numbers.size !== segments.length) throw invalid(file, `SegmentNumbers repeat (${segments.map((s) => s.number).join(', ')})`);
  return segments.sort((a, b) => a.number - b.number);
}

interface RawFrame {
  segment: number;
  ipp: Vec3;
  sop?: string;
  frameNumber?: number;
}

function readFrames(ds: DataSet, file: string, numberOfFrames: number, segmentNumbers: Set<number>): RawFrame[] {
  const shared = firstItem(ds, TAG.SharedFunctionalGroupsSequence);
  const perFrame = items(ds, TAG.PerFrameFunctionalGroupsSequence);
  if (perFrame.length !== numberOfFrames) {
    throw invalid(file, `PerFrameFunctionalGroupsSequence has ${perFrame.length} items but NumberOfFrames is ${numberOfFrames}`);
  }
  return perFrame.map((g, f) => {
    const pick = (tag: string) => firstItem(g, tag) ?? firstItem(shared, tag);
    const segment = us(pick(SEG_TAG.SegmentIdentificationSequence) ?? g, SEG_TAG.ReferencedSegmentNumber);
    if (segment === undefined) throw invalid(file, `frame ${f + 1} has no SegmentIdentificationSequence/ReferencedSegmentNumber`);
    if (!segmentNumbers.has(segment)) throw invalid(file, `frame ${f + 1} refers to segment ${segment}, which SegmentSequence does not describe`);
    const pos = pick(TAG.PlanePositionSequence);
    const ipp = pos && vec3(dsArray(pos, TAG.ImagePositionPatient));
    if (!ipp) throw invalid(file, `frame ${f + 1} has no PlanePositionSequence/ImagePositionPatient: its position in the patient is unknown`);
    const source = firstItem(firstItem(g, SEG_TAG.DerivationImageSequence), SEG_TAG.SourceImageSequence);
    const sop = source && str(source, SEG_TAG.ReferencedSOPInstanceUID);
    const frameNumber = source && intStr(source, SEG_TAG.ReferencedFrameNumber);
    return { segment, ipp, ...(sop ? { sop } : {}), ...(frameNumber !== undefined ? { frameNumber } : {}) };
  });
}

interface Grid {
  dims: [number, number, number];
  spacing: Vec3;
  origin: Vec3;
  direction: Mat3;
  /** k of each raw frame. */
  ks: number[];
}

/** Places frames on the source grid: each frame must be voxel (0, 0, k) of it, in its orientation. */
function gridFromSource(source: DicomVolume, frames: RawFrame[], rowCos: Vec3, colCos: Vec3, file: string): Grid {
  const v = source.volume;
  const angle = Math.max(...[0, 1].map((c) => 1 - Math.abs(dot(normalize(c === 0 ? rowCos : colCos), axis(v.direction, c as 0 | 1)))));
  if (angle > ORIENTATION_TOL) {
    throw new InputFileError('INVALID_SEG', file, `ImageOrientationPatient [${[...rowCos, ...colCos].join(', ')}] is not the source series' orientation; the SEG was not made on series ${source.series.id}`);
  }
  const ks = frames.map((fr, f) => {
    const [i, j, k] = lpsToIndex(v, fr.ipp);
    const kr = Math.round(k);
    const off = Math.hypot(i * v.spacing[0], j * v.spacing[1], (k - kr) * v.spacing[2]);
    if (off > POSITION_TOL_MM || kr < 0 || kr >= v.dims[2]) {
      throw new InputFileError('INVALID_SEG', file, `frame ${f + 1} at [${fr.ipp.join(', ')}] is not a plane of source series ${source.series.id} (nearest plane ${kr}, ${off.toFixed(3)} mm away)`);
    }
    return kr;
  });
  return { dims: [v.dims[0], v.dims[1], v.dims[2]], spacing: v.spacing, origin: v.origin, direction: v.direction, ks };
}

/**
 * The grid the frames span: planes sorted along the normal, spaced by SpacingBetweenSlices or else the smallest
 * gap between distinct positions; every frame must fall on one of them (within 0.01 mm). A single plane takes
 * SpacingBetweenSlices, else SliceThickness, as its k spacing (with a note).
 */
function gridFromFrames(frames: RawFrame[], rows: number, cols: number, rowCos: Vec3, colCos: Vec3, pixelSpacing: number[], betweenSlices: number | undefined, thickness: number | undefined, file: string, notes: string[]): Grid {
  const row = normalize(rowCos);
  const col = normalize(colCos);
  const normal = normalize(cross(row, col));
  const along = frames.map((f) => dot(f.ipp, normal));
  const order = [...along.keys()].sort((a, b) => along[a]! - along[b]!);
  const distinct: number[] = [];
  for (const f of order) if (distinct.length === 0 || along[f]! - along[distinct[distinct.length - 1]!]! > POSITION_TOL_MM) distinct.push(f);
  const gaps = distinct.slice(1).map((f, n) => along[f]! - along[distinct[n]!]!);
  let step = betweenSlices && betweenSlices > 0 ? betweenSlices : gaps.length > 0 ? Math.min(...gaps) : thickness;
  if (step === undefined || !(step > 0)) {
    step = 1;
    notes.push('one plane and neither SpacingBetweenSlices nor SliceThickness: its k spacing is unknown and was set to 1 mm');
  } else if (gaps.length === 0) notes.push(`one plane: its k spacing is taken from ${betweenSlices ? 'SpacingBetweenSlices' : 'SliceThickness'} (${step} mm)`);
  const firstF = distinct[0]!;
  const lastF = distinct[distinct.length - 1]!;
  const kOf = (f: number) => Math.round((along[f]! - along[firstF]!) / step);
  const nk = kOf(lastF) + 1;
  // The k axis follows the positions (a sheared stack, e.g. gantry tilt, stays exact), else the normal.
  const o = frames[firstF]!.ipp;
  const kStep: Vec3 = nk > 1 ? (sub(frames[lastF]!.ipp, o).map((d) => d / (nk - 1)) as unknown as Vec3) : [normal[0] * step, normal[1] * step, normal[2] * step];
  const ks = frames.map((fr, f) => {
    const k = kOf(f);
    const expect: Vec3 = [o[0] + k * kStep[0], o[1] + k * kStep[1], o[2] + k * kStep[2]];
    const off = Math.hypot(...sub(fr.ipp, expect));
    if (off > POSITION_TOL_MM + 1e-6 * Math.abs(k) * step) {
      throw invalid(file, `frame ${f + 1} at [${fr.ipp.join(', ')}] is ${off.toFixed(3)} mm off the grid the frames span (planes ${step} mm apart from [${o.join(', ')}])`);
    }
    return k;
  });
  const kLen = Math.hypot(...kStep);
  const kDir = kStep.map((d) => d / kLen);
  return {
    dims: [cols, rows, nk],
    spacing: [pixelSpacing[1]!, pixelSpacing[0]!, kLen],
    origin: o,
    direction: [...row, ...col, ...kDir] as unknown as Mat3,
    ks,
  };
}

/**
 * Reads a DICOM SEG file.
 * @throws InputFileError INVALID_SEG (not a Segmentation, missing or inconsistent frames/geometry), TRUNCATED_FILE,
 *   NOT_DICOM, UNSUPPORTED_TRANSFER_SYNTAX (compressed SEGs), INVALID_SEG also when the SEG does not lie on the
 *   given source series; every message names the file.
 */
export async function readSeg(file: string, options: ReadSegOptions = {}): Promise<ReadSegResult> {
  const ds = await parseFile(file);
  const sopClass = str(ds, TAG.SOPClassUID);
  if (sopClass !== SEGMENTATION_STORAGE) {
    throw invalid(file, `is not a DICOM Segmentation: SOP Class ${sopClass ?? '(none)'}${str(ds, TAG.Modality) ? `, modality ${str(ds, TAG.Modality)}` : ''} (expected ${SEGMENTATION_STORAGE} Segmentation Storage)`);
  }
  const syntax = str(ds, TAG.TransferSyntaxUID) ?? IMPLICIT_LE;
  if (syntax !== EXPLICIT_LE && syntax !== IMPLICIT_LE) {
    throw new InputFileError('UNSUPPORTED_TRANSFER_SYNTAX', file, `SEG in transfer syntax ${syntax}: medseg reads uncompressed (implicit or explicit VR little endian) SEGs; decompress it first (e.g. dcmdjpeg/gdcmconv --raw)`);
  }
  const notes: string[] = [];
  const segType = str(ds, SEG_TAG.SegmentationType);
  if (segType !== 'BINARY' && segType !== 'FRACTIONAL') throw invalid(file, `SegmentationType is ${segType ?? 'missing'} (expected BINARY or FRACTIONAL)`);
  const rows = us(ds, TAG.Rows) ?? 0;
  const cols = us(ds, TAG.Columns) ?? 0;
  const bits = us(ds, TAG.BitsAllocated);
  const numberOfFrames = intStr(ds, TAG.NumberOfFrames) ?? 1;
  if (!(rows > 0 && cols > 0 && numberOfFrames > 0)) throw invalid(file, `has ${cols}×${rows} pixels and ${numberOfFrames} frames`);
  if ((segType === 'BINARY' && bits !== 1) || (segType === 'FRACTIONAL' && bits !== 8)) {
    throw invalid(file, `${segType} with BitsAllocated ${bits} (expected ${segType === 'BINARY' ? 1 : 8}, PS3.3 C.8.20.2.1)`);
  }
  const maxFraction = segType === 'FRACTIONAL' ? us(ds, SEG_TAG.MaximumFractionalValue) : undefined;
  if (segType === 'FRACTIONAL' && !(maxFraction && maxFraction > 0)) throw invalid(file, 'FRACTIONAL without a positive MaximumFractionalValue');
  const plane = rows * cols;
  const pixelEl = ds.elements[TAG.PixelData];
  if (!pixelEl) throw invalid(file, 'has no Pixel Data');
  const needed = segType === 'BINARY' ? Math.ceil((numberOfFrames * plane) / 8) : numberOfFrames * plane;
  if (pixelEl.length < needed || pixelEl.dataOffset + needed > ds.byteArray.length) {
    throw new InputFileError('TRUNCATED_FILE', file, `Pixel Data has ${Math.min(pixelEl.length, ds.byteArray.length - pixelEl.dataOffset)} bytes but ${numberOfFrames} frames of ${cols}×${rows} ${segType} pixels need ${needed}`);
  }
  const pixels = ds.byteArray.subarray(pixelEl.dataOffset, pixelEl.dataOffset + needed);

  const segments = readSegments(ds, file);
  const bySegment = new Map(segments.map((s) => [s.number, s]));
  const raw = readFrames(ds, file, numberOfFrames, new Set(bySegment.keys()));
  const shared = firstItem(ds, TAG.SharedFunctionalGroupsSequence);
  const groupOf = (f: number, tag: string) => firstItem(items(ds, TAG.PerFrameFunctionalGroupsSequence)[f], tag) ?? firstItem(shared, tag);
  const iop = dsArray(groupOf(0, TAG.PlaneOrientationSequence) ?? ds, TAG.ImageOrientationPatient);
  const measures = groupOf(0, TAG.PixelMeasuresSequence);
  const ps = measures && dsArray(measures, TAG.PixelSpacing);
  if (!iop || iop.length < 6) throw invalid(file, 'has no PlaneOrientationSequence/ImageOrientationPatient');
  if (!ps || ps.length < 2 || !(ps[0]! > 0 && ps[1]! > 0)) throw invalid(file, 'has no valid PixelMeasuresSequence/PixelSpacing');
  const rowCos: Vec3 = [iop[0]!, iop[1]!, iop[2]!];
  const colCos: Vec3 = [iop[3]!, iop[4]!, iop[5]!];

  const frameOfReferenceUid = str(ds, TAG.FrameOfReferenceUID);
  let grid: Grid;
  if (options.source) {
    const src = options.source;
    if (src.volume.dims[0] !== cols || src.volume.dims[1] !== rows) {
      throw new InputFileError('INVALID_SEG', file, `frames of ${cols}×${rows} pixels do not fit source series ${src.series.id} (${src.volume.dims[0]}×${src.volume.dims[1]})`);
    }
    if (frameOfReferenceUid && src.series.frameOfReferenceUid && frameOfReferenceUid !== src.series.frameOfReferenceUid) {
      throw new InputFileError('INVALID_SEG', file, `FrameOfReferenceUID ${frameOfReferenceUid} differs from source series ${src.series.id}'s ${src.series.frameOfReferenceUid}: the SEG belongs to another acquisition`);
    }
    grid = gridFromSource(src, raw, rowCos, colCos, file);
  } else {
    grid = gridFromFrames(raw, rows, cols, rowCos, colCos, ps, measures && dsArray(measures, SEG_TAG.SpacingBetweenSlices)?.[0], measures && dsArray(measures, TAG.SliceThickness)?.[0], file, notes);
  }

  const [nx, ny, nz] = grid.dims;
  const maxSegment = segments[segments.length - 1]!.number;
  const labelData = maxSegment > 255 ? new Uint16Array(nx * ny * nz) : new Uint8Array(nx * ny * nz);
  const masks = options.perSegment ? new Map(segments.map((s) => [s.number, new Uint8Array(nx * ny * nz)])) : undefined;
  const fractions = segType === 'FRACTIONAL' ? new Map(segments.map((s) => [s.number, new Float32Array(nx * ny * nz)])) : undefined;
  let overlapVoxels = 0;
  const frames: SegFrame[] = raw.map((fr, f) => {
    const k = grid.ks[f]!;
    const base = k * plane;
    const mask = masks?.get(fr.segment);
    const fraction = fractions?.get(fr.segment);
    let setPixels = 0;
    for (let n = 0; n < plane; n++) {
      let inside: boolean;
      if (fraction) {
        const v = pixels[f * plane + n]!;
        if (v !== 0) setPixels++;
        fraction[base + n] = Math.min(v, maxFraction!) / maxFraction!;
        inside = 2 * v > maxFraction!;
      } else {
        inside = bitAt(pixels, f, plane, n);
        if (inside) setPixels++;
      }
      if (!inside) continue;
      if (mask) mask[base + n] = 1;
      const cur = labelData[base + n]!;
      if (cur !== 0 && cur !== fr.segment) overlapVoxels++;
      if (fr.segment > cur) labelData[base + n] = fr.segment;
    }
    bySegment.get(fr.segment)!.frames++;
    return {
      segment: fr.segment,
      k,
      positionLps: fr.ipp,
      ...(fr.sop ? { referencedSopInstanceUid: fr.sop } : {}),
      ...(fr.frameNumber !== undefined ? { referencedFrameNumber: fr.frameNumber } : {}),
      setPixels,
    };
  });
  if (overlapVoxels > 0) notes.push(`${overlapVoxels} voxels belong to more than one segment; the label map keeps the highest segment number`);

  const geometry = { spacing: grid.spacing, origin: grid.origin, direction: grid.direction, dims: grid.dims };
  let labelMap: Volume<Uint8Array | Uint16Array>;
  try {
    labelMap = makeVolume({ ...geometry, data: labelData });
  } catch (e) {
    throw invalid(file, `its geometry does not make a volume (${(e as Error).message})`);
  }
  const refSeries = firstItem(ds, SEG_TAG.ReferencedSeriesSequence);
  const result: ReadSegResult = {
    file,
    segmentationType: segType,
    segments,
    frames,
    labelMap,
    overlapVoxels,
    notes,
  };
  const set = <K extends keyof ReadSegResult>(key: K, v: ReadSegResult[K] | undefined) => {
    if (v !== undefined) result[key] = v;
  };
  set('sopInstanceUid', str(ds, TAG.SOPInstanceUID));
  set('seriesInstanceUid', str(ds, TAG.SeriesInstanceUID));
  set('studyInstanceUid', str(ds, TAG.StudyInstanceUID));
  set('frameOfReferenceUid', frameOfReferenceUid);
  set('referencedSeriesInstanceUid', refSeries && str(refSeries, TAG.SeriesInstanceUID));
  set('fractionalType', str(ds, SEG_TAG.SegmentationFractionalType));
  set('maxFractionalValue', maxFraction);
  if (masks) result.masks = new Map([...masks].map(([s, data]) => [s, makeVolume({ ...geometry, data })]));
  if (fractions) result.fractions = new Map([...fractions].map(([s, data]) => [s, makeVolume({ ...geometry, data })]));
  return result;
}
