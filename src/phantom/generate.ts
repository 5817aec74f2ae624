/**
 * generatePhantom: a synthetic abdominal CT (int16 HU) with its label map and ground truth, deterministic per seed.
 * Geometry: DICOM patient LPS, millimetres, voxels i fastest (the Volume conventions).
 */
import { availableParallelism } from 'node:os';
import { orientationCode, voxelVolumeMm3 } from '../volume/geometry.js';
import type { Mat3, Vec3, Vec3i, Volume } from '../volume/types.js';
import { makeVolume } from '../volume/volume.js';
import type { PatientSummary } from './anatomy.js';
import { buildContext, LESION_TRUTH_SAMPLES, OPEN_STRUCTURES, type ContextOptions } from './context.js';
import { PHANTOM_LABEL_NAMES, PHANTOM_LABELS, type ContrastPhase, type LesionKind, type Material, type PhantomLabelName } from './materials.js';
import { runTasks, type PhantomTask } from './pool.js';
import { PHANTOM_MODEL_VERSION } from './random.js';
import { HU_RANGE } from './render.js';
import type { VolumeEstimate } from './truth.js';

export interface PhantomOptions {
  /** Whole number 0 … 2^53 − 1: the same seed gives the same phantom, byte for byte. */
  seed: number;
  /** [nx, ny, nz]; default 256 × 256 × (slices covering the scan range). */
  size?: Vec3i | undefined;
  /** Voxel spacing (mm) along i, j, k; default drawn per seed (see acquisition.ts). */
  spacing?: Vec3 | undefined;
  /** Rotate the grid 5–20° about a random axis (an oblique acquisition). */
  oblique?: boolean | undefined;
  /** Monte-Carlo cells per structure for the true volumes (default 2^19). */
  truthSamples?: number | undefined;
  /** Worker threads (default: one per core, at most 8, for volumes of 4 M voxels or more; else 1 = this thread). */
  threads?: number | undefined;
  /** Planes rendered so far. */
  onProgress?: ((p: { done: number; total: number }) => void) | undefined;
}

export const MAX_PHANTOM_VOXELS = 512 * 512 * 1024;

export interface LabelTruth {
  value: number;
  name: PhantomLabelName;
  /** Volume (mL) of the structure's part inside the field of view, from the analytic shapes, and its standard error. */
  trueVolumeMl: number;
  trueVolumeStdErrMl: number;
  /** Volume (mL) of the whole structure; null for those that extend beyond any scan (lung, aorta, vertebrae). */
  wholeVolumeMl: number | null;
  /** True when part of the structure lies outside the field of view. */
  truncated: boolean;
  voxelCount: number;
  /** voxelCount × voxel volume (mL). */
  voxelVolumeMl: number;
  /** Materials that carry this label and their CT numbers (HU). */
  materials: { name: string; hu: number }[];
}

export interface LesionTruth {
  index: number;
  kind: LesionKind;
  centerLps: Vec3;
  diameterMm: number;
  trueVolumeMl: number;
  trueVolumeStdErrMl: number;
  /** Diameter (mm) of the sphere with the true volume. */
  equivalentDiameterMm: number;
  hu: number;
  /** Voxels whose centre lies in this lesion. */
  voxelCount: number;
}

export interface PhantomTruth {
  generator: string;
  modelVersion: number;
  seed: number;
  dims: Vec3i;
  spacing: Vec3;
  origin: Vec3;
  direction: Mat3;
  orientation: string;
  obliqueDeg: number;
  obliqueAxis: Vec3;
  sliceThicknessMm: number;
  dfovMm: number;
  phase: ContrastPhase;
  patient: PatientSummary;
  reconstruction: { noiseSdHu: number; noiseCorrelationMm: number; psfSigmaMm: number; subsamples: Vec3i; huRange: readonly [number, number] };
  materials: Material[];
  labels: LabelTruth[];
  lesions: LesionTruth[];
  methods: { label: string; ct: string; trueVolume: string };
}

export interface Phantom {
  ct: Volume<Int16Array>;
  labels: Volume<Uint8Array>;
  truth: PhantomTruth;
  /** Wall-clock milliseconds of the setup (anatomy, lesions, grid) and the rest, and the threads used (not part of the
   * truth: it is not deterministic). */
  timingsMs: { setup: number; generate: number; threads: number };
}

/**
 * Checks phantom options.
 * @throws RangeError naming the bad option, its value and what is allowed.
 */
