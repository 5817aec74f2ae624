/**
 * The TID 1500 measurement report of the demo study: dciodvfy-clean, read back to medseg's own statistics, and its
 * content tree equal to what pydicom reads from the committed deterministic report (fixtures/golden/sr/).
 */
import { execFile } from 'node:child_process';
import { existsSync, promises as fsp } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { beforeAll, describe, expect, it } from 'vitest';
import { toLabelVolume } from '../../src/workflows/evaluate.js';
import { SegError } from '../../src/errors.js';
import { str } from '../../src/io/dicom/dataset.js';
import { parseDicomBytes } from '../../src/io/dicom/instance.js';
import { loadScan } from '../../src/io/load.js';
import { readModelCardSpec } from '../../src/inference/card.js';
import { labelStatistics, type StructureStats } from '../../src/measure/stats.js';
import { SR_CODES, sameCode } from '../../src/pacs/sr/codes.js';
import { parseMeasurementReport, readMeasurementReport, type MeasurementReport, type ReportedSegment } from '../../src/pacs/sr/read.js';
import { segmentStatsFromStructure, srSourceFromDicomVolume, type MeasurementReportInput, type SrSegment, type SrSource } from '../../src/pacs/sr/report-input.js';
import { COMPREHENSIVE_3D_SR_STORAGE, SEGMENTATION_STORAGE, writeMeasurementReport, writeMeasurementReportFile } from '../../src/pacs/sr/write.js';
import { fixture, ROOT, systemFile } from '../helpers.js';

/** The algorithm version the committed golden report was written with (fixed: the golden checks encoding, not the card). */
const GOLDEN_ALGORITHM_VERSION = '1.0.0';

const GOLDEN_DIR = fixture('golden', 'sr');
const GOLDEN_REPORT = join(GOLDEN_DIR, 'demo-report.dcm');
const GOLDEN_JSON = join(GOLDEN_DIR, 'demo-report.pydicom.json');
const UPDATE_GOLDEN = process.env.UPDATE_GOLDEN === '1';

/** A made-up SEG: the SR only references it (the SEG writer is tested on its own). */
const SEG = { sopInstanceUid: '2.25.100000000000000000000000000000000001', sopClassUid: SEGMENTATION_STORAGE, seriesInstanceUid: '2.25.100000000000000000000000000000000002' };
/** Everything that would otherwise be random or the current time. */
const FIXED = {
  seriesInstanceUid: '2.25.100000000000000000000000000000000003',
  sopInstanceUid: '2.25.100000000000000000000000000000000004',
  contentDateTime: new Date('2024-05-06T07:08:09.123Z'),
  medsegVersion: '0.1.0',
};

let source: SrSource;
let structures: StructureStats[];
let segments: SrSegment[];
let card: Awaited<ReturnType<typeof readModelCardSpec>>;

/** One segment per present structure, numbered by label value; the liver lesion's finding site is the liver. */
function demoSegments(values: (s: StructureStats) => SrSegment['stats']): SrSegment[] {
  const liver = card.labels.find((l) => l.name === 'liver')!.type!;
  return structures.map((s) => {
    const label = card.labels.find((l) => l.value === s.label)!;
    return {
      segmentNumber: s.label,
      label: s.name,
      type: label.type!,
      category: label.category!,
      ...(label.name === 'liver_lesion' ? { findingSite: liver } : {}),
      stats: values(s),
    };
  });
}

function input(overrides: Partial<MeasurementReportInput> = {}): MeasurementReportInput {
  return { source, seg: SEG, segments, algorithm: { name: card.name, version: GOLDEN_ALGORITHM_VERSION }, ...FIXED, ...overrides };
}

beforeAll(async () => {
  const ct = await loadScan(fixture('demo', 'dicom'));
  if (ct.format !== 'dicom') throw new Error('the demo study is DICOM');
  const labels = await loadScan(fixture('demo', 'labels.nii.gz'));
  // The golden report (fixtures/golden/sr) names the 3-D model's card: any card with these labels would do.
  card = await readModelCardSpec(join(ROOT, 'models', 'default', 'sliding-3d.card.json'));
  const names = new Map(card.labels.map((l) => [l.value, l.name]));
  structures = labelStatistics(toLabelVolume(labels.volume, 'labels'), { image: ct.volume, names }).structures.filter((s) => s.voxels > 0);
  // DicomVolume keeps no StudyTime/AccessionNumber/ReferringPhysicianName: copy them from the first source header,
  // as `medseg pacs` does with the source identity.
  const firstFile = ct.dicom.planes[0]!.file;
  const { ds } = parseDicomBytes(await fsp.readFile(firstFile), firstFile, true);
  source = {
    ...srSourceFromDicomVolume(ct.dicom),
    studyTime: str(ds, 'x00080030'),
    accessionNumber: str(ds, 'x00080050'),
    referringPhysicianName: str(ds, 'x00080090'),
  };
  segments = demoSegments((s) => segmentStatsFromStructure(s, true));
});

