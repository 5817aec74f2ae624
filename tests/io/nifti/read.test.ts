import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { readNifti } from '../../../src/io/nifti/read.js';
import { geometryToNiftiAffine } from '../../../src/volume/geometry.js';
import { expectAllClose, fixture, flat, ROOT, sha256, stats, systemFile } from '../../helpers.js';

interface NiftiGolden {
  file: string;
  shape: number[];
  rawDtype: string;
  affine: number[][];
  rawSha256: string;
  sliceSlope: number | null;
  sliceInter: number | null;
  volume0: { min: number; max: number; mean: number; sum: number; count: number; nanCount: number };
}

const golden = JSON.parse(readFileSync(fixture('golden', 'nifti.json'), 'utf8')) as { entries: NiftiGolden[] };
const path = (f: string) => (f.startsWith('/') ? f : `${ROOT}/${f}`);

describe('readNifti against nibabel 5.0.0 (fixtures/golden/nifti.json)', () => {
  for (const g of golden.entries) {
    it(`reads ${g.file} with nibabel's shape, affine, raw voxels and scaled statistics`, async () => {
      if (g.file.startsWith('/') && !systemFile(g.file, 'Debian package mricron-data')) return;
      const raw = await readNifti(path(g.file), { applyScaling: false });
      expect([...raw.volume.dims]).toEqual(g.shape.slice(0, 3));
      expect(raw.volumeCount).toBe(g.shape.slice(3).reduce((a, b) => a * b, 1));
      expect(raw.header.voxelType).toBe(g.rawDtype);
      // nibabel's affine is RAS; the Volume is LPS and converts back exactly (float64 arithmetic on float32 values).
      expectAllClose(geometryToNiftiAffine(raw.volume), flat(g.affine), { atol: 1e-5, rtol: 1e-6 });
      if (raw.volumeCount === 1) expect(sha256(raw.volume.data)).toBe(g.rawSha256);

      const scaled = await readNifti(path(g.file));
      const s = stats(scaled.volume.data);
      expect(s.nanCount).toBe(g.volume0.nanCount);
      expect(s.count + s.nanCount).toBe(g.volume0.count); // the golden count is the voxel count (NaNs included)
      expect(s.min).toBeCloseTo(g.volume0.min, 3);
      expect(s.max).toBeCloseTo(g.volume0.max, 3);
      // float32 scaled data against nibabel's float64: relative 1e-6 of the sum's magnitude
      expect(Math.abs(s.sum - g.volume0.sum)).toBeLessThanOrEqual(1e-6 * Math.max(1, Math.abs(g.volume0.sum), g.volume0.count * Math.abs(g.volume0.max)));
    });
  }

  it('reads every volume of a 4D file by index and refuses an index out of range', async () => {
    const f = fixture('nifti', 'nibabel', 'example4d.nii.gz');
    const v0 = await readNifti(f, { volumeIndex: 0 });
    const v1 = await readNifti(f, { volumeIndex: 1 });
    expect(v1.volumeCount).toBe(2);
    expect(sha256(v0.volume.data)).not.toBe(sha256(v1.volume.data));
    await expect(readNifti(f, { volumeIndex: 2 })).rejects.toMatchObject({
      code: 'VOLUME_INDEX',
      message: `${f}: has 2 volumes (shape 128×96×24×2); volume index 2 is out of range 0..1`,
    });
  });

  it('takes the sform when both codes are set, the qform when only it is, and says when only pixdim is left', async () => {
    const sformWins = await readNifti(fixture('nifti', 'generated', 'sform_wins.nii'));
    expect(sformWins.header.geometrySource).toBe('sform');
    const qformOnly = await readNifti(fixture('nifti', 'generated', 'qform_only.nii'));
    expect(qformOnly.header.geometrySource).toBe('qform');
    const none = await readNifti(fixture('nifti', 'generated', 'no_codes.nii'));
    expect(none.header.geometrySource).toBe('pixdim');
    expect(none.warnings[0]).toMatch(/geometry comes from pixdim only/);
  });

  it('scales int16 by scl_slope 0.5 and scl_inter -10 into float32', async () => {
    const raw = await readNifti(fixture('nifti', 'generated', 'scaled_int16.nii'), { applyScaling: false });
    const scaled = await readNifti(fixture('nifti', 'generated', 'scaled_int16.nii'));
    expect(scaled.volume.data).toBeInstanceOf(Float32Array);
    for (const n of [0, 7, raw.volume.data.length - 1]) expect(scaled.volume.data[n]).toBe(raw.volume.data[n]! * 0.5 - 10);
  });
});
