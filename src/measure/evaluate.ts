/**
 * Segmentation metrics of a predicted label map against a reference, per label, with MONAI's definitions:
 * Dice, IoU (Jaccard), percentile Hausdorff distance (HD95 by default) and average symmetric surface distance, in
 * millimetres of patient space (LPS) from the reference grid's spacing and direction, plus volumes in mL.
 *
 * Definitions (anchors: MONAI metrics/meandice.py, hausdorff_distance.py, surface_distance.py, utils.py):
 * - Surface of a mask: its voxels with at least one 6-neighbour outside it; outside the volume counts as outside
 *   (MONAI get_mask_edges: scipy binary_erosion XOR mask, border_value 0).
 * - Directed distances A→B: for every surface voxel of A, the Euclidean distance (mm) to the nearest surface voxel of
 *   B (MONAI get_surface_distance: distance_transform_edt of B's edge complement, sampled at A's edges).
 * - HD_p = max(p-th percentile of A→B, p-th percentile of B→A), percentiles with linear interpolation between order
 *   statistics (numpy.percentile / torch.quantile). `hdMaxMm` is the same with p = 100 (the Hausdorff distance).
 * - ASSD = mean of all A→B and B→A distances pooled (MONAI `symmetric=True` concatenates both directions before the
 *   mean; early releases averaged the two directed means instead, which weighs the two surfaces differently).
 * - Volume (mL) = voxel count × |det(direction)| × spacing product / 1000.
 *
 * Empty masks (JSON has neither NaN nor Infinity: the CLI report writes null and names the empty side):
 * - both empty: Dice, IoU, HD and ASSD are NaN: there is nothing to compare (MONAI returns NaN, and its mean
 *   reductions skip NaN).
 * - exactly one empty: Dice and IoU are 0, HD and ASSD are +Infinity: the distance to an empty surface is the infimum
 *   over an empty set. MONAI fills the missing surface's distance map with inf and returns inf for HD(max) and ASSD,
 *   but can return NaN for HD95 (percentile interpolation computes inf − inf); we return Infinity for all of them, so that a missed
 *   structure is never mistaken for "nothing to compare" and dropped by a NaN-skipping mean.
 *   MONAI's DiceMetric default (ignore_empty=True) also gives NaN when only the reference is empty; we give 0 there,
 *   because a prediction of an absent structure is a false positive, not a missing case.
 */
import { SegError } from '../errors.js';
import { indexMap } from '../volume/index-map.js';
import { permuteInto, resampleScalar } from '../volume/resample.js';
import { axis, cross, determinant, dot, indexToLps, lpsToIndex, orientationCode, sameGrid, voxelVolumeMm3 } from '../volume/geometry.js';
import type { LabelVolume, Mat3, Vec3, Vec3i, Volume } from '../volume/types.js';
import { DistanceWorkspace, isOrthogonal, markSurface, MASK_A, MASK_B, nearestDistancesMm, SURFACE_A, SURFACE_B } from './distance.js';

export interface EvaluateOptions {
  /** Labels to report (default: every non-zero label present in either map), each an integer 1…65535. */
  labels?: readonly number[] | undefined;
  /** Hausdorff percentile, 0…100 (default 95). 0 is the minimum here; MONAI reads a falsy 0 as "the maximum". */
  percentile?: number | undefined;
  /** Grids closer than this (mm, at the corners) count as the same grid (default 1 % of the smallest spacing). */
  gridToleranceMm?: number | undefined;
  /** Names for messages and notes (default "prediction", "reference"). */
  names?: { prediction?: string | undefined; reference?: string | undefined } | undefined;
}

/** Which of the two masks of a label has no voxel. */
export type EmptyMask = 'none' | 'prediction' | 'reference' | 'both';

export interface LabelEvaluation {
  label: number;
  empty: EmptyMask;
  predVoxels: number;
  refVoxels: number;
  intersectionVoxels: number;
  predSurfaceVoxels: number;
  refSurfaceVoxels: number;
  /** 2|A∩B| / (|A| + |B|); NaN when both are empty. */
  dice: number;
  /** |A∩B| / |A∪B|; NaN when both are empty. */
  iou: number;
  /** Percentile Hausdorff distance (mm) at `EvaluationResult.percentile`; NaN both empty, Infinity one empty. */
  hdPercentileMm: number;
  /** Hausdorff distance (mm, the maximum). */
  hdMaxMm: number;
  /** Average symmetric surface distance (mm). */
  assdMm: number;
  predVolumeMl: number;
  refVolumeMl: number;
  /** Prediction minus reference (mL). */
  volumeDifferenceMl: number;
  /** 100 × (prediction − reference) / reference; NaN when the reference is empty. */
  volumeDifferencePercent: number;
}

