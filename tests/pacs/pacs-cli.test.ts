/**
 * `medseg pacs segment` and `medseg pacs watch` end to end against a real Orthanc (Debian orthanc + orthanc-dicomweb,
 * started on loopback by the tests): the demo phantom series and a JPEG-LS compressed series go in, the CLI runs,
 * and what Orthanc holds afterwards is checked — one SEG and one SR per study, referencing the right series, whose
 * content equals a local `medseg segment` of the same files with the same model. Skips locally without Orthanc,
 * fails under CI=true.
 */
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { segmentCommand } from '../../src/workflows/segment.js';
import { readNifti } from '../../src/io/nifti/read.js';
import { readDicomVolume } from '../../src/io/dicom/index.js';
import { DicomWebClient, string, TAG } from '../../src/pacs/dicomweb/index.js';
import { readSeg } from '../../src/pacs/seg/read-seg.js';
import { readMeasurementReport } from '../../src/pacs/sr/read.js';
import { writeCtSeries } from '../../src/phantom/dicom-series.js';
import { makeVolume } from '../../src/volume/volume.js';
import { fixture, medseg } from '../helpers.js';
import { orthancAvailable, startOrthanc, type OrthancInstance } from './orthanc.js';

const hasOrthanc = orthancAvailable();
const DEMO_DIR = fixture('demo', 'dicom');
const DEMO_FILES = readdirSync(DEMO_DIR).filter((f) => f.endsWith('.dcm')).sort().map((f) => join(DEMO_DIR, f));
const JPEG_LS = '1.2.840.10008.1.2.4.80';
const SEG_CLASS = '1.2.840.10008.5.1.4.1.1.66.4';
const SR_CLASS = '1.2.840.10008.5.1.4.1.1.88.34';

const tmpDirs: string[] = [];
function tmp(): string {
  const d = mkdtempSync(join(tmpdir(), 'medseg-pacs-cli-'));
  tmpDirs.push(d);
  return d;
}
afterAll(() => { if (!process.env.KEEP_TMP) tmpDirs.forEach((d) => rmSync(d, { recursive: true, force: true })); });

/** Series of a study as (modality → instance count), from QIDO. */
async function seriesOf(client: DicomWebClient, study: string): Promise<Map<string, { modality: string; instances: number }>> {
  const out = new Map<string, { modality: string; instances: number }>();
  for (const s of await client.searchSeries(study, { includefield: ['00080060', '00201209'] })) {
    const uid = string(s, TAG.SeriesInstanceUid)!;
    const instances = await client.searchInstances(study, uid);
    out.set(uid, { modality: string(s, TAG.Modality) ?? '?', instances: instances.length });
  }
  return out;
}

/** Orthanc REST POST (JSON in and out). */
async function orthancPost<T>(orthanc: OrthancInstance, path: string, body: unknown): Promise<T> {
  // /tools/lookup takes the bare UID as its body; the other routes take JSON.
  const res = await fetch(`${orthanc.url}${path}`, { method: 'POST', body: typeof body === 'string' ? body : JSON.stringify(body) });
  if (!res.ok) throw new Error(`POST ${path}: HTTP ${res.status} ${await res.text()}`);
  return (await res.json()) as T;
}

