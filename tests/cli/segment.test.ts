/**
 * `medseg segment` end to end through the built binary (worker thread, ONNX Runtime, NIfTI output), and the real
 * third-party brain model against its authors' reference mask.
 */
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { readDicomVolume } from '../../src/io/dicom/index.js';
import { loadModelCard } from '../../src/inference/card.js';
import { readNifti } from '../../src/io/nifti/read.js';
import { geometryToNiftiAffine } from '../../src/volume/geometry.js';
import type { Provenance } from '../../src/workflows/provenance.js';
import type { Volume } from '../../src/volume/types.js';
import { fixture, medseg, ROOT, sha256 } from '../helpers.js';

const tmp = mkdtempSync(join(tmpdir(), 'medseg-segment-'));
const REAL = resolve(ROOT, '..', 'shared', 'real-models');
const CARD = 'fixtures/models/pointwise-3d.card.json';

/** Voxel volume (mm³) by hand: |det(direction)| × the spacing product. */
function voxelMm3(v: Volume): number {
  const d = v.direction;
  const det = d[0]! * (d[4]! * d[8]! - d[5]! * d[7]!) - d[3]! * (d[1]! * d[8]! - d[2]! * d[7]!) + d[6]! * (d[1]! * d[5]! - d[2]! * d[4]!);
  return Math.abs(det) * v.spacing[0] * v.spacing[1] * v.spacing[2];
}

function labelCounts(labels: Volume): Map<number, number> {
  const counts = new Map<number, number>();
  for (const v of labels.data) if (v) counts.set(v, (counts.get(v) ?? 0) + 1);
  return counts;
}

interface StatsJson {
  structures: { label: number; name: string; voxels: number; volumeMl: number; softVolumeMl: number | null; intensity: { mean: number } | null }[];
  grid: { voxelVolumeMm3: number };
}
const readJson = <T>(file: string): T => JSON.parse(readFileSync(file, 'utf8')) as T;
const sha256File = (file: string) => sha256(readFileSync(file));