describe('writeMeasurementReport', () => {
  it('passes dciodvfy without errors or warnings', async (ctx) => {
    if (!systemFile('/usr/bin/dciodvfy', 'dicom3tools validates the SR IOD')) return ctx.skip();
    const dir = await fsp.mkdtemp(join(tmpdir(), 'medseg-sr-'));
    try {
      const file = join(dir, 'sr.dcm');
      await writeMeasurementReportFile(file, input());
      const { stdout, stderr } = await promisify(execFile)('/usr/bin/dciodvfy', [file]).catch((e: { stdout: string; stderr: string }) => e);
      const lines = `${stdout}\n${stderr}`.split('\n').filter((l) => l.trim() !== '');
      // dciodvfy names the IOD it checked, then lists "Error - …" and "Warning - …" lines. No warning is accepted:
      // the one it gives without a Study Time ("needed to build DICOMDIR") is avoided by copying it from the source.
      expect(lines).toContain('Comprehensive3DSR');
      expect(lines.filter((l) => /^(Error|Warning)/.test(l))).toEqual([]);
    } finally {
      await fsp.rm(dir, { recursive: true, force: true });
    }
  });

  it('reads back every volume and CT statistic exactly as medseg measured it', () => {
    const report = parseMeasurementReport(writeMeasurementReport(input()).bytes, 'demo SR');
    expect(report.segments.map((s) => s.segmentNumber)).toEqual(structures.map((s) => s.label));
    for (const s of structures) {
      const seg = report.segments.find((r) => r.segmentNumber === s.label)!;
      expect(seg.trackingId).toBe(s.name);
      expect(seg.segSopInstanceUid).toBe(SEG.sopInstanceUid);
      expect(seg.sourceSeriesInstanceUid).toBe(source.seriesInstanceUid);
      // Exact: NumericValue (DS) holds at most 16 characters, and whenever that string is not the same double,
      // FloatingPointValue (FD) carries the exact value, which the reader prefers.
      expect(volumeOf(seg)).toBe(s.volumeMl);
      const hu = (derivation: typeof SR_CODES.mean) =>
        seg.measurements.find((m) => sameCode(m.concept, SR_CODES.attenuationCoefficient) && m.derivation && sameCode(m.derivation, derivation))?.value;
      expect([hu(SR_CODES.mean), hu(SR_CODES.standardDeviation), hu(SR_CODES.minimum), hu(SR_CODES.maximum), hu(SR_CODES.median)]).toEqual([
        s.intensity!.mean,
        s.intensity!.std,
        s.intensity!.min,
        s.intensity!.max,
        s.intensity!.median,
      ]);
    }
  });

  it('writes each NumericValue within half a unit of its last decimal of the exact value', () => {
    const report = parseMeasurementReport(writeMeasurementReport(input()).bytes, 'demo SR');
    const nums = collect(report.tree, (n) => n.valueType === 'NUM');
    expect(nums.length).toBe(structures.length * 6);
    for (const n of nums) {
      const ds = n.numericValue!;
      expect(ds.length).toBeLessThanOrEqual(16);
      const exact = n.floatingPointValue ?? Number(ds);
      const decimals = ds.includes('.') ? ds.length - ds.indexOf('.') - 1 : 0;
      // Half a unit of the last written decimal, plus the rounding of the doubles themselves (2 ulp of the value).
      expect(Math.abs(Number(ds) - exact)).toBeLessThanOrEqual(0.5 * 10 ** -decimals + 2 * Number.EPSILON * Math.abs(exact));
    }
  });

  it('references the SEG segment, the source series and every source image', () => {
    const report = parseMeasurementReport(writeMeasurementReport(input()).bytes, 'demo SR');
    expect(report.sopClassUid).toBe(COMPREHENSIVE_3D_SR_STORAGE);
    expect(report.studyInstanceUid).toBe(source.studyInstanceUid);
    expect(report.evidence).toEqual([
      {
        studyInstanceUid: source.studyInstanceUid,
        series: [
          { seriesInstanceUid: source.seriesInstanceUid, instances: source.instances.map((i) => ({ ...i })) },
          { seriesInstanceUid: SEG.seriesInstanceUid, instances: [{ sopClassUid: SEG.sopClassUid, sopInstanceUid: SEG.sopInstanceUid }] },
        ],
      },
    ]);
    const library = report.tree.children.find((c) => c.concept && sameCode(c.concept, SR_CODES.imageLibrary))!;
    expect(library.children[0]!.children.map((i) => i.sopInstanceUid)).toEqual(source.instances.map((i) => i.sopInstanceUid));
    const lesion = report.segments.find((s) => s.trackingId === 'liver_lesion')!;
    expect(lesion.finding).toEqual({ scheme: 'SCT', value: '52988006', meaning: 'Lesion' });
    expect(lesion.findingSite).toEqual({ scheme: 'SCT', value: '10200004', meaning: 'Liver' });
    expect(report.segments.find((s) => s.trackingId === 'liver')!.findingSite).toBeNull();
  });

  it('gives each report new random 2.25 UIDs unless they are given', () => {
    const a = writeMeasurementReport(input({ seriesInstanceUid: undefined, sopInstanceUid: undefined }));
    const b = writeMeasurementReport(input({ seriesInstanceUid: undefined, sopInstanceUid: undefined }));
    for (const uid of [a.sopInstanceUid, a.seriesInstanceUid, b.sopInstanceUid]) expect(uid).toMatch(/^2\.25\.[1-9]\d{0,38}$/);
    expect(a.sopInstanceUid).not.toBe(b.sopInstanceUid);
    expect(a.seriesInstanceUid).not.toBe(b.seriesInstanceUid);
    const fixed = writeMeasurementReport(input());
    expect([fixed.sopInstanceUid, fixed.seriesInstanceUid]).toEqual([FIXED.sopInstanceUid, FIXED.seriesInstanceUid]);
  });

  it('refuses a segment number used twice', () => {
    const twice = [segments[0]!, { ...segments[1]!, segmentNumber: segments[0]!.segmentNumber }];
    expect(() => writeMeasurementReport(input({ segments: twice }))).toThrow(
      new RangeError(`segment number ${segments[0]!.segmentNumber} appears twice in segments; each SEG segment is reported once`),
    );
  });

  it('leaves out intensity statistics that are not in Hounsfield units', () => {
    const report = parseMeasurementReport(writeMeasurementReport(input({ segments: demoSegments((s) => segmentStatsFromStructure(s, false)) })).bytes, 'SR');
    for (const seg of report.segments) {
      expect(seg.measurements.map((m) => [m.concept.value, m.method?.value, m.unit.value])).toEqual([['118565006', '126030', 'cm3']]);
    }
  });
});