export interface EvaluationResult {
  labels: LabelEvaluation[];
  percentile: number;
  /** The grid the metrics were computed on: the reference's. */
  grid: { dims: Vec3i; spacing: Vec3; origin: Vec3; direction: Mat3 };
  voxelVolumeMm3: number;
  /** Whether the prediction was resampled onto the reference grid. */
  resampled: boolean;
  /** 'edt' on grids with orthogonal axes; 'kd-tree' (exact nearest neighbour in LPS) on sheared grids. */
  distanceMethod: 'edt' | 'kd-tree';
  notes: string[];
}

/**
 * Compares a predicted label map with a reference label map, label by label.
 * When the grids differ, the prediction is resampled onto the reference grid (nearest neighbour; an exact copy for a
 * pure axis permutation/flip) and a note says so.
 * @throws SegError INVALID_GEOMETRY when a geometry is degenerate or the two volumes do not overlap in patient space.
 * @throws RangeError for bad options (labels, percentile).
 */
export function evaluateLabels(pred: LabelVolume, ref: LabelVolume, options: EvaluateOptions = {}): EvaluationResult {
  const percentile = options.percentile ?? 95;
  if (!(percentile >= 0 && percentile <= 100)) throw new RangeError(`percentile must be between 0 and 100, got ${percentile}`);
  for (const l of options.labels ?? []) {
    if (!Number.isInteger(l) || l < 1 || l > 65535) throw new RangeError(`labels must be integers 1…65535 (0 is the background), got ${l}`);
  }
  const predName = options.names?.prediction ?? 'prediction';
  const refName = options.names?.reference ?? 'reference';
  checkGeometry(pred, predName);
  checkGeometry(ref, refName);

  const notes: string[] = [];
  const aligned = alignPrediction(pred, ref, { predName, refName, toleranceMm: options.gridToleranceMm, notes });
  const counts = countLabels(aligned, ref.data, ref.dims);
  const labels = options.labels ? [...new Set(options.labels)].sort((a, b) => a - b) : counts.present;
  const voxelMm3 = voxelVolumeMm3(ref);
  const orthogonal = isOrthogonal(ref.direction);
  if (!orthogonal) notes.push(`the ${refName} grid is sheared (non-orthogonal axes): surface distances come from an exact nearest-neighbour search in LPS instead of the distance transform`);
  const work = new LabelWork(ref, aligned);
  const rows = labels.map((label) => evaluateLabel(label, counts, work, voxelMm3, percentile));
  return {
    labels: rows,
    percentile,
    grid: { dims: ref.dims, spacing: ref.spacing, origin: ref.origin, direction: ref.direction },
    voxelVolumeMm3: voxelMm3,
    resampled: aligned !== pred.data,
    distanceMethod: orthogonal ? 'edt' : 'kd-tree',
    notes,
  };
}

interface LabelCounts {
  pred: Uint32Array;
  ref: Uint32Array;
  intersection: Uint32Array;
  /** Per label: i0, i1, j0, j1, k0, k1 of the union's bounding box (i0 > i1 when absent). */
  boxes: Int32Array;
  present: number[];
}

/** One pass over both maps: voxel counts, intersections and bounding boxes of every label. */
function countLabels(pred: ArrayLike<number>, ref: ArrayLike<number>, dims: Vec3i): LabelCounts {
  const size = 65536;
  const c: LabelCounts = { pred: new Uint32Array(size), ref: new Uint32Array(size), intersection: new Uint32Array(size), boxes: new Int32Array(6 * size), present: [] };
  const { boxes } = c;
  for (let l = 0; l < size; l++) {
    boxes[6 * l] = boxes[6 * l + 2] = boxes[6 * l + 4] = 0x7fffffff;
    boxes[6 * l + 1] = boxes[6 * l + 3] = boxes[6 * l + 5] = -1;
  }
  const grow = (l: number, i: number, j: number, k: number) => {
    const o = 6 * l;
    if (i < boxes[o]!) boxes[o] = i;
    if (i > boxes[o + 1]!) boxes[o + 1] = i;
    if (j < boxes[o + 2]!) boxes[o + 2] = j;
    if (j > boxes[o + 3]!) boxes[o + 3] = j;
    if (k < boxes[o + 4]!) boxes[o + 4] = k;
    if (k > boxes[o + 5]!) boxes[o + 5] = k;
  };
  let n = 0;
  for (let k = 0; k < dims[2]; k++) {
    for (let j = 0; j < dims[1]; j++) {
      for (let i = 0; i < dims[0]; i++, n++) {
        const a = pred[n]!;
        const b = ref[n]!;
        if ((a | b) === 0) continue;
        if (a) {
          c.pred[a]!++;
          grow(a, i, j, k);
        }
        if (b) {
          c.ref[b]!++;
          if (b === a) c.intersection[a]!++;
          else grow(b, i, j, k);
        }
      }
    }
  }
  for (let l = 1; l < size; l++) if (c.pred[l] || c.ref[l]) c.present.push(l);
  return c;
}

