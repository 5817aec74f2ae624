/**
 * Renders the phantom plane by plane onto the acquisition grid (LPS mm via the grid's geometry, so an oblique grid
 * needs nothing special). For each k plane:
 * - label = the material at the voxel centre (lesions override the liver, as the scene says);
 * - CT number = the mean over sub-samples of the voxel (partial volume), computed only where the voxel's corners
 *   (at several heights within thick slices) and centre do not all agree; elsewhere the centre material's HU;
 * - then the reconstruction: an in-plane Gaussian blur (the point spread function, edges replicated) and Gaussian
 *   noise correlated in-plane (white noise on a padded plane through a Gaussian, rescaled to the target standard
 *   deviation, so it is stationary up to the edges), each plane's noise drawn from its own stream; values rounded
 *   and clipped to the 12-bit CT range [−1024, 3071].
 * Memory: a few float32 planes besides the output; nothing per voxel of the whole volume except the outputs.
 */
import type { Acquisition } from './acquisition.js';
import { LESION_BASE, MAX_LESIONS, type Material } from './materials.js';
import { Rng } from './random.js';
import type { Scene } from './scene.js';

export const HU_RANGE = [-1024, 3071] as const;
/** Largest z gap (mm) between the heights at which voxel corners are checked for a boundary within a slice. */
const DETECT_DZ_MM = 2;

export interface RenderContext {
  seed: number;
  scene: Scene;
  materials: readonly Material[];
  acquisition: Acquisition;
}

export interface PlaneStats {
  /** Voxels whose centre lies in lesion n (index n − 1). */
  lesionVoxels: number[];
  /** Voxels that were supersampled. */
  mixedVoxels: number;
}

/**
 * Renders planes [k0, k1) into `ct` and `labels` (i fastest), plane k at offset (k − firstPlane)·nx·ny. Every value
 * depends only on the plane's own index, so any split into slabs gives the same bytes.
 */
export function renderPlanes(ctx: RenderContext, k0: number, k1: number, ct: Int16Array, labels: Uint8Array, firstPlane = 0): PlaneStats {
  const { scene, acquisition: acq } = ctx;
  const [nx, ny] = acq.dims;
  const [sx, sy, sz] = acq.spacing;
  const d = acq.direction;
  const o = acq.origin;
  const ex = [d[0] * sx, d[1] * sx, d[2] * sx];
  const ey = [d[3] * sy, d[4] * sy, d[5] * sy];
  const ez = [d[6] * sz, d[7] * sz, d[8] * sz];
  const hu = new Float32Array(256);
  const labelOf = new Uint8Array(256);
  ctx.materials.forEach((m, id) => {
    hu[id] = m.hu;
    labelOf[id] = m.label;
  });
  const intervals = Math.max(1, Math.ceil(sz / DETECT_DZ_MM - 1e-9));
  const cw = nx + 1;
  const cornerCount = cw * (ny + 1);
  let lower: Uint8Array = new Uint8Array(cornerCount);
  const levels: Uint8Array[] = Array.from({ length: intervals }, () => new Uint8Array(cornerCount));
  const centre = new Uint8Array(nx * ny);
  const plane = new Float32Array(nx * ny);
  const scratch = new Float32Array(nx * ny);
  const psf = [gaussianKernel(acq.psfSigmaMm / sx), gaussianKernel(acq.psfSigmaMm / sy)] as const;
  const corr = [gaussianKernel(acq.noiseCorrelationMm / sx), gaussianKernel(acq.noiseCorrelationMm / sy)] as const;
  const noiseScale = acq.noiseSdHu / Math.sqrt(sumSquares(corr[0]) * sumSquares(corr[1]));
  // White noise on a plane padded by the kernel radius, so the correlated noise is stationary up to the edges.
  const [padX, padY] = [(corr[0].length - 1) / 2, (corr[1].length - 1) / 2];
  const white = new Float32Array((nx + 2 * padX) * (ny + 2 * padY));
  const noise = new Float32Array(nx * ny);
  const noiseRows = new Float32Array(nx * (ny + 2 * padY));
  const [ni, nj, nk] = acq.subsamples;
  const [ox, oy, oz] = o;
  const [exx, exy, exz] = ex as [number, number, number];
  const [eyx, eyy, eyz] = ey as [number, number, number];
  const [ezx, ezy, ezz] = ez as [number, number, number];
  // Sub-sample positions relative to the voxel centre (LPS mm): the centres of an ni × nj × nk split of the voxel.
  const subCount = ni * nj * nk;
  const offsets = new Float64Array(3 * subCount);
  for (let c3 = 0, q = 0; c3 < nk; c3++)
    for (let b = 0; b < nj; b++)
      for (let a = 0; a < ni; a++, q += 3) {
        const fi = (a + 0.5) / ni - 0.5;
        const fj = (b + 0.5) / nj - 0.5;
        const fk = (c3 + 0.5) / nk - 0.5;
        offsets[q] = exx * fi + eyx * fj + ezx * fk;
        offsets[q + 1] = exy * fi + eyy * fj + ezy * fk;
        offsets[q + 2] = exz * fi + eyz * fj + ezz * fk;
      }
  const stats: PlaneStats = { lesionVoxels: new Array<number>(MAX_LESIONS).fill(0), mixedVoxels: 0 };

  const fillCorners = (out: Uint8Array, f: number) => {
    for (let j = 0; j <= ny; j++) {
      const fj = j - 0.5;
      let x = ox - exx / 2 + eyx * fj + ezx * f;
      let y = oy - exy / 2 + eyy * fj + ezy * f;
      let z = oz - exz / 2 + eyz * fj + ezz * f;
      const row = j * cw;
      for (let i = 0; i <= nx; i++) {
        out[row + i] = scene.classify(x, y, z);
        x += exx;
        y += exy;
        z += exz;
      }
    }
  };

  fillCorners(lower, k0 - 0.5);
  for (let k = k0; k < k1; k++) {
    for (let q = 0; q < intervals; q++) fillCorners(levels[q]!, k - 0.5 + (q + 1) / intervals);
    // Centres.
    for (let j = 0; j < ny; j++) {
      let x = ox + eyx * j + ezx * k;
      let y = oy + eyy * j + ezy * k;
      let z = oz + eyz * j + ezz * k;
      for (let i = 0; i < nx; i++) {
        centre[i + j * nx] = scene.classify(x, y, z);
        x += exx;
        y += exy;
        z += exz;
      }
    }
    const planeOffset = (k - firstPlane) * nx * ny;
    for (let j = 0; j < ny; j++) {
      for (let i = 0; i < nx; i++) {
        const v = i + j * nx;
        const m = centre[v]!;
        labels[planeOffset + v] = labelOf[m]!;
        if (m >= LESION_BASE) stats.lesionVoxels[m - LESION_BASE]!++;
        const c = i + j * cw;
        let uniform = lower[c] === m && lower[c + 1] === m && lower[c + cw] === m && lower[c + cw + 1] === m;
        for (let q = 0; uniform && q < intervals; q++) {
          const l = levels[q]!;
          uniform = l[c] === m && l[c + 1] === m && l[c + cw] === m && l[c + cw + 1] === m;
        }
        if (uniform) {
          plane[v] = hu[m]!;
          continue;
        }
        stats.mixedVoxels++;
        const cx = ox + exx * i + eyx * j + ezx * k;
        const cy = oy + exy * i + eyy * j + ezy * k;
        const cz = oz + exz * i + eyz * j + ezz * k;
        let sum = 0;
        for (let q = 0; q < offsets.length; q += 3) sum += hu[scene.classify(cx + offsets[q]!, cy + offsets[q + 1]!, cz + offsets[q + 2]!)]!;
        plane[v] = sum / subCount;
      }
    }
    const top = levels[intervals - 1]!;
    levels[intervals - 1] = lower;
    lower = top;

    separableBlur(plane, scratch, nx, ny, psf[0], psf[1]);
    new Rng(ctx.seed, `noise/${k}`).fillNormal(white);
    correlate(white, noiseRows, noise, nx, ny, corr[0], corr[1]);
    for (let v = 0; v < nx * ny; v++) {
      const value = Math.round(plane[v]! + noise[v]! * noiseScale);
      ct[planeOffset + v] = value < HU_RANGE[0] ? HU_RANGE[0] : value > HU_RANGE[1] ? HU_RANGE[1] : value;
    }
  }
  return stats;
}

