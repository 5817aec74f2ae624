/**
 * DICOM JSON model (PS3.18 §F.2) as QIDO-RS and WADO-RS metadata return it, with small typed accessors. Servers
 * differ in details the accessors absorb: IS/DS values come as numbers (Orthanc) or strings, empty attributes have no
 * "Value", person names are {Alphabetic}.
 */
import { SegError } from '../../errors.js';

export interface DicomJsonAttribute {
  vr: string;
  Value?: unknown[];
  BulkDataURI?: string;
  InlineBinary?: string;
}

/** One data set: attributes keyed by 8-digit upper-case hex tag, e.g. "0020000D". */
export type DicomJsonDataset = Record<string, DicomJsonAttribute>;

/** Tags used by the accessors below (and handy for callers). */
export const TAG = {
  SpecificCharacterSet: '00080005',
  SopClassUid: '00080016',
  SopInstanceUid: '00080018',
  StudyDate: '00080020',
  StudyTime: '00080030',
  AccessionNumber: '00080050',
  Modality: '00080060',
  ModalitiesInStudy: '00080061',
  StudyDescription: '00081030',
  SeriesDescription: '0008103E',
  RetrieveUrl: '00081190',
  FailedSopSequence: '00081198',
  ReferencedSopSequence: '00081199',
  ReferencedSopClassUid: '00081150',
  ReferencedSopInstanceUid: '00081155',
  FailureReason: '00081197',
  WarningReason: '00081196',
  ImageType: '00080008',
  PatientName: '00100010',
  PatientId: '00100020',
  SliceThickness: '00180050',
  StudyInstanceUid: '0020000D',
  SeriesInstanceUid: '0020000E',
  StudyId: '00200010',
  SeriesNumber: '00200011',
  InstanceNumber: '00200013',
  ImageOrientationPatient: '00200037',
  NumberOfStudyRelatedSeries: '00201206',
  NumberOfStudyRelatedInstances: '00201208',
  NumberOfSeriesRelatedInstances: '00201209',
  NumberOfFrames: '00280008',
  Rows: '00280010',
  Columns: '00280011',
} as const;

/** All values of an attribute (empty when absent or empty). */
export function values(ds: DicomJsonDataset, tag: string): unknown[] {
  return ds[tag]?.Value ?? [];
}

/** Values as strings; person names as their Alphabetic group (DICOM "Family^Given"). */
export function strings(ds: DicomJsonDataset, tag: string): string[] {
  return values(ds, tag).flatMap((v) => {
    if (typeof v === 'string') return [v];
    if (typeof v === 'number') return [String(v)];
    if (v && typeof v === 'object' && 'Alphabetic' in v && typeof v.Alphabetic === 'string') return [v.Alphabetic];
    return [];
  });
}

/** The first value as a string, or undefined. */
export function string(ds: DicomJsonDataset, tag: string): string | undefined {
  return strings(ds, tag)[0];
}

/** Values as numbers (IS/DS may be JSON numbers or decimal strings); non-numeric values are left out. */
export function numbers(ds: DicomJsonDataset, tag: string): number[] {
  return values(ds, tag).flatMap((v) => {
    const n = typeof v === 'number' ? v : typeof v === 'string' && v.trim() !== '' ? Number(v) : NaN;
    return Number.isFinite(n) ? [n] : [];
  });
}

/** The first value as a number, or undefined. */
export function number(ds: DicomJsonDataset, tag: string): number | undefined {
  return numbers(ds, tag)[0];
}

/** Items of a sequence attribute (SQ). */
export function sequence(ds: DicomJsonDataset, tag: string): DicomJsonDataset[] {
  return values(ds, tag).filter((v): v is DicomJsonDataset => v !== null && typeof v === 'object');
}

/** A QIDO-RS study result, typed. */
export interface StudySummary {
  studyInstanceUid: string;
  patientId?: string | undefined;
  patientName?: string | undefined;
  studyDate?: string | undefined;
  studyTime?: string | undefined;
  accessionNumber?: string | undefined;
  studyDescription?: string | undefined;
  modalitiesInStudy: string[];
  numberOfSeries?: number | undefined;
  numberOfInstances?: number | undefined;
}