/** Buffers shared by the labels of one evaluation. */
class LabelWork {
  flags = new Uint8Array(0);
  distances = new Float32Array(0);
  readonly distance = new DistanceWorkspace();
  constructor(
    readonly ref: LabelVolume,
    readonly pred: ArrayLike<number>,
  ) {}
}

function evaluateLabel(label: number, counts: LabelCounts, work: LabelWork, voxelMm3: number, percentile: number): LabelEvaluation {
  const a = counts.pred[label]!;
  const b = counts.ref[label]!;
  const inter = counts.intersection[label]!;
  const base = { label, predVoxels: a, refVoxels: b, intersectionVoxels: inter };
  const predVolumeMl = (a * voxelMm3) / 1000;
  const refVolumeMl = (b * voxelMm3) / 1000;
  const volumes = {
    predVolumeMl,
    refVolumeMl,
    volumeDifferenceMl: predVolumeMl - refVolumeMl,
    volumeDifferencePercent: b > 0 ? (100 * (predVolumeMl - refVolumeMl)) / refVolumeMl : NaN,
  };
  if (a + b === 0) {
    return { ...base, empty: 'both', predSurfaceVoxels: 0, refSurfaceVoxels: 0, dice: NaN, iou: NaN, hdPercentileMm: NaN, hdMaxMm: NaN, assdMm: NaN, ...volumes };
  }
  const overlap = { dice: (2 * inter) / (a + b), iou: inter / (a + b - inter) };
  const d = surfaceDistances(label, counts, work, a > 0 && b > 0);
  if (a === 0 || b === 0) {
    const empty: EmptyMask = a === 0 ? 'prediction' : 'reference';
    const surfaces = { predSurfaceVoxels: d.predToRef.length, refSurfaceVoxels: d.refToPred.length };
    return { ...base, empty, ...surfaces, ...overlap, hdPercentileMm: Infinity, hdMaxMm: Infinity, assdMm: Infinity, ...volumes };
  }
  let sum = 0;
  let max = 0;
  for (const arr of [d.predToRef, d.refToPred]) {
    for (let n = 0; n < arr.length; n++) {
      const v = arr[n]!;
      sum += v;
      if (v > max) max = v;
    }
  }
  const hd = Math.max(percentileOf(d.predToRef, percentile), percentileOf(d.refToPred, percentile));
  return {
    ...base,
    empty: 'none',
    predSurfaceVoxels: d.predToRef.length,
    refSurfaceVoxels: d.refToPred.length,
    ...overlap,
    hdPercentileMm: hd,
    hdMaxMm: max,
    assdMm: sum / (d.predToRef.length + d.refToPred.length),
    ...volumes,
  };
}

/**
 * Surface voxels of one label's two masks and (when `distances`) their distances both ways, computed inside the
 * bounding box of the union of the masks. Without distances the arrays only carry the surface counts.
 */
function surfaceDistances(label: number, counts: LabelCounts, work: LabelWork, distances: boolean): { predToRef: Float32Array; refToPred: Float32Array } {
  const o = 6 * label;
  const bx = counts.boxes;
  const [i0, i1, j0, j1, k0, k1] = [bx[o]!, bx[o + 1]!, bx[o + 2]!, bx[o + 3]!, bx[o + 4]!, bx[o + 5]!];
  const dims: Vec3i = [i1 - i0 + 1, j1 - j0 + 1, k1 - k0 + 1];
  const voxels = dims[0] * dims[1] * dims[2];
  if (work.flags.length < voxels) work.flags = new Uint8Array(voxels);
  const flags = work.flags;
  const { pred } = work;
  const refData = work.ref.data;
  const [nx, ny] = work.ref.dims;
  const inA = MASK_A;
  const inB = MASK_B;
  let m = 0;
  for (let k = k0; k <= k1; k++) {
    for (let j = j0; j <= j1; j++) {
      let n = i0 + j * nx + k * nx * ny;
      for (let i = i0; i <= i1; i++, n++, m++) flags[m] = (pred[n] === label ? inA : 0) | (refData[n] === label ? inB : 0);
    }
  }
  const sa = markSurface(flags, dims, MASK_A, SURFACE_A);
  const sb = markSurface(flags, dims, MASK_B, SURFACE_B);
  if (work.distances.length < sa + sb) work.distances = new Float32Array(sa + sb);
  const predToRef = work.distances.subarray(0, sa);
  const refToPred = work.distances.subarray(sa, sa + sb);
  if (!distances) return { predToRef, refToPred };
  nearestDistancesMm(flags, dims, work.ref, { from: SURFACE_A, to: SURFACE_B }, predToRef, work.distance);
  nearestDistancesMm(flags, dims, work.ref, { from: SURFACE_B, to: SURFACE_A }, refToPred, work.distance);
  return { predToRef, refToPred };
}