/** Normalised discrete Gaussian with σ in pixels (radius ⌈2.5σ⌉); [1] when σ is too small to matter. */
export function gaussianKernel(sigmaPx: number): Float32Array {
  if (!(sigmaPx > 0.2)) return Float32Array.of(1);
  const r = Math.ceil(2.5 * sigmaPx);
  const k = new Float32Array(2 * r + 1);
  let s = 0;
  for (let n = -r; n <= r; n++) s += k[n + r] = Math.exp(-(n * n) / (2 * sigmaPx * sigmaPx));
  for (let n = 0; n < k.length; n++) k[n]! /= s;
  return k;
}

function sumSquares(k: Float32Array): number {
  let s = 0;
  for (const v of k) s += v * v;
  return s;
}

/** In-place separable convolution of an nx × ny plane (edges replicated). */
function separableBlur(data: Float32Array, scratch: Float32Array, nx: number, ny: number, kx: Float32Array, ky: Float32Array): void {
  const rx = (kx.length - 1) / 2;
  const ry = (ky.length - 1) / 2;
  if (rx > 0) {
    for (let j = 0; j < ny; j++) {
      const row = j * nx;
      for (let i = 0; i < nx; i++) {
        let s = 0;
        for (let t = -rx; t <= rx; t++) {
          const ii = i + t < 0 ? 0 : i + t >= nx ? nx - 1 : i + t;
          s += kx[t + rx]! * data[row + ii]!;
        }
        scratch[row + i] = s;
      }
    }
  } else scratch.set(data);
  if (ry > 0) {
    for (let j = 0; j < ny; j++) {
      for (let i = 0; i < nx; i++) {
        let s = 0;
        for (let t = -ry; t <= ry; t++) {
          const jj = j + t < 0 ? 0 : j + t >= ny ? ny - 1 : j + t;
          s += ky[t + ry]! * scratch[jj * nx + i]!;
        }
        data[j * nx + i] = s;
      }
    }
  } else data.set(scratch);
}

/**
 * Convolves the padded white-noise plane (nx + 2·rx) × (ny + 2·ry) with kx ⊗ ky, keeping the nx × ny interior
 * ("valid" convolution: every output sees only real samples).
 */
function correlate(white: Float32Array, rows: Float32Array, out: Float32Array, nx: number, ny: number, kx: Float32Array, ky: Float32Array): void {
  const rx = (kx.length - 1) / 2;
  const ry = (ky.length - 1) / 2;
  const wx = nx + 2 * rx;
  for (let j = 0; j < ny + 2 * ry; j++) {
    for (let i = 0; i < nx; i++) {
      let s = 0;
      for (let t = 0; t < kx.length; t++) s += kx[t]! * white[j * wx + i + t]!;
      rows[j * nx + i] = s;
    }
  }
  for (let j = 0; j < ny; j++) {
    for (let i = 0; i < nx; i++) {
      let s = 0;
      for (let t = 0; t < ky.length; t++) s += ky[t]! * rows[(j + t) * nx + i]!;
      out[j * nx + i] = s;
    }
  }
}