describe.skipIf(!hasOrthanc)('medseg pacs segment against a real Orthanc', () => {
  let orthanc: OrthancInstance;
  let client: DicomWebClient;
  let card: string;
  let demoStudy: string;
  let demoSeries: string;

  beforeAll(async () => {
    // OverwriteInstances: Orthanc's own transcoding below replaces instances under their UIDs.
    orthanc = await startOrthanc({ stableAgeSeconds: 1, config: { OverwriteInstances: true } });
    client = new DicomWebClient({ url: orthanc.dicomWebRoot, timeoutMs: 20_000 });
    card = fixture('models', 'pointwise-4mm.card.json');
    await client.store(DEMO_FILES);
    const source = await readDicomVolume(DEMO_DIR);
    demoStudy = source.series.studyInstanceUid!;
    demoSeries = source.series.seriesInstanceUid;
  }, 60_000);
  afterAll(async () => {
    client?.close();
    await orthanc?.stop();
  });

  it('stores one SEG and one SR that reproduce a local segmentation, and does nothing the second time', async () => {
    const keep = tmp();
    const first = await medseg('pacs', 'segment', '--url', orthanc.dicomWebRoot, '--study', demoStudy, '--model', card, '--keep', keep, '--json');
    expect(first.code, first.stderr).toBe(0);
    const r = JSON.parse(first.stdout);
    expect(r.status).toBe('stored');
    expect(r.series.seriesInstanceUid).toBe(demoSeries);
    expect(r.series.slices).toBe(76);
    expect(Object.keys(r.timingsMs).sort()).toEqual(['encode', 'query', 'retrieve', 'segment', 'store', 'total']);

    // What Orthanc holds: the CT, one SEG, one SR — each with one instance.
    const held = await seriesOf(client, demoStudy);
    expect([...held.values()].map((s) => `${s.modality}:${s.instances}`).sort()).toEqual(['CT:76', 'SEG:1', 'SR:1']);
    expect(held.get(r.seg.seriesInstanceUid)).toEqual({ modality: 'SEG', instances: 1 });
    expect(held.get(r.sr.seriesInstanceUid)).toEqual({ modality: 'SR', instances: 1 });

    // The SEG from Orthanc, read against the original files, equals a local `medseg segment` of those files.
    const fromPacs = tmp();
    const segFiles = await client.retrieve({ study: demoStudy, series: r.seg.seriesInstanceUid }, fromPacs);
    const srFiles = await client.retrieve({ study: demoStudy, series: r.sr.seriesInstanceUid }, join(fromPacs, 'sr'));
    const source = await readDicomVolume(DEMO_DIR);
    const seg = await readSeg(segFiles[0]!.path, { source });
    expect(seg.referencedSeriesInstanceUid).toBe(demoSeries);
    const local = await segmentCommand([DEMO_DIR], { model: card, out: tmp() });
    const localLabels = (await readNifti(local.labelsFile)).volume;
    expect(seg.labelMap.dims).toEqual(localLabels.dims);
    let differing = 0;
    let low = 0;
    let middle = 0;
    for (let n = 0; n < localLabels.data.length; n++) {
      const v = localLabels.data[n]!;
      if (seg.labelMap.data[n] !== v) differing++;
      if (v === 1) low++;
      if (v === 2) middle++;
    }
    expect(differing).toBe(0);
    expect(low).toBeGreaterThan(100_000); // air around the body
    expect(middle).toBeGreaterThan(50_000); // fat
    expect(seg.segments.map((s) => s.label)).toEqual(['low', 'middle']);

    // The SR: one measurement group per segment, referencing this SEG and the CT series, with the local volumes.
    const report = await readMeasurementReport(srFiles[0]!.path);
    expect(report.segments.map((s) => s.segmentNumber)).toEqual([1, 2]);
    for (const s of report.segments) {
      expect(s.segSopInstanceUid).toBe(r.seg.sopInstanceUid);
      expect(s.segSopClassUid).toBe(SEG_CLASS);
      expect(s.sourceSeriesInstanceUid).toBe(demoSeries);
      const volume = s.measurements.find((m) => m.concept.value === '118565006')!;
      const expected = local.structures.find((x) => x.value === s.segmentNumber)!.volumeMl;
      expect(volume.unit.value).toBe('cm3');
      expect(Number(volume.value)).toBeCloseTo(expected, 5);
    }
    expect(report.sopClassUid).toBe(SR_CLASS);

    // Second run: found, nothing stored again.
    const second = await medseg('pacs', 'segment', '--url', orthanc.dicomWebRoot, '--study', demoStudy, '--model', card, '--json');
    expect(second.code, second.stderr).toBe(0);
    const r2 = JSON.parse(second.stdout);
    expect(r2.status).toBe('already-present');
    expect(r2.seg.sopInstanceUid).toBe(r.seg.sopInstanceUid);
    expect(Object.keys(r2.timingsMs).sort()).toEqual(['query', 'total']);
    const after = await seriesOf(client, demoStudy);
    expect([...after.values()].map((s) => `${s.modality}:${s.instances}`).sort()).toEqual(['CT:76', 'SEG:1', 'SR:1']);
  }, 240_000);

  it('segments a JPEG-LS compressed series as it is stored, with the same result as the uncompressed files', async () => {
    // A small phantom-like series, uploaded, then transcoded by Orthanc itself to JPEG-LS lossless under the same UIDs
    // (with OverwriteInstances the transcoded instance replaces the original; KeepSource false would delete both, as
    // they share their Orthanc id).
    const dir = tmp();
    const [nx, ny, nz] = [64, 48, 12];
    const ct = makeVolume({ data: new Int16Array(nx * ny * nz), dims: [nx, ny, nz], spacing: [3, 3, 5], origin: [-96, -72, 0], direction: [1, 0, 0, 0, 1, 0, 0, 0, 1] });
    for (let k = 0; k < nz; k++)
      for (let j = 0; j < ny; j++)
        for (let i = 0; i < nx; i++) {
          const r = Math.hypot((i - nx / 2) / (nx * 0.35), (j - ny / 2) / (ny * 0.35));
          ct.data[i + nx * (j + ny * k)] = r < 1 ? (r < 0.5 ? 50 : -100) : -1000;
        }
    await writeCtSeries(dir, ct, { uidKey: 'pacs-cli-test/jpegls', patientName: 'Test^Compressed', patientId: 'C1', studyDate: '20261121', studyDescription: 'compressed', seriesDescription: 'CT small', sliceThicknessMm: 5 });
    const files = readdirSync(dir).filter((f) => f.endsWith('.dcm')).sort().map((f) => join(dir, f));
    const stored = await client.store(files);
    const sop = stored.stored[0]!.sopInstanceUid;
    const instance = (await orthancPost<{ ID: string }[]>(orthanc, '/tools/lookup', sop))[0]!;
    const info = await orthanc.rest<{ ParentSeries: string }>(`/instances/${instance.ID}`);
    await orthancPost(orthanc, `/series/${info.ParentSeries}/modify`, { Transcode: JPEG_LS, Keep: ['StudyInstanceUID', 'SeriesInstanceUID', 'SOPInstanceUID'], Force: true });
    const after = (await orthancPost<{ ID: string }[]>(orthanc, '/tools/lookup', sop))[0]!.ID;
    const ts = await (await fetch(`${orthanc.url}/instances/${after}/metadata/TransferSyntax`)).text();
    expect(ts).toBe(JPEG_LS);

    const source = await readDicomVolume(dir);
    const keep = tmp();
    const run = await medseg('pacs', 'segment', '--url', orthanc.dicomWebRoot, '--study', source.series.studyInstanceUid!, '--model', card, '--keep', keep, '--json');
    expect(run.code, run.stderr).toBe(0);
    const r = JSON.parse(run.stdout);
    expect(r.status).toBe('stored');
    // The retrieved files are JPEG-LS (retrieved as stored, decoded by medseg).
    const retrieved = await readDicomVolume(join(keep, 'source'));
    expect(retrieved.series.slices[0]!.instance.transferSyntaxUid).toBe(JPEG_LS);
    expect(Array.from(retrieved.volume.data)).toEqual(Array.from(source.volume.data));
    const local = await segmentCommand([dir], { model: card, out: tmp() });
    const kept = (await readNifti(join(keep, 'result', 'labels.nii.gz'))).volume;
    const localLabels = (await readNifti(local.labelsFile)).volume;
    expect(Array.from(kept.data)).toEqual(Array.from(localLabels.data));
    const seg = await readSeg(join(keep, 'result', 'seg.dcm'), { source });
    expect(Array.from(seg.labelMap.data)).toEqual(Array.from(localLabels.data));
    const held = await seriesOf(client, source.series.studyInstanceUid!);
    expect([...held.values()].map((s) => `${s.modality}:${s.instances}`).sort()).toEqual(['CT:12', 'SEG:1', 'SR:1']);
  }, 240_000);

  it('explains why a study has nothing to segment, and exits 5', async () => {
    const run = await medseg('pacs', 'segment', '--url', orthanc.dicomWebRoot, '--study', demoStudy, '--model', card, '--modality', 'MR');
    expect(run.code).toBe(5);
    expect(run.stderr).toContain(`${demoSeries} (CT #`);
    expect(run.stderr).toContain('modality CT is not MR');
    expect(run.stderr).toContain('modality SEG is not an image series');
  }, 60_000);
});