describe('medseg segment', () => {
  it('segments a DICOM series with a card and writes labels on the scan grid, voxel for voxel', async () => {
    const out = join(tmp, 'pointwise');
    const r = await medseg('segment', 'fixtures/dicom/oblique-ct', '--model', 'fixtures/models/pointwise-3d.card.json', '--out', out, '--json');
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const summary = JSON.parse(r.stdout);
    expect(summary).toMatchObject({ provider: 'cpu', model: { name: 'pointwise-test', version: '1' }, labelsFile: join(out, 'labels.nii.gz') });
    const scan = (await readDicomVolume(['fixtures/dicom/oblique-ct'])).volume;
    const labels = (await readNifti(join(out, 'labels.nii.gz'))).volume;
    expect(labels.dims).toEqual(scan.dims);
    geometryToNiftiAffine(labels).forEach((v, i) => expect(v).toBeCloseTo(geometryToNiftiAffine(scan)[i]!, 4));
    // The graph's logits on range-normalised HU: [x, 0.5 − x, 0.5x + 0.25], x = clip((HU + 1000)/2000, 0, 1).
    let compared = 0;
    const counts = [0, 0, 0];
    for (let n = 0; n < scan.data.length; n++) {
      const x = Math.min(Math.max((scan.data[n]! + 1000) / 2000, 0), 1);
      const logits = [x, 0.5 - x, 0.5 * x + 0.25];
      const sorted = [...logits].sort((a, b) => b - a);
      counts[labels.data[n]!]!++;
      if (sorted[0]! - sorted[1]! < 1e-4) continue; // a tie: rounding may break it either way
      compared++;
      expect(labels.data[n]).toBe(logits.indexOf(sorted[0]!));
    }
    expect(compared).toBeGreaterThan(0.9 * scan.data.length);
    expect(summary.structures).toEqual([
      { value: 1, name: 'low', voxels: counts[1], volumeMl: expect.any(Number) },
      { value: 2, name: 'middle', voxels: counts[2], volumeMl: expect.any(Number) },
    ]);
    expect(summary.tiles).toBeGreaterThan(0);
    expect(summary.statsFiles).toEqual([join(out, 'stats.json'), join(out, 'stats.csv')]);
    // The oblique series' slice gap is 2.4999999962 mm, so stats.json's 6-decimal volumes are within ±0.5e-6 mL.
    // The geometry is the scan's (float64): labels.nii.gz holds it as a float32 affine.
    const stats = readJson<StatsJson>(join(out, 'stats.json'));
    for (const s of stats.structures) {
      const expected = (counts[s.label]! * voxelMm3(scan)) / 1000;
      expect(s.voxels).toBe(counts[s.label]);
      expect(Math.abs(s.volumeMl - expected)).toBeLessThanOrEqual(1e-9 * expected + 5e-7);
    }
    expect(summary.provenanceFile).toBe(join(out, 'provenance.json'));
  });

  it('writes stats.json and stats.csv whose volumes are the voxel counts × the voxel volume', async () => {
    // dtype_int16.nii: 7×6×5 voxels of 1.5 × 2 × 2.5 mm (axis-aligned, LAS) → 7.5 mm³, so n × 0.0075 mL has no
    // rounding in stats.json's 6 decimals and the check can be 1e-9 relative.
    const out = join(tmp, 'nifti-stats');
    const r = await medseg('segment', 'fixtures/nifti/generated/dtype_int16.nii', '--model', CARD, '--out', out, '--json');
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const labels = (await readNifti(join(out, 'labels.nii.gz'))).volume;
    const counts = labelCounts(labels);
    expect(voxelMm3(labels)).toBe(7.5);
    const stats = readJson<StatsJson>(join(out, 'stats.json'));
    expect(stats.grid.voxelVolumeMm3).toBe(7.5);
    expect(stats.structures.map((s) => s.label)).toEqual([1, 2]);
    for (const s of stats.structures) {
      const n = counts.get(s.label) ?? 0;
      expect(n).toBeGreaterThan(0);
      expect(s.voxels).toBe(n);
      const expected = (n * voxelMm3(labels)) / 1000;
      expect(Math.abs(s.volumeMl - expected)).toBeLessThanOrEqual(1e-9 * expected);
      expect(s.softVolumeMl).toBeNull();
      expect(s.intensity).not.toBeNull(); // the scan is the intensity image
    }
    const summary = JSON.parse(r.stdout);
    expect(summary.structures).toEqual(stats.structures.map((s) => ({ value: s.label, name: s.name, voxels: s.voxels, volumeMl: s.volumeMl })));
    // stats.csv: a header and one row per structure, with the same voxels and volumes.
    const rows = readFileSync(join(out, 'stats.csv'), 'utf8').trim().split('\n').map((l) => l.split(','));
    const head = rows[0]!;
    expect(rows.length).toBe(3);
    for (const [n, s] of stats.structures.entries()) {
      const row = rows[n + 1]!;
      expect(row[head.indexOf('kind')]).toBe('structure');
      expect(row[head.indexOf('name')]).toBe(s.name);
      expect(Number(row[head.indexOf('voxels')])).toBe(s.voxels);
      expect(Number(row[head.indexOf('volume_ml')])).toBe(s.volumeMl);
    }
  });

  it('records the input, card and model SHA-256, the DICOM UIDs and the parameters in provenance.json, written last', async () => {
    const out = join(tmp, 'pointwise');
    const p = readJson<Provenance>(join(out, 'provenance.json'));
    const dicom = fixture('dicom', 'oblique-ct');
    const files = readdirSync(dicom).sort().map((f) => join(dicom, f));
    expect(p.status).toBe('complete');
    expect(p.input).toMatchObject({
      paths: [join(ROOT, 'fixtures', 'dicom', 'oblique-ct')],
      format: 'dicom',
      files,
      sha256: sha256(Buffer.concat(files.map((f) => readFileSync(f)))),
      dicom: { seriesInstanceUid: '1.2.826.0.1.3680043.8.498.11184551209742517094410652358606659760', studyInstanceUid: expect.stringMatching(/^1\.2\.826\./), files: 12, modality: 'CT' },
      nifti: null,
    });
    expect(p.model).toEqual({
      name: 'pointwise-test',
      version: '1',
      card: fixture('models', 'pointwise-3d.card.json'),
      cardSha256: sha256File(fixture('models', 'pointwise-3d.card.json')),
      onnx: fixture('models', 'pointwise-3d.onnx'),
      onnxSha256: sha256File(fixture('models', 'pointwise-3d.onnx')),
    });
    const pkg = readJson<{ version: string }>(join(ROOT, 'package.json'));
    const ort = readJson<{ version: string }>(join(ROOT, 'node_modules', 'onnxruntime-node', 'package.json'));
    expect(p.software).toEqual({ medseg: pkg.version, node: process.version, onnxruntime: ort.version });
    expect(p.parameters).toMatchObject({ provider: { asked: 'cpu', used: 'cpu' }, threads: null, batchSize: { asked: null, used: 2 }, tta: { asked: true, used: true, mirrorAxes: [0, 1, 2] }, probabilities: false });
    for (const stage of ['load', 'preprocess', 'inference', 'postprocess', 'stats', 'write', 'total'] as const) expect(p.timingsMs[stage]).toBeGreaterThanOrEqual(0);
    expect(Date.parse(p.finishedAt)).toBeGreaterThanOrEqual(Date.parse(p.startedAt));
    expect(p.warnings).toEqual([]);
    // Every other output is listed with its hash and was on disk before provenance.json.
    expect(p.outputs.map((o) => o.file)).toEqual(['labels.nii.gz', 'stats.json', 'stats.csv']);
    for (const o of p.outputs) expect(o.sha256).toBe(sha256File(join(out, o.file)));
    const provenanceMtime = statSync(join(out, 'provenance.json')).mtimeMs;
    for (const o of p.outputs) expect(statSync(join(out, o.file)).mtimeMs).toBeLessThanOrEqual(provenanceMtime);
  });

  it('removes an earlier provenance.json before writing, so a run that fails half-way leaves the folder unfinished', async () => {
    const out = join(tmp, 'interrupted');
    mkdirSync(out, { recursive: true });
    cpSync(join(tmp, 'pointwise', 'provenance.json'), join(out, 'provenance.json'));
    mkdirSync(join(out, 'stats.json')); // a folder where stats.json goes: the write fails after labels.nii.gz
    const r = await medseg('segment', 'fixtures/dicom/oblique-ct', '--model', CARD, '--out', out, '--json');
    expect(r.code).toBe(6);
    expect(JSON.parse(r.stdout).error.code).toBe('WRITE_FAILED');
    expect(existsSync(join(out, 'labels.nii.gz'))).toBe(true);
    expect(existsSync(join(out, 'provenance.json'))).toBe(false);
  });

  it('evaluate compares the label map with itself: Dice 1, distances 0, usage errors exit 2', async () => {
    const labels = join(tmp, 'pointwise', 'labels.nii.gz');
    const r = await medseg('evaluate', labels, labels, '--json');
    expect(r.code).toBe(0);
    const report = JSON.parse(r.stdout);
    expect(report.resampled).toBe(false);
    for (const l of report.labels) expect(l).toMatchObject({ dice: 1, iou: 1, hdPercentileMm: 0, assdMm: 0 });
    expect((await medseg('evaluate', labels, labels, '--labels', 'x')).code).toBe(2);
    expect((await medseg('evaluate', labels)).code).toBe(2);
  });

  it('writes probability maps on request and names them by label', async () => {
    const out = join(tmp, 'probabilities');
    const r = await medseg('segment', 'fixtures/dicom/oblique-ct', '--model', 'fixtures/models/pointwise-3d.card.json', '--out', out, '--probabilities', '--no-tta', '--json');
    expect(r.code).toBe(0);
    const files = JSON.parse(r.stdout).probabilityFiles as string[];
    expect(files.map((f) => f.slice(out.length + 1))).toEqual(['probabilities/0-background.nii.gz', 'probabilities/1-low.nii.gz', 'probabilities/2-middle.nii.gz']);
    const p = await Promise.all(files.map((f) => readNifti(f)));
    for (const n of [0, 100, 1000]) expect(p[0]!.volume.data[n]! + p[1]!.volume.data[n]! + p[2]!.volume.data[n]!).toBeCloseTo(1, 5);
    // Soft volumes: Σ p × voxel volume of each label's channel (stats.json keeps 6 decimals: ±0.5e-6 mL).
    const stats = readJson<StatsJson>(join(out, 'stats.json'));
    const scan = (await readDicomVolume(['fixtures/dicom/oblique-ct'])).volume; // float64 geometry, as measured
    for (const s of stats.structures) {
      let sum = 0;
      for (const v of p[s.label]!.volume.data) sum += v;
      const expected = (sum * voxelMm3(scan)) / 1000;
      expect(Math.abs(s.softVolumeMl! - expected)).toBeLessThanOrEqual(1e-9 * expected + 5e-7);
    }
    const provenance = readJson<{ parameters: { probabilities: boolean; tta: { used: boolean } }; outputs: { file: string }[] }>(join(out, 'provenance.json'));
    expect(provenance.parameters).toMatchObject({ probabilities: true, tta: { used: false } });
    expect(provenance.outputs.map((o) => o.file)).toEqual(['labels.nii.gz', ...files.map((f) => f.slice(out.length + 1)), 'stats.json', 'stats.csv']);
  });

  it('falls back to CPU with a note when the requested provider is unavailable', async () => {
    const r = await medseg('segment', 'fixtures/dicom/oblique-ct', '--model', 'fixtures/models/pointwise-3d.card.json', '--out', join(tmp, 'cuda'), '--provider', 'cuda', '--json');
    expect(r.code).toBe(0);
    const s = JSON.parse(r.stdout);
    if (s.provider === 'cpu') expect(s.warnings.join('\n')).toMatch(/cuda execution provider unavailable .*; ran on cpu/);
    else expect(s.provider).toBe('cuda');
  });

  it('exits by error class with the problem named', async () => {
    expect((await medseg('segment', 'fixtures/dicom/oblique-ct')).code).toBe(2);
    expect((await medseg('segment', 'fixtures/dicom/oblique-ct', '--out', tmp, '--force')).stderr).toMatch(/--force applies to --batch only/);
    const badThreads = await medseg('segment', 'fixtures/dicom/oblique-ct', '--out', tmp, '--threads', 'x');
    expect(badThreads.code).toBe(2);
    expect(badThreads.stderr).toMatch(/--threads must be a whole number/);
    writeFileSync(join(tmp, 'bad.card.json'), JSON.stringify({ name: 'x', mode: 'whole', output: { channels: 0, activation: 'softmax' }, labels: [] }));
    const bad = await medseg('segment', 'fixtures/dicom/oblique-ct', '--model', join(tmp, 'bad.card.json'), '--out', tmp, '--json');
    expect(bad.code).toBe(7);
    expect(JSON.parse(bad.stdout).error.code).toBe('INVALID_MODEL_CARD');
    expect(bad.stderr).toMatch(/bad\.card\.json: invalid model card:\n {2}output\.channels: Too small/);
    const missing = await medseg('segment', 'no/such/scan.nii.gz', '--model', 'fixtures/models/pointwise-3d.card.json', '--out', tmp);
    expect(missing.code).toBe(3);
    expect(missing.stderr).toMatch(/no\/such\/scan\.nii\.gz/);
  });
});

