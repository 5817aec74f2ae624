/**
 * The real mindgrab model (../shared/real-models) on a scan that is NOT already conformed: the t1_crop MRI resampled
 * onto a rotated (7° about z), anisotropic (1.25 × 1.1 × 1.4 mm) RAS grid. The card's conform (exact LIA 256³ 1 mm),
 * crop and the return to the scan grid must still put the brain where the authors' reference mask has it.
 */
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadModelCard } from '../../src/inference/card.js';
import { segmentVolume } from '../../src/inference/pipeline.js';
import { readNifti } from '../../src/io/nifti/read.js';
import { indexToLps, lpsToIndex } from '../../src/volume/geometry.js';
import type { Mat3, Vec3, Volume } from '../../src/volume/types.js';
import { ROOT } from '../helpers.js';

const REAL = resolve(ROOT, '..', 'shared', 'real-models');
const present = existsSync(join(REAL, 'mindgrab.onnx'));
if (!present) console.warn(`skipping the oblique mindgrab test: ${REAL} is absent (team test material, not part of the repository)`);

/** Samples `v` at an LPS point: trilinear (0 outside) or nearest. Independent of the engine's resampler. */
function sample(v: Volume, p: Vec3, nearest: boolean): number {
  const [x, y, z] = lpsToIndex(v, p);
  const [nx, ny, nz] = v.dims;
  if (nearest) {
    const i = Math.round(x);
    const j = Math.round(y);
    const k = Math.round(z);
    return i < 0 || j < 0 || k < 0 || i >= nx || j >= ny || k >= nz ? 0 : v.data[i + nx * (j + ny * k)]!;
  }
  const i0 = Math.floor(x);
  const j0 = Math.floor(y);
  const k0 = Math.floor(z);
  if (i0 < 0 || j0 < 0 || k0 < 0 || i0 >= nx - 1 || j0 >= ny - 1 || k0 >= nz - 1) return 0;
  const fx = x - i0;
  const fy = y - j0;
  const fz = z - k0;
  let s = 0;
  for (const [di, wi] of [[0, 1 - fx], [1, fx]] as const)
    for (const [dj, wj] of [[0, 1 - fy], [1, fy]] as const)
      for (const [dk, wk] of [[0, 1 - fz], [1, fz]] as const) s += wi * wj * wk * v.data[i0 + di + nx * (j0 + dj + ny * (k0 + dk))]!;
  return s;
}

describe('mindgrab on an oblique, anisotropic RAS scan', () => {
  it.skipIf(!present)(
    'agrees with the reference mask (resampled onto the same grid) at Dice ≥ 0.99 and within 1% in volume',
    async () => {
      const img = (await readNifti(join(REAL, 't1_crop.nii.gz'))).volume;
      const ref = (await readNifti(join(REAL, 't1_crop.mindgrab-reference-mask.nii.gz'))).volume;
      const a = (7 * Math.PI) / 180;
      const dims: [number, number, number] = [200, 230, 180];
      const direction = [-Math.cos(a), -Math.sin(a), 0, Math.sin(a), -Math.cos(a), 0, 0, 0, 1] as unknown as Mat3;
      const spacing: Vec3 = [1.25, 1.1, 1.4];
      const c = indexToLps(img, [127.5, 127.5, 127.5]);
      const origin = [0, 1, 2].map((w) => c[w]! - [0, 1, 2].reduce((s, ax) => s + direction[3 * ax + w]! * spacing[ax]! * ((dims[ax]! - 1) / 2), 0)) as unknown as Vec3;
      const grid = { dims, spacing, origin, direction };
      const data = new Uint8Array(dims[0] * dims[1] * dims[2]);
      let o = 0;
      for (let k = 0; k < dims[2]; k++) for (let j = 0; j < dims[1]; j++) for (let i = 0; i < dims[0]; i++) data[o++] = Math.round(sample(img, indexToLps(grid, [i, j, k]), false));
      const card = await loadModelCard('models/mindgrab/mindgrab.card.json');
      const r = await segmentVolume({ ...grid, data }, card);
      expect(r.labels.dims).toEqual(dims);
      let A = 0;
      let B = 0;
      let AB = 0;
      o = 0;
      for (let k = 0; k < dims[2]; k++)
        for (let j = 0; j < dims[1]; j++)
          for (let i = 0; i < dims[0]; i++, o++) {
            const x = r.labels.data[o]! > 0;
            const y = sample(ref, indexToLps(grid, [i, j, k]), true) > 0;
            if (x) A++;
            if (y) B++;
            if (x && y) AB++;
          }
      const dice = (2 * AB) / (A + B);
      expect(dice).toBeGreaterThanOrEqual(0.99); // measured 0.998
      const mlPred = (A * 1.25 * 1.1 * 1.4) / 1000;
      expect(Math.abs(mlPred - 1647.365) / 1647.365).toBeLessThan(0.01); // measured 1644.4 mL
    },
    300_000,
  );
});