describe.skipIf(!hasOrthanc)('medseg pacs watch against a real Orthanc', () => {
  it('segments each stable study once, resumes from its state, and survives an outage without losing the study', async () => {
    const card = fixture('models', 'pointwise-4mm.card.json');
    const orthanc = await startOrthanc({ stableAgeSeconds: 1 });
    const state = join(tmp(), 'state.json');
    const client = new DicomWebClient({ url: orthanc.dicomWebRoot, timeoutMs: 20_000 });
    try {
      // Nothing yet: a pass creates the state at the current end of the feed.
      const empty = await medseg('pacs', 'watch', '--orthanc', orthanc.url, '--state', state, '--model', card, '--once', '--json');
      expect(empty.code, empty.stderr).toBe(0);
      expect(JSON.parse(empty.stdout)).toMatchObject({ segmented: 0, failed: 0 });

      await client.store(DEMO_FILES);
      const source = await readDicomVolume(DEMO_DIR);
      const study = source.series.studyInstanceUid!;
      // Wait until Orthanc calls the study stable (StableAge 1 s; it checks about once a second).
      const deadline = Date.now() + 30_000;
      for (;;) {
        const changes = await orthanc.rest<{ Changes: { ChangeType: string }[] }>('/changes?limit=1000');
        if (changes.Changes.some((c) => c.ChangeType === 'StableStudy')) break;
        if (Date.now() > deadline) throw new Error('Orthanc never reported the study stable');
        await new Promise((r) => setTimeout(r, 250));
      }

      // An outage: the watcher cannot reach Orthanc; it exits 8 and its state is unchanged.
      const before = await readFile(state, 'utf8');
      const down = await medseg('pacs', 'watch', '--orthanc', 'http://127.0.0.1:9', '--dicomweb', orthanc.dicomWebRoot, '--state', join(tmp(), 'other.json'), '--model', card, '--once', '--timeout', '1');
      expect(down.code).toBe(8);
      expect(await readFile(state, 'utf8')).toBe(before);

      const pass = await medseg('pacs', 'watch', '--orthanc', orthanc.url, '--state', state, '--model', card, '--once', '--json');
      expect(pass.code, pass.stderr).toBe(0);
      expect(JSON.parse(pass.stdout)).toMatchObject({ segmented: 1, failed: 0, skipped: 0 });
      const held = await seriesOf(client, study);
      expect([...held.values()].map((s) => `${s.modality}:${s.instances}`).sort()).toEqual(['CT:76', 'SEG:1', 'SR:1']);
      const saved = JSON.parse(await readFile(state, 'utf8'));
      expect(saved.orthanc).toBe(orthanc.url);
      expect(Object.values(saved.studies)).toEqual([expect.objectContaining({ studyInstanceUid: study, outcome: 'segmented' })]);
      expect(saved.lastChange).toBeGreaterThan(0);

      // Our own SEG/SR made the study change again; once it is stable, a restarted watcher finds the result and stores nothing.
      const stableAgain = Date.now() + 30_000;
      for (;;) {
        const changes = await orthanc.rest<{ Changes: { ChangeType: string; Seq: number }[] }>(`/changes?since=${saved.lastChange}&limit=1000`);
        if (changes.Changes.some((c) => c.ChangeType === 'StableStudy')) break;
        if (Date.now() > stableAgain) throw new Error('Orthanc never reported the study stable again');
        await new Promise((r) => setTimeout(r, 250));
      }
      const again = await medseg('pacs', 'watch', '--orthanc', orthanc.url, '--state', state, '--model', card, '--once', '--json');
      expect(again.code, again.stderr).toBe(0);
      expect(JSON.parse(again.stdout)).toMatchObject({ segmented: 0, alreadyPresent: 1, failed: 0 });
      const after = await seriesOf(client, study);
      expect([...after.values()].map((s) => `${s.modality}:${s.instances}`).sort()).toEqual(['CT:76', 'SEG:1', 'SR:1']);
    } finally {
      client.close();
      await orthanc.stop();
    }
  }, 300_000);
});
