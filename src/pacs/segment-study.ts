/**
 * `medseg pacs segment`: one study on a DICOMweb server → choose a series → retrieve it → segment it → store a DICOM
 * SEG and a TID 1500 measurement report back into the study.
 *
 * Idempotent by construction: the result's Series and SOP Instance UIDs are derived (name-based 2.25 UIDs) from the
 * source series and the SHA-256 of the model card and ONNX file. Before any work the study is searched for those
 * series; when both are there, nothing is done ("already-present"). A run interrupted between the two stores, or
 * retried after a lost answer, stores the same instances again, which a PACS keeps once (same SOP Instance UID).
 * The same source segmented with another model (or another version of it) gets its own result.
 */
import { promises as fsp } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { SegError } from '../errors.js';
import type { DicomVolume } from '../io/dicom/load-volume.js';
import { readNifti } from '../io/nifti/read.js';
import { nameBasedUid } from '../io/dicom/encoding.js';
import { segmentCommand, type PreparedModel, type SegmentSummary } from '../workflows/segment.js';
import type { StatsReport } from '../workflows/stats.js';
import { softwareVersions } from '../workflows/provenance.js';
import type { ProviderChoice } from '../inference/session.js';
import { numbers, sequence, string, strings, TAG, type DicomJsonDataset } from './dicomweb/dicom-json.js';
import type { DicomWebClient } from './dicomweb/client.js';
import { SEGMENTATION_STORAGE } from './seg/constants.js';
import { writeSeg } from './seg/write-seg.js';
import { readSourceIdentity } from './seg/source-identity.js';
import { writeMeasurementReportFile } from './sr/write.js';
import { segmentStatsFromStructure, srSourceFromDicomVolume } from './sr/report-input.js';
import { orientationOf, selectSeries, seriesOrientation, type SelectionRules, type SeriesCandidate, type SeriesVerdict, type SliceOrientation } from './select.js';

export interface PacsSegmentOptions {
  model: PreparedModel;
  rules?: SelectionRules | undefined;
  /** Keep the retrieved series and the results (labels, stats, SEG, SR) here; default: a temporary folder, removed. */
  keepDir?: string | undefined;
  provider?: ProviderChoice | undefined;
  threads?: number | undefined;
  /** Segment and store even when the study already holds this model's result for the series (it is replaced in place: same UIDs). */
  force?: boolean | undefined;
  signal?: AbortSignal | undefined;
  /** One line per step, for the CLI's log. */
  log?: ((line: string) => void) | undefined;
}

export interface PacsSegmentResult {
  studyInstanceUid: string;
  status: 'stored' | 'already-present';
  series: { seriesInstanceUid: string; description: string; slices: number };
  verdicts: SeriesVerdict[];
  seg: { seriesInstanceUid: string; sopInstanceUid: string; frames?: number | undefined; bytes?: number | undefined };
  sr: { seriesInstanceUid: string; sopInstanceUid: string; bytes?: number | undefined };
  structures?: SegmentSummary['structures'] | undefined;
  /** Milliseconds per stage (only the stages that ran). */
  timingsMs: { query: number; retrieve?: number; segment?: number; encode?: number; store?: number; total: number };
  notes: string[];
  /** Where the retrieved series and the results were kept (with keepDir). */
  keptIn?: string | undefined;
}

/** UIDs of the result of `model` on `sourceSeriesUid` (deterministic, see the module comment). */
export function resultUids(sourceSeriesUid: string, model: Pick<PreparedModel, 'cardSha256' | 'onnxSha256'>) {
  const key = `pacs-result/${sourceSeriesUid}/${model.cardSha256}/${model.onnxSha256}`;
  return {
    segSeries: nameBasedUid(`${key}/seg-series`),
    segInstance: nameBasedUid(`${key}/seg-instance`),
    srSeries: nameBasedUid(`${key}/sr-series`),
    srInstance: nameBasedUid(`${key}/sr-instance`),
  };
}

/** Image modalities worth asking about instance by instance (others are judged from the series level alone). */
const NON_IMAGE = new Set(['SEG', 'SR', 'RTSTRUCT', 'RTPLAN', 'RTDOSE', 'PR', 'KO', 'DOC', 'REG', 'FID']);

/** PlaneOrientationSequence → ImageOrientationPatient in a multi-frame instance's functional groups. */
function functionalGroupOrientation(ds: DicomJsonDataset): number[] | undefined {
  for (const groupTag of ['52009229', '52009230']) {
    for (const group of sequence(ds, groupTag)) {
      const plane = sequence(group, '00209116')[0];
      const iop = plane ? numbers(plane, TAG.ImageOrientationPatient) : [];
      if (iop.length === 6) return iop;
    }
  }
  return undefined;
}

