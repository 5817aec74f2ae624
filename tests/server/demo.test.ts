/**
 * The demo result (`npm start`): a scan and its segmentation imported at start as a study and a succeeded job under
 * ids derived from the files, stable across restarts, listed by GET /api/jobs, served like any job's results.
 */
import { cpSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { demoIds } from '../../src/server/demo.js';
import { fixture, ROOT } from '../helpers.js';
import { json, medsegTs, removeTempDirs, startTestServer, tempDir, type JobJson, type TestServer } from './helpers.js';

const DEMO_NIFTI = fixture('demo', 'ct.nii.gz');
const DEMO_DICOM = fixture('demo', 'dicom');
const DEMO_LABELS = fixture('demo', 'labels.nii.gz');
const MODELS = join(ROOT, 'models');
const MODEL = 'medseg-default-abdomen-2d';

const results = tempDir('demo-results');
const dataDir = tempDir('demo-data');
let s: TestServer | undefined;

beforeAll(async () => {
  // The ground-truth labels stand in for a segmentation: stats.json and stats.csv as `medseg stats` writes them.
  await medsegTs('stats', DEMO_LABELS, '--image', DEMO_NIFTI, '--model', join(MODELS, 'default', 'default.card.json'), '--out', results);
  cpSync(DEMO_LABELS, join(results, 'labels.nii.gz'));
});
afterAll(async () => {
  await s?.close({ graceMs: 0 });
  removeTempDirs();
});

describe('demo import', () => {
  it('serves the imported result as a succeeded job of the named model', async () => {
    s = await startTestServer({ dataDir, modelsDir: MODELS, demo: { inputs: [DEMO_NIFTI], results, model: MODEL } });
    const id = s.demoJobId!;
    expect(id).toMatch(/^job_[0-9a-f]{32}$/);
    const job = await json<JobJson>(await s.api(`/api/jobs/${id}`));
    expect(job).toMatchObject({ status: 'succeeded', stage: 'done', progress: 1, model: MODEL, attempts: 0 });
    const labels = await s.api(`/api/jobs/${id}/results/labels.nii.gz`);
    expect(labels.status).toBe(200);
    expect(Buffer.from(await labels.arrayBuffer()).equals(readFileSync(DEMO_LABELS))).toBe(true);
    const stats = await json<{ structures: { name: string; volumeMl: number }[] }>(await s.api(`/api/jobs/${id}/results/stats.json`));
    expect(stats.structures.find((x) => x.name === 'liver')!.volumeMl).toBeGreaterThan(500);
    expect((await s.api(`/api/jobs/${id}/results/stats.csv`)).status).toBe(200);
    // `medseg stats` writes no provenance: the optional file is absent, and said to be.
    const prov = await s.api(`/api/jobs/${id}/results/provenance.json`);
    expect(prov.status).toBe(404);
    expect((await json<{ error: { code: string } }>(prov)).error.code).toBe('NOT_FOUND');

    const study = await json<{ id: string; format: string; files: number; bytes: number }>(await s.api(`/api/studies/${job.study}`));
    expect(study).toMatchObject({ id: job.study, format: 'nifti', files: 1, bytes: readFileSync(DEMO_NIFTI).length });
    const image = await s.api(`/api/studies/${job.study}/image.nii.gz`);
    expect(image.status).toBe(200);
  });

  it('keeps the same ids across restarts and imports only once', async () => {
    const before = s!.demoJobId;
    await s!.close({ graceMs: 0 });
    s = await startTestServer({ dataDir, modelsDir: MODELS, demo: { inputs: [DEMO_NIFTI], results, model: MODEL } });
    expect(s.demoJobId).toBe(before);
    const list = await json<{ jobs: JobJson[] }>(await s.api('/api/jobs'));
    expect(list.jobs.map((j) => j.id)).toEqual([before]);
    expect(s.logs.some((e) => e.event === 'job_imported')).toBe(false);
  });

  it('derives the ids from the files: another scan gives another study and job', async () => {
    const a = await demoIds({ inputs: [DEMO_NIFTI], results, model: MODEL });
    const b = await demoIds({ inputs: [DEMO_DICOM], results, model: MODEL });
    const c = await demoIds({ inputs: [DEMO_NIFTI], results, model: 'other' });
    expect(a.study).not.toBe(b.study);
    expect(a.job).not.toBe(b.job);
    expect(c.study).toBe(a.study);
    expect(c.job).not.toBe(a.job);
  });

  it('imports a DICOM folder as a DICOM study of all its files', async () => {
    await s!.close({ graceMs: 0 });
    s = await startTestServer({ dataDir: tempDir('demo-dicom'), modelsDir: MODELS, demo: { inputs: [DEMO_DICOM], results, model: MODEL } });
    const job = await json<JobJson>(await s.api(`/api/jobs/${s.demoJobId}`));
    const study = await json<{ format: string; files: number }>(await s.api(`/api/studies/${job.study}`));
    expect(study).toEqual(expect.objectContaining({ format: 'dicom', files: 76 }));
  });

  it('refuses an unknown model or a results folder without labels, naming what is wrong', async () => {
    await expect(startTestServer({ dataDir: tempDir('demo-bad'), modelsDir: MODELS, demo: { inputs: [DEMO_NIFTI], results, model: 'no-such-model' } })).rejects.toThrow(/no model named "no-such-model"/);
    await expect(startTestServer({ dataDir: tempDir('demo-bad'), modelsDir: MODELS, demo: { inputs: [DEMO_NIFTI], results: tempDir('empty'), model: MODEL } })).rejects.toThrow(/labels\.nii\.gz is missing/);
  });
});

describe('GET /api/jobs', () => {
  it('validates limit', async () => {
    for (const bad of ['0', '201', 'x', '1.5']) {
      const res = await s!.api(`/api/jobs?limit=${bad}`);
      expect(res.status, bad).toBe(400);
    }
    expect((await json<{ jobs: unknown[] }>(await s!.api('/api/jobs?limit=1'))).jobs).toHaveLength(1);
  });
});
