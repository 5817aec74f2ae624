/**
 * Writes medseg's measurements as a DICOM Comprehensive 3D SR (1.2.840.10008.5.1.4.1.1.88.34, the SOP class highdicom
 * and dcmqi use for TID 1500) holding a TID 1500 Measurement Report with one TID 1411 Volumetric ROI Measurements
 * group per SEG segment.
 *
 * Why the dataset is built here and only encoded by dcmjs: dcmjs 0.51's SR helpers do not work for this. Its
 * `sr.templates` (a port of highdicom) throw on valid input: `Measurement` rejects a TrackingIdentifier with an
 * inverted instanceof check, the measurement group requires the tracking identifier's content items to be
 * CodedConcepts and logs every measurement with console.log; its `TID1500MeasurementReport` serves cornerstone's 2-D
 * tools (TID 300 planar measurements, a person observer "unknown^unknown", a private "99dcmjs" coding scheme).
 * So the content tree is plain naturalized data from content-items.ts, and dcmjs only does what it does well:
 * `denaturalizeDataset` + `DicomDict.write` (explicit VR little endian Part 10, as phantom/dicom-series.ts).
 *
 * Content tree (PS3.16 TID 1500, with TID 1204, 1001/1004, 1600, 1411, 4108, 4019, 1419):
 *   CONTAINER Imaging Measurement Report
 *   ├ HAS CONCEPT MOD  CODE  Language of Content Item and Descendants = en-US
 *   ├ HAS OBS CONTEXT  CODE  Observer Type = Device; UIDREF Device Observer UID; TEXT Name, Manufacturer, Model Name
 *   ├ HAS CONCEPT MOD  CODE  Procedure reported
 *   ├ CONTAINS CONTAINER Image Library ─ CONTAINER Image Library Group ─ IMAGE (each source instance)
 *   └ CONTAINS CONTAINER Imaging Measurements
 *     └ CONTAINER Measurement Group (per segment)
 *       ├ HAS OBS CONTEXT TEXT Tracking Identifier, UIDREF Tracking Unique Identifier
 *       ├ CONTAINS CODE Finding = segment type;  HAS CONCEPT MOD CODE Finding Site (when given)
 *       ├ HAS CONCEPT MOD TEXT Algorithm Name, Algorithm Version
 *       ├ CONTAINS IMAGE Referenced Segment (SEG instance + ReferencedSegmentNumber)
 *       ├ CONTAINS UIDREF Source series for segmentation
 *       └ CONTAINS NUM Volume (cm3, method: Sum of segmented voxel volumes);
 *                  NUM Attenuation Coefficient ([hnsf'U]) × Mean / Standard Deviation / Minimum / Maximum / Median
 */
import { writeFileAtomic } from '../../io/atomic-write.js';
import { nameBasedUid, part10Bytes, randomUid } from '../../io/dicom/encoding.js';
import { SEGMENTATION_STORAGE } from '../seg/constants.js';
import { procedureForModality, SR_CODES, type Code } from './codes.js';
import { codeItem, containerItem, imageItem, numItem, textItem, uidrefItem, type Item } from './content-items.js';
import type { MeasurementReportInput, SegReference, SegmentStats, SrSegment, SrSource } from './report-input.js';

export const COMPREHENSIVE_3D_SR_STORAGE = '1.2.840.10008.5.1.4.1.1.88.34';
export { SEGMENTATION_STORAGE, randomUid };
/** medseg as a device observer (TID 1004): a fixed name-based UID. */
export const MEDSEG_DEVICE_OBSERVER_UID = nameBasedUid('device-observer');


/** The Tracking Unique Identifier of a segment when the caller gives none: stable for the same SEG and segment. */
export function defaultTrackingUid(seg: SegReference, segmentNumber: number): string {
  return nameBasedUid(`sr/tracking/${seg.sopInstanceUid}/${segmentNumber}`);
}

