/**
 * The PACS round trip on the demo study (fixtures/demo/dicom, 256×256×76, 76 files): a real Orthanc with the DICOMweb
 * plugin (tests/pacs/orthanc.ts: its own loopback ports and temporary storage), then per rep:
 *
 *   1. the study is deleted through Orthanc's REST API (untimed), so every rep starts from the same state;
 *   2. baseline: a bare STOW-RS of the 76 files (DicomWebClient.store), timed;
 *   3. baseline: a bare WADO-RS retrieval of the series into a temporary folder (DicomWebClient.retrieve), timed;
 *   4. per model: segmentStudyOnPacs (no force: the study holds no result, so it queries, retrieves, segments,
 *      encodes SEG + SR and stores them) and its timingsMs per stage.
 *
 * After the reps, one more segmentStudyOnPacs per model finds its result and does nothing ("already-present"):
 * the cost of a no-op re-run. Models: (a) the bundled default card (models/default/default.card.json) when its ONNX
 * file exists, (b) the pointwise test network on a 4 mm grid (the card of tests/pacs/pacs-cli.test.ts).
 */
import { existsSync, mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { defaultCardPath, prepareSegmentModel, type PreparedModel } from '../../src/workflows/segment.js';
import { readDicomVolume } from '../../src/io/dicom/index.js';
import { DicomWebClient } from '../../src/pacs/dicomweb/index.js';
import { segmentStudyOnPacs, type PacsSegmentResult } from '../../src/pacs/segment-study.js';
import { DICOMWEB_PLUGIN, ORTHANC_BIN, startOrthanc, type OrthancInstance } from '../../tests/pacs/orthanc.js';

const REPO = fileURLToPath(new URL('../..', import.meta.url));
const DEMO_DIR = join(REPO, 'fixtures', 'demo', 'dicom');

export type Stage = 'query' | 'retrieve' | 'segment' | 'encode' | 'store' | 'total';
export const STAGES: Stage[] = ['query', 'retrieve', 'segment', 'encode', 'store', 'total'];

export interface ModelRun {
  id: 'default' | 'pointwise';
  label: string;
  card: string;
  reps: PacsSegmentResult['timingsMs'][];
  seg?: { frames?: number | undefined; bytes?: number | undefined };
  srBytes?: number | undefined;
  /** Timings of the extra run that found the result present. */
  noop?: PacsSegmentResult['timingsMs'];
}

export interface RoundTripResult {
  skipped?: string;
  notes: string[];
  demo: { files: number; bytes: number; dims: number[] };
  orthanc?: { version?: string; dicomWebVersion?: string };
  baseline: { stowMs: number[]; retrieveMs: number[] };
  models: ModelRun[];
}

/**
 * The pointwise test network (labels 1 "low" below −667 HU, 2 "middle" up to 0 HU) on a 4 mm grid with big tiles:
 * a real ONNX model that segments the demo study in about a second, so the other stages are visible.
 */

async function orthancRequest(o: OrthancInstance, method: 'POST' | 'DELETE', path: string, body?: string): Promise<unknown> {
  const res = await fetch(`${o.url}${path}`, { method, body });
  if (!res.ok) throw new Error(`${method} ${path}: HTTP ${res.status} ${await res.text()}`);
  const text = await res.text();
  return text ? JSON.parse(text) : undefined;
}

/** Deletes a study (and everything in it) from Orthanc, if present. */
async function deleteStudy(o: OrthancInstance, studyUid: string): Promise<void> {
  const found = (await orthancRequest(o, 'POST', '/tools/lookup', studyUid)) as { ID: string; Type: string }[];
  for (const f of found) if (f.Type === 'Study') await orthancRequest(o, 'DELETE', `/studies/${f.ID}`);
}

export async function runRoundTrip(reps: number, log: (line: string) => void): Promise<RoundTripResult> {
  const files = readdirSync(DEMO_DIR).filter((f) => f.endsWith('.dcm')).sort().map((f) => join(DEMO_DIR, f));
  const demoVolume = await readDicomVolume(DEMO_DIR);
  const demo = { files: files.length, bytes: files.reduce((a, f) => a + statSync(f).size, 0), dims: [...demoVolume.volume.dims] };
  const study = demoVolume.series.studyInstanceUid!;
  const series = demoVolume.series.seriesInstanceUid;
  const result: RoundTripResult = { notes: [], demo, baseline: { stowMs: [], retrieveMs: [] }, models: [] };
  const missing = [ORTHANC_BIN, DICOMWEB_PLUGIN].filter((p) => !existsSync(p));
  if (missing.length) {
    result.skipped = `Orthanc is not installed (${missing.join(', ')} missing: Debian packages orthanc and orthanc-dicomweb); round trip not measured`;
    return result;
  }

  const tmp = mkdtempSync(join(tmpdir(), 'medseg-bench-pacs-'));
  const models: { run: ModelRun; prepared: PreparedModel }[] = [];
  try {
    // (a) the bundled default model, when trained.
    try {
      const prepared = await prepareSegmentModel(undefined);
      models.push({ prepared, run: { id: 'default', label: `(a) default model ${prepared.card.name} ${prepared.card.version}`, card: defaultCardPath(), reps: [] } });
    } catch (e) {
      const why = `(a) default model skipped: ${(e as Error).message}`;
      result.notes.push(why);
      log(`pacs: ${why}`);
    }
    const pointwise = join(REPO, 'fixtures', 'models', 'pointwise-4mm.card.json');
    models.push({ prepared: await prepareSegmentModel(pointwise), run: { id: 'pointwise', label: '(b) pointwise test network, 4 mm grid', card: 'fixtures/models/pointwise-3d.onnx (card as in tests/pacs/pacs-cli.test.ts)', reps: [] } });

    log('pacs: starting Orthanc…');
    const orthanc = await startOrthanc({ stableAgeSeconds: 60 });
    const client = new DicomWebClient({ url: orthanc.dicomWebRoot, timeoutMs: 120_000 });
    try {
      const system = await orthanc.rest<{ Version?: string }>('/system');
      const plugin = await orthanc.rest<{ Version?: string }>('/plugins/dicom-web').catch(() => ({}) as { Version?: string });
      result.orthanc = { version: system.Version, dicomWebVersion: plugin.Version };
      for (let r = 0; r < reps; r++) {
        await deleteStudy(orthanc, study);
        let t = performance.now();
        const stow = await client.store(files);
        result.baseline.stowMs.push(performance.now() - t);
        if (stow.stored.length !== files.length) throw new Error(`bare STOW stored ${stow.stored.length} of ${files.length} instances`);
        const out = join(tmp, `retrieve-${r}`);
        t = performance.now();
        const got = await client.retrieve({ study, series }, out);
        result.baseline.retrieveMs.push(performance.now() - t);
        rmSync(out, { recursive: true, force: true });
        if (got.length !== files.length) throw new Error(`bare WADO-RS retrieved ${got.length} of ${files.length} instances`);
        for (const m of models) {
          const res = await segmentStudyOnPacs(client, study, { model: m.prepared });
          if (res.status !== 'stored') throw new Error(`${m.run.label}: rep ${r + 1} returned ${res.status}, expected stored`);
          m.run.reps.push(res.timingsMs);
          m.run.seg = { frames: res.seg.frames, bytes: res.seg.bytes };
          m.run.srBytes = res.sr.bytes;
          log(`pacs: rep ${r + 1}/${reps} ${m.run.id}: ${STAGES.map((s) => `${s} ${res.timingsMs[s] ?? '—'}`).join(', ')} ms`);
        }
      }
      for (const m of models) {
        const res = await segmentStudyOnPacs(client, study, { model: m.prepared });
        if (res.status !== 'already-present') throw new Error(`${m.run.label}: the re-run returned ${res.status}, expected already-present`);
        m.run.noop = res.timingsMs;
      }
    } finally {
      client.close();
      await orthanc.stop();
    }
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
  result.models = models.map((m) => m.run);
  return result;
}
