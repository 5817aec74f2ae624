/**
 * Patient and study identity of a source series, copied into the results derived from it (PS3.3 C.7.1.1 Patient,
 * C.7.2.1 General Study). medseg's DICOM loader keeps only some of these fields on DicomInstance, so the first
 * source file's header is read here once more with dicom-parser (up to Pixel Data).
 */
import { promises as fsp } from 'node:fs';
import type { DataSet } from 'dicom-parser';
import { InputFileError } from '../../errors.js';
import { parseDicomBytes } from '../../io/dicom/instance.js';
import { TAG } from '../../io/dicom/dataset.js';
import { SEG_TAG } from './constants.js';

export interface SourceIdentity {
  patientName: string;
  patientId: string;
  patientBirthDate: string;
  patientSex: string;
  studyInstanceUid: string;
  studyDate: string;
  studyTime: string;
  studyId: string;
  accessionNumber: string;
  referringPhysicianName: string;
  studyDescription?: string;
  positionReferenceIndicator: string;
  /** Problems worth reporting (an undecodable character set). */
  notes: string[];
}

/** Specific Character Set defined terms → WHATWG encoding labels for single-byte and UTF-8 sets (PS3.3 C.12.1.1.2). */
const CHARSETS: Record<string, string> = {
  '': 'latin1',
  ISO_IR_6: 'latin1',
  'ISO 2022 IR 6': 'latin1',
  'ISO_IR 100': 'latin1',
  'ISO_IR 101': 'iso-8859-2',
  'ISO_IR 109': 'iso-8859-3',
  'ISO_IR 110': 'iso-8859-4',
  'ISO_IR 144': 'iso-8859-5',
  'ISO_IR 127': 'iso-8859-6',
  'ISO_IR 126': 'iso-8859-7',
  'ISO_IR 138': 'iso-8859-8',
  'ISO_IR 148': 'iso-8859-9',
  'ISO_IR 166': 'windows-874',
  'ISO_IR 192': 'utf-8',
  GB18030: 'gb18030',
  GBK: 'gbk',
};

const HEAD_BYTES = 256 * 1024;

/**
 * Reads the identity attributes of `file` (the first file of the source series).
 * @throws InputFileError when the file cannot be read or parsed, or has no StudyInstanceUID.
 */
export async function readSourceIdentity(file: string): Promise<SourceIdentity> {
  const ds = await parseHeader(file);
  const notes: string[] = [];
  const charsetTerm = (readRaw(ds, SEG_TAG.SpecificCharacterSet, 'latin1') ?? '').split('\\').pop()!.trim();
  let encoding = CHARSETS[charsetTerm];
  if (!encoding) {
    notes.push(`${file}: Specific Character Set "${charsetTerm}" is not supported for copying names; non-ASCII characters may be wrong`);
    encoding = 'latin1';
  }
  const text = (tag: string) => readRaw(ds, tag, encoding) ?? '';
  const studyInstanceUid = text(TAG.StudyInstanceUID);
  if (!studyInstanceUid) throw new InputFileError('INVALID_HEADER', file, 'has no StudyInstanceUID: a SEG must belong to the study of its source series');
  const studyDescription = text(TAG.StudyDescription);
  return {
    patientName: text(TAG.PatientName),
    patientId: text(TAG.PatientID),
    patientBirthDate: text(TAG.PatientBirthDate),
    patientSex: text(TAG.PatientSex),
    studyInstanceUid,
    studyDate: text(TAG.StudyDate),
    studyTime: text(SEG_TAG.StudyTime),
    studyId: text(TAG.StudyID),
    accessionNumber: text(SEG_TAG.AccessionNumber),
    referringPhysicianName: text(SEG_TAG.ReferringPhysicianName),
    ...(studyDescription ? { studyDescription } : {}),
    positionReferenceIndicator: text(SEG_TAG.PositionReferenceIndicator),
    notes,
  };
}

async function parseHeader(file: string): Promise<DataSet> {
  let bytes: Buffer;
  try {
    const fh = await fsp.open(file, 'r');
    try {
      const { size } = await fh.stat();
      bytes = Buffer.alloc(Math.min(size, HEAD_BYTES));
      await fh.read(bytes, 0, bytes.length, 0);
      if (bytes.length < size) {
        try {
          const { ds } = parseDicomBytes(bytes, file, true);
          if (ds.elements[TAG.PixelData]) return ds;
        } catch {
          // the header is longer than the first chunk (e.g. an enhanced multi-frame file): read it all
        }
        bytes = await fsp.readFile(file);
      }
    } finally {
      await fh.close();
    }
  } catch (cause) {
    throw new InputFileError('FILE_NOT_FOUND', file, `the source file cannot be read again for its patient/study identity (${(cause as Error).message})`, { cause });
  }
  return parseDicomBytes(bytes, file, true).ds;
}

/** The value of a string element decoded with `encoding`, trailing padding removed; undefined when absent/empty. */
function readRaw(ds: DataSet, tag: string, encoding: string): string | undefined {
  const el = ds.elements[tag];
  if (!el || el.length === 0) return undefined;
  const raw = ds.byteArray.subarray(el.dataOffset, el.dataOffset + el.length);
  const s = new TextDecoder(encoding).decode(raw).replace(/[\0 ]+$/, '').replace(/^ +/, '');
  return s === '' ? undefined : s;
}
