/**
 * True (continuous) volumes of the labelled structures, independent of the voxel grid: stratified Monte-Carlo
 * integration of the scene (one uniformly jittered point per cell of a lattice of about `samples` cells over the
 * structure's box, axis-aligned in LPS mm). Cells wholly inside or outside contribute no error; each cell the
 * surface crosses contributes a variance ≤ ¼ cell², so the standard error is at most cellVolume·√B / 2 with B the
 * boundary cells, estimated as the cells whose sample differs from a face neighbour's (an over-count of B).
 * With 2^19 cells this is 0.1–0.35% of the volume for the organs, and about 0.06% for a lesion (2^18 cells).
 * The field of view is the box the voxels cover (index −0.5 … n − 0.5 on each axis, exact for oblique grids).
 */
import { invert3 } from '../volume/geometry.js';
import type { Vec3 } from '../volume/types.js';
import type { Acquisition } from './acquisition.js';
import { Rng } from './random.js';
import type { Box } from './shapes.js';

export const DEFAULT_TRUTH_SAMPLES = 2 ** 19;

export interface VolumeEstimate {
  /** mm³ inside the field of view, and its estimated standard error. */
  inFovMm3: number;
  inFovStdErrMm3: number;
  /** mm³ of the whole structure (same sampling, ignoring the field of view) and its standard error. */
  wholeMm3: number;
  wholeStdErrMm3: number;
  samples: number;
}

/** Tests whether an LPS point lies in the box covered by the acquisition's voxels. */
export function fovTest(acq: Acquisition): { contains: (x: number, y: number, z: number) => boolean; box: Box } {
  const d = acq.direction;
  const s = acq.spacing;
  const m = [d[0] * s[0], d[3] * s[1], d[6] * s[2], d[1] * s[0], d[4] * s[1], d[7] * s[2], d[2] * s[0], d[5] * s[1], d[8] * s[2]];
  const inv = invert3(m);
  const [ox, oy, oz] = acq.origin;
  const [nx, ny, nz] = acq.dims;
  const contains = (x: number, y: number, z: number) => {
    const px = x - ox;
    const py = y - oy;
    const pz = z - oz;
    const i = inv[0]! * px + inv[1]! * py + inv[2]! * pz;
    const j = inv[3]! * px + inv[4]! * py + inv[5]! * pz;
    const k = inv[6]! * px + inv[7]! * py + inv[8]! * pz;
    return i >= -0.5 && i < nx - 0.5 && j >= -0.5 && j < ny - 0.5 && k >= -0.5 && k < nz - 0.5;
  };
  const min: [number, number, number] = [Infinity, Infinity, Infinity];
  const max: [number, number, number] = [-Infinity, -Infinity, -Infinity];
  for (const ci of [-0.5, nx - 0.5])
    for (const cj of [-0.5, ny - 0.5])
      for (const ck of [-0.5, nz - 0.5]) {
        for (let r = 0; r < 3; r++) {
          const v = acq.origin[r]! + m[3 * r]! * ci + m[3 * r + 1]! * cj + m[3 * r + 2]! * ck;
          min[r] = Math.min(min[r]!, v);
          max[r] = Math.max(max[r]!, v);
        }
      }
  return { contains, box: { min, max } };
}

export function intersectBoxes(a: Box, b: Box): Box | undefined {
  const min = [0, 1, 2].map((c) => Math.max(a.min[c]!, b.min[c]!)) as unknown as Vec3;
  const max = [0, 1, 2].map((c) => Math.min(a.max[c]!, b.max[c]!)) as unknown as Vec3;
  return min.every((v, c) => v < max[c]!) ? { min, max } : undefined;
}

/**
 * Estimates the volume of {p ∈ box : member(p)} (whole) and of its part inside the field of view.
 * @param member the scene's answer at a point: true when the point belongs to the structure.
 */
export function estimateVolume(options: {
  box: Box;
  member: (x: number, y: number, z: number) => boolean;
  inFov: (x: number, y: number, z: number) => boolean;
  samples: number;
  rng: Rng;
}): VolumeEstimate {
  const { box, member, inFov, rng } = options;
  const ext = [0, 1, 2].map((c) => box.max[c]! - box.min[c]!) as [number, number, number];
  const h = Math.cbrt((ext[0] * ext[1] * ext[2]) / options.samples);
  const n = ext.map((e) => Math.max(1, Math.round(e / h))) as [number, number, number];
  const cell = ext.map((e, c) => e / n[c]!) as [number, number, number];
  const cellVolume = cell[0] * cell[1] * cell[2];
  // Bit 0: member; bit 1: member and in the field of view.
  const state = new Uint8Array(n[0] * n[1] * n[2]);
  let whole = 0;
  let fov = 0;
  for (let k = 0; k < n[2]; k++)
    for (let j = 0; j < n[1]; j++)
      for (let i = 0; i < n[0]; i++) {
        const x = box.min[0] + (i + rng.next()) * cell[0];
        const y = box.min[1] + (j + rng.next()) * cell[1];
        const z = box.min[2] + (k + rng.next()) * cell[2];
        if (!member(x, y, z)) continue;
        const f = inFov(x, y, z);
        state[i + n[0] * (j + n[1] * k)] = f ? 3 : 1;
        whole++;
        if (f) fov++;
      }
  const boundary = [0, 0];
  const sx = 1;
  const sy = n[0];
  const sz = n[0] * n[1];
  for (let k = 0; k < n[2]; k++)
    for (let j = 0; j < n[1]; j++)
      for (let i = 0; i < n[0]; i++) {
        const q = i + n[0] * (j + n[1] * k);
        const v = state[q]!;
        let diff = 0;
        if (i > 0) diff |= v ^ state[q - sx]!;
        if (i < n[0] - 1) diff |= v ^ state[q + sx]!;
        if (j > 0) diff |= v ^ state[q - sy]!;
        if (j < n[1] - 1) diff |= v ^ state[q + sy]!;
        if (k > 0) diff |= v ^ state[q - sz]!;
        if (k < n[2] - 1) diff |= v ^ state[q + sz]!;
        if (diff & 1) boundary[0]!++;
        if (diff & 2) boundary[1]!++;
      }
  return {
    inFovMm3: fov * cellVolume,
    inFovStdErrMm3: (cellVolume * Math.sqrt(boundary[1]!)) / 2,
    wholeMm3: whole * cellVolume,
    wholeStdErrMm3: (cellVolume * Math.sqrt(boundary[0]!)) / 2,
    samples: n[0] * n[1] * n[2],
  };
}
