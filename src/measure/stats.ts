/**
 * Statistics per structure of a label map, in patient LPS millimetres (3D Slicer's Segment Statistics, with
 * TotalSegmentator's border rule): voxel count, volume (mL) = count × |det(direction)| × spacing product, a
 * partial-volume-aware soft volume Σ p × voxel volume when a probability map is given, surface area (mm², Crofton
 * estimator: measure/surface.ts), centroid (mean of voxel centres), bounding box (voxel indices and LPS extent of the
 * voxel centres), connected components, intensity statistics in the image's units (measure/intensity.ts), and for
 * lesion labels one entry per lesion (measure/lesions.ts).
 *
 * Incomplete structures: a structure with a voxel within `borderMarginVoxels` (3) of a scan face is cut by the scan;
 * it is flagged `incomplete` with the faces that cut it, and its volume is a lower bound, never a small organ.
 *
 * One pass over the voxels builds row runs (postprocess/runs.ts); counts, centroids, boxes, components, surfaces and
 * lesions then work on runs. See docs/benchmarks.md ("Measure") for the cost against a plain counting loop.
 * Written by hand: no npm package measures labelled volumes (3D Slicer's Segment Statistics and TotalSegmentator's
 * statistics are Python); the pieces are in the files named above.
 */
import type { Connectivity } from '../postprocess/components.js';
import { labelRuns, runComponents, type LabelRuns } from '../postprocess/runs.js';
import { SegError } from '../errors.js';
import { indexToLps, sameGrid, voxelVolumeMm3 } from '../volume/geometry.js';
import type { LabelVolume, Mat3, Vec3, Vec3i, Volume } from '../volume/types.js';
import { borderSides, type BorderSide } from './border.js';
import { axialAxis } from './diameters.js';
import { checkGeometry } from './evaluate.js';
import { intensityStats, type IntensityStats } from './intensity.js';
import { measureLesions, type LesionMeasurement } from './lesions.js';
import { croftonDirections, surfaceAreasFromRuns } from './surface.js';

export interface StructureStats {
  label: number;
  name: string;
  /** Whether the label is a lesion label (its lesions are listed one by one in `lesions`). */
  lesion: boolean;
  voxels: number;
  /** voxels × voxel volume, mL. A lower bound when `incomplete`. */
  volumeMl: number;
  /** Σ probability × voxel volume (mL) over the whole scan when the label's probability map was given, else null. */
  softVolumeMl: number | null;
  /** Surface area (mm²); includes the cut face of an incomplete structure. */
  surfaceAreaMm2: number;
  /** 26-connected components. */
  components: number;
  /** Mean of the voxel centres (LPS mm); null when the label is absent. */
  centroidLps: Vec3 | null;
  /** Voxel-index bounding box (inclusive); null when absent. */
  boundsIjk: { min: Vec3i; max: Vec3i } | null;
  /** LPS extent (mm) of the voxel centres; null when absent. */
  boundsLps: { min: Vec3; max: Vec3 } | null;
  /** Within `borderMarginVoxels` of a scan face: cut by the scan border. */
  incomplete: boolean;
  cutBy: BorderSide[];
  /** Image statistics over the structure (source units, e.g. HU); null without an image or when absent. */
  intensity: IntensityStats | null;
}

export interface LabelStatistics {
  structures: StructureStats[];
  lesions: LesionMeasurement[];
  grid: { dims: Vec3i; spacing: Vec3; origin: Vec3; direction: Mat3 };
  voxelVolumeMm3: number;
  /** Slice axis of the axial diameters: the voxel axis closest to the patient's S axis. */
  axialAxis: 'i' | 'j' | 'k';
  surface: { method: 'crofton-lattice-lines'; directions: number; maxPlaneErrorPercent: number };
  /** How the image was read: on the label grid, or at the nearest image voxel; null without an image. */
  intensitySampling: 'same-grid' | 'nearest' | null;
  borderMarginVoxels: number;
  notes: string[];
}

export interface LabelStatisticsOptions {
  /** Labels to report (default: every label present plus every named label, ascending). */
  labels?: readonly number[] | undefined;
  /** Names by label value (default "label <value>"). */
  names?: ReadonlyMap<number, string> | undefined;
  /** Lesion labels: each of their connected components is measured as a lesion. */
  lesionLabels?: readonly number[] | undefined;
  /** An image (e.g. the CT) for intensity statistics, on the label grid or any grid overlapping it. */
  image?: Volume | undefined;
  imageName?: string | undefined;
  /** Probability maps (0…1) by label value, on the label grid, for soft volumes. */
  probabilities?: ReadonlyMap<number, Volume> | undefined;
  /** A structure within this many voxels of a scan face is incomplete (default 3, as TotalSegmentator). */
  borderMarginVoxels?: number | undefined;
  /** Connectivity of lesions and component counts (default 26). */
  connectivity?: Connectivity | undefined;
  /** Runs of `labels.data` when the caller already has them. */
  runs?: LabelRuns | undefined;
  /** Name of the label map in messages. */
  name?: string | undefined;
}

