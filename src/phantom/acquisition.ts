/**
 * The simulated acquisition: the voxel grid (LPS geometry, mm) and the reconstruction's blur and noise.
 * Like a scanner, the in-plane pixel size is the display field of view over the matrix: the DFOV (307–512 mm,
 * never smaller than the body plus a margin, centred on the isocentre) over 512 gives 0.6–1.0 mm; the default
 * 256 matrix gives twice that. The slice spacing (= thickness, contiguous slices) is one of the usual 1–5 mm values,
 * and the default slice count covers the anatomical scan range (lung bases to below the kidneys).
 */
import type { Mat3, Vec3, Vec3i } from '../volume/types.js';
import type { Anatomy } from './anatomy.js';
import { Rng } from './random.js';

export const DEFAULT_MATRIX = 256;
export const SLICE_SPACINGS_MM = [1, 1.25, 1.5, 2, 2.5, 3, 4, 5] as const;
/** DFOV range (mm) of the drawn in-plane spacing: 0.6–1.0 mm at a 512 matrix. */
export const DFOV_RANGE_MM = [307, 512] as const;
export const OBLIQUE_RANGE_DEG = [5, 20] as const;

export interface AcquisitionRequest {
  size?: Vec3i | undefined;
  spacing?: Vec3 | undefined;
  oblique?: boolean | undefined;
}

export interface Acquisition {
  dims: Vec3i;
  spacing: Vec3;
  origin: Vec3;
  direction: Mat3;
  /** Display field of view across i (mm): dims[0] × spacing[0]. */
  dfovMm: number;
  sliceThicknessMm: number;
  /** Rotation of the grid away from the patient axes (degrees, 0 when not oblique) and its axis (LPS unit vector). */
  obliqueDeg: number;
  obliqueAxis: Vec3;
  /** Standard deviation of the image noise (HU) and its in-plane correlation (Gaussian σ, mm). */
  noiseSdHu: number;
  noiseCorrelationMm: number;
  /** In-plane reconstruction blur (Gaussian σ, mm). */
  psfSigmaMm: number;
  /** Sub-samples per voxel along i, j (each) and k for the partial-volume effect at tissue boundaries. */
  subsamples: Vec3i;
}

/** Plans the grid and reconstruction for an anatomy; explicit size/spacing replace the drawn ones. */
export function planAcquisition(seed: number, anatomy: Anatomy, request: AcquisitionRequest): Acquisition {
  const [zBottom, zTop] = anatomy.summary.scanRangeZMm;
  const sliceRng = new Rng(seed, 'acquisition/slice');
  const dz = request.spacing?.[2] ?? sliceRng.pick(SLICE_SPACINGS_MM);
  const obliqueRng = new Rng(seed, 'acquisition/oblique');
  const obliqueDeg = request.oblique ? Math.round(obliqueRng.uniform(OBLIQUE_RANGE_DEG[0], OBLIQUE_RANGE_DEG[1]) * 100) / 100 : 0;
  const obliqueAxis: Vec3 = request.oblique ? obliqueRng.unitVector() : [0, 0, 1];
  const nx = request.size?.[0] ?? DEFAULT_MATRIX;
  const ny = request.size?.[1] ?? DEFAULT_MATRIX;
  const fovRng = new Rng(seed, 'acquisition/fov');
  let spacingXY: [number, number];
  if (request.spacing) {
    spacingXY = [request.spacing[0], request.spacing[1]];
  } else {
    // The whole body fits, wherever the patient lies relative to the isocentre, also in a tilted plane.
    const e = anatomy.bodyExtent;
    const [ax, ay] = anatomy.axis;
    const halfNeeded = Math.max(e.left + Math.abs(ax), e.right + Math.abs(ax), e.anterior + Math.abs(ay), e.posterior + Math.abs(ay) + 45);
    const needed = Math.ceil((2 * halfNeeded + 20) / Math.cos((obliqueDeg * Math.PI) / 180));
    const lo = Math.max(DFOV_RANGE_MM[0], needed);
    const dfov = lo >= DFOV_RANGE_MM[1] ? lo : Math.round(fovRng.uniform(lo, DFOV_RANGE_MM[1]));
    spacingXY = [dfov / Math.max(nx, ny), dfov / Math.max(nx, ny)];
  }
  const nz = request.size?.[2] ?? Math.max(2, Math.round((zTop - zBottom) / dz));
  const spacing: Vec3 = [spacingXY[0], spacingXY[1], dz];
  const direction = rotationMatrix(obliqueAxis, obliqueDeg);
  // The centre z on a 1/16 mm grid: with power-of-two matrices and the usual spacings the whole geometry is then
  // exact in float32 (NIfTI) and in short decimals (DICOM), so both files hold the very same grid.
  const center: Vec3 = [0, 0, Math.round(((zTop + zBottom) / 2) * 16) / 16];
  const dims: Vec3i = [nx, ny, nz];
  const origin = [0, 1, 2].map((r) => center[r]! - [0, 1, 2].reduce((sum, c) => sum + direction[3 * c + r]! * spacing[c]! * ((dims[c]! - 1) / 2), 0)) as unknown as Vec3;

  const recon = new Rng(seed, 'acquisition/reconstruction');
  const bodyScale = (anatomy.bodyExtent.left + anatomy.bodyExtent.right) / 320;
  const noiseAt5mm = recon.uniform(8, 13) * Math.pow(bodyScale, 1.5);
  const noiseSdHu = Math.round(Math.min(45, Math.max(4, noiseAt5mm * Math.sqrt(5 / dz) * (0.78 / Math.min(spacing[0], spacing[1])))) * 10) / 10;
  const psfSigmaMm = Math.round(recon.uniform(0.4, 0.6) * 100) / 100;
  const noiseCorrelationMm = Math.round(recon.uniform(0.5, 0.8) * 100) / 100;
  const inPlane = 3;
  const through = Math.max(3, Math.min(9, Math.ceil(dz / Math.max(0.5, Math.min(spacing[0], spacing[1])))));
  return {
    dims,
    spacing,
    origin,
    direction,
    dfovMm: nx * spacing[0],
    sliceThicknessMm: dz,
    obliqueDeg,
    obliqueAxis,
    noiseSdHu,
    noiseCorrelationMm,
    psfSigmaMm,
    subsamples: [inPlane, inPlane, through],
  };
}

/** Rotation by `deg` about the unit `axis` (Rodrigues), as a direction matrix (columns = rotated LPS axes). */
export function rotationMatrix(axis: Vec3, deg: number): Mat3 {
  const a = (deg * Math.PI) / 180;
  const c = Math.cos(a);
  const s = Math.sin(a);
  const [x, y, z] = axis;
  const t = 1 - c;
  // Row-major rotation R; the direction matrix stores its columns consecutively.
  const r = [
    c + x * x * t, x * y * t - z * s, x * z * t + y * s,
    y * x * t + z * s, c + y * y * t, y * z * t - x * s,
    z * x * t - y * s, z * y * t + x * s, c + z * z * t,
  ];
  return [r[0]!, r[3]!, r[6]!, r[1]!, r[4]!, r[7]!, r[2]!, r[5]!, r[8]!];
}
