/**
 * The viewer's NIfTI decoding (streamed, assembled chunk by chunk) gives the same voxels and LPS grid as medseg's own
 * reader, which is golden-tested against nibabel: every fixture, split into chunks of random sizes.
 */
import { readFileSync } from 'node:fs';
import { basename } from 'node:path';
import { gunzipSync } from 'node:zlib';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { readNifti } from '../../src/io/nifti/read.js';
import { assembleNifti, maybeGunzip, NiftiAssembler, NiftiFormatError, valueRange, withRange, type ViewerVolume } from '../../viewer/src/core/nifti.js';
import { expectAllClose, fixture } from '../helpers.js';

/** A web stream of `bytes` in chunks of the given sizes (the rest in one last chunk). */
function chunked(bytes: Uint8Array, sizes: number[] = [65536]): ReadableStream<Uint8Array> {
  let offset = 0;
  let n = 0;
  return new ReadableStream({
    pull(controller) {
      if (offset >= bytes.length) return controller.close();
      const size = sizes[n++ % sizes.length]!;
      controller.enqueue(bytes.slice(offset, offset + size));
      offset += size;
    },
  });
}

async function decode(file: string, sizes?: number[]): Promise<ViewerVolume> {
  return assembleNifti(await maybeGunzip(chunked(new Uint8Array(readFileSync(file)), sizes)), basename(file));
}

async function expectSameAsMedseg(file: string, sizes?: number[]): Promise<void> {
  const [ours, ref] = [await decode(file, sizes), (await readNifti(file)).volume];
  expect(ours.dims).toEqual(ref.dims);
  expectAllClose(ours.spacing, ref.spacing, { atol: 1e-5, rtol: 0 });
  expectAllClose(ours.origin, ref.origin, { atol: 1e-4, rtol: 0 });
  expectAllClose(ours.direction, ref.direction, { atol: 1e-6, rtol: 0 });
  expect(ours.data.length).toBe(ref.data.length);
  expectAllClose(ours.data, ref.data, { atol: 1e-6, rtol: 1e-6 });
}

const FIXTURES = [
  'generated/dtype_uint8.nii',
  'generated/dtype_int8.nii',
  'generated/dtype_int16.nii',
  'generated/dtype_uint16.nii',
  'generated/dtype_int32.nii',
  'generated/dtype_uint32.nii',
  'generated/dtype_float32.nii',
  'generated/dtype_float64.nii',
  'generated/bigendian_nifti1.nii',
  'generated/bigendian_nifti2.nii',
  'generated/compressed.nii.gz',
  'generated/oblique_sform.nii',
  'generated/qform_only.nii',
  'generated/sform_wins.nii',
  'generated/no_codes.nii',
  'generated/scaled_int16.nii',
  'generated/slope_zero.nii',
  'nibabel/anatomical.nii',
  'nibabel/example_nifti2.nii.gz',
  'nibabel/standard.nii.gz',
  'nibabel/reoriented_anat_moved.nii',
];

describe('streamed NIfTI decoding', () => {
  it.each(FIXTURES)('reads %s exactly as medseg does (voxels, scaling, LPS grid)', async (name) => {
    await expectSameAsMedseg(fixture('nifti', name));
  });

  it('keeps the first volume of a 4-D file', async () => {
    await expectSameAsMedseg(fixture('nifti', 'generated', 'fourd.nii'));
    await expectSameAsMedseg(fixture('nifti', 'nibabel', 'example4d.nii.gz'));
  });

  it('reads the demo CT and label map whatever the chunk sizes, with their value ranges', async () => {
    await expectSameAsMedseg(fixture('demo', 'ct.nii.gz'), [1, 3, 351, 7919]);
    const labels = await decode(fixture('demo', 'labels.nii.gz'));
    expect(labels.data).toBeInstanceOf(Uint8Array);
    expect(valueRange(labels.data)).toEqual({ min: 0, max: 8, integral: true });
    const ct = withRange(await decode(fixture('demo', 'ct.nii.gz')));
    expect([ct.min, ct.max, ct.integral]).toEqual([-1024, 737, true]);
    expect(valueRange(new Float32Array([0.5, -2, 3]))).toEqual({ min: -2, max: 3, integral: false });
  });

  it('assembles any split of the decompressed bytes', async () => {
    const raw = new Uint8Array(gunzipSync(readFileSync(fixture('nifti', 'generated', 'compressed.nii.gz'))));
    const ref = (await readNifti(fixture('nifti', 'generated', 'compressed.nii.gz'))).volume;
    await fc.assert(
      fc.asyncProperty(fc.array(fc.integer({ min: 1, max: 2000 }), { minLength: 1, maxLength: 8 }), async (sizes) => {
        const a = new NiftiAssembler('compressed.nii');
        let offset = 0;
        for (let n = 0; offset < raw.length; n++) {
          const size = sizes[n % sizes.length]!;
          a.push(raw.subarray(offset, offset + size));
          offset += size;
        }
        expectAllClose(a.finish().data, ref.data, { atol: 0, rtol: 0 });
      }),
      { numRuns: 30 },
    );
  });

  it('names the file and the missing bytes when the stream is truncated', async () => {
    const raw = new Uint8Array(gunzipSync(readFileSync(fixture('demo', 'labels.nii.gz'))));
    const a = new NiftiAssembler('labels.nii.gz');
    a.push(raw.subarray(0, 100_352));
    // 256·256·76 uint8 voxels = 4,980,736 bytes after the 352-byte header; 100,000 arrived.
    expect(() => a.finish()).toThrow(new NiftiFormatError('labels.nii.gz is truncated: 100000 of 4980736 voxel bytes arrived'));
  });

  it('refuses a file that is not NIfTI, saying what it found', async () => {
    const a = new NiftiAssembler('notes.txt');
    expect(() => a.push(new TextEncoder().encode('x'.repeat(600)))).toThrow(/^notes\.txt is not a NIfTI file \(sizeof_hdr is 2021161080, expected 348 or 540\)$/);
  });

  it('reports damaged gzip data as a file problem', async () => {
    const gz = new Uint8Array(readFileSync(fixture('demo', 'labels.nii.gz')));
    const damaged = gz.slice(0, 2000);
    damaged.fill(0xff, 500, 1500);
    await expect(assembleNifti(await maybeGunzip(chunked(damaged)), 'labels.nii.gz')).rejects.toThrow(/^labels\.nii\.gz could not be read: .* \(a damaged or truncated gzip stream\?\)$/);
  });
});