/** DICOM DA and TM (UTC) of a date: ['YYYYMMDD', 'HHMMSS.ffffff']. */
export function dicomDateTimeUtc(d: Date): [string, string] {
  if (Number.isNaN(d.getTime())) throw new RangeError(`contentDateTime is not a valid date: ${String(d)}`);
  const p = (n: number, w = 2) => String(n).padStart(w, '0');
  return [
    `${p(d.getUTCFullYear(), 4)}${p(d.getUTCMonth() + 1)}${p(d.getUTCDate())}`,
    `${p(d.getUTCHours())}${p(d.getUTCMinutes())}${p(d.getUTCSeconds())}.${p(d.getUTCMilliseconds() * 1000, 6)}`,
  ];
}

/** The NUM items of one segment's statistics (TID 1419 rows), in a fixed order. */
export function measurementItems(stats: SegmentStats): Item[] {
  if (!(stats.volumeMl >= 0)) throw new RangeError(`volumeMl must be a finite number ≥ 0, got ${stats.volumeMl}`);
  // 1 mL is exactly 1 cm³, so the value is written unchanged in UCUM cm3.
  const items = [
    numItem('CONTAINS', SR_CODES.volume, stats.volumeMl, SR_CODES.cubicCentimeter, [
      codeItem('HAS CONCEPT MOD', SR_CODES.measurementMethod, SR_CODES.sumOfSegmentedVoxelVolumes),
    ]),
  ];
  const hu: [number | undefined, Code][] = [
    [stats.meanHu, SR_CODES.mean],
    [stats.stdHu, SR_CODES.standardDeviation],
    [stats.minHu, SR_CODES.minimum],
    [stats.maxHu, SR_CODES.maximum],
    [stats.medianHu, SR_CODES.median],
  ];
  for (const [value, derivation] of hu) {
    if (value === undefined) continue;
    items.push(
      numItem('CONTAINS', SR_CODES.attenuationCoefficient, value, SR_CODES.hounsfieldUnit, [
        codeItem('HAS CONCEPT MOD', SR_CODES.derivation, derivation),
      ]),
    );
  }
  return items;
}

/** One TID 1411 Volumetric ROI Measurements group. */
export function measurementGroup(segment: SrSegment, seg: SegReference, sourceSeriesUid: string, algorithm: { name: string; version: string }): Item {
  if (!Number.isInteger(segment.segmentNumber) || segment.segmentNumber < 1 || segment.segmentNumber > 65535) {
    throw new RangeError(`segmentNumber must be an integer 1…65535 (SEG segments are numbered from 1), got ${segment.segmentNumber}`);
  }
  const children: Item[] = [
    textItem('HAS OBS CONTEXT', SR_CODES.trackingIdentifier, segment.label),
    uidrefItem('HAS OBS CONTEXT', SR_CODES.trackingUniqueIdentifier, segment.trackingUid ?? defaultTrackingUid(seg, segment.segmentNumber)),
    codeItem('CONTAINS', SR_CODES.finding, segment.type),
  ];
  if (segment.findingSite) children.push(codeItem('HAS CONCEPT MOD', SR_CODES.findingSite, segment.findingSite));
  children.push(
    textItem('HAS CONCEPT MOD', SR_CODES.algorithmName, algorithm.name),
    textItem('HAS CONCEPT MOD', SR_CODES.algorithmVersion, algorithm.version),
    imageItem('CONTAINS', SR_CODES.referencedSegment, { sopClassUid: seg.sopClassUid, sopInstanceUid: seg.sopInstanceUid, segmentNumbers: [segment.segmentNumber] }),
    uidrefItem('CONTAINS', SR_CODES.sourceSeriesForSegmentation, sourceSeriesUid),
    ...measurementItems(segment.stats),
  );
  return containerItem('CONTAINS', SR_CODES.measurementGroup, children);
}

