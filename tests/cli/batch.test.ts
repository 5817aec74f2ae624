/**
 * `medseg segment --batch` through the built binary: a folder of studies with a broken one, summary files, exit code
 * of the first failure's class, skipping finished studies on a re-run, --force, list files and unique study names.
 */
import { copyFileSync, cpSync, mkdirSync, mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { BatchSummary } from '../../src/cli/batch.js';
import type { Provenance } from '../../src/workflows/provenance.js';
import { fixture, medseg, sha256 } from '../helpers.js';

const tmp = mkdtempSync(join(tmpdir(), 'medseg-batch-'));
const CARD = fixture('models', 'pointwise-3d.card.json');

const readJson = <T>(file: string): T => JSON.parse(readFileSync(file, 'utf8')) as T;

/** summary.csv as objects keyed by the header (no quoted commas in these rows except the error, read separately). */
function readCsv(file: string): { head: string[]; rows: string[][] } {
  const lines = readFileSync(file, 'utf8').trim().split('\n');
  return { head: lines[0]!.split(','), rows: lines.slice(1).map((l) => l.split(',')) };
}

function volumesFromStats(dir: string): Record<string, number> {
  const stats = readJson<{ structures: { name: string; volumeMl: number }[] }>(join(dir, 'stats.json'));
  return Object.fromEntries(stats.structures.map((s) => [s.name, s.volumeMl]));
}

describe('medseg segment --batch', () => {
  // studies/: a DICOM folder, a NIfTI file, a truncated .nii.gz, and a text file that is not a study.
  const studies = join(tmp, 'studies');
  const out = join(tmp, 'out');
  mkdirSync(studies);
  cpSync(fixture('dicom', 'oblique-ct'), join(studies, 'ct-one'), { recursive: true });
  copyFileSync(fixture('nifti', 'generated', 'dtype_int16.nii'), join(studies, 'small.nii'));
  writeFileSync(join(studies, 'broken.nii.gz'), readFileSync(fixture('nifti', 'generated', 'compressed.nii.gz')).subarray(0, 300));
  writeFileSync(join(studies, 'notes.txt'), 'not a study\n');

  it('segments every study of a folder, carries on past a broken one and exits with its class (3)', async () => {
    const r = await medseg('segment', '--batch', studies, '--model', CARD, '--out', out, '--no-tta', '--json');
    expect(r.code).toBe(3);
    expect(r.stderr).toMatch(/\[1\/3\] broken: failed \(exit 3, TRUNCATED_FILE\): .*broken\.nii\.gz/);
    expect(r.stderr).toMatch(/\[2\/3\] ct-one: ok/);
    expect(r.stderr).toMatch(/\[3\/3\] small: ok/);
    const summary = JSON.parse(r.stdout) as BatchSummary;
    expect(summary).toEqual(readJson<BatchSummary>(join(out, 'summary.json')));
    expect(summary.exitCode).toBe(3);
    expect(summary.counts).toEqual({ ok: 2, failed: 1, skipped: 0 });
    expect(summary.notes).toEqual([`${join(studies, 'notes.txt')}: left out (not a folder or a .nii/.nii.gz file)`]);
    expect(summary.studies.map((s) => [s.study, s.status, s.error?.code ?? null, s.error?.exitCode ?? null])).toEqual([
      ['broken', 'failed', 'TRUNCATED_FILE', 3],
      ['ct-one', 'ok', null, null],
      ['small', 'ok', null, null],
    ]);
    for (const name of ['ct-one', 'small']) expect(summary.studies.find((s) => s.study === name)!.volumesMl).toEqual(volumesFromStats(join(out, name)));
    expect(summary.studies[0]!.volumesMl).toEqual({ low: null, middle: null });

    const { head, rows } = readCsv(join(out, 'summary.csv'));
    expect(head).toEqual(['study', 'status', 'seconds', 'exit_code', 'error_code', 'error', 'input', 'low_ml', 'middle_ml']);
    expect(rows.map((r) => r.slice(0, 2))).toEqual([['broken', 'failed'], ['ct-one', 'ok'], ['small', 'ok']]);
    expect(rows[0]!.slice(3, 5)).toEqual(['3', 'TRUNCATED_FILE']);
    for (const row of rows.slice(1)) {
      const volumes = volumesFromStats(join(out, row[0]!));
      expect(row.slice(3, 6)).toEqual(['', '', '']);
      expect(Number(row.at(-2))).toBe(volumes.low);
      expect(Number(row.at(-1))).toBe(volumes.middle);
      expect(Number(row[2])).toBeGreaterThan(0);
    }
    // Each finished study has its provenance, with the model's hashes.
    const p = readJson<Provenance>(join(out, 'ct-one', 'provenance.json'));
    expect(p.model.cardSha256).toBe(sha256(readFileSync(CARD)));
    expect(p.model.onnxSha256).toBe(sha256(readFileSync(fixture('models', 'pointwise-3d.onnx'))));
    expect(p.input.dicom?.files).toBe(12);
  });

  it('skips finished studies on a re-run without rewriting them, and --force recomputes them', async () => {
    const files = ['ct-one/provenance.json', 'ct-one/labels.nii.gz', 'small/stats.json'].map((f) => join(out, f));
    const before = files.map((f) => statSync(f).mtimeMs);
    const again = await medseg('segment', '--batch', studies, '--model', CARD, '--out', out, '--no-tta', '--json');
    expect(again.code).toBe(3); // the broken study fails again
    const summary = JSON.parse(again.stdout) as BatchSummary;
    expect(summary.studies.map((s) => [s.study, s.status])).toEqual([['broken', 'failed'], ['ct-one', 'skipped'], ['small', 'skipped']]);
    expect(summary.counts).toEqual({ ok: 0, failed: 1, skipped: 2 });
    expect(again.stderr).toMatch(/ct-one: skipped/);
    expect(files.map((f) => statSync(f).mtimeMs)).toEqual(before);
    // Skipped studies still report their volumes (read back from stats.json).
    for (const name of ['ct-one', 'small']) expect(summary.studies.find((s) => s.study === name)!.volumesMl).toEqual(volumesFromStats(join(out, name)));
    expect(readCsv(join(out, 'summary.csv')).rows.map((r) => r[1])).toEqual(['failed', 'skipped', 'skipped']);

    const forced = await medseg('segment', '--batch', studies, '--model', CARD, '--out', out, '--no-tta', '--force', '--json');
    expect(forced.code).toBe(3);
    expect((JSON.parse(forced.stdout) as BatchSummary).studies.map((s) => s.status)).toEqual(['failed', 'ok', 'ok']);
    files.forEach((f, n) => expect(statSync(f).mtimeMs).toBeGreaterThan(before[n]!));
  });

  it('reruns a study whose provenance.json is missing (interrupted) or names another card', async () => {
    const own = join(tmp, 'own-model');
    mkdirSync(own);
    copyFileSync(CARD, join(own, 'pointwise-3d.card.json'));
    copyFileSync(fixture('models', 'pointwise-3d.onnx'), join(own, 'pointwise-3d.onnx'));
    const list = join(tmp, 'one.txt');
    writeFileSync(list, 'studies/small.nii\n');
    const dir = join(tmp, 'out-card');
    const card = join(own, 'pointwise-3d.card.json');
    expect((await medseg('segment', '--batch', list, '--model', card, '--out', dir, '--no-tta')).code).toBe(0);
    const status = async () => ((JSON.parse((await medseg('segment', '--batch', list, '--model', card, '--out', dir, '--no-tta', '--json')).stdout) as BatchSummary).studies[0]!.status);
    expect(await status()).toBe('skipped');
    // The card changes (same ONNX file): its hash differs, so the study runs again.
    writeFileSync(card, readFileSync(card, 'utf8').replace('"version": "1"', '"version": "2"'));
    expect(await status()).toBe('ok');
    expect(readJson<Provenance>(join(dir, 'small', 'provenance.json')).model.version).toBe('2');
    // An interrupted run leaves no provenance.json: the study runs again.
    writeFileSync(join(dir, 'small', 'provenance.json'), '{"truncated');
    expect(await status()).toBe('ok');
    expect(await status()).toBe('skipped');
  });

  it('reads a list file (comments, paths relative to it) and gives studies of the same name unique folders; all ok → exit 0', async () => {
    const other = join(tmp, 'other');
    mkdirSync(other);
    copyFileSync(fixture('nifti', 'generated', 'dtype_int16.nii'), join(other, 'small.nii'));
    const list = join(tmp, 'list.txt');
    writeFileSync(list, `# studies for the batch test\nstudies/small.nii\n\n${join(other, 'small.nii')}\n  studies/ct-one  \n`);
    const dir = join(tmp, 'out-list');
    const r = await medseg('segment', '--batch', list, '--model', CARD, '--out', dir, '--no-tta');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/3 ok, 0 failed, 0 skipped; exit code 0/);
    const summary = readJson<BatchSummary>(join(dir, 'summary.json'));
    expect(summary.studies.map((s) => [s.study, s.inputs, s.status])).toEqual([
      ['small', [join(studies, 'small.nii')], 'ok'],
      ['small-2', [join(other, 'small.nii')], 'ok'],
      ['ct-one', [join(studies, 'ct-one')], 'ok'],
    ]);
    // The same scan in two places: the same volumes, in two folders.
    expect(volumesFromStats(join(dir, 'small-2'))).toEqual(volumesFromStats(join(dir, 'small')));
  });

  it('refuses bad combinations (exit 2) and a missing list (exit 3)', async () => {
    const both = await medseg('segment', 'fixtures/dicom/oblique-ct', '--batch', studies, '--model', CARD, '--out', out);
    expect(both.code).toBe(2);
    expect(both.stderr).toMatch(/segment --batch takes its studies from .*; drop the scan paths/);
    expect((await medseg('segment', '--batch', studies, '--series', 'x', '--model', CARD, '--out', out)).code).toBe(2);
    const missing = await medseg('segment', '--batch', join(tmp, 'nowhere.txt'), '--model', CARD, '--out', out, '--json');
    expect(missing.code).toBe(3);
    expect(JSON.parse(missing.stdout).error.code).toBe('FILE_NOT_FOUND');
  });
});