/** A QIDO-RS series result, typed. */
export interface SeriesSummary {
  studyInstanceUid?: string | undefined;
  seriesInstanceUid: string;
  modality?: string | undefined;
  seriesNumber?: number | undefined;
  seriesDescription?: string | undefined;
  numberOfInstances?: number | undefined;
}

/** A QIDO-RS instance result, typed. */
export interface InstanceSummary {
  studyInstanceUid?: string | undefined;
  seriesInstanceUid?: string | undefined;
  sopInstanceUid: string;
  sopClassUid?: string | undefined;
  instanceNumber?: number | undefined;
  numberOfFrames?: number | undefined;
  rows?: number | undefined;
  columns?: number | undefined;
}

export function studySummary(ds: DicomJsonDataset): StudySummary {
  return {
    studyInstanceUid: required(ds, TAG.StudyInstanceUid, 'StudyInstanceUID'),
    patientId: string(ds, TAG.PatientId),
    patientName: string(ds, TAG.PatientName),
    studyDate: string(ds, TAG.StudyDate),
    studyTime: string(ds, TAG.StudyTime),
    accessionNumber: string(ds, TAG.AccessionNumber),
    studyDescription: string(ds, TAG.StudyDescription),
    modalitiesInStudy: strings(ds, TAG.ModalitiesInStudy),
    numberOfSeries: number(ds, TAG.NumberOfStudyRelatedSeries),
    numberOfInstances: number(ds, TAG.NumberOfStudyRelatedInstances),
  };
}

export function seriesSummary(ds: DicomJsonDataset): SeriesSummary {
  return {
    studyInstanceUid: string(ds, TAG.StudyInstanceUid),
    seriesInstanceUid: required(ds, TAG.SeriesInstanceUid, 'SeriesInstanceUID'),
    modality: string(ds, TAG.Modality),
    seriesNumber: number(ds, TAG.SeriesNumber),
    seriesDescription: string(ds, TAG.SeriesDescription),
    numberOfInstances: number(ds, TAG.NumberOfSeriesRelatedInstances),
  };
}

export function instanceSummary(ds: DicomJsonDataset): InstanceSummary {
  return {
    studyInstanceUid: string(ds, TAG.StudyInstanceUid),
    seriesInstanceUid: string(ds, TAG.SeriesInstanceUid),
    sopInstanceUid: required(ds, TAG.SopInstanceUid, 'SOPInstanceUID'),
    sopClassUid: string(ds, TAG.SopClassUid),
    instanceNumber: number(ds, TAG.InstanceNumber),
    numberOfFrames: number(ds, TAG.NumberOfFrames),
    rows: number(ds, TAG.Rows),
    columns: number(ds, TAG.Columns),
  };
}

/**
 * @throws SegError REMOTE_UNAVAILABLE when a result lacks the key attribute every QIDO-RS answer at that level must
 *   carry (the server does not speak DICOMweb as required, so it is unusable rather than rejecting a request).
 */
function required(ds: DicomJsonDataset, tag: string, name: string): string {
  const v = string(ds, tag);
  if (v === undefined) {
    throw new SegError('REMOTE_UNAVAILABLE', `DICOM JSON result has no ${name} (${tag}): ${JSON.stringify(ds).slice(0, 200)}`);
  }
  return v;
}

/** Whether `x` has the shape of a DICOM JSON data set (an object of 8-hex-digit keys with a string `vr`). */
export function isDicomJsonDataset(x: unknown): x is DicomJsonDataset {
  if (x === null || typeof x !== 'object' || Array.isArray(x)) return false;
  return Object.entries(x).every(
    ([k, v]) => /^[0-9A-Fa-f]{8}$/.test(k) && v !== null && typeof v === 'object' && typeof (v as { vr?: unknown }).vr === 'string',
  );
}
