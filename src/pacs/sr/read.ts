/**
 * Reads a TID 1500 measurement report (any SR storage class with a TID 1500 tree, e.g. medseg's Comprehensive 3D SR
 * or dcmqi's Enhanced SR) back with dicom-parser: the whole content tree, and per TID 1411 group the referenced SEG
 * segment, tracking identifiers and the measurements. Used by the tests and by `medseg pacs` to recognise a report
 * it already stored.
 */
import { promises as fsp } from 'node:fs';
import type { DataSet } from 'dicom-parser';
import { InputFileError } from '../../errors.js';
import { parseDicomBytes } from '../../io/dicom/instance.js';
import { SR_CODES, sameCode, type Code } from './codes.js';
import { TAG } from '../../io/dicom/dataset.js';

/** SR storage SOP classes whose content tree can hold TID 1500 (Enhanced, Comprehensive, Comprehensive 3D SR). */
export const SR_STORAGE_CLASSES: Readonly<Record<string, string>> = {
  '1.2.840.10008.5.1.4.1.1.88.22': 'Enhanced SR',
  '1.2.840.10008.5.1.4.1.1.88.33': 'Comprehensive SR',
  '1.2.840.10008.5.1.4.1.1.88.34': 'Comprehensive 3D SR',
};

const T = {
  ...TAG,
  ReferencedSegmentNumber: 'x0062000b',
  RelationshipType: 'x0040a010',
  VerificationFlag: 'x0040a493',
  ConceptNameCodeSequence: 'x0040a043',
  ContinuityOfContent: 'x0040a050',
  ValueType: 'x0040a040',
  ConceptCodeSequence: 'x0040a168',
  UID: 'x0040a124',
  TextValue: 'x0040a160',
  FloatingPointValue: 'x0040a161',
  MeasuredValueSequence: 'x0040a300',
  NumericValue: 'x0040a30a',
  MeasurementUnitsCodeSequence: 'x004008ea',
  CompletionFlag: 'x0040a491',
  CurrentRequestedProcedureEvidenceSequence: 'x0040a375',
  ContentSequence: 'x0040a730',
} as const;

/** One content item, with the value of its type (PS3.3 C.17.3.2). Keys match the pydicom golden dump. */
export interface SrContentNode {
  relationship: string | null;
  valueType: string;
  concept: Code | null;
  /** CODE. */
  code?: Code | null;
  /** TEXT. */
  text?: string;
  /** UIDREF. */
  uid?: string;
  /** NUM: the DS as written, FloatingPointValue when present, and the unit. */
  numericValue?: string | null;
  floatingPointValue?: number | null;
  unit?: Code | null;
  /** IMAGE (and other references). */
  sopClassUid?: string;
  sopInstanceUid?: string;
  segmentNumbers?: number[];
  /** CONTAINER. */
  continuity?: string | null;
  children: SrContentNode[];
}

export interface ReportedMeasurement {
  /** Concept name of the NUM item, e.g. SCT 118565006 Volume or DCM 112031 Attenuation Coefficient. */
  concept: Code;
  /** Derivation modifier (DCM 121401), e.g. SCT 373098007 Mean; null when absent. */
  derivation: Code | null;
  /** Measurement Method modifier (SCT 370129005); null when absent. */
  method: Code | null;
  /** FloatingPointValue when present (exact), else the NumericValue decimal string. */
  value: number;
  unit: Code;
}

export interface ReportedSegment {
  segmentNumber: number;
  segSopInstanceUid: string;
  segSopClassUid: string;
  trackingId: string | null;
  trackingUid: string | null;
  finding: Code | null;
  findingSite: Code | null;
  sourceSeriesInstanceUid: string | null;
  measurements: ReportedMeasurement[];
}

export interface ReportedEvidence {
  studyInstanceUid: string;
  series: { seriesInstanceUid: string; instances: { sopClassUid: string; sopInstanceUid: string }[] }[];
}

export interface MeasurementReport {
  sopClassUid: string;
  sopInstanceUid: string;
  seriesInstanceUid: string;
  studyInstanceUid: string;
  patientId: string | null;
  contentDate: string | null;
  contentTime: string | null;
  completionFlag: string | null;
  verificationFlag: string | null;
  evidence: ReportedEvidence[];
  /** One per TID 1411/1410/1501 measurement group that references a SEG segment, in document order. */
  segments: ReportedSegment[];
  /** The root CONTAINER with its whole tree. */
  tree: SrContentNode;
}

/**
 * Reads a measurement report file.
 * @throws InputFileError INVALID_SEG (not an SR, not a TID 1500 report, a group without its SEG reference or a
 * measurement without a value/unit), or the parse errors of parseDicomBytes.
 */
