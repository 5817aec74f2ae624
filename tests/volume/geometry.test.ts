import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { readNifti } from '../../src/io/nifti/read.js';
import { writeNifti } from '../../src/io/nifti/write.js';
import {
  affineToQuaternion,
  geometryToNiftiAffine,
  indexToLps,
  lpsToIndex,
  niftiAffineToGeometry,
  orientationCode,
  voxelVolumeMm3,
} from '../../src/volume/geometry.js';
import type { Mat3, Vec3 } from '../../src/volume/types.js';
import { makeVolume } from '../../src/volume/volume.js';
import { rotation, signedPermutations } from '../geometry-helpers.js';
import { expectAllClose, sha256 } from '../helpers.js';

describe('geometry (LPS, mm)', () => {
  const oblique = { origin: [-120.5, 33.25, 7] as Vec3, spacing: [0.7, 0.9, 2.5] as Vec3, direction: rotation([1, 2, 3], 30) };

  it('maps voxel centres to LPS with spacing along each direction column', () => {
    // voxel (1, 0, 0) is one column spacing (0.7 mm) along the i axis from the origin
    const d = oblique.direction;
    expectAllClose(indexToLps(oblique, [1, 0, 0]), [oblique.origin[0] + 0.7 * d[0], oblique.origin[1] + 0.7 * d[1], oblique.origin[2] + 0.7 * d[2]], { atol: 1e-12, rtol: 0 });
  });

  it('round-trips lpsToIndex(indexToLps(p)) on an oblique anisotropic grid', () => {
    fc.assert(
      fc.property(fc.tuple(fc.double({ min: -500, max: 500, noNaN: true }), fc.double({ min: -500, max: 500, noNaN: true }), fc.double({ min: -500, max: 500, noNaN: true })), (p) => {
        expectAllClose(lpsToIndex(oblique, indexToLps(oblique, p)), p, { atol: 1e-9, rtol: 0 });
      }),
    );
  });

  it('converts to a NIfTI RAS affine and back without loss', () => {
    const a = geometryToNiftiAffine(oblique);
    // RAS flips x and y of the world: the translation is (−ox, −oy, oz)
    expect(a.slice(3, 12).filter((_, n) => n % 4 === 0)).toEqual([120.5, -33.25, 7]);
    const g = niftiAffineToGeometry(a);
    expectAllClose([...g.origin, ...g.spacing, ...g.direction], [...oblique.origin, ...oblique.spacing, ...oblique.direction], { atol: 1e-12, rtol: 0 });
  });

  it('names orientations like DICOM and NIfTI tools do', () => {
    expect(orientationCode([1, 0, 0, 0, 1, 0, 0, 0, 1])).toBe('LPS');
    expect(orientationCode([-1, 0, 0, 0, -1, 0, 0, 0, 1])).toBe('RAS');
    // LIA: i → left, j → inferior, k → anterior (brainchop's conformed space)
    expect(orientationCode([1, 0, 0, 0, 0, -1, 0, -1, 0])).toBe('LIA');
  });

  it('computes the voxel volume from spacing and |det(direction)|', () => {
    expect(voxelVolumeMm3(oblique)).toBeCloseTo(0.7 * 0.9 * 2.5, 12);
  });

  it('encodes every one of the 48 axis permutations/flips as a qform quaternion that nifti1_io decodes back', async () => {
    const perms = signedPermutations();
    expect(perms).toHaveLength(48);
    for (const direction of perms) {
      const affine = geometryToNiftiAffine({ origin: [1, 2, 3], spacing: [0.5, 1, 2], direction });
      const q = affineToQuaternion(affine)!;
      expect(q).toBeDefined();
      expect(Math.hypot(q.b, q.c, q.d)).toBeLessThanOrEqual(1 + 1e-12);
    }
  });

  it('round-trips all 48 axis permutations/flips through NIfTI write and read: same voxels, same geometry, same world positions', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'medseg-geom-'));
    const dims = [3, 4, 5] as const;
    const data = Int16Array.from({ length: 60 }, (_, n) => n * 7 - 100);
    for (const [n, direction] of signedPermutations().entries()) {
      const v = makeVolume({ data, dims, spacing: [0.5, 1.25, 3], origin: [-10, 20.5, 33], direction });
      const f = join(dir, `p${n}.nii${n % 2 ? '.gz' : ''}`);
      await writeNifti(f, v);
      const back = await readNifti(f);
      expect(sha256(back.volume.data)).toBe(sha256(data));
      expectAllClose(back.volume.direction, direction, { atol: 1e-7, rtol: 0 });
      expectAllClose(back.volume.spacing, v.spacing, { atol: 1e-6, rtol: 0 });
      expectAllClose(back.volume.origin, v.origin, { atol: 1e-5, rtol: 0 });
      expectAllClose(indexToLps(back.volume, [2, 3, 4]), indexToLps(v, [2, 3, 4]), { atol: 1e-5, rtol: 0 });
      // the qform written alongside the sform encodes the same grid
      expectAllClose(back.header.qform, back.header.sform, { atol: 1e-5, rtol: 0 });
      expect(orientationCode(back.volume.direction)).toBe(orientationCode(direction));
    }
  });
});

describe('DICOM stack geometry for all 48 axis permutations/flips', () => {
  it('recovers positions, spacing and a right-handed k axis from IPP/IOP of each slice', async () => {
    const { stackGeometry } = await import('../../src/io/dicom/series-geometry.js');
    for (const direction of signedPermutations()) {
      const v = { origin: [-10, 20.5, 33] as Vec3, spacing: [0.5, 1.25, 3] as Vec3, direction };
      const slices = [0, 1, 2, 3].map((k) => ({
        frame: 0,
        instance: { file: `s${k}`, instanceNumber: 10 - k } as never,
        geometry: {
          ippLps: indexToLps(v, [0, 0, k]),
          rowCosines: [direction[0], direction[1], direction[2]] as Vec3,
          colCosines: [direction[3], direction[4], direction[5]] as Vec3,
          // PixelSpacing is (row spacing = along j, column spacing = along i)
          pixelSpacing: [1.25, 0.5] as const,
          rescaleSlope: 1,
          rescaleIntercept: 0,
        },
      }));
      const geo = stackGeometry({ id: 'perm', slices: [slices[2]!, slices[0]!, slices[3]!, slices[1]!] } as never);
      expectAllClose(geo.spacing, [0.5, 1.25, 3], { atol: 1e-12, rtol: 0 });
      expectAllClose(geo.direction.slice(0, 6), direction.slice(0, 6), { atol: 1e-12, rtol: 0 });
      // k runs along row × column (right-handed), so a left-handed source comes back with its slices reversed
      const kSign = Math.sign(geo.direction[6] * direction[6] + geo.direction[7] * direction[7] + geo.direction[8] * direction[8]);
      const handed = Math.sign(
        direction[6] * (direction[1] * direction[5] - direction[2] * direction[4]) +
          direction[7] * (direction[2] * direction[3] - direction[0] * direction[5]) +
          direction[8] * (direction[0] * direction[4] - direction[1] * direction[3]),
      );
      expect(kSign).toBe(handed);
      geo.sorted.forEach((s, k) => expectAllClose(indexToLps(geo, [0, 0, k]), s.geometry.ippLps!, { atol: 1e-9, rtol: 0 }));
    }
  });
});