/** p-th percentile with linear interpolation between order statistics (numpy default, torch.quantile). Sorts `values`. */
export function percentileOf(values: Float32Array, p: number): number {
  if (values.length === 0) return NaN;
  values.sort();
  const pos = (p / 100) * (values.length - 1);
  const lo = Math.floor(pos);
  const hi = Math.min(values.length - 1, lo + 1);
  const a = values[lo]!;
  return a + (values[hi]! - a) * (pos - lo);
}

/** Degenerate geometry is refused: it would make every mm figure meaningless. */
export function checkGeometry(v: Volume, name: string): void {
  const bad = (problem: string) => new SegError('INVALID_GEOMETRY', `${name}: ${problem}; cannot measure in millimetres on this grid`);
  if (v.dims.length !== 3 || v.dims.some((d) => !Number.isInteger(d) || d < 1)) throw bad(`dims must be three positive integers, got [${v.dims.join(', ')}]`);
  const count = v.dims[0] * v.dims[1] * v.dims[2];
  if (v.data.length !== count) throw bad(`has ${v.data.length} voxels but dims [${v.dims.join(', ')}] need ${count}`);
  if (v.spacing.some((s) => !(s > 0 && Number.isFinite(s)))) throw bad(`spacing must be positive finite mm, got [${v.spacing.join(', ')}]`);
  if (v.origin.some((x) => !Number.isFinite(x))) throw bad(`origin must be finite, got [${v.origin.join(', ')}]`);
  if (v.direction.length !== 9 || v.direction.some((x) => !Number.isFinite(x))) throw bad(`direction must be 9 finite numbers, got [${v.direction.join(', ')}]`);
  for (const c of [0, 1, 2] as const) {
    const len = Math.hypot(...axis(v.direction, c));
    if (!(Math.abs(len - 1) < 1e-3)) throw bad(`direction axis ${'ijk'[c]} must be a unit vector, has length ${len}`);
  }
  const det = determinant(v.direction);
  if (!(Math.abs(det) > 1e-3)) throw bad(`direction axes are (nearly) coplanar (determinant ${det.toExponential(2)})`);
}

/**
 * The prediction's labels on the reference grid: the prediction's own data when the grids agree, else a nearest-
 * neighbour resampling (an exact copy for a pure axis permutation). Refuses volumes that do not overlap at all.
 */
function alignPrediction(
  pred: LabelVolume,
  ref: LabelVolume,
  o: { predName: string; refName: string; toleranceMm: number | undefined; notes: string[] },
): Uint8Array | Uint16Array {
  const tol = o.toleranceMm ?? 0.01 * Math.min(...ref.spacing);
  if (sameGrid(ref, pred, tol)) return pred.data;
  const differences = describeDifferences(pred, ref);
  if (!extentsOverlap(pred, ref)) {
    throw new SegError(
      'INVALID_GEOMETRY',
      `${o.predName} and ${o.refName} do not overlap in patient space (${differences}): ${o.predName} spans ${describeExtent(pred)}, ` +
        `${o.refName} spans ${describeExtent(ref)} (LPS mm). They are not in the same frame of reference; ` +
        `compare a prediction made on the same scan as the reference, saved with that scan's geometry.`,
    );
  }
  const map = indexMap(ref, pred);
  const out = pred.data instanceof Uint8Array ? new Uint8Array(ref.data.length) : new Uint16Array(ref.data.length);
  if (map.permutation) {
    permuteInto(pred.data, pred.dims, ref.dims, map.permutation, out);
    o.notes.push(`${o.predName} grid differs from the ${o.refName} grid (${differences}) by an axis permutation/flip only: copied onto the ${o.refName} grid exactly`);
    return out;
  }
  const resampled = resampleScalar(pred.data, pred.dims, ref.dims, map, { interpolation: 'nearest', fill: 0 });
  for (let n = 0; n < out.length; n++) out[n] = resampled[n]!;
  o.notes.push(`${o.predName} grid differs from the ${o.refName} grid (${differences}): resampled ${o.predName} onto the ${o.refName} grid with nearest neighbour; its voxel counts and volumes are measured there`);
  if (!coversGrid(pred, ref)) o.notes.push(`${o.predName} covers only part of the ${o.refName} grid: ${o.refName} voxels outside it count as background`);
  return out;
}

