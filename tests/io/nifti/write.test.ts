import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { readNifti } from '../../../src/io/nifti/read.js';
import { writeNifti } from '../../../src/io/nifti/write.js';
import { makeVolume } from '../../../src/volume/volume.js';
import { expectAllClose, fixture, sha256 } from '../../helpers.js';

const tmp = mkdtempSync(join(tmpdir(), 'medseg-nifti-'));

describe('writeNifti', () => {
  for (const name of ['anatomical.nii', 'example4d.nii.gz', 'example_nifti2.nii.gz', 'reoriented_anat_moved.nii']) {
    it(`round-trips ${name}: voxels bit-identical, affine equal within 1e-6`, async () => {
      const a = await readNifti(fixture('nifti', 'nibabel', name), { applyScaling: false });
      for (const ext of ['.nii', '.nii.gz']) {
        const out = join(tmp, `${name}${ext}`);
        await writeNifti(out, a.volume);
        const b = await readNifti(out);
        expect(b.volume.data.constructor).toBe(a.volume.data.constructor);
        expect(sha256(b.volume.data)).toBe(sha256(a.volume.data));
        expectAllClose(b.header.affine, a.header.affine, { atol: 1e-6, rtol: 0 });
        expect(b.header.sformCode).toBe(1);
      }
    });
  }

  it('writes label maps as uint8 and uint16 with the NIfTI label intent', async () => {
    for (const Ctor of [Uint8Array, Uint16Array]) {
      const values = Array.from({ length: 24 }, (_, n) => (n * 37) % (Ctor === Uint8Array ? 255 : 1000));
      const data = Ctor === Uint8Array ? Uint8Array.from(values) : Uint16Array.from(values);
      const v = makeVolume({ data, dims: [2, 3, 4], spacing: [1, 1, 1], origin: [0, 0, 0], direction: [1, 0, 0, 0, 1, 0, 0, 0, 1] });
      const out = join(tmp, `labels-${Ctor.name}.nii.gz`);
      await writeNifti(out, v, { intentCode: 1002 });
      const bytes = gunzipSync(readFileSync(out));
      expect(bytes.readInt16LE(68)).toBe(1002);
      expect(bytes.readInt16LE(70)).toBe(Ctor === Uint8Array ? 2 : 512);
      const back = await readNifti(out);
      expect(back.volume.data).toBeInstanceOf(Ctor);
      expect([...back.volume.data]).toEqual([...data]);
    }
  });

  it('never leaves a partial file behind when the target folder does not exist', async () => {
    const v = makeVolume({ data: new Uint8Array(8), dims: [2, 2, 2], spacing: [1, 1, 1], origin: [0, 0, 0], direction: [1, 0, 0, 0, 1, 0, 0, 0, 1] });
    await expect(writeNifti(join(tmp, 'missing', 'x.nii'), v)).rejects.toMatchObject({ code: 'WRITE_FAILED' });
  });
});
