import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { gunzipSync } from 'node:zlib';
import dicomParser from 'dicom-parser';
import { beforeAll, describe, expect, it } from 'vitest';
import { parsePhantomArgs } from '../../src/cli/phantom.js';
import { readDicomVolume } from '../../src/io/dicom/index.js';
import { readNifti } from '../../src/io/nifti/read.js';
import { decimalString, nameBasedUid } from '../../src/phantom/dicom-series.js';
import { generatePhantom, type Phantom } from '../../src/phantom/generate.js';
import { writePhantom } from '../../src/phantom/write.js';
import { determinant, indexToLps, obliquityDegrees } from '../../src/volume/geometry.js';
import { expectAllClose, expectSameWorldVoxels, medseg, sha256, systemFile } from '../helpers.js';

const run = promisify(execFile);
const tmp = mkdtempSync(join(tmpdir(), 'medseg-phantom-'));
const small = { size: [64, 48, 12] as const, truthSamples: 2 ** 10, threads: 1 };

describe('writePhantom', () => {
  let straight: Phantom;
  let oblique: Phantom;
  const dirStraight = join(tmp, 'straight');
  const dirOblique = join(tmp, 'oblique');
  beforeAll(async () => {
    straight = await generatePhantom({ seed: 3, ...small });
    oblique = await generatePhantom({ seed: 3, ...small, oblique: true });
    await writePhantom(dirStraight, straight, { dicom: true });
    await writePhantom(dirOblique, oblique, { dicom: true });
  });

  it('writes ct.nii.gz (int16 HU), labels.nii.gz (uint8, label intent) and truth.json on the phantom grid', async () => {
    const ct = await readNifti(join(dirStraight, 'ct.nii.gz'));
    const labels = await readNifti(join(dirStraight, 'labels.nii.gz'));
    expect(ct.volume.data).toBeInstanceOf(Int16Array);
    expect(sha256(ct.volume.data)).toBe(sha256(straight.ct.data));
    expect(labels.volume.data).toBeInstanceOf(Uint8Array);
    expect(sha256(labels.volume.data)).toBe(sha256(straight.labels.data));
    expect(gunzipSync(readFileSync(join(dirStraight, 'labels.nii.gz'))).readInt16LE(68)).toBe(1002);
    // A power-of-two matrix and the usual spacings make the grid exact in NIfTI's float32.
    for (const v of [ct.volume, labels.volume]) {
      expect(v.dims).toEqual(straight.ct.dims);
      expect(v.spacing).toEqual(straight.ct.spacing);
      expect(v.origin).toEqual(straight.ct.origin);
      expect(v.direction).toEqual(straight.ct.direction);
    }
    const truth = JSON.parse(readFileSync(join(dirStraight, 'truth.json'), 'utf8'));
    expect(truth).toEqual(JSON.parse(JSON.stringify(straight.truth)));
    expect(truth.labels.map((l: { value: number; name: string }) => `${l.value}:${l.name}`)).toEqual(['1:liver', '2:spleen', '3:kidney_right', '4:kidney_left', '5:aorta', '6:vertebrae', '7:lung', '8:liver_lesion']);
  });

  it('writes a DICOM series that medseg loads back to exactly the voxels and grid of ct.nii.gz', async () => {
    const dicom = await readDicomVolume(join(dirStraight, 'dicom'));
    const nifti = await readNifti(join(dirStraight, 'ct.nii.gz'));
    expect(dicom.warnings).toEqual([]);
    expect(dicom.volume.data).toBeInstanceOf(Int16Array);
    expect(sha256(dicom.volume.data)).toBe(sha256(nifti.volume.data));
    expect(dicom.volume.dims).toEqual(nifti.volume.dims);
    expect(dicom.volume.spacing).toEqual(nifti.volume.spacing);
    expect(dicom.volume.origin).toEqual(nifti.volume.origin);
    expect(dicom.volume.direction).toEqual(nifti.volume.direction);
  });

  it('keeps an oblique grid exact: DICOM equals the generated grid, NIfTI within float32', async () => {
    const g = oblique.ct;
    expect(oblique.truth.obliqueDeg).toBeGreaterThanOrEqual(5);
    expect(oblique.truth.obliqueDeg).toBeLessThanOrEqual(20);
    expect(determinant(g.direction)).toBeCloseTo(1, 12); // a proper rotation: k = i × j
    expect(obliquityDegrees(g.direction)).toBeGreaterThan(0.5);
    expect(obliquityDegrees(g.direction)).toBeLessThanOrEqual(oblique.truth.obliqueDeg + 1e-9);
    const dicom = await readDicomVolume(join(dirOblique, 'dicom'));
    const nifti = await readNifti(join(dirOblique, 'ct.nii.gz'));
    expect(sha256(dicom.volume.data)).toBe(sha256(g.data));
    expect(sha256(nifti.volume.data)).toBe(sha256(g.data));
    expectAllClose(dicom.volume.direction, g.direction, { atol: 1e-12, rtol: 0 });
    expectAllClose([...dicom.volume.origin, ...dicom.volume.spacing], [...g.origin, ...g.spacing], { atol: 1e-9, rtol: 0 });
    expectAllClose(nifti.volume.direction, g.direction, { atol: 1e-6, rtol: 0 });
    expectAllClose([...nifti.volume.origin, ...nifti.volume.spacing], [...g.origin, ...g.spacing], { atol: 1e-4, rtol: 0 });
    // The patient did not move: the far corner of the grid is where the geometry says.
    const corner = indexToLps(dicom.volume, [63, 47, 11]);
    expectAllClose(corner, indexToLps(g, [63, 47, 11]), { atol: 1e-8, rtol: 0 });
  });

  it('places the same anatomy at the same LPS positions on a straight and an oblique grid', async () => {
    const centroid = (p: Phantom, value: number) => {
      const [nx, ny] = p.labels.dims;
      const s = [0, 0, 0];
      let n = 0;
      p.labels.data.forEach((v, q) => {
        if (v !== value) return;
        const ijk = [q % nx, Math.floor(q / nx) % ny, Math.floor(q / (nx * ny))] as const;
        const lps = indexToLps(p.labels, ijk);
        lps.forEach((c, a) => (s[a]! += c));
        n++;
      });
      return s.map((c) => c / n);
    };
    // Grids that hold the whole liver and kidneys either way (512 × 384 × 320 mm); with 8 mm voxels the centroid of
    // a structure of 100+ mL is stable to a few mm under resampling.
    const grid = { seed: 3, size: [64, 48, 40] as const, spacing: [8, 8, 8] as const, truthSamples: 2 ** 10, threads: 1 };
    const a = await generatePhantom(grid);
    const b = await generatePhantom({ ...grid, oblique: true });
    for (const value of [1, 3, 4]) {
      const [p, q] = [centroid(a, value), centroid(b, value)];
      expect(Math.hypot(p[0]! - q[0]!, p[1]! - q[1]!, p[2]! - q[2]!), `label ${value}`).toBeLessThan(3);
    }
  });

  it('gives the series proper UIDs and CT Image tags, the same on every run', async () => {
    const files = readdirSync(join(dirStraight, 'dicom')).sort();
    expect(files).toEqual(Array.from({ length: 12 }, (_, k) => `IM${String(k + 1).padStart(4, '0')}.dcm`));
    const sets = files.map((f) => dicomParser.parseDicom(readFileSync(join(dirStraight, 'dicom', f))));
    const uid = /^2\.25\.[1-9]\d*$/;
    const one = sets[0]!;
    expect(one.string('x00020010')).toBe('1.2.840.10008.1.2.1');
    expect(one.string('x00080016')).toBe('1.2.840.10008.5.1.4.1.1.2');
    expect(one.string('x00080060')).toBe('CT');
    expect(one.string('x00100020')).toBe('MEDSEG-PHANTOM-3');
    expect(one.string('x00100010')).toBe('PHANTOM^SEED3');
    expect(one.string('x00281052')).toBe('-1024');
    expect(one.string('x00281053')).toBe('1');
    expect(one.uint16('x00280101')).toBe(12);
    expect(one.uint16('x00280103')).toBe(0);
    expect(Number(one.string('x00180050'))).toBe(straight.truth.sliceThicknessMm);
    for (const tag of ['x0020000d', 'x0020000e', 'x00200052']) {
      expect(one.string(tag)).toMatch(uid);
      expect(one.string(tag)!.length).toBeLessThanOrEqual(64);
      expect(new Set(sets.map((s) => s.string(tag))).size).toBe(1);
    }
    const sops = sets.map((s) => s.string('x00080018'));
    sops.forEach((s) => expect(s).toMatch(uid));
    expect(new Set(sops).size).toBe(12);
    expect(new Set([...sops, one.string('x0020000d'), one.string('x0020000e'), one.string('x00200052')]).size).toBe(15);
    sets.forEach((s, k) => {
      const ipp = s.string('x00200032')!.split('\\').map(Number);
      expect(ipp).toEqual([...indexToLps(straight.ct, [0, 0, k])]);
      expect(s.intString('x00200013')).toBe(k + 1);
    });
    // Deterministic: a second write gives the same bytes (same UIDs).
    const again = join(tmp, 'again');
    await writePhantom(again, straight, { dicom: true });
    expect(sha256(readFileSync(join(again, 'dicom', 'IM0005.dcm')))).toBe(sha256(readFileSync(join(dirStraight, 'dicom', 'IM0005.dcm'))));
  });

  it('passes dciodvfy (dicom3tools) without errors', async () => {
    if (!systemFile('/usr/bin/dciodvfy', 'Debian package dicom3tools validates the CT Image IOD')) return;
    for (const dir of [dirStraight, dirOblique]) {
      const file = join(dir, 'dicom', 'IM0006.dcm');
      const out = await run('/usr/bin/dciodvfy', [file]).catch((e: { stdout: string; stderr: string }) => e);
      const lines = `${out.stdout}\n${out.stderr}`.split('\n');
      expect(lines.filter((l) => /error/i.test(l)), lines.join('\n')).toEqual([]);
      expect(lines.some((l) => l.trim() === 'CTImage')).toBe(true);
    }
  });

  it('is read by dcm2niix (an independent reader) to the same voxels at the same LPS positions', async () => {
    if (!systemFile('/usr/bin/dcm2niix', 'Debian package dcm2niix is the reference DICOM → NIfTI converter')) return;
    for (const [dir, phantom] of [[dirStraight, straight], [dirOblique, oblique]] as const) {
      const out = mkdtempSync(join(tmp, 'dcm2niix-'));
      await run('/usr/bin/dcm2niix', ['-z', 'n', '-b', 'n', '-o', out, '-f', 'conv', join(dir, 'dicom')]);
      const converted = await readNifti(join(out, 'conv.nii'));
      // dcm2niix stores the rows flipped: compare by LPS position, not by index.
      await expectSameWorldVoxels(phantom.ct, converted.volume, 1e-3);
    }
  });

  it('replaces its own series on a re-run but never deletes foreign files', async () => {
    const dir = join(tmp, 'rerun');
    await writePhantom(dir, straight, { dicom: true });
    await writePhantom(dir, straight, { dicom: true });
    expect(readdirSync(join(dir, 'dicom'))).toHaveLength(12);
    writeFileSync(join(dir, 'dicom', 'notes.txt'), 'mine');
    await expect(writePhantom(dir, straight, { dicom: true })).rejects.toMatchObject({ code: 'WRITE_FAILED', message: expect.stringContaining('holds files medseg did not write (notes.txt)') });
    expect(readFileSync(join(dir, 'dicom', 'notes.txt'), 'utf8')).toBe('mine');
    expect(readdirSync(dir).filter((n) => n.includes('.tmp-'))).toEqual([]);
  });
});