function describeDifferences(a: LabelVolume, b: LabelVolume): string {
  const fmt = (v: readonly number[], sep = '×') => v.map((x) => +x.toFixed(4)).join(sep);
  const parts: string[] = [];
  if (a.dims.some((d, c) => d !== b.dims[c])) parts.push(`dims ${fmt(a.dims)} vs ${fmt(b.dims)}`);
  if (a.spacing.some((s, c) => Math.abs(s - b.spacing[c]!) > 1e-6 * s)) parts.push(`spacing ${fmt(a.spacing)} vs ${fmt(b.spacing)} mm`);
  if (a.origin.some((x, c) => Math.abs(x - b.origin[c]!) > 1e-4)) parts.push(`origin (${fmt(a.origin, ', ')}) vs (${fmt(b.origin, ', ')}) mm`);
  const angle = Math.max(...([0, 1, 2] as const).map((c) => (Math.acos(Math.min(1, dot(axis(a.direction, c), axis(b.direction, c)))) * 180) / Math.PI));
  if (angle > 1e-3) parts.push(`orientation ${orientationCode(a.direction)} vs ${orientationCode(b.direction)} (axes up to ${angle.toFixed(1)}° apart)`);
  return parts.length > 0 ? parts.join(', ') : 'positions differ by less than a voxel';
}

/** LPS corners of the voxel-edge extent of a grid. */
function corners(g: LabelVolume): Vec3[] {
  const out: Vec3[] = [];
  for (const k of [-0.5, g.dims[2] - 0.5]) for (const j of [-0.5, g.dims[1] - 0.5]) for (const i of [-0.5, g.dims[0] - 0.5]) out.push(indexToLps(g, [i, j, k]));
  return out;
}

function describeExtent(g: LabelVolume): string {
  const c = corners(g);
  return (['x', 'y', 'z'] as const)
    .map((name, w) => `${name} ${Math.min(...c.map((p) => p[w]!)).toFixed(1)}…${Math.max(...c.map((p) => p[w]!)).toFixed(1)}`)
    .join(', ');
}

/**
 * Whether the two grids' extents (parallelepipeds) share any volume: separating-axis test over both boxes' face
 * normals and the cross products of their edges, exact for convex polyhedra. Touching faces count as no overlap.
 */
function extentsOverlap(a: LabelVolume, b: LabelVolume): boolean {
  const ca = corners(a);
  const cb = corners(b);
  const ea = [axis(a.direction, 0), axis(a.direction, 1), axis(a.direction, 2)];
  const eb = [axis(b.direction, 0), axis(b.direction, 1), axis(b.direction, 2)];
  const tests: Vec3[] = [cross(ea[0]!, ea[1]!), cross(ea[1]!, ea[2]!), cross(ea[2]!, ea[0]!), cross(eb[0]!, eb[1]!), cross(eb[1]!, eb[2]!), cross(eb[2]!, eb[0]!)];
  for (const u of ea) for (const v of eb) tests.push(cross(u, v));
  for (const t of tests) {
    if (Math.hypot(...t) < 1e-9) continue;
    const pa = ca.map((p) => dot(p, t));
    const pb = cb.map((p) => dot(p, t));
    const eps = 1e-6 * Math.hypot(...t);
    if (Math.max(...pa) <= Math.min(...pb) + eps || Math.max(...pb) <= Math.min(...pa) + eps) return false;
  }
  return true;
}

/** Whether every voxel centre of `to` falls inside the voxel-edge extent of `from`. */
function coversGrid(from: LabelVolume, to: LabelVolume): boolean {
  for (const k of [0, to.dims[2] - 1]) {
    for (const j of [0, to.dims[1] - 1]) {
      for (const i of [0, to.dims[0] - 1]) {
        const p = lpsToIndex(from, indexToLps(to, [i, j, k]));
        if (p.some((x, c) => x < -0.5 - 1e-6 || x > from.dims[c]! - 0.5 + 1e-6)) return false;
      }
    }
  }
  return true;
}
