import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { readDicomVolume } from '../../src/io/dicom/index.js';
import { readNifti } from '../../src/io/nifti/read.js';
import { fixture, medseg, sha256 } from '../helpers.js';

const tmp = mkdtempSync(join(tmpdir(), 'medseg-cli-'));

describe('medseg CLI (the built binary)', () => {

  it('info --json lists every series of a messy folder with dims, spacing, orientation, range and skipped files', async () => {
    const r = await medseg('info', 'fixtures/dicom/messy', '--json');
    expect(r.code).toBe(0);
    const report = JSON.parse(r.stdout);
    expect(report.entries).toHaveLength(4);
    const a = report.entries[0];
    expect(a).toMatchObject({ format: 'dicom', modality: 'CT', dims: [16, 16, 6], spacing: [1, 1, 2], orientation: 'LPS', dataType: 'int16', valueRange: [-1100, 1500], isLocalizer: false });
    expect(report.entries[1]).toMatchObject({ isLocalizer: true, orientation: 'PIR' });
    expect(report.entries[3].error.code).toBe('NON_UNIFORM_SPACING');
    expect(report.skipped.map((s: { code: string }) => s.code)).toEqual(['EMPTY_FILE', 'TRUNCATED_FILE', 'NOT_DICOM']);
  });

  it('info prints a NIfTI file with its orientation code and 4D volume count', async () => {
    const r = await medseg('info', 'fixtures/nifti/nibabel/example4d.nii.gz');
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('dims            128 × 96 × 24 voxels');
    expect(r.stdout).toContain('(4D: 2 volumes; volume 0 shown)');
    expect(r.stdout).toContain('orientation     LAS (oblique, up to 9.3°)  from sform');
  });

  it('convert writes a DICOM series as NIfTI with the same voxels and geometry', async () => {
    const out = join(tmp, 'oblique.nii.gz');
    const r = await medseg('convert', 'fixtures/dicom/oblique-ct', out, '--json');
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ dims: [40, 48, 12], dataType: 'int16', orientation: 'LPS' });
    const src = (await readDicomVolume(fixture('dicom', 'oblique-ct'))).volume;
    const back = (await readNifti(out)).volume;
    expect(sha256(back.data)).toBe(sha256(src.data));
    back.origin.forEach((o, n) => expect(o).toBeCloseTo(src.origin[n]!, 4));
  });

  it('convert creates the output folder when it does not exist yet (npm start on a fresh clone)', async () => {
    const out = join(tmp, 'new', 'nested', 'ct.nii.gz');
    const r = await medseg('convert', 'fixtures/dicom/oblique-ct', out);
    expect(r.code).toBe(0);
    expect((await readNifti(out)).volume.dims).toEqual([40, 48, 12]);
  });

  it('convert keeps fractional rescales exact as stored integers plus scl_slope/scl_inter', async () => {
    const out = join(tmp, 'scaled.nii');
    const r = await medseg('convert', 'fixtures/nifti/generated/scaled_int16.nii', out, '--json');
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ sclSlope: 0.5, sclInter: -10 });
    const a = await readNifti(fixture('nifti', 'generated', 'scaled_int16.nii'), { applyScaling: false });
    const b = await readNifti(out, { applyScaling: false });
    expect(sha256(b.volume.data)).toBe(sha256(a.volume.data));
  });

  it('convert picks a series by --series and fails with exit code 5 naming the choices otherwise', async () => {
    const ambiguous = await medseg('convert', 'fixtures/dicom/messy', join(tmp, 'x.nii'));
    expect(ambiguous.code).toBe(5);
    expect(ambiguous.stderr).toMatch(/3 image series found; choose one with --series <id>/);
    const ok = await medseg('convert', 'fixtures/dicom/messy', join(tmp, 'b.nii'), '--series', '1.2.826.0.1.3680043.8.498.12612024812735061031852900240213378014');
    expect(ok.code).toBe(0);
    expect(ok.stdout).toMatch(/^wrote .*b\.nii: 16×16×5 int16/);
  });

  it('exits 3 with the file and the problem for bad input, and 2 for bad usage', async () => {
    const r = await medseg('info', 'fixtures/dicom/messy/notes.txt');
    expect(r.code).toBe(3);
    expect(r.stderr.trim()).toBe('medseg: fixtures/dicom/messy/notes.txt: not a DICOM file (no "DICM" marker at byte 128 and no DICOM tag at its start)');
    expect((await medseg('convert', 'fixtures/dicom/oblique-ct', 'out.mha')).code).toBe(2);
    expect((await medseg('frobnicate')).code).toBe(2);
  });
});
