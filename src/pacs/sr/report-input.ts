/**
 * What a TID 1500 measurement report is made from: the source series (identity and instances), the SEG it measures,
 * one entry per segment with medseg's statistics, and the algorithm. Plus the adapters from medseg's own types
 * (DicomVolume, StructureStats, model card labels).
 */
import { InputFileError, SegError } from '../../errors.js';
import type { DicomVolume } from '../../io/dicom/load-volume.js';
import type { StructureStats } from '../../measure/stats.js';
import type { Code } from './codes.js';

/** The source series the segmentation was computed on: patient/study identity and its instances. */
export interface SrSource {
  studyInstanceUid: string;
  seriesInstanceUid: string;
  /** Source modality (e.g. CT); chooses the procedure reported. */
  modality?: string | undefined;
  patientName?: string | undefined;
  patientId?: string | undefined;
  /** YYYYMMDD. */
  patientBirthDate?: string | undefined;
  patientSex?: string | undefined;
  /** YYYYMMDD. */
  studyDate?: string | undefined;
  /** HHMMSS[.ffffff]. */
  studyTime?: string | undefined;
  studyId?: string | undefined;
  accessionNumber?: string | undefined;
  referringPhysicianName?: string | undefined;
  studyDescription?: string | undefined;
  /** Every source instance (each listed once), in slice order. */
  instances: readonly { sopClassUid: string; sopInstanceUid: string }[];
}

/** The DICOM SEG whose segments are measured (same study as the source). */
export interface SegReference {
  sopInstanceUid: string;
  sopClassUid: string;
  seriesInstanceUid: string;
}

/** Statistics of one segment; intensities in Hounsfield units (leave them out for non-CT sources). */
export interface SegmentStats {
  /** Σ voxel volumes, mL (= cm³). */
  volumeMl: number;
  meanHu?: number | undefined;
  /** Population standard deviation (ddof 0). */
  stdHu?: number | undefined;
  minHu?: number | undefined;
  maxHu?: number | undefined;
  medianHu?: number | undefined;
}

export interface SrSegment {
  /** Segment number in the SEG (1-based). */
  segmentNumber: number;
  /** Human-readable label; becomes the Tracking Identifier. */
  label: string;
  /** Segmented Property Type (e.g. SCT 10200004 Liver); becomes the Finding. */
  type: Code;
  /** Segmented Property Category (e.g. SCT 123037004 Anatomical Structure); kept for the caller's records. */
  category: Code;
  /** Anatomic location of the finding (e.g. Liver for a liver lesion); omitted when absent. */
  findingSite?: Code | undefined;
  /** Tracking Unique Identifier; default: a name-based UID of the SEG instance and segment number. */
  trackingUid?: string | undefined;
  stats: SegmentStats;
}

export interface MeasurementReportInput {
  source: SrSource;
  seg: SegReference;
  segments: readonly SrSegment[];
  /** The algorithm that produced the segmentation (model card name and version). */
  algorithm: { name: string; version: string };
  /** medseg's version (package.json); the device observer and SoftwareVersions. */
  medsegVersion: string;
  /** New UIDs of the report; default random 2.25 UIDs. */
  seriesInstanceUid?: string | undefined;
  sopInstanceUid?: string | undefined;
  /** Default 1001 (dcmqi's convention for measurement series). */
  seriesNumber?: number | undefined;
  seriesDescription?: string | undefined;
  /** Content date/time, written in UTC with TimezoneOffsetFromUTC +0000; default now. */
  contentDateTime?: Date | undefined;
  /** Default from the source modality (CID 100), see codes.ts procedureForModality. */
  procedureReported?: Code | undefined;
  /** Device Observer UID; default medseg's fixed name-based device UID. */
  deviceObserverUid?: string | undefined;
}

/**
 * The report's source from a loaded DICOM series: identity from the series and its first instance, one entry per
 * distinct instance (a multi-frame source is one instance) in plane order.
 * @throws SegError INVALID_HEADER when the series lacks a Study Instance UID or an instance lacks its SOP UIDs.
 */
export function srSourceFromDicomVolume(dv: DicomVolume): SrSource {
  const s = dv.series;
  const first = s.slices[0]?.instance;
  const instances: { sopClassUid: string; sopInstanceUid: string }[] = [];
  const seen = new Set<string>();
  for (const p of dv.planes) {
    if (!p.sopInstanceUid || !p.sopClassUid) {
      throw new InputFileError('INVALID_HEADER', p.file, 'has no SOPInstanceUID/SOPClassUID, so a measurement report cannot reference it; re-export the series with its UIDs');
    }
    if (seen.has(p.sopInstanceUid)) continue;
    seen.add(p.sopInstanceUid);
    instances.push({ sopClassUid: p.sopClassUid, sopInstanceUid: p.sopInstanceUid });
  }
  const studyInstanceUid = s.studyInstanceUid ?? first?.studyInstanceUid;
  if (!studyInstanceUid) throw new SegError('INVALID_HEADER', `series ${s.id}: has no StudyInstanceUID; a measurement report must belong to the source study`);
  return {
    studyInstanceUid,
    seriesInstanceUid: s.seriesInstanceUid,
    modality: s.modality,
    patientName: s.patientName,
    patientId: s.patientId,
    patientBirthDate: first?.patientBirthDate,
    patientSex: first?.patientSex,
    studyDate: s.studyDate,
    studyId: first?.studyId,
    studyDescription: s.studyDescription,
    instances,
  };
}

/**
 * A segment's report statistics from medseg's structure statistics. `intensityIsHu`: the image was CT in HU, so the
 * intensity statistics are attenuation coefficients; otherwise they are left out (no standard quantity).
 */
export function segmentStatsFromStructure(s: Pick<StructureStats, 'volumeMl' | 'intensity'>, intensityIsHu: boolean): SegmentStats {
  const i = intensityIsHu ? s.intensity : null;
  return i ? { volumeMl: s.volumeMl, meanHu: i.mean, stdHu: i.std, minHu: i.min, maxHu: i.max, medianHu: i.median } : { volumeMl: s.volumeMl };
}