/** TID 1600 Image Library: one group holding every source instance. */
export function imageLibrary(source: SrSource): Item {
  const entries = source.instances.map((i) => imageItem('CONTAINS', undefined, i));
  return containerItem('CONTAINS', SR_CODES.imageLibrary, [containerItem('CONTAINS', SR_CODES.imageLibraryGroup, entries)]);
}

/** CurrentRequestedProcedureEvidenceSequence: every instance the report depends on (the SEG and the source images). */
export function evidence(source: SrSource, seg: SegReference): Item[] {
  const series = new Map<string, Item[]>();
  const add = (seriesUid: string, sopClassUid: string, sopInstanceUid: string) => {
    const list = series.get(seriesUid) ?? [];
    list.push({ ReferencedSOPClassUID: sopClassUid, ReferencedSOPInstanceUID: sopInstanceUid });
    series.set(seriesUid, list);
  };
  for (const i of source.instances) add(source.seriesInstanceUid, i.sopClassUid, i.sopInstanceUid);
  add(seg.seriesInstanceUid, seg.sopClassUid, seg.sopInstanceUid);
  return [
    {
      StudyInstanceUID: source.studyInstanceUid,
      ReferencedSeriesSequence: [...series].map(([uid, sops]) => ({ SeriesInstanceUID: uid, ReferencedSOPSequence: sops })),
    },
  ];
}

function checkInput(input: MeasurementReportInput): void {
  const { source, seg, segments } = input;
  if (source.instances.length === 0) throw new RangeError('source.instances is empty: the report must reference the images the segmentation was made from');
  if (segments.length === 0) throw new RangeError('segments is empty: a measurement report needs at least one segment');
  const numbers = segments.map((s) => s.segmentNumber);
  const dup = numbers.find((n, i) => numbers.indexOf(n) !== i);
  if (dup !== undefined) throw new RangeError(`segment number ${dup} appears twice in segments; each SEG segment is reported once`);
  if (seg.seriesInstanceUid === source.seriesInstanceUid) {
    throw new RangeError(`seg.seriesInstanceUid equals the source series UID ${source.seriesInstanceUid}; a SEG is its own series`);
  }
  if (!input.algorithm.name || !input.algorithm.version) throw new RangeError(`algorithm needs a name and a version, got ${JSON.stringify(input.algorithm)}`);
}

/**
 * The naturalized dataset (keyword → value) of the report. Pure apart from the defaults (random UIDs, now).
 * @throws RangeError/TypeError for inconsistent input (no instances or segments, duplicate segment numbers, a
 * non-finite value, an incomplete code).
 */