describe('readMeasurementReport', () => {
  it('refuses a DICOM file that is not a structured report', async () => {
    const ct = fixture('demo', 'dicom', 'IM0001.dcm');
    const err = await readMeasurementReport(ct).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SegError);
    expect((err as SegError).code).toBe('INVALID_SEG');
    expect((err as SegError).message).toBe(
      `${ct}: SOP class 1.2.840.10008.5.1.4.1.1.2 is not an SR storage class that holds a TID 1500 report ` +
        '(expected one of 1.2.840.10008.5.1.4.1.1.88.22, 1.2.840.10008.5.1.4.1.1.88.33, 1.2.840.10008.5.1.4.1.1.88.34)',
    );
  });
});

describe('golden report (pydicom)', () => {
  /** The deterministic report: fixed UIDs and date, and statistics rounded to 6 decimals as stats.json holds them,
   * so a last-bit change in the statistics code does not change the golden file. */
  const goldenBytes = () =>
    writeMeasurementReport(
      input({
        segments: demoSegments((s) => {
          const r6 = (v: number) => Math.round(v * 1e6) / 1e6;
          const i = s.intensity!;
          return { volumeMl: r6(s.volumeMl), meanHu: r6(i.mean), stdHu: r6(i.std), minHu: i.min, maxHu: i.max, medianHu: r6(i.median) };
        }),
      }),
    ).bytes;

  it.runIf(UPDATE_GOLDEN)('writes fixtures/golden/sr/demo-report.dcm (then run pydicom_sr.py)', async () => {
    await fsp.writeFile(GOLDEN_REPORT, goldenBytes());
  });

  it.skipIf(UPDATE_GOLDEN)('reads the committed report exactly as pydicom does, and writes the same content today', async () => {
    expect(existsSync(GOLDEN_JSON), `${GOLDEN_JSON} is missing: see fixtures/golden/sr/README.md`).toBe(true);
    const golden = JSON.parse(await fsp.readFile(GOLDEN_JSON, 'utf8')) as { header: Record<string, unknown>; evidence: unknown; tree: unknown };
    const committed = await readMeasurementReport(GOLDEN_REPORT);
    const fresh = parseMeasurementReport(goldenBytes(), 'fresh demo SR');
    for (const report of [committed, fresh]) {
      expect(header(report)).toEqual(golden.header);
      expect(report.evidence).toEqual(golden.evidence);
      expect(report.tree).toEqual(golden.tree);
    }
  });
});

function header(r: MeasurementReport) {
  const { sopClassUid, sopInstanceUid, seriesInstanceUid, studyInstanceUid, patientId, contentDate, contentTime, completionFlag, verificationFlag } = r;
  return { sopClassUid, sopInstanceUid, seriesInstanceUid, studyInstanceUid, patientId, contentDate, contentTime, completionFlag, verificationFlag };
}

function volumeOf(seg: ReportedSegment): number | undefined {
  const v = seg.measurements.filter((m) => sameCode(m.concept, SR_CODES.volume));
  expect(v.length).toBe(1);
  expect(v[0]!.unit).toEqual(SR_CODES.cubicCentimeter);
  expect(v[0]!.method).toEqual(SR_CODES.sumOfSegmentedVoxelVolumes);
  return v[0]!.value;
}

function collect(node: MeasurementReport['tree'], keep: (n: MeasurementReport['tree']) => boolean): MeasurementReport['tree'][] {
  return [...(keep(node) ? [node] : []), ...node.children.flatMap((c) => collect(c, keep))];
}