/**
 * What the selection rules need about each series of the study: series-level QIDO, then for image series the
 * instances' ImageType, orientation, frames and thickness (QIDO includefield). Multi-frame instances keep their
 * orientation in functional groups, which QIDO does not return: their WADO-RS metadata is read instead.
 */
export async function describeStudySeries(client: DicomWebClient, study: string): Promise<SeriesCandidate[]> {
  const series = await client.searchSeries(study, { includefield: ['00080060', '0008103E', '00200011', '00201209'] });
  const out: SeriesCandidate[] = [];
  for (const s of series) {
    const uid = string(s, TAG.SeriesInstanceUid);
    if (!uid) continue;
    const modality = string(s, TAG.Modality);
    const base = { seriesInstanceUid: uid, modality, seriesNumber: numbers(s, TAG.SeriesNumber)[0], description: string(s, TAG.SeriesDescription) };
    if (!modality || NON_IMAGE.has(modality.toUpperCase())) {
      out.push({ ...base, slices: numbers(s, TAG.NumberOfSeriesRelatedInstances)[0] ?? 0, imageTypes: [], orientation: 'unknown' });
      continue;
    }
    const instances = await client.searchInstances(study, uid, { includefield: [TAG.ImageType, TAG.ImageOrientationPatient, TAG.NumberOfFrames, TAG.SliceThickness] });
    let slices = 0;
    const imageTypes = new Set<string>();
    const orientations: SliceOrientation[] = [];
    let thickness: number | undefined;
    for (const inst of instances) {
      const frames = numbers(inst, TAG.NumberOfFrames)[0] ?? 1;
      slices += frames;
      for (const t of strings(inst, TAG.ImageType)) imageTypes.add(t.toUpperCase());
      let iop: number[] | undefined = numbers(inst, TAG.ImageOrientationPatient);
      if (iop.length !== 6 && frames > 1) {
        const sop = string(inst, TAG.SopInstanceUid);
        const meta = sop ? (await client.retrieveMetadata({ study, series: uid, instance: sop }))[0] : undefined;
        iop = meta ? functionalGroupOrientation(meta) : undefined;
        for (const t of meta ? strings(meta, TAG.ImageType) : []) imageTypes.add(t.toUpperCase());
      }
      orientations.push(orientationOf(iop));
      thickness ??= numbers(inst, TAG.SliceThickness)[0];
    }
    out.push({ ...base, slices, imageTypes: [...imageTypes], orientation: seriesOrientation(orientations), sliceThicknessMm: thickness });
  }
  return out;
}

/** Whether the study holds the SEG and SR instances of this result (QIDO on their SeriesInstanceUIDs). */
async function resultPresent(client: DicomWebClient, study: string, uids: ReturnType<typeof resultUids>): Promise<boolean> {
  const has = async (series: string, instance: string) => {
    const found = await client.searchInstances(study, series, { SOPInstanceUID: instance });
    return found.some((i) => string(i, TAG.SopInstanceUid) === instance);
  };
  // Orthanc answers an unknown series with an empty list; other servers with 404 — both mean "not there".
  try {
    return (await has(uids.segSeries, uids.segInstance)) && (await has(uids.srSeries, uids.srInstance));
  } catch (e) {
    if (e instanceof SegError && e.code === 'REMOTE_REJECTED' && /\b404\b/.test(e.message)) return false;
    throw e;
  }
}

const since = (t: number) => Math.round(performance.now() - t);

/**
 * Segments one study of a DICOMweb server and stores the SEG and SR back (see the module comment).
 * @throws SegError NO_SERIES (nothing to segment, with every series' reasons), REMOTE_* (server), model and input
 *   errors as `medseg segment`.
 */