export function validatePhantomOptions(o: PhantomOptions): void {
  if (!(Number.isSafeInteger(o.seed) && o.seed >= 0)) throw new RangeError(`seed must be a whole number from 0 to ${Number.MAX_SAFE_INTEGER}, got ${o.seed}`);
  if (o.size !== undefined) {
    const [w, h, d] = o.size;
    const ok = o.size.length === 3 && [w, h].every((v) => Number.isInteger(v) && v >= 16 && v <= 2048) && Number.isInteger(d) && d >= 2 && d <= 4096;
    if (!ok) throw new RangeError(`size must be W×H×D with W and H whole numbers from 16 to 2048 and D from 2 to 4096, got ${o.size.join('×')}`);
    const n = w * h * d;
    if (n > MAX_PHANTOM_VOXELS) throw new RangeError(`size ${o.size.join('×')} has ${n} voxels; at most ${MAX_PHANTOM_VOXELS} (e.g. 512×512×1024) are supported`);
  }
  if (o.spacing !== undefined && !(o.spacing.length === 3 && o.spacing.every((v) => Number.isFinite(v) && v >= 0.1 && v <= 20))) {
    throw new RangeError(`spacing must be three numbers from 0.1 to 20 mm (i, j, k), got ${o.spacing.join(',')}`);
  }
  if (o.threads !== undefined && !(Number.isInteger(o.threads) && o.threads >= 1 && o.threads <= 64)) throw new RangeError(`threads must be a whole number from 1 to 64, got ${o.threads}`);
  if (o.truthSamples !== undefined && !(Number.isInteger(o.truthSamples) && o.truthSamples >= 1024 && o.truthSamples <= 2 ** 26)) {
    throw new RangeError(`truthSamples must be a whole number from 1024 to ${2 ** 26}, got ${o.truthSamples}`);
  }
}

/**
 * Generates the phantom for a seed: CT (int16 HU, clipped to [−1024, 3071]), label map (PHANTOM_LABELS) and truth.
 * Large volumes are rendered on worker threads (see `threads`); the result is the same byte for byte.
 * @throws RangeError for bad options (see validatePhantomOptions).
 * @example const { ct, labels, truth } = await generatePhantom({ seed: 7 });
 */
