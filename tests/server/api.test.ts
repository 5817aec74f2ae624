/**
 * The service end to end on a real server (ephemeral port, real job processes, the real pointwise ONNX model):
 * upload → job → progress (polling and SSE) → results identical to what `medseg segment` writes for the same input.
 */
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadScan } from '../../src/io/load.js';
import { readNifti } from '../../src/io/nifti/read.js';
import { readSeg } from '../../src/pacs/seg/index.js';
import { fixture, sha256 } from '../helpers.js';
import { fileBytes, json, makeZip, MODEL, MODELS, medsegTs, pollJob, readJobEvents, removeTempDirs, startTestServer, submitJob, tempDir, uploadStudy, type JobJson, type TestServer } from './helpers.js';

const CARD = join(MODELS, 'pointwise-3d.card.json');
const SMALL_NIFTI = fixture('nifti', 'generated', 'dtype_int16.nii');
const DEMO_DICOM = fixture('demo', 'dicom');
const DEMO_NIFTI = fixture('demo', 'ct.nii.gz');
const tmp = tempDir('api');

let s: TestServer;
beforeAll(async () => {
  s = await startTestServer();
});
afterAll(async () => {
  await s?.close({ graceMs: 0 });
  removeTempDirs();
});

interface StatsJson {
  structures: { label: number; voxels: number; volumeMl: number }[];
}

async function download(path: string, file: string): Promise<string> {
  const res = await s.api(path);
  expect(res.status, `${path}: ${res.status}`).toBe(200);
  writeFileSync(file, Buffer.from(await res.arrayBuffer()));
  return file;
}

/** The job's results against `medseg segment`'s folder: the same label voxels, structures, CSV and input hash. */
async function expectSameAsCli(job: JobJson, refDir: string) {
  const dir = join(tmp, job.id);
  mkdirSync(dir);
  const got = await readNifti(await download(`/api/jobs/${job.id}/results/labels.nii.gz`, join(dir, 'labels.nii.gz')));
  const ref = await readNifti(join(refDir, 'labels.nii.gz'));
  expect(got.volume.dims).toEqual(ref.volume.dims);
  expect(got.volume.spacing).toEqual(ref.volume.spacing);
  expect(got.volume.data.constructor).toBe(ref.volume.data.constructor);
  expect(sha256(got.volume.data)).toBe(sha256(ref.volume.data));
  const stats = JSON.parse(readFileSync(await download(`/api/jobs/${job.id}/results/stats.json`, join(dir, 'stats.json')), 'utf8')) as StatsJson;
  const refStats = JSON.parse(readFileSync(join(refDir, 'stats.json'), 'utf8')) as StatsJson;
  expect(stats.structures).toEqual(refStats.structures);
  expect(stats.structures.length).toBeGreaterThan(0);
  expect(readFileSync(await download(`/api/jobs/${job.id}/results/stats.csv`, join(dir, 'stats.csv')), 'utf8')).toBe(readFileSync(join(refDir, 'stats.csv'), 'utf8'));
  const prov = JSON.parse(readFileSync(await download(`/api/jobs/${job.id}/results/provenance.json`, join(dir, 'provenance.json')), 'utf8'));
  const refProv = JSON.parse(readFileSync(join(refDir, 'provenance.json'), 'utf8'));
  expect(prov.status).toBe('complete');
  // The same bytes went in (the service renames uploaded files but keeps their order and content).
  expect(prov.input.sha256).toBe(refProv.input.sha256);
  expect(prov.model.cardSha256).toBe(refProv.model.cardSha256);
  expect(prov.model.onnxSha256).toBe(refProv.model.onnxSha256);
}

const nonDecreasing = (xs: number[]) => xs.every((x, i) => i === 0 || x >= xs[i - 1]!);