export function measurementReportDataset(input: MeasurementReportInput): Item {
  checkInput(input);
  const { source, seg } = input;
  const [date, time] = dicomDateTimeUtc(input.contentDateTime ?? new Date());
  const deviceUid = input.deviceObserverUid ?? MEDSEG_DEVICE_OBSERVER_UID;
  const root: Item[] = [
    codeItem('HAS CONCEPT MOD', SR_CODES.languageOfContent, SR_CODES.englishUs),
    codeItem('HAS OBS CONTEXT', SR_CODES.observerType, SR_CODES.device),
    uidrefItem('HAS OBS CONTEXT', SR_CODES.deviceObserverUid, deviceUid),
    textItem('HAS OBS CONTEXT', SR_CODES.deviceObserverName, 'medseg'),
    textItem('HAS OBS CONTEXT', SR_CODES.deviceObserverManufacturer, 'medseg'),
    textItem('HAS OBS CONTEXT', SR_CODES.deviceObserverModelName, `medseg ${input.medsegVersion}`),
    codeItem('HAS CONCEPT MOD', SR_CODES.procedureReported, input.procedureReported ?? procedureForModality(source.modality)),
    imageLibrary(source),
    containerItem(
      'CONTAINS',
      SR_CODES.imagingMeasurements,
      input.segments.map((s) => measurementGroup(s, seg, source.seriesInstanceUid, input.algorithm)),
    ),
  ];
  return {
    SpecificCharacterSet: 'ISO_IR 192', // dcmjs writes every string as UTF-8
    InstanceCreationDate: date,
    InstanceCreationTime: time,
    SOPClassUID: COMPREHENSIVE_3D_SR_STORAGE,
    SOPInstanceUID: input.sopInstanceUid ?? randomUid(),
    StudyDate: source.studyDate ?? '',
    SeriesDate: date,
    ContentDate: date,
    StudyTime: source.studyTime ?? '',
    SeriesTime: time,
    ContentTime: time,
    AccessionNumber: source.accessionNumber ?? '',
    Modality: 'SR',
    Manufacturer: 'medseg',
    ReferringPhysicianName: source.referringPhysicianName ?? '',
    TimezoneOffsetFromUTC: '+0000',
    ...(source.studyDescription ? { StudyDescription: source.studyDescription } : {}),
    SeriesDescription: input.seriesDescription ?? `medseg measurements (${input.algorithm.name})`,
    ReferencedPerformedProcedureStepSequence: [],
    ManufacturerModelName: 'medseg',
    PatientName: source.patientName ?? '',
    PatientID: source.patientId ?? '',
    PatientBirthDate: source.patientBirthDate ?? '',
    PatientSex: source.patientSex ?? '',
    DeviceSerialNumber: deviceUid,
    SoftwareVersions: input.medsegVersion,
    StudyInstanceUID: source.studyInstanceUid,
    SeriesInstanceUID: input.seriesInstanceUid ?? randomUid(),
    StudyID: source.studyId ?? '',
    SeriesNumber: String(input.seriesNumber ?? 1001),
    InstanceNumber: '1',
    // SR Document Content Module: the root CONTAINER.
    ValueType: 'CONTAINER',
    ConceptNameCodeSequence: [{ CodeValue: '126000', CodingSchemeDesignator: 'DCM', CodeMeaning: 'Imaging Measurement Report' }],
    ContinuityOfContent: 'SEPARATE',
    ContentTemplateSequence: [{ MappingResource: 'DCMR', TemplateIdentifier: '1500' }],
    // SR Document General Module.
    CompletionFlag: 'COMPLETE',
    VerificationFlag: 'UNVERIFIED',
    CurrentRequestedProcedureEvidenceSequence: evidence(source, seg),
    PerformedProcedureCodeSequence: [],
    ContentSequence: root,
  };
}

/** A report as Part 10 bytes, with the UIDs it was given. */
export interface EncodedReport {
  bytes: Uint8Array;
  sopInstanceUid: string;
  seriesInstanceUid: string;
}

/**
 * Encodes a TID 1500 measurement report as a Comprehensive 3D SR Part 10 file (explicit VR little endian).
 * @example
 * const { bytes } = writeMeasurementReport({ source: srSourceFromDicomVolume(dv), seg, segments, algorithm, medsegVersion });
 * @throws RangeError/TypeError for inconsistent input (see measurementReportDataset).
 */
export function writeMeasurementReport(input: MeasurementReportInput): EncodedReport {
  const dataset = measurementReportDataset(input);
  const sopInstanceUid = dataset.SOPInstanceUID as string;
  return { bytes: part10Bytes(COMPREHENSIVE_3D_SR_STORAGE, sopInstanceUid, dataset), sopInstanceUid, seriesInstanceUid: dataset.SeriesInstanceUID as string };
}

/**
 * Writes the report to `file` atomically (temporary sibling, then rename).
 * @throws SegError WRITE_FAILED naming the file; RangeError/TypeError for inconsistent input.
 */
export async function writeMeasurementReportFile(file: string, input: MeasurementReportInput): Promise<EncodedReport> {
  const encoded = writeMeasurementReport(input);
  await writeFileAtomic(file, [encoded.bytes]);
  return encoded;
}