export async function generatePhantom(options: PhantomOptions): Promise<Phantom> {
  validatePhantomOptions(options);
  const t0 = performance.now();
  const contextOptions: ContextOptions = { seed: options.seed, size: options.size, spacing: options.spacing, oblique: options.oblique, truthSamples: options.truthSamples };
  const ctx = buildContext(contextOptions);
  const { seed, acquisition: acq, lesions, materials } = ctx;
  const t1 = performance.now();

  const [nx, ny, nz] = acq.dims;
  const planeVoxels = nx * ny;
  const ct = new Int16Array(planeVoxels * nz);
  const labels = new Uint8Array(planeVoxels * nz);
  const lesionVoxels = new Array<number>(lesions.length).fill(0);
  const estimates = new Map<string, VolumeEstimate>();
  // Slabs of about 2 M voxels: few enough messages, small enough to balance the threads.
  const slab = Math.max(1, Math.min(16, Math.floor(2 ** 21 / planeVoxels)));
  const tasks: PhantomTask[] = [
    ...PHANTOM_LABEL_NAMES.filter((name) => name !== 'liver_lesion').map((name) => ({ kind: 'label', name }) as const),
    ...lesions.map((l) => ({ kind: 'lesion', index: l.index }) as const),
  ];
  for (let k0 = 0; k0 < nz; k0 += slab) tasks.push({ kind: 'render', k0, k1: Math.min(nz, k0 + slab) });
  const threads = options.threads ?? (ct.length >= 2 ** 22 ? Math.min(8, availableParallelism()) : 1);
  let planesDone = 0;
  await runTasks(ctx, contextOptions, tasks, threads, (r) => {
    if (r.kind === 'render') {
      ct.set(r.ct, r.k0 * planeVoxels);
      labels.set(r.labels, r.k0 * planeVoxels);
      r.stats.lesionVoxels.forEach((v, n) => n < lesionVoxels.length && (lesionVoxels[n]! += v));
      planesDone += r.k1 - r.k0;
      options.onProgress?.({ done: planesDone, total: nz });
    } else if (r.kind === 'label') estimates.set(r.name, r.estimate);
    else if (r.kind === 'lesion') estimates.set(`lesion-${r.index}`, r.estimate);
  });
  const t2 = performance.now();

  const geometry = { spacing: acq.spacing, origin: acq.origin, direction: acq.direction };
  const voxelMm3 = voxelVolumeMm3(geometry);
  const counts = new Float64Array(256);
  for (let v = 0; v < labels.length; v++) counts[labels[v]!]!++;
  // The lesion label's volume is the sum of its lesions' (disjoint; each sampled over its own box).
  const lesionEstimates = lesions.map((l) => estimates.get(`lesion-${l.index}`)!);
  estimates.set('liver_lesion', {
    inFovMm3: lesionEstimates.reduce((s, e) => s + e.inFovMm3, 0),
    inFovStdErrMm3: Math.hypot(0, ...lesionEstimates.map((e) => e.inFovStdErrMm3)),
    wholeMm3: lesionEstimates.reduce((s, e) => s + e.wholeMm3, 0),
    wholeStdErrMm3: Math.hypot(0, ...lesionEstimates.map((e) => e.wholeStdErrMm3)),
    samples: lesionEstimates.reduce((s, e) => s + e.samples, 0),
  });
  const labelTruths: LabelTruth[] = PHANTOM_LABEL_NAMES.map((name) => {
    const value = PHANTOM_LABELS[name];
    const est = estimates.get(name)!;
    const open = OPEN_STRUCTURES.includes(name);
    return {
      value,
      name,
      trueVolumeMl: ml(est.inFovMm3),
      trueVolumeStdErrMl: ml(est.inFovStdErrMm3),
      wholeVolumeMl: open ? null : ml(est.wholeMm3),
      truncated: open ? true : est.wholeMm3 > est.inFovMm3,
      voxelCount: counts[value]!,
      voxelVolumeMl: ml(counts[value]! * voxelMm3),
      materials: materials.filter((m) => m.label === value).map((m) => ({ name: m.name, hu: m.hu })),
    };
  });
  const lesionTruths: LesionTruth[] = lesions.map((l, n) => {
    const est = estimates.get(`lesion-${l.index}`)!;
    return {
      index: l.index,
      kind: l.kind,
      centerLps: l.centerLps.map(round4) as unknown as Vec3,
      diameterMm: round4(l.diameterMm),
      trueVolumeMl: ml(est.wholeMm3),
      trueVolumeStdErrMl: ml(est.wholeStdErrMm3),
      equivalentDiameterMm: round4(2 * Math.cbrt((3 * est.wholeMm3) / (4 * Math.PI))),
      hu: l.hu,
      voxelCount: lesionVoxels[n]!,
    };
  });

  const truth: PhantomTruth = {
    generator: 'medseg phantom',
    modelVersion: PHANTOM_MODEL_VERSION,
    seed,
    dims: acq.dims,
    spacing: acq.spacing,
    origin: acq.origin,
    direction: acq.direction,
    orientation: orientationCode(acq.direction),
    obliqueDeg: acq.obliqueDeg,
    obliqueAxis: acq.obliqueAxis,
    sliceThicknessMm: acq.sliceThicknessMm,
    dfovMm: acq.dfovMm,
    phase: ctx.phase,
    patient: ctx.anatomy.summary,
    reconstruction: { noiseSdHu: acq.noiseSdHu, noiseCorrelationMm: acq.noiseCorrelationMm, psfSigmaMm: acq.psfSigmaMm, subsamples: acq.subsamples, huRange: HU_RANGE },
    materials,
    labels: labelTruths,
    lesions: lesionTruths,
    methods: {
      label: 'the structure at the voxel centre (lesions override the liver)',
      ct: `mean CT number of ${acq.subsamples.join('×')} sub-samples per voxel where its corners and centre differ (partial volume), then an in-plane Gaussian PSF, correlated Gaussian noise, rounding and clipping to [${HU_RANGE.join(', ')}]`,
      trueVolume: `stratified Monte-Carlo over each structure's box (${ctx.truthSamples} jittered cells; each lesion ${Math.min(ctx.truthSamples, LESION_TRUTH_SAMPLES)}, the lesion label is their sum), independent of the voxel grid; a conservative standard error is reported per structure`,
    },
  };
  const ctVolume = makeVolume({ data: ct, dims: acq.dims, ...geometry });
  const labelVolume = makeVolume({ data: labels, dims: acq.dims, ...geometry });
  return { ct: ctVolume, labels: labelVolume, truth, timingsMs: { setup: t1 - t0, generate: t2 - t1, threads } };
}

function ml(mm3: number): number {
  return Math.round(mm3 * 10) / 10000;
}

function round4(v: number): number {
  return Math.round(v * 10000) / 10000;
}