/** SNOMED CT 49755003 "Morphologically Altered Structure": a card label with this category is a lesion. */
export const LESION_CATEGORY_CODE = '49755003';

/** Lesion labels from label metadata: the labels whose category is SNOMED CT 49755003 (designator SCT or SRT). */
export function lesionLabelsFromMetadata(labels: readonly { value: number; category?: { scheme: string; value: string } | undefined }[]): number[] {
  return labels.filter((l) => l.category && l.category.value === LESION_CATEGORY_CODE && ['SCT', 'SRT', 'SNOMED', 'SNM'].includes(l.category.scheme.toUpperCase())).map((l) => l.value);
}

/**
 * Measures every reported structure and every lesion of a label map.
 * @throws SegError INVALID_GEOMETRY for degenerate geometry, probability maps on another grid, or an image that does
 * not overlap the label map; RangeError for bad options.
 */
export function labelStatistics(labels: LabelVolume, options: LabelStatisticsOptions = {}): LabelStatistics {
  const name = options.name ?? 'label map';
  checkGeometry(labels, name);
  const margin = options.borderMarginVoxels ?? 3;
  if (!(Number.isInteger(margin) && margin >= 0)) throw new RangeError(`borderMarginVoxels must be a whole number ≥ 0, got ${margin}`);
  const connectivity = options.connectivity ?? 26;
  for (const l of [...(options.labels ?? []), ...(options.lesionLabels ?? [])]) {
    if (!Number.isInteger(l) || l < 1 || l > 65535) throw new RangeError(`labels must be integers 1…65535 (0 is the background), got ${l}`);
  }
  const runs = options.runs ?? labelRuns(labels.data, labels.dims);
  const ny = labels.dims[1];
  const notes: string[] = [];

  // Which labels: requested, or present ∪ named.
  const present = new Set<number>();
  for (let q = 0; q < runs.count; q++) present.add(runs.label[q]!);
  const reported = options.labels ? [...new Set(options.labels)] : [...new Set([...present, ...(options.names?.keys() ?? [])])];
  reported.sort((a, b) => a - b);
  const slotOf = new Int32Array(65536).fill(-1);
  reported.forEach((l, s) => (slotOf[l] = s));
  const slots = reported.length;

  // One pass over the runs: counts, index sums, boxes, LPS extents of voxel centres.
  const count = new Float64Array(slots);
  const sums = new Float64Array(3 * slots);
  const box = new Int32Array(6 * slots);
  const lps = new Float64Array(6 * slots);
  for (let s = 0; s < slots; s++) {
    box[6 * s] = box[6 * s + 2] = box[6 * s + 4] = 0x7fffffff;
    box[6 * s + 1] = box[6 * s + 3] = box[6 * s + 5] = -1;
    lps[6 * s] = lps[6 * s + 2] = lps[6 * s + 4] = Infinity;
    lps[6 * s + 1] = lps[6 * s + 3] = lps[6 * s + 5] = -Infinity;
  }
  // Rows of the index → LPS map: LPS_w = m[w][0]·i + m[w][1]·j + m[w][2]·k + m[w][3].
  const { spacing: sp, direction: dr, origin: og } = labels;
  const m = [0, 1, 2].map((w) => [dr[w]! * sp[0], dr[3 + w]! * sp[1], dr[6 + w]! * sp[2], og[w]!] as const);
  const rows = runs.rowStart.length - 1;
  for (let r = 0; r < rows; r++) {
    const q0 = runs.rowStart[r]!;
    const q1 = runs.rowStart[r + 1]!;
    if (q0 === q1) continue;
    const j = r % ny;
    const k = (r - j) / ny;
    for (let q = q0; q < q1; q++) {
      const s = slotOf[runs.label[q]!]!;
      if (s < 0) continue;
      const i0 = runs.start[q]!;
      const i1 = runs.end[q]! - 1;
      const len = i1 - i0 + 1;
      count[s] = count[s]! + len;
      sums[3 * s] = sums[3 * s]! + ((i0 + i1) * len) / 2;
      sums[3 * s + 1] = sums[3 * s + 1]! + j * len;
      sums[3 * s + 2] = sums[3 * s + 2]! + k * len;
      const o = 6 * s;
      if (i0 < box[o]!) box[o] = i0;
      if (i1 > box[o + 1]!) box[o + 1] = i1;
      if (j < box[o + 2]!) box[o + 2] = j;
      if (j > box[o + 3]!) box[o + 3] = j;
      if (k < box[o + 4]!) box[o + 4] = k;
      if (k > box[o + 5]!) box[o + 5] = k;
      // A run's voxel centres lie on a segment: its LPS extremes are at the two ends.
      for (let w = 0; w < 3; w++) {
        const base = m[w]![3] + m[w]![1] * j + m[w]![2] * k;
        const a = base + m[w]![0] * i0;
        const b = base + m[w]![0] * i1;
        const lo = a < b ? a : b;
        const hi = a < b ? b : a;
        if (lo < lps[o + 2 * w]!) lps[o + 2 * w] = lo;
        if (hi > lps[o + 2 * w + 1]!) lps[o + 2 * w + 1] = hi;
      }
    }
  }

  const components = new Float64Array(slots);
  const comps = runComponents(runs, connectivity, (l) => slotOf[l]! >= 0);
  for (let c = 1; c <= comps.count; c++) {
    const s = slotOf[comps.label[c]!]!;
    components[s] = components[s]! + 1;
  }

  const directions = croftonDirections(labels);
  const areas = surfaceAreasFromRuns(runs, labels.data, labels, slotOf, slots);

  let intensity: (IntensityStats | null)[] | undefined;
  let intensitySampling: LabelStatistics['intensitySampling'] = null;
  if (options.image) {
    const imageName = options.imageName ?? 'image';
    checkGeometry(options.image, imageName);
    const res = intensityStats(runs, labels, options.image, slotOf, slots, imageName);
    intensity = res.stats;
    intensitySampling = res.sampling;
    if (res.sampling === 'nearest') notes.push(`${imageName} is on another grid than the labels: intensities are read at the nearest image voxel of each labelled voxel centre (source values, not interpolated)`);
    if (res.outsideVoxels > 0) notes.push(`${res.outsideVoxels} labelled voxels lie outside ${imageName} and have no intensity`);
  }

  const voxelMm3 = voxelVolumeMm3(labels);
  const soft = new Map<number, number>();
  for (const [label, p] of options.probabilities ?? []) {
    if (!(Number.isInteger(label) && label >= 0 && label <= 65535) || slotOf[label]! < 0) continue;
    if (!sameGrid(labels, p, 0.01 * Math.min(...labels.spacing))) {
      throw new SegError(
        'INVALID_GEOMETRY',
        `the probability map of label ${label} is on another grid (dims ${p.dims.join('×')}) than ${name} (dims ${labels.dims.join('×')}); soft volumes need probabilities on the label grid (medseg segment --probabilities writes them there)`,
      );
    }
    let sum = 0;
    const d = p.data;
    for (let n = 0; n < d.length; n++) sum += d[n]!;
    soft.set(label, (sum * voxelMm3) / 1000);
  }

  const lesionSet = new Set(options.lesionLabels ?? []);
  const names = options.names;
  const structures: StructureStats[] = reported.map((label, s) => {
    const n = count[s]!;
    const o = 6 * s;
    const absent = n === 0;
    const lo: Vec3i = [box[o]!, box[o + 2]!, box[o + 4]!];
    const hi: Vec3i = [box[o + 1]!, box[o + 3]!, box[o + 5]!];
    const cutBy = absent ? [] : borderSides(lo, hi, labels.dims, labels.direction, margin);
    return {
      label,
      name: names?.get(label) ?? `label ${label}`,
      lesion: lesionSet.has(label),
      voxels: n,
      volumeMl: (n * voxelMm3) / 1000,
      softVolumeMl: soft.get(label) ?? null,
      surfaceAreaMm2: areas[s]!,
      components: components[s]!,
      centroidLps: absent ? null : indexToLps(labels, [sums[3 * s]! / n, sums[3 * s + 1]! / n, sums[3 * s + 2]! / n]),
      boundsIjk: absent ? null : { min: lo, max: hi },
      boundsLps: absent ? null : { min: [lps[o]!, lps[o + 2]!, lps[o + 4]!], max: [lps[o + 1]!, lps[o + 3]!, lps[o + 5]!] },
      incomplete: cutBy.length > 0,
      cutBy,
      intensity: intensity?.[s] ?? null,
    };
  });
  const lesions = measureLesions(labels, runs, lesionSet, { connectivity, borderMarginVoxels: margin });
  const axis = axialAxis(labels.direction);
  return {
    structures,
    lesions,
    grid: { dims: labels.dims, spacing: labels.spacing, origin: labels.origin, direction: labels.direction },
    voxelVolumeMm3: voxelMm3,
    axialAxis: (['i', 'j', 'k'] as const)[axis],
    surface: { method: 'crofton-lattice-lines', directions: directions.mm2PerCrossing.length, maxPlaneErrorPercent: 100 * directions.maxPlaneError },
    intensitySampling,
    borderMarginVoxels: margin,
    notes,
  };
}