describe('medseg service', () => {
  it('lists the cards of the models folder (in file name order) with name, version, labels and mode', async () => {
    const res = await s.api('/api/models');
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({
      models: [
        {
          name: MODEL,
          version: '1',
          description: expect.any(String),
          mode: 'sliding-window',
          labels: [
            { value: 1, name: 'low', color: [0, 0, 255] },
            { value: 2, name: 'middle', color: [0, 255, 0] },
          ],
          available: true,
        },
        {
          name: 'pointwise-4mm',
          version: '1',
          description: expect.any(String),
          mode: 'sliding-window',
          labels: [
            { value: 1, name: 'low', color: [0, 0, 255] },
            { value: 2, name: 'middle', color: [0, 255, 0] },
          ],
          available: true,
        },
      ],
    });
  });

  it('segments an uploaded NIfTI file into exactly what medseg segment writes, and keeps the client file name out of disk and logs', async () => {
    const refDir = join(tmp, 'ref-nifti');
    await medsegTs('segment', SMALL_NIFTI, '--model', CARD, '--out', refDir, '--json');
    const clientName = 'DOE^JANE_19700101.nii';
    const study = await uploadStudy(s, [[clientName, readFileSync(SMALL_NIFTI)]]);
    const info = await json(await s.api(`/api/studies/${study}`));
    expect(info).toEqual({ id: study, createdAt: expect.any(String), format: 'nifti', files: 1, bytes: readFileSync(SMALL_NIFTI).length, image: `/api/studies/${study}/image.nii.gz` });
    const submitted = await submitJob(s, study);
    expect(submitted).toMatchObject({ status: 'queued', progress: 0, attempts: 0, error: null });
    const { job } = await pollJob(s, submitted.id);
    expect(job).toMatchObject({ status: 'succeeded', stage: 'done', progress: 1, etaSeconds: 0, error: null, attempts: 1 });
    expect(Object.keys(job.links.results!)).toEqual(['labels.nii.gz', 'stats.json', 'stats.csv', 'provenance.json', 'seg.dcm']);
    await expectSameAsCli(job, refDir);
    // A NIfTI study has no DICOM source to reference: no SEG, and the 404 says why.
    const seg = await s.api(job.links.results!['seg.dcm']!);
    expect(seg.status).toBe(404);
    expect((await json<{ error: { message: string } }>(seg)).error.message).toMatch(/DICOM studies only/);
    const onDisk = readdirSync(join(s.dataDir, 'studies', study, 'input'));
    expect(onDisk).toEqual(['000002.nii']);
    expect(JSON.stringify(s.logs)).not.toContain('DOE');
    expect(JSON.stringify(s.logs)).toContain(job.id);
  });

  it('segments a zipped DICOM series, reports stage, progress and ETA by polling and by server-sent events, and matches medseg segment', async () => {
    const refDir = join(tmp, 'ref-dicom');
    await medsegTs('segment', DEMO_DICOM, '--model', CARD, '--out', refDir, '--no-tta', '--json');
    const names = readdirSync(DEMO_DICOM).sort();
    const zip = makeZip(names.map((n) => ({ name: `PATIENT_NAME/series 1/${n}`, data: readFileSync(join(DEMO_DICOM, n)) })));
    const study = await uploadStudy(s, [['study.zip', zip]]);
    const info = await json<{ format: string; files: number }>(await s.api(`/api/studies/${study}`));
    expect(info).toMatchObject({ format: 'dicom', files: names.length });
    const submitted = await submitJob(s, study, { tta: false });
    const [sse, polled] = await Promise.all([readJobEvents(s, submitted.id), pollJob(s, submitted.id)]);
    expect(polled.job.status).toBe('succeeded');
    expect(sse.contentType).toBe('text/event-stream; charset=utf-8');
    expect(sse.contentEncoding, 'events must not be buffered by gzip').toBeNull();
    for (const seen of [polled.seen, sse.events]) {
      expect(nonDecreasing(seen.map((j) => j.progress))).toBe(true);
      expect(seen.at(-1)).toMatchObject({ status: 'succeeded', progress: 1 });
    }
    // The stream shows the pipeline's stages in order (every stage change is sent), and while the job runs a
    // progress strictly inside (0, 1) with a time-left estimate (the first is due when preprocessing starts,
    // after the job process has started: more than the 0.5 s the estimate waits for).
    const order = ['starting', 'preprocess', 'inference', 'postprocess', 'writing', 'done'];
    const stageIndex = sse.events.filter((e) => e.stage !== null).map((e) => order.indexOf(e.stage!));
    expect(stageIndex.every((i) => i >= 0)).toBe(true);
    expect(nonDecreasing(stageIndex)).toBe(true);
    expect(stageIndex).toContain(order.indexOf('inference'));
    for (const e of sse.events.filter((x) => x.stage === 'inference')) {
      expect(e.progress).toBeGreaterThanOrEqual(0.1);
      expect(e.progress).toBeLessThanOrEqual(0.9);
    }
    expect(sse.events.some((e) => e.status === 'running' && e.progress > 0 && e.progress < 1 && e.etaSeconds !== null && e.etaSeconds > 0)).toBe(true);
    expect(polled.seen.some((j) => j.status === 'running')).toBe(true);
    // Results are not served before the job succeeded (the job is finished here, so check the absent folder).
    await expectSameAsCli(polled.job, refDir);
    expect(readdirSync(join(s.dataDir, 'jobs', submitted.id))).toEqual(['results']);
    // The DICOM study's result also comes as a DICOM SEG on the source series, decoding to the same label map.
    const segFile = await download(polled.job.links.results!['seg.dcm']!, join(tmp, 'job.seg.dcm'));
    const labels = (await readNifti(join(refDir, 'labels.nii.gz'))).volume;
    const scan = await loadScan([DEMO_DICOM]);
    if (scan.format !== 'dicom') throw new Error('the demo series did not load as DICOM');
    // Segment numbers are the card's label values here (labels 1 and 2, segment n = labels[n − 1]).
    const decoded = await readSeg(segFile, { source: scan.dicom });
    expect(decoded.labelMap.dims).toEqual(labels.dims);
    expect(sha256(decoded.labelMap.data)).toBe(sha256(labels.data));
  });

  it('serves the scan itself as NIfTI for a viewer, converted once and cached, with the loaded values', async () => {
    const names = readdirSync(DEMO_DICOM).sort();
    const study = await uploadStudy(s, names.map((n) => [n, readFileSync(join(DEMO_DICOM, n))]));
    const file = await download(`/api/studies/${study}/image.nii.gz`, join(tmp, 'image.nii.gz'));
    const image = (await readNifti(file)).volume;
    const scan = (await loadScan([DEMO_DICOM])).volume;
    expect(image.dims).toEqual(scan.dims);
    let differing = 0;
    for (let n = 0; n < scan.data.length; n++) if (image.data[n] !== scan.data[n]) differing++;
    expect(differing).toBe(0);
    const again = await s.api(`/api/studies/${study}/image.nii.gz`);
    expect(Buffer.from(await again.arrayBuffer()).equals(readFileSync(file))).toBe(true);
    expect(readdirSync(join(s.dataDir, 'studies', study)).sort()).toEqual(['image.nii.gz', 'input', 'study.json']);
  });

  it('answers health checks and status requests while a job runs, and cancels queued and running jobs', async () => {
    const study = await uploadStudy(s, [fileBytes(DEMO_NIFTI)]);
    const long = await submitJob(s, study); // with test-time mirroring: several seconds of inference
    const queued = await submitJob(s, study); // concurrency 1: waits
    await pollJob(s, long.id, (j) => j.status === 'running' && j.stage === 'inference' && j.progress > 0.12);
    // Answered while the job runs (latency is a benchmark matter, not asserted here).
    for (let i = 0; i < 20; i++) {
      const res = await s.api('/healthz');
      expect(await res.json()).toEqual({ status: 'ok' });
    }
    const ready = await json<{ status: string; jobs: Record<string, number> }>(await s.api('/readyz'));
    expect(ready.status).toBe('ready');
    expect(ready.jobs.running).toBe(1);
    expect(ready.jobs.queued).toBe(1);
    expect((await json<JobJson>(await s.api(`/api/jobs/${long.id}`))).status).toBe('running');

    const cancelledQueued = await s.api(`/api/jobs/${queued.id}/cancel`, { method: 'POST' });
    expect(cancelledQueued.status).toBe(200);
    expect(await cancelledQueued.json()).toMatchObject({ status: 'cancelled', attempts: 0 });
    const cancelledRunning = await s.api(`/api/jobs/${long.id}/cancel`, { method: 'POST' });
    expect(cancelledRunning.status).toBe(200);
    expect(await cancelledRunning.json()).toMatchObject({ status: 'cancelled', error: null });
    const again = await s.api(`/api/jobs/${long.id}/cancel`, { method: 'POST' });
    expect(again.status).toBe(409);
    expect(await again.json()).toEqual({ error: { code: 'CONFLICT', message: `job ${long.id} has already been cancelled; only queued or running jobs can be cancelled` } });
    const results = await s.api(`/api/jobs/${long.id}/results/labels.nii.gz`);
    expect(results.status).toBe(404);
    expect(await results.json()).toEqual({ error: { code: 'NOT_READY', message: `job ${long.id} is cancelled; results exist only once it has succeeded` } });
    expect(readdirSync(join(s.dataDir, 'jobs', long.id))).toEqual([]); // the attempt folder is gone, no results
    // SSE of a finished job: one event, then the stream ends.
    const sse = await readJobEvents(s, long.id);
    expect(sse.events.map((e) => e.status)).toEqual(['cancelled']);
  });

  it('fails a job whose study is not a readable scan with the loader\'s error code and message', async () => {
    // A DICOM preamble and nothing after it: accepted as an upload, refused by the DICOM reader.
    const fake = Buffer.alloc(200);
    fake.write('DICM', 128, 'latin1');
    const study = await uploadStudy(s, [['x.dcm', fake]]);
    const { job } = await pollJob(s, (await submitJob(s, study)).id);
    expect(job.status).toBe('failed');
    expect(job.error?.code).toMatch(/^(NO_SERIES|TRUNCATED_FILE|NOT_DICOM|INVALID_HEADER)$/);
    expect(job.error?.message).not.toContain(s.dataDir); // server paths are not shown to clients
    expect(s.logs.some((l) => l.event === 'job_failed' && l.job === job.id && l.code === job.error?.code)).toBe(true);
  });
});
