import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { readDicomVolume, scanDicom } from '../../../src/io/dicom/index.js';
import { readNifti } from '../../../src/io/nifti/read.js';
import { indexToLps } from '../../../src/volume/geometry.js';
import { expectAllClose, expectSameWorldVoxels, fixture, ROOT, sha256, stats } from '../../helpers.js';

const golden = (name: string) => JSON.parse(readFileSync(fixture('golden', `${name}.json`), 'utf8'));
const rel = (f: string) => f.replace(`${ROOT}/`, '');

/** LPS affine (row-major 4×4) of a volume, for comparison with the goldens' affineLPS. */
function affineLps(v: { origin: readonly number[]; spacing: readonly number[]; direction: readonly number[] }) {
  const out: number[] = [];
  for (let r = 0; r < 3; r++) out.push(v.direction[r]! * v.spacing[0]!, v.direction[3 + r]! * v.spacing[1]!, v.direction[6 + r]! * v.spacing[2]!, v.origin[r]!);
  return [...out, 0, 0, 0, 1];
}

describe('DICOM series → Volume', () => {
  it('loads the oblique anisotropic CT series with the geometry of its tags and HU voxels identical to pydicom', async () => {
    const g = golden('oblique-ct');
    const { volume, series, geometry } = await readDicomVolume(fixture('dicom', 'oblique-ct'));
    expect([...volume.dims]).toEqual([40, 48, 12]);
    // PixelSpacing is [row 0.7, column 0.9]: spacing along i (columns) is 0.9, along j (rows) 0.7
    expectAllClose(volume.spacing, g.geometry.spacing, { atol: 1e-6, rtol: 0 });
    expectAllClose(affineLps(volume), g.geometry.affineLPS.flat(), { atol: 1e-6, rtol: 0 });
    expect(volume.data).toBeInstanceOf(Int16Array);
    expect(sha256(volume.data)).toBe(g.huVolume.sha256);
    expect(geometry.sorted.map((s) => rel(s.instance.file))).toEqual(g.filesInSpatialOrder);
    expect(series.seriesInstanceUid).toBe(g.seriesInstanceUID);
    expect(series.frameOfReferenceUid).toBe(g.frameOfReferenceUID);
  });

  it("equals dcm2niix's NIfTI of the same series voxel for voxel at the same positions (within 1e-4 mm)", async () => {
    const g = golden('oblique-ct');
    const ours = (await readDicomVolume(fixture('dicom', 'oblique-ct'))).volume;
    const theirs = (await readNifti(`${ROOT}/${g.dcm2niix.file}`)).volume;
    // dcm2niix flipped j (g.dcm2niix.flips); world positions and values must still coincide
    expect(g.dcm2niix.flips).toEqual({ flipI: false, flipJ: true, flipK: false });
    await expectSameWorldVoxels(ours, theirs, 1e-4);
    const corner = indexToLps(theirs, [0, 0, 0]);
    expectAllClose(corner, indexToLps(ours, [0, 47, 0]), { atol: 1e-4, rtol: 0 });
  });

  it('keeps a gantry-tilted series on its exact sheared grid and reports the tilt', async () => {
    const g = golden('tilted-ct');
    const { volume, geometry, warnings } = await readDicomVolume(fixture('dicom', 'tilted-ct'));
    expect(geometry.tiltDegrees).toBeCloseTo(15, 4);
    expectAllClose(affineLps(volume), g.shearedAffineLPS.flat(), { atol: 1e-5, rtol: 0 });
    expect(sha256(volume.data)).toBe(g.huVolume.sha256);
    expect(warnings.some((w) => w.startsWith('gantry tilt 15.00°'))).toBe(true);
    // every slice's first pixel is where its ImagePositionPatient says
    g.geometry.imagePositions.forEach((ipp: number[], k: number) => expectAllClose(indexToLps(volume, [0, 0, k]), ipp, { atol: 1e-5, rtol: 0 }));
  });

  it('reads an enhanced multi-frame CT (shuffled frames, per-frame intercepts) like its classic twin', async () => {
    const g = golden('enhanced-ct');
    const enhanced = await readDicomVolume(fixture('dicom', 'enhanced-ct', 'enhanced.dcm'));
    const classic = await readDicomVolume(fixture('dicom', 'enhanced-ct-classic'));
    expect([...enhanced.volume.dims]).toEqual(g.geometry.size);
    expectAllClose(affineLps(enhanced.volume), g.affineLPS?.flat() ?? g.geometry.affineLPS.flat(), { atol: 1e-6, rtol: 0 });
    expect(enhanced.volume.data).toBeInstanceOf(Float32Array);
    expect(sha256(enhanced.volume.data)).toBe(g.rescaledVolume.sha256);
    expect(stats(enhanced.volume.data).sum).toBe(g.rescaledVolume.sum);
    expect(enhanced.planes.map((p) => p.frame)).toEqual(g.frameIndexInSpatialOrder);
    expect(sha256(classic.volume.data)).toBe(g.rescaledVolume.sha256);
    expectAllClose(affineLps(classic.volume), affineLps(enhanced.volume), { atol: 1e-6, rtol: 0 });
  });

  describe('a messy folder', () => {
    const g = golden('messy').expectedGrouping;

    it('groups two interleaved series, separates the localizer and lists the files it skipped', async () => {
      const scan = await scanDicom(fixture('dicom', 'messy'));
      const a = scan.series.find((s) => s.id === g.volumes.A.seriesInstanceUID)!;
      expect(a.slices.map((s) => rel(s.instance.file)).sort()).toEqual([...g.volumes.A.filesInSpatialOrder].sort());
      const localizer = scan.series.find((s) => s.id === `${g.volumes.A.seriesInstanceUID}#2`)!;
      expect(localizer.isLocalizer).toBe(true);
      expect(localizer.files.map(rel)).toEqual(g.localizers);
      const skipped = Object.fromEntries(scan.skipped.map((s) => [rel(s.file), s.code]));
      expect(skipped).toEqual({
        'fixtures/dicom/messy/EMPTY': 'EMPTY_FILE',
        'fixtures/dicom/messy/IM9999': 'TRUNCATED_FILE',
        'fixtures/dicom/messy/notes.txt': 'NOT_DICOM',
      });
      expect(scan.series.filter((s) => !s.isLocalizer)).toHaveLength(3);
    });

    it('refuses to guess between several series and names them', async () => {
      await expect(readDicomVolume(fixture('dicom', 'messy'))).rejects.toMatchObject({
        code: 'AMBIGUOUS_SERIES',
        message: expect.stringMatching(/3 image series found; choose one with --series <id>: /),
      });
    });

    it('loads each series by id with the expected voxels', async () => {
      for (const key of ['A', 'B'] as const) {
        const v = g.volumes[key];
        const { volume } = await readDicomVolume(fixture('dicom', 'messy'), { seriesId: v.seriesInstanceUID });
        expect([...volume.dims]).toEqual(v.size);
        expect(volume.spacing[2]).toBeCloseTo(v.nominalGap, 9);
        expect(sha256(volume.data)).toBe(v.huSha256);
      }
    });

    it('reports the missing slice of series C with its gap, and resamples it only when asked', async () => {
      const c = g.volumes.C;
      await expect(readDicomVolume(fixture('dicom', 'messy'), { seriesId: c.seriesInstanceUID })).rejects.toMatchObject({
        code: 'NON_UNIFORM_SPACING',
        message: `series ${c.seriesInstanceUID}: slice gaps differ from the typical 2.500 mm (1 offending: after slice 3: 5.000 mm); the series has missing or duplicate slices or variable spacing. Re-export the complete series, or pass allowNonUniform (CLI: --allow-nonuniform) to resample it linearly onto a uniform grid at the median gap.`,
      });
      const { volume, warnings } = await readDicomVolume(fixture('dicom', 'messy'), { seriesId: c.seriesInstanceUID, allowNonUniform: true });
      expect([...volume.dims]).toEqual([16, 16, 7]);
      expect(volume.spacing[2]).toBeCloseTo(2.5, 9);
      expect(warnings.some((w) => w.startsWith('non-uniform slice gaps'))).toBe(true);
      // the interpolated plane (z = 17.5 mm) is the mean of its neighbours at 15 and 20 mm
      const plane = 256;
      for (const n of [0, 100, 255]) {
        expect(volume.data[3 * plane + n]).toBeCloseTo((volume.data[2 * plane + n]! + volume.data[4 * plane + n]!) / 2, 4);
      }
    });
  });
});