describe('DICOM helpers', () => {
  it('formats decimal strings in at most 16 characters', () => {
    expect(decimalString(-236.07421875)).toBe('-236.07421875');
    expect(decimalString(0.1 + 0.2)).toBe('0.3');
    expect(decimalString(-0)).toBe('0');
    expect(decimalString(0.12452363082905596)).toBe('0.12452363082906');
    expect(decimalString(1e-7)).toBe('0.0000001');
    expect(decimalString(-0.0000123456789012345)).toBe('-0.0000123456789');
    expect(decimalString(-1e-20)).toBe('0');
  });

  it('derives 2.25 UIDs from names: stable, distinct, at most 64 characters', () => {
    const a = nameBasedUid('x/study');
    expect(a).toBe(nameBasedUid('x/study'));
    expect(a).not.toBe(nameBasedUid('x/series'));
    expect(a).toMatch(/^2\.25\.[1-9]\d{0,38}$/);
    // Version 8 and RFC 9562 variant bits: the UUID's 13th hex digit is 8 and its 17th is 8–b.
    const hex = BigInt(a.slice(5)).toString(16).padStart(32, '0');
    expect(hex[12]).toBe('8');
    expect('89ab').toContain(hex[16]!);
  });
});

describe('medseg phantom (command line)', () => {
  it('parses --size and --spacing, and says what is wrong otherwise', () => {
    expect(parsePhantomArgs({ seed: '7', size: '256x256x120', spacing: '0.8,0.8,2.5', oblique: true })).toEqual({ seed: 7, size: [256, 256, 120], spacing: [0.8, 0.8, 2.5], oblique: true });
    expect(parsePhantomArgs({})).toBe('phantom needs --seed <n> (a whole number ≥ 0; the same seed gives the same phantom)');
    expect(parsePhantomArgs({ seed: '-3' })).toBe('--seed must be a whole number from 0 to 9007199254740991, got "-3"');
    expect(parsePhantomArgs({ seed: '1', size: '256x256' })).toBe('--size must be WxHxD (three whole numbers, e.g. 256x256x120), got "256x256"');
    expect(parsePhantomArgs({ seed: '1', size: '4x256x10' })).toBe('--size must be W×H×D with W and H whole numbers from 16 to 2048 and D from 2 to 4096, got 4×256×10');
    expect(parsePhantomArgs({ seed: '1', spacing: '1,1,x' })).toBe('--spacing must be sx,sy,sz in mm (e.g. 0.8,0.8,2.5), got "1,1,x"');
    expect(parsePhantomArgs({ seed: '1', spacing: '1,1,30' })).toBe('--spacing must be three numbers from 0.1 to 20 mm (i, j, k), got 1,1,30');
  });

  it('writes the phantom files and prints a JSON summary; bad usage exits 2 with the reason', async () => {
    const out = join(tmp, 'cli');
    mkdirSync(out, { recursive: true });
    const r = await medseg('phantom', '--seed', '3', '--size', '64x48x12', '--out', out, '--json');
    expect(r.code, r.stderr).toBe(0);
    const summary = JSON.parse(r.stdout);
    expect(summary).toMatchObject({ seed: 3, dims: [64, 48, 12], orientation: 'LPS', obliqueDeg: 0 });
    expect(summary.structures).toHaveLength(8);
    for (const f of ['ct.nii.gz', 'labels.nii.gz', 'truth.json']) expect(existsSync(join(out, f))).toBe(true);
    expect(existsSync(join(out, 'dicom'))).toBe(false);
    // The library and the CLI make the same phantom.
    const library = await generatePhantom({ seed: 3, ...small });
    expect(sha256((await readNifti(join(out, 'ct.nii.gz'))).volume.data)).toBe(sha256(library.ct.data));

    const bad = await medseg('phantom', '--seed', 'abc', '--out', out);
    expect(bad.code).toBe(2);
    expect(bad.stderr.trim()).toBe('medseg: --seed must be a whole number from 0 to 9007199254740991, got "abc"');
    const noOut = await medseg('phantom', '--seed', '1', '--json');
    expect(noOut.code).toBe(2);
    expect(JSON.parse(noOut.stdout)).toEqual({ error: { code: 'USAGE', message: 'phantom needs --out <dir>' } });
  });
});