describe('medseg import-nnunet', () => {
  it('writes a card for an exported nnU-Net model that loads, naming the model relative to the card', async () => {
    const cardFile = join(tmp, 'cards', 'kidney.card.json');
    const r = await medseg('import-nnunet', 'fixtures/nnunet/ct-kidney/plans.json', 'fixtures/nnunet/ct-kidney/dataset.json', '--onnx', 'fixtures/models/unet3d-small.onnx', '--out', cardFile, '--json');
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ card: cardFile, mode: 'sliding-window', labels: 3 });
    const card = await loadModelCard(cardFile);
    expect(card.modelFile).toBe(fixture('models', 'unet3d-small.onnx'));
    expect(card.tiling.patch).toEqual([40, 256, 192]);
    expect(card.grid.spacing).toEqual([0.78125, 0.78125, 3]);
    expect(card.labels.map((l) => l.name)).toEqual(['kidney', 'tumor', 'cyst']);
    const missing = await medseg('import-nnunet', 'fixtures/nnunet/ct-kidney/plans.json', 'fixtures/nnunet/ct-kidney/dataset.json', '--onnx', 'nowhere.onnx', '--out', cardFile);
    expect(missing.code).toBe(3);
    expect(missing.stderr).toMatch(/nowhere\.onnx: the ONNX model does not exist/);
  });
});