export async function readMeasurementReport(file: string): Promise<MeasurementReport> {
  let bytes: Buffer;
  try {
    bytes = await fsp.readFile(file);
  } catch (cause) {
    throw new InputFileError('FILE_NOT_FOUND', file, `cannot be read (${(cause as NodeJS.ErrnoException).code ?? (cause as Error).message})`, { cause });
  }
  return parseMeasurementReport(bytes, file);
}

/** As readMeasurementReport, from bytes (`name` appears in error messages). */
export function parseMeasurementReport(bytes: Uint8Array, name: string): MeasurementReport {
  const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const { ds } = parseDicomBytes(buf, name, false);
  const fail = (problem: string) => new InputFileError('INVALID_SEG', name, problem);
  const utf8 = (text(ds, T.SpecificCharacterSet, false) ?? '').split('\\').includes('ISO_IR 192');
  const r = new Reader(utf8);
  const sopClassUid = r.str(ds, T.SOPClassUID) ?? '';
  if (!SR_STORAGE_CLASSES[sopClassUid]) {
    throw fail(`SOP class ${sopClassUid || '(none)'} is not an SR storage class that holds a TID 1500 report (expected one of ${Object.keys(SR_STORAGE_CLASSES).join(', ')})`);
  }
  const tree = r.node(ds, true);
  if (tree.valueType !== 'CONTAINER' || !tree.concept || !sameCode(tree.concept, SR_CODES.imagingMeasurementReport)) {
    throw fail(`the document title is ${tree.concept ? describe(tree.concept) : '(none)'}, not DCM 126000 "Imaging Measurement Report" (TID 1500)`);
  }
  const required = (tag: string, what: string) => {
    const v = r.str(ds, tag);
    if (!v) throw fail(`has no ${what}`);
    return v;
  };
  return {
    sopClassUid,
    sopInstanceUid: required(T.SOPInstanceUID, 'SOPInstanceUID'),
    seriesInstanceUid: required(T.SeriesInstanceUID, 'SeriesInstanceUID'),
    studyInstanceUid: required(T.StudyInstanceUID, 'StudyInstanceUID'),
    patientId: r.str(ds, T.PatientID) ?? null,
    contentDate: r.str(ds, T.ContentDate) ?? null,
    contentTime: r.str(ds, T.ContentTime) ?? null,
    completionFlag: r.str(ds, T.CompletionFlag) ?? null,
    verificationFlag: r.str(ds, T.VerificationFlag) ?? null,
    evidence: r.evidence(ds),
    segments: segmentsOf(tree, fail),
    tree,
  };
}

const describe = (c: Code) => `${c.scheme} ${c.value} "${c.meaning}"`;

/** Measurement groups (TID 1411) under Imaging Measurements that reference a SEG segment. */
function segmentsOf(tree: SrContentNode, fail: (problem: string) => Error): ReportedSegment[] {
  const out: ReportedSegment[] = [];
  const containers = tree.children.filter((c) => c.valueType === 'CONTAINER' && c.concept && sameCode(c.concept, SR_CODES.imagingMeasurements));
  for (const container of containers) {
    container.children.forEach((group, g) => {
      if (group.valueType !== 'CONTAINER' || !group.concept || !sameCode(group.concept, SR_CODES.measurementGroup)) return;
      const child = (code: Code) => group.children.find((c) => c.concept && sameCode(c.concept, code));
      const ref = child(SR_CODES.referencedSegment);
      if (!ref || !ref.sopInstanceUid || !ref.segmentNumbers || ref.segmentNumbers.length !== 1) {
        throw fail(`measurement group ${g + 1} has no Referenced Segment (DCM 121191) naming one SEG instance and one segment number`);
      }
      out.push({
        segmentNumber: ref.segmentNumbers[0]!,
        segSopInstanceUid: ref.sopInstanceUid,
        segSopClassUid: ref.sopClassUid ?? '',
        trackingId: child(SR_CODES.trackingIdentifier)?.text ?? null,
        trackingUid: child(SR_CODES.trackingUniqueIdentifier)?.uid ?? null,
        finding: child(SR_CODES.finding)?.code ?? null,
        findingSite: child(SR_CODES.findingSite)?.code ?? null,
        sourceSeriesInstanceUid: child(SR_CODES.sourceSeriesForSegmentation)?.uid ?? null,
        measurements: group.children.filter((c) => c.valueType === 'NUM').map((n) => measurementOf(n, g, fail)),
      });
    });
  }
  return out;
}

