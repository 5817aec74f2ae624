import { copyFileSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { SegError } from '../../src/errors.js';
import { readDicomVolume } from '../../src/io/dicom/index.js';
import { loadScan } from '../../src/io/load.js';
import { readNifti } from '../../src/io/nifti/read.js';
import { fixture } from '../helpers.js';

const tmp = mkdtempSync(join(tmpdir(), 'medseg-bad-'));
const at = (name: string, bytes: Uint8Array) => {
  const f = join(tmp, name);
  writeFileSync(f, bytes);
  return f;
};

/** A NIfTI-1 header (352 bytes) for a given shape and datatype, no voxels. */
function niftiHeader(dims: number[], datatype = 4, bitpix = 16): Buffer {
  const b = Buffer.alloc(352);
  b.writeInt32LE(348, 0);
  b.writeInt16LE(dims.length, 40);
  dims.forEach((d, n) => b.writeInt16LE(d, 42 + 2 * n));
  b.writeInt16LE(datatype, 70);
  b.writeInt16LE(bitpix, 72);
  for (let n = 0; n < 4; n++) b.writeFloatLE(1, 76 + 4 * n);
  b.writeFloatLE(352, 108);
  b.write('n+1\0', 344, 'latin1');
  return b;
}

describe('bad NIfTI input gives a typed error naming the file', () => {
  it('a zero-byte file', async () => {
    const f = at('empty.nii', new Uint8Array(0));
    await expect(readNifti(f)).rejects.toMatchObject({ code: 'EMPTY_FILE', message: `${f}: is empty (0 bytes)` });
  });

  it('a missing file', async () => {
    const f = join(tmp, 'nope.nii');
    await expect(readNifti(f)).rejects.toMatchObject({ code: 'FILE_NOT_FOUND', message: `${f}: no such file or folder` });
  });

  it('a .nii cut in half', async () => {
    const whole = readFileSync(fixture('nifti', 'nibabel', 'anatomical.nii'));
    const f = at('half.nii', whole.subarray(0, whole.length >> 1));
    await expect(readNifti(f)).rejects.toMatchObject({ code: 'TRUNCATED_FILE', message: expect.stringMatching(/half\.nii: header declares 33×41×25 int16 voxels \(68002 bytes needed up to volume 0\) but the file has only 34001 bytes/) });
  });

  it('a .nii.gz whose gzip stream is cut', async () => {
    const whole = readFileSync(fixture('nifti', 'nibabel', 'example4d.nii.gz'));
    const f = at('cut.nii.gz', whole.subarray(0, 20000));
    await expect(readNifti(f)).rejects.toMatchObject({ code: 'TRUNCATED_FILE', message: expect.stringContaining(`${f}: gzip stream is corrupt or truncated`) });
  });

  it('a header claiming 10^12 voxels is refused before anything is allocated', async () => {
    const f = at('huge.nii', niftiHeader([10000, 10000, 10000]));
    await expect(readNifti(f)).rejects.toMatchObject({ code: 'TOO_LARGE', message: `${f}: header claims 10000×10000×10000 = 1.000e+12 voxels per volume; at most 2147483647 are supported` });
  });

  it('a tiny .nii.gz claiming 2·10^9 voxels is refused by the deflate bound, not by running out of memory', async () => {
    const f = at('bomb.nii.gz', gzipSync(niftiHeader([2000, 1000, 1000])));
    const before = process.memoryUsage().arrayBuffers;
    await expect(readNifti(f)).rejects.toMatchObject({ code: 'TRUNCATED_FILE' });
    expect(process.memoryUsage().arrayBuffers - before).toBeLessThan(64 * 2 ** 20);
  });

  it('an unsupported datatype (complex64)', async () => {
    const f = at('complex.nii', Buffer.concat([niftiHeader([2, 2, 2], 32, 64), Buffer.alloc(64)]));
    await expect(readNifti(f)).rejects.toMatchObject({ code: 'UNSUPPORTED_DATATYPE', message: expect.stringContaining(`${f}: datatype complex64 is not supported`) });
  });

  it('a DICOM file given as NIfTI', async () => {
    const f = join(tmp, 'ct.nii');
    copyFileSync(fixture('dicom', 'pydicom', 'CT_small.dcm'), f);
    await expect(readNifti(f)).rejects.toMatchObject({ code: 'NOT_NIFTI', message: expect.stringMatching(/ct\.nii: not a NIfTI or Analyze file \(sizeof_hdr is \d+, expected 348 or 540\)/) });
  });
});

describe('bad DICOM input gives a typed error naming the file', () => {
  it('a text file', async () => {
    const f = fixture('dicom', 'messy', 'notes.txt');
    await expect(readDicomVolume(f)).rejects.toMatchObject({ code: 'NOT_DICOM', message: `${f}: not a DICOM file (no "DICM" marker at byte 128 and no DICOM tag at its start)` });
  });

  it("pydicom's truncated MR file", async () => {
    const f = fixture('dicom', 'pydicom', 'MR_truncated.dcm');
    await expect(readDicomVolume(f)).rejects.toMatchObject({ code: 'TRUNCATED_FILE', message: `${f}: Pixel Data claims 8192 bytes at offset 1500 but the file has only 9630 bytes` });
  });

  it('an RT plan, which has no pixel data', async () => {
    const f = fixture('dicom', 'pydicom', 'rtplan.dcm');
    await expect(readDicomVolume(f)).rejects.toMatchObject({ code: 'MISSING_PIXEL_DATA', message: expect.stringMatching(/rtplan\.dcm: is a RTPLAN object without Pixel Data/) });
  });

  it('an unknown transfer syntax', async () => {
    const bytes = Buffer.from(readFileSync(fixture('dicom', 'pydicom', 'MR_small_jpeg_ls_lossless.dcm')));
    const uid = '1.2.840.10008.1.2.4.80';
    const pos = bytes.indexOf(uid, 0, 'latin1');
    bytes.write('1.2.840.10008.1.2.4.99', pos, 'latin1'); // same length: 1.2.840.10008.1.2.4.99 is not a transfer syntax
    const f = at('weird-ts.dcm', bytes);
    await expect(readDicomVolume(f)).rejects.toMatchObject({ code: 'UNSUPPORTED_TRANSFER_SYNTAX', message: expect.stringContaining('1.2.840.10008.1.2.4.99') });
  });

  for (const [size, code] of [[65535, 'TOO_LARGE'], [4096, 'TRUNCATED_FILE']] as const) {
    it(`a header claiming ${size}×${size} pixels in a 9 kB file: ${code}, nothing allocated`, async () => {
      const bytes = Buffer.from(readFileSync(fixture('dicom', 'pydicom', 'MR_small.dcm')));
      // Rows (0028,0010) and Columns (0028,0011), explicit VR LE: tag, "US", length 2, value
      for (const el of [0x10, 0x11]) {
        const p = bytes.indexOf(Buffer.from([0x28, 0x00, el, 0x00, 0x55, 0x53, 0x02, 0x00]));
        bytes.writeUInt16LE(size, p + 8);
      }
      const f = at(`huge-${size}.dcm`, bytes);
      await expect(readDicomVolume(f)).rejects.toMatchObject({ code, message: expect.stringContaining(f) });
    });
  }
});

/** Byte-level mutations of a real file: flips, overwrites with boundary values, truncation, deletion, duplication. */
const mutation = (size: number) =>
  fc.oneof(
    fc.record({ kind: fc.constant('flip' as const), at: fc.nat(size - 1), bit: fc.nat(7) }),
    fc.record({ kind: fc.constant('set' as const), at: fc.nat(size - 1), value: fc.constantFrom(0x00, 0xff, 0x7f, 0x80, 0x01) }),
    fc.record({ kind: fc.constant('truncate' as const), at: fc.nat(size - 1) }),
    fc.record({ kind: fc.constant('delete' as const), at: fc.nat(size - 1), len: fc.integer({ min: 1, max: 64 }) }),
    fc.record({ kind: fc.constant('repeat' as const), at: fc.nat(size - 1), len: fc.integer({ min: 1, max: 64 }) }),
  );

type Mutation = { kind: 'flip'; at: number; bit: number } | { kind: 'set'; at: number; value: number } | { kind: 'truncate'; at: number } | { kind: 'delete' | 'repeat'; at: number; len: number };

function mutate(src: Buffer, ms: Mutation[]): Buffer {
  let b = Buffer.from(src);
  for (const m of ms) {
    const at = Math.min(m.at, Math.max(0, b.length - 1));
    if (m.kind === 'flip') b[at] = b[at]! ^ (1 << m.bit);
    else if (m.kind === 'set') b[at] = m.value;
    else if (m.kind === 'truncate') b = b.subarray(0, at);
    else if (m.kind === 'delete') b = Buffer.concat([b.subarray(0, at), b.subarray(at + m.len)]);
    else b = Buffer.concat([b.subarray(0, at + m.len), b.subarray(at)]);
  }
  return b;
}

/** Either a volume with consistent dims, or a SegError: never another exception, a crash or a hang. */
async function survives(file: string): Promise<void> {
  try {
    const { volume } = await loadScan(file);
    expect(volume.data.length).toBe(volume.dims[0] * volume.dims[1] * volume.dims[2]);
  } catch (e) {
    if (!(e instanceof SegError)) throw new Error(`${file}: non-SegError ${(e as Error)?.name}: ${(e as Error)?.message}`, { cause: e });
    expect(e.message.startsWith(file) || e.message.includes(file) || e.message.startsWith('series ')).toBe(true);
  }
}

describe('fuzzing the readers with mutated real files', () => {
  const sources = [
    ['nifti', fixture('nifti', 'generated', 'dtype_int16.nii'), 'fuzz.nii'],
    ['nifti.gz', fixture('nifti', 'nibabel', 'standard.nii.gz'), 'fuzz.nii.gz'],
    ['nifti2', fixture('nifti', 'nibabel', 'example_nifti2.nii.gz'), 'fuzz2.nii.gz'],
    ['dicom explicit LE', fixture('dicom', 'pydicom', 'MR_small.dcm'), 'fuzz-le.dcm'],
    ['dicom implicit LE', fixture('dicom', 'pydicom', 'MR_small_implicit.dcm'), 'fuzz-il.dcm'],
    ['dicom big endian', fixture('dicom', 'pydicom', 'MR_small_bigendian.dcm'), 'fuzz-be.dcm'],
    ['dicom RLE', fixture('dicom', 'pydicom', 'MR_small_RLE.dcm'), 'fuzz-rle.dcm'],
    ['dicom JPEG-LS', fixture('dicom', 'pydicom', 'MR_small_jpeg_ls_lossless.dcm'), 'fuzz-jls.dcm'],
    ['dicom JPEG 2000', fixture('dicom', 'pydicom', 'MR_small_jp2klossless.dcm'), 'fuzz-j2k.dcm'],
    ['dicom enhanced', fixture('dicom', 'enhanced-ct', 'enhanced.dcm'), 'fuzz-enh.dcm'],
  ] as const;
  for (const [label, source, name] of sources) {
    it(`${label}: 400 mutated copies of a real file each load or fail with a SegError`, async () => {
      const src = readFileSync(source);
      const f = join(tmp, name);
      await fc.assert(
        fc.asyncProperty(fc.array(mutation(src.length), { minLength: 1, maxLength: 4 }), async (ms) => {
          writeFileSync(f, mutate(src, ms as Mutation[]));
          await survives(f);
        }),
        { numRuns: 400, seed: 20261120 },
      );
    }, 120_000);
  }
});