export async function segmentStudyOnPacs(client: DicomWebClient, studyInstanceUid: string, options: PacsSegmentOptions): Promise<PacsSegmentResult> {
  const log = options.log ?? (() => undefined);
  const t0 = performance.now();
  const candidates = await describeStudySeries(client, studyInstanceUid);
  const { chosen, verdicts } = selectSeries(studyInstanceUid, candidates, options.rules);
  const uids = resultUids(chosen.seriesInstanceUid, options.model);
  const series = { seriesInstanceUid: chosen.seriesInstanceUid, description: verdicts[0]!.description, slices: chosen.slices };
  log(`study ${studyInstanceUid}: series ${series.seriesInstanceUid} (${series.description})`);
  const present = !options.force && (await resultPresent(client, studyInstanceUid, uids));
  const query = since(t0);
  const seg = { seriesInstanceUid: uids.segSeries, sopInstanceUid: uids.segInstance };
  const sr = { seriesInstanceUid: uids.srSeries, sopInstanceUid: uids.srInstance };
  if (present) {
    log(`study ${studyInstanceUid}: already holds this model's SEG and SR; nothing to do`);
    return { studyInstanceUid, status: 'already-present', series, verdicts, seg, sr, timingsMs: { query, total: since(t0) }, notes: [] };
  }

  const work = options.keepDir ? path.resolve(options.keepDir) : await fsp.mkdtemp(path.join(tmpdir(), 'medseg-pacs-'));
  try {
    const sourceDir = path.join(work, 'source');
    const resultDir = path.join(work, 'result');
    await fsp.rm(sourceDir, { recursive: true, force: true });
    const t1 = performance.now();
    const files = await client.retrieve({ study: studyInstanceUid, series: chosen.seriesInstanceUid }, sourceDir);
    const retrieve = since(t1);
    log(`retrieved ${files.length} instances in ${(retrieve / 1000).toFixed(1)} s`);
    if (files.length === 0) throw new SegError('NO_SERIES', `study ${studyInstanceUid}: series ${chosen.seriesInstanceUid} returned no instances`);

    const t2 = performance.now();
    let source: DicomVolume | undefined;
    const summary = await segmentCommand([sourceDir], {
      prepared: options.model,
      out: resultDir,
      seriesId: chosen.seriesInstanceUid,
      provider: options.provider,
      threads: options.threads,
      signal: options.signal,
      onLoaded: (scan) => {
        if (scan.format === 'dicom') source = scan.dicom;
      },
    });
    const segment = since(t2);
    if (!source) throw new SegError('UNSUPPORTED_FORMAT', `study ${studyInstanceUid}: the retrieved series did not load as DICOM`);
    log(`segmented in ${(segment / 1000).toFixed(1)} s`);

    const t3 = performance.now();
    const card = options.model.card;
    const labels = (await readNifti(summary.labelsFile)).volume;
    const segFile = path.join(resultDir, 'seg.dcm');
    const algorithm = { name: card.name, version: card.version };
    const encoded = await writeSeg(segFile, {
      source,
      labelMap: labels,
      labels: card.labels.map((l) => ({ value: l.value, name: l.name, color: l.color, category: l.category, type: l.type })),
      algorithm,
      uids: { series: uids.segSeries, instance: uids.segInstance },
    });
    const identity = await readSourceIdentity(source.planes[0]!.file);
    const stats = JSON.parse(await fsp.readFile(path.join(resultDir, 'stats.json'), 'utf8')) as StatsReport;
    const byLabel = new Map(stats.structures.map((s) => [s.label, s]));
    const isCt = source.series.modality?.toUpperCase() === 'CT';
    const segmentsWithFrames = encoded.segments.filter((s) => s.frames > 0);
    const srFile = path.join(resultDir, 'sr.dcm');
    const medsegVersion = (await softwareVersions()).medseg;
    const report = await writeMeasurementReportFile(srFile, {
      source: { ...srSourceFromDicomVolume(source), ...identity },
      seg: { sopInstanceUid: encoded.sopInstanceUid, sopClassUid: SEGMENTATION_STORAGE, seriesInstanceUid: encoded.seriesInstanceUid },
      segments: segmentsWithFrames.map((s) => {
        const label = card.labels.find((l) => l.value === s.labelValue)!;
        const structure = byLabel.get(s.labelValue);
        return {
          segmentNumber: s.number,
          label: s.label,
          type: label.type ?? { scheme: 'SCT', value: '85756007', meaning: 'Tissue' },
          category: label.category ?? { scheme: 'SCT', value: '85756007', meaning: 'Tissue' },
          stats: structure ? segmentStatsFromStructure(structure, isCt) : { volumeMl: 0 },
        };
      }),
      algorithm,
      medsegVersion,
      seriesInstanceUid: uids.srSeries,
      sopInstanceUid: uids.srInstance,
    });
    const encode = since(t3);

    const t4 = performance.now();
    await client.store([segFile, srFile], { study: studyInstanceUid });
    const store = since(t4);
    log(`stored SEG (${encoded.frames} frames, ${(encoded.bytes.byteLength / 1024).toFixed(0)} KiB) and SR in ${(store / 1000).toFixed(1)} s`);
    const notes = [...encoded.notes, ...identity.notes];
    const incomplete = stats.structures.filter((s) => s.incomplete && s.voxels > 0).map((s) => s.name);
    if (incomplete.length) notes.push(`cut by the scan border (their SR volumes are lower bounds): ${incomplete.join(', ')}`);
    return {
      studyInstanceUid,
      status: 'stored',
      series,
      verdicts,
      seg: { ...seg, frames: encoded.frames, bytes: encoded.bytes.byteLength },
      sr: { ...sr, bytes: report.bytes.byteLength },
      structures: summary.structures,
      timingsMs: { query, retrieve, segment, encode, store, total: since(t0) },
      notes,
      keptIn: options.keepDir ? work : undefined,
    };
  } finally {
    if (!options.keepDir) await fsp.rm(work, { recursive: true, force: true });
  }
}