describe('real model: mindgrab brain extraction (../shared/real-models)', () => {
  const present = existsSync(join(REAL, 'mindgrab.onnx')) && existsSync(join(REAL, 't1_crop.nii.gz'));
  if (!present) console.warn(`skipping the mindgrab test: ${REAL} is absent (team test material, not part of the repository)`);
  it.skipIf(!present)(
    'reproduces the authors\' reference mask on t1_crop with Dice ≥ 0.999 (whole volume, conform, min-max, crop, largest component)',
    async () => {
      const out = join(tmp, 'mindgrab');
      const r = await medseg('segment', join(REAL, 't1_crop.nii.gz'), '--model', 'models/mindgrab/mindgrab.card.json', '--out', out, '--json');
      expect(r.code).toBe(0);
      const summary = JSON.parse(r.stdout);
      const mask = (await readNifti(join(out, 'labels.nii.gz'))).volume;
      const ref = (await readNifti(join(REAL, 't1_crop.mindgrab-reference-mask.nii.gz'))).volume;
      expect(mask.dims).toEqual(ref.dims);
      geometryToNiftiAffine(mask).forEach((v, i) => expect(v).toBeCloseTo(geometryToNiftiAffine(ref)[i]!, 4));
      let a = 0;
      let b = 0;
      let both = 0;
      for (let n = 0; n < ref.data.length; n++) {
        const x = mask.data[n]! > 0;
        const y = ref.data[n]! > 0;
        if (x) a++;
        if (y) b++;
        if (x && y) both++;
      }
      expect(b).toBe(1_647_365);
      const dice = (2 * both) / (a + b);
      expect(dice).toBeGreaterThanOrEqual(0.999);
      expect(summary.structures[0]).toMatchObject({ name: 'brain', voxels: a });
      expect(summary.structures[0].volumeMl).toBeCloseTo(1647.4, -1);
      expect(summary.tiles).toBe(1);
    },
    300_000,
  );
});