function measurementOf(n: SrContentNode, g: number, fail: (problem: string) => Error): ReportedMeasurement {
  const name = n.concept ? describe(n.concept) : '(unnamed)';
  const value = n.floatingPointValue ?? (n.numericValue != null ? Number(n.numericValue) : NaN);
  if (!n.concept || !n.unit || !Number.isFinite(value)) {
    throw fail(`measurement ${name} of group ${g + 1} has no finite value or no unit (an empty NUM is not a measurement)`);
  }
  const modifier = (code: Code) => n.children.find((c) => c.concept && sameCode(c.concept, code))?.code ?? null;
  return { concept: n.concept, derivation: modifier(SR_CODES.derivation), method: modifier(SR_CODES.measurementMethod), value, unit: n.unit };
}

/** Reads text with the document's character set (UTF-8 for ISO_IR 192, else Latin-1), padding trimmed. */
function text(ds: DataSet, tag: string, utf8: boolean): string | undefined {
  const el = ds.elements[tag];
  if (!el || el.length === 0) return undefined;
  const raw = ds.byteArray.subarray(el.dataOffset, el.dataOffset + el.length);
  const s = new TextDecoder(utf8 ? 'utf-8' : 'latin1').decode(raw).replace(/[\0 ]+$/, '').replace(/^ +/, '');
  return s === '' ? undefined : s;
}

class Reader {
  constructor(readonly utf8: boolean) {}

  str(ds: DataSet, tag: string): string | undefined {
    return text(ds, tag, this.utf8);
  }

  items(ds: DataSet, tag: string): DataSet[] {
    return (ds.elements[tag]?.items ?? []).map((i) => i.dataSet).filter((d): d is DataSet => d !== undefined);
  }

  code(ds: DataSet | undefined): Code | null {
    if (!ds) return null;
    const value = this.str(ds, T.CodeValue);
    const scheme = this.str(ds, T.CodingSchemeDesignator);
    const meaning = this.str(ds, T.CodeMeaning);
    return value && scheme ? { value, scheme, meaning: meaning ?? '' } : null;
  }

  codeIn(ds: DataSet, tag: string): Code | null {
    return this.code(this.items(ds, tag)[0]);
  }

  uint16s(ds: DataSet, tag: string): number[] {
    const el = ds.elements[tag];
    if (!el) return [];
    return Array.from({ length: el.length / 2 }, (_, i) => ds.uint16(tag, i)!);
  }

  node(ds: DataSet, isRoot = false): SrContentNode {
    const valueType = this.str(ds, T.ValueType) ?? '';
    const node: SrContentNode = {
      relationship: isRoot ? null : (this.str(ds, T.RelationshipType) ?? null),
      valueType,
      concept: this.codeIn(ds, T.ConceptNameCodeSequence),
      children: [],
    };
    switch (valueType) {
      case 'CONTAINER':
        node.continuity = this.str(ds, T.ContinuityOfContent) ?? null;
        break;
      case 'CODE':
        node.code = this.codeIn(ds, T.ConceptCodeSequence);
        break;
      case 'TEXT':
        node.text = this.str(ds, T.TextValue) ?? '';
        break;
      case 'UIDREF':
        node.uid = this.str(ds, T.UID) ?? '';
        break;
      case 'NUM': {
        const mv = this.items(ds, T.MeasuredValueSequence)[0];
        node.numericValue = mv ? (this.str(mv, T.NumericValue) ?? null) : null;
        node.floatingPointValue = mv?.elements[T.FloatingPointValue] ? mv.double(T.FloatingPointValue)! : null;
        node.unit = mv ? this.codeIn(mv, T.MeasurementUnitsCodeSequence) : null;
        break;
      }
      case 'IMAGE':
      case 'COMPOSITE': {
        const sop = this.items(ds, T.ReferencedSOPSequence)[0];
        node.sopClassUid = sop ? (this.str(sop, T.ReferencedSOPClassUID) ?? '') : '';
        node.sopInstanceUid = sop ? (this.str(sop, T.ReferencedSOPInstanceUID) ?? '') : '';
        const segments = sop ? this.uint16s(sop, T.ReferencedSegmentNumber) : [];
        if (segments.length > 0) node.segmentNumbers = segments;
        break;
      }
      default:
        break;
    }
    node.children = this.items(ds, T.ContentSequence).map((c) => this.node(c));
    return node;
  }

  evidence(ds: DataSet): ReportedEvidence[] {
    return this.items(ds, T.CurrentRequestedProcedureEvidenceSequence).map((study) => ({
      studyInstanceUid: this.str(study, T.StudyInstanceUID) ?? '',
      series: this.items(study, T.ReferencedSeriesSequence).map((s) => ({
        seriesInstanceUid: this.str(s, T.SeriesInstanceUID) ?? '',
        instances: this.items(s, T.ReferencedSOPSequence).map((i) => ({
          sopClassUid: this.str(i, T.ReferencedSOPClassUID) ?? '',
          sopInstanceUid: this.str(i, T.ReferencedSOPInstanceUID) ?? '',
        })),
      })),
    }));
  }
}
