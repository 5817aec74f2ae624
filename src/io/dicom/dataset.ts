/**
 * Typed accessors over dicom-parser DataSets: numbers and strings by tag with explicit absence, and nested sequence
 * items. Tags are dicom-parser's 'xggggeeee' strings.
 */
import type { DataSet } from 'dicom-parser';
import type { Vec3 } from '../../volume/types.js';

export const TAG = {
  TransferSyntaxUID: 'x00020010',
  SOPClassUID: 'x00080016',
  SOPInstanceUID: 'x00080018',
  ImageType: 'x00080008',
  StudyDate: 'x00080020',
  Modality: 'x00080060',
  StudyDescription: 'x00081030',
  SeriesDescription: 'x0008103e',
  PatientName: 'x00100010',
  PatientID: 'x00100020',
  PatientBirthDate: 'x00100030',
  PatientSex: 'x00100040',
  SliceThickness: 'x00180050',
  EchoNumbers: 'x00180086',
  StudyInstanceUID: 'x0020000d',
  SeriesInstanceUID: 'x0020000e',
  StudyID: 'x00200010',
  SeriesNumber: 'x00200011',
  AcquisitionNumber: 'x00200012',
  InstanceNumber: 'x00200013',
  ImagePositionPatient: 'x00200032',
  ImageOrientationPatient: 'x00200037',
  FrameOfReferenceUID: 'x00200052',
  TemporalPositionIdentifier: 'x00200100',
  SamplesPerPixel: 'x00280002',
  PhotometricInterpretation: 'x00280004',
  PlanarConfiguration: 'x00280006',
  NumberOfFrames: 'x00280008',
  Rows: 'x00280010',
  Columns: 'x00280011',
  PixelSpacing: 'x00280030',
  BitsAllocated: 'x00280100',
  BitsStored: 'x00280101',
  HighBit: 'x00280102',
  PixelRepresentation: 'x00280103',
  RescaleIntercept: 'x00281052',
  RescaleSlope: 'x00281053',
  GridFrameOffsetVector: 'x3004000c',
  SharedFunctionalGroupsSequence: 'x52009229',
  PerFrameFunctionalGroupsSequence: 'x52009230',
  PixelMeasuresSequence: 'x00289110',
  PlanePositionSequence: 'x00209113',
  PlaneOrientationSequence: 'x00209116',
  PixelValueTransformationSequence: 'x00289145',
  FrameContentSequence: 'x00209111',
  PixelData: 'x7fe00010',
  FloatPixelData: 'x7fe00008',
  DoubleFloatPixelData: 'x7fe00009',
  // Identity, codes and references (DICOM SEG/SR reading).
  SpecificCharacterSet: 'x00080005',
  StudyTime: 'x00080030',
  AccessionNumber: 'x00080050',
  ReferringPhysicianName: 'x00080090',
  ContentDate: 'x00080023',
  ContentTime: 'x00080033',
  CodeValue: 'x00080100',
  CodingSchemeDesignator: 'x00080102',
  CodeMeaning: 'x00080104',
  ReferencedSeriesSequence: 'x00081115',
  ReferencedSOPClassUID: 'x00081150',
  ReferencedSOPInstanceUID: 'x00081155',
  ReferencedFrameNumber: 'x00081160',
  ReferencedSOPSequence: 'x00081199',
  PositionReferenceIndicator: 'x00201040',
  SpacingBetweenSlices: 'x00180088',
} as const;

export function str(ds: DataSet, tag: string): string | undefined {
  try {
    const v = ds.string(tag);
    return v === undefined || v === '' ? undefined : v;
  } catch {
    return undefined;
  }
}

/** US value (or IS string, for files that encode counts as strings). */
export function us(ds: DataSet, tag: string): number | undefined {
  const el = ds.elements[tag];
  if (!el || el.length === 0) return undefined;
  if (el.vr === 'IS' || el.vr === 'DS') return ds.intString(tag);
  if (el.length < 2) return undefined;
  return ds.uint16(tag);
}

export function intStr(ds: DataSet, tag: string): number | undefined {
  const el = ds.elements[tag];
  if (!el || el.length === 0) return undefined;
  const v = ds.intString(tag);
  return Number.isFinite(v) ? v : undefined;
}

/** All values of a DS (decimal string) element; undefined when absent or any value is not a finite number. */
export function dsArray(ds: DataSet, tag: string): number[] | undefined {
  const el = ds.elements[tag];
  if (!el || el.length === 0) return undefined;
  const raw = ds.string(tag);
  if (raw === undefined) return undefined;
  const full = readFullString(ds, tag);
  const values = full.split('\\').map((s) => Number(s.trim()));
  return values.length > 0 && values.every((v) => Number.isFinite(v)) ? values : undefined;
}

/** dicom-parser's string() returns one value of a multi-valued element; this returns the whole text. */
function readFullString(ds: DataSet, tag: string): string {
  const el = ds.elements[tag]!;
  let s = '';
  for (let n = 0; n < el.length; n++) {
    const c = ds.byteArray[el.dataOffset + n]!;
    if (c === 0) break;
    s += String.fromCharCode(c);
  }
  return s.trim();
}

export function strArray(ds: DataSet, tag: string): string[] {
  const el = ds.elements[tag];
  if (!el || el.length === 0) return [];
  return readFullString(ds, tag)
    .split('\\')
    .map((s) => s.trim());
}

export function ds1(ds: DataSet, tag: string): number | undefined {
  const v = dsArray(ds, tag);
  return v?.[0];
}

export function vec3(values: number[] | undefined): Vec3 | undefined {
  return values && values.length >= 3 ? [values[0]!, values[1]!, values[2]!] : undefined;
}

/** The dataset of the first item of a sequence, if any. */
export function firstItem(ds: DataSet | undefined, tag: string): DataSet | undefined {
  return ds?.elements[tag]?.items?.[0]?.dataSet;
}

export function items(ds: DataSet | undefined, tag: string): DataSet[] {
  return (ds?.elements[tag]?.items ?? []).map((i) => i.dataSet).filter((d): d is DataSet => d !== undefined);
}
