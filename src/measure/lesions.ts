/**
 * Lesions: the connected components of the lesion labels, each measured on its own (patient LPS, millimetres):
 * voxel count and volume, centroid, bounding box, longest axial and 3-D diameters (measure/diameters.ts), whether it
 * touches the scan border, and the organ it lies in.
 *
 * Containing organ: the non-lesion label with the most voxels in the lesion's 1-voxel shell (the voxels outside the
 * lesion that are 26-neighbours of it), with the fraction of the shell it holds; `null` when the shell holds no
 * non-lesion label (a lesion floating in background). Ties go to the smaller label value. Shell voxels outside the
 * scan are not counted.
 * Components come from union–find over row runs (postprocess/runs.ts); each lesion is then copied into a small mask
 * box (its bounding box plus one voxel), so the work is linear in the lesions' boxes. Written by hand (see runs.ts).
 */
import type { Connectivity } from '../postprocess/components.js';
import { runComponents, type LabelRuns } from '../postprocess/runs.js';
import { indexToLps, voxelVolumeMm3 } from '../volume/geometry.js';
import type { LabelVolume, Vec3, Vec3i } from '../volume/types.js';
import { axialAxis, longestDiameter, longestSliceDiameter, type Diameter, type MaskBox } from './diameters.js';
import { borderSides, type BorderSide } from './border.js';

export interface LesionOrgan {
  label: number;
  /** Shell voxels holding this label. */
  shellVoxels: number;
  /** shellVoxels / all shell voxels inside the scan. */
  shellFraction: number;
}

export interface LesionMeasurement {
  label: number;
  /** 1 = the largest lesion of this label, 2 = the next … (ties in raster order of their first voxel). */
  index: number;
  voxels: number;
  volumeMl: number;
  centroidLps: Vec3;
  boundsIjk: { min: Vec3i; max: Vec3i };
  /** Longest in-slice distance (mm) between voxel centres, slices along `axialAxis`. */
  longestAxialDiameterMm: number;
  axialDiameterEndpointsLps: readonly [Vec3, Vec3] | null;
  /** Index of that slice along the axial axis. */
  axialSlice: number;
  /** Longest distance (mm) between any two voxel centres. */
  longestDiameterMm: number;
  diameterEndpointsLps: readonly [Vec3, Vec3] | null;
  organ: LesionOrgan | null;
  incomplete: boolean;
  cutBy: BorderSide[];
}

export interface LesionOptions {
  /** Voxel connectivity of one lesion (default 26). */
  connectivity?: Connectivity | undefined;
  /** A lesion within this many voxels of a scan face is incomplete (default 3). */
  borderMarginVoxels?: number | undefined;
}

/**
 * Finds and measures every lesion (connected component) of the given lesion labels.
 * @returns lesions ordered by label, then by size (largest first).
 */
export function measureLesions(labels: LabelVolume, runs: LabelRuns, lesionLabels: ReadonlySet<number>, options: LesionOptions = {}): LesionMeasurement[] {
  if (lesionLabels.size === 0) return [];
  const comps = runComponents(runs, options.connectivity ?? 26, (l) => lesionLabels.has(l));
  const m = comps.count;
  if (m === 0) return [];
  const [nx, ny, nz] = labels.dims;
  // Group runs by component (counting sort) and get each component's box and index sums.
  const first = new Int32Array(m + 2);
  const box = new Int32Array(6 * (m + 1));
  const sums = new Float64Array(3 * (m + 1));
  for (let c = 1; c <= m; c++) {
    box[6 * c] = box[6 * c + 2] = box[6 * c + 4] = 0x7fffffff;
    box[6 * c + 1] = box[6 * c + 3] = box[6 * c + 5] = -1;
  }
  const rowOf = new Int32Array(runs.count);
  const rows = runs.rowStart.length - 1;
  for (let r = 0; r < rows; r++) {
    for (let q = runs.rowStart[r]!; q < runs.rowStart[r + 1]!; q++) {
      const c = comps.ofRun[q]!;
      if (c === 0) continue;
      rowOf[q] = r;
      first[c + 1]!++;
      const s = runs.start[q]!;
      const e = runs.end[q]!;
      const j = r % ny;
      const k = (r - j) / ny;
      const len = e - s;
      sums[3 * c] = sums[3 * c]! + ((s + e - 1) * len) / 2;
      sums[3 * c + 1] = sums[3 * c + 1]! + j * len;
      sums[3 * c + 2] = sums[3 * c + 2]! + k * len;
      const o = 6 * c;
      if (s < box[o]!) box[o] = s;
      if (e - 1 > box[o + 1]!) box[o + 1] = e - 1;
      if (j < box[o + 2]!) box[o + 2] = j;
      if (j > box[o + 3]!) box[o + 3] = j;
      if (k < box[o + 4]!) box[o + 4] = k;
      if (k > box[o + 5]!) box[o + 5] = k;
    }
  }
  for (let c = 1; c <= m + 1; c++) first[c] = first[c]! + first[c - 1]!;
  const members = new Int32Array(first[m + 1]!);
  const fill = first.slice();
  for (let q = 0; q < runs.count; q++) {
    const c = comps.ofRun[q]!;
    if (c !== 0) members[fill[c]!++] = q;
  }
  const voxelMl = voxelVolumeMm3(labels) / 1000;
  const slice = axialAxis(labels.direction);
  const margin = options.borderMarginVoxels ?? 3;
  const out: LesionMeasurement[] = [];
  for (let c = 1; c <= m; c++) {
    const o = 6 * c;
    const lo: Vec3i = [box[o]!, box[o + 2]!, box[o + 4]!];
    const hi: Vec3i = [box[o + 1]!, box[o + 3]!, box[o + 5]!];
    // Mask box: the lesion's box plus one voxel on every side (for the shell).
    const offset: Vec3i = [lo[0] - 1, lo[1] - 1, lo[2] - 1];
    const dims: Vec3i = [hi[0] - lo[0] + 3, hi[1] - lo[1] + 3, hi[2] - lo[2] + 3];
    const mask = new Uint8Array(dims[0] * dims[1] * dims[2]);
    for (let x = first[c]!; x < first[c + 1]!; x++) {
      const q = members[x]!;
      const r = rowOf[q]!;
      const j = r % ny;
      const k = (r - j) / ny;
      const base = (j - offset[1]) * dims[0] + (k - offset[2]) * dims[0] * dims[1] - offset[0];
      mask.fill(1, base + runs.start[q]!, base + runs.end[q]!);
    }
    const maskBox: MaskBox = { mask, dims, offset };
    const voxels = comps.voxels[c]!;
    const d3: Diameter = longestDiameter(maskBox, labels);
    const axial = longestSliceDiameter(maskBox, labels, slice);
    const cutBy = borderSides(lo, hi, labels.dims, labels.direction, margin);
    out.push({
      label: comps.label[c]!,
      index: 0,
      voxels,
      volumeMl: voxels * voxelMl,
      centroidLps: indexToLps(labels, [sums[3 * c]! / voxels, sums[3 * c + 1]! / voxels, sums[3 * c + 2]! / voxels]),
      boundsIjk: { min: lo, max: hi },
      longestAxialDiameterMm: axial.lengthMm,
      axialDiameterEndpointsLps: axial.endpointsLps,
      axialSlice: axial.slice,
      longestDiameterMm: d3.lengthMm,
      diameterEndpointsLps: d3.endpointsLps,
      organ: shellOrgan(labels, maskBox, lesionLabels, [nx, ny, nz]),
      incomplete: cutBy.length > 0,
      cutBy,
    });
  }
  // Order: by label, then largest first (stable: raster order of the first voxel among equals).
  const sorted = out.map((l, n) => ({ l, n })).sort((a, b) => a.l.label - b.l.label || b.l.voxels - a.l.voxels || a.n - b.n).map((x) => x.l);
  let previous = -1;
  let index = 0;
  for (const l of sorted) {
    index = l.label === previous ? index + 1 : 1;
    previous = l.label;
    l.index = index;
  }
  return sorted;
}

/** The non-lesion label with most voxels in the lesion's 26-neighbour shell. */
function shellOrgan(labels: LabelVolume, box: MaskBox, lesionLabels: ReadonlySet<number>, scanDims: Vec3i): LesionOrgan | null {
  const [d0, d1, d2] = box.dims;
  // Dilate by the 3×3×3 cube: separable maximum along i, j, k.
  const a = box.mask.slice();
  const b = new Uint8Array(a.length);
  const strides = [1, d0, d0 * d1];
  let src = a;
  let dst = b;
  for (const [axis, n] of [[0, d0], [1, d1], [2, d2]] as const) {
    const s = strides[axis]!;
    for (let idx = 0; idx < src.length; idx++) {
      const t = Math.floor(idx / s) % n;
      dst[idx] = src[idx]! | (t > 0 ? src[idx - s]! : 0) | (t < n - 1 ? src[idx + s]! : 0);
    }
    [src, dst] = [dst, src];
  }
  const dilated = src;
  const counts = new Map<number, number>();
  let shell = 0;
  const [nx, ny, nz] = scanDims;
  const data = labels.data;
  let n = 0;
  for (let k = 0; k < d2; k++) {
    const kk = k + box.offset[2];
    for (let j = 0; j < d1; j++) {
      const jj = j + box.offset[1];
      for (let i = 0; i < d0; i++, n++) {
        if (!dilated[n] || box.mask[n]) continue;
        const ii = i + box.offset[0];
        if (ii < 0 || jj < 0 || kk < 0 || ii >= nx || jj >= ny || kk >= nz) continue;
        shell++;
        const v = data[ii + jj * nx + kk * nx * ny]!;
        if (v === 0 || lesionLabels.has(v)) continue;
        counts.set(v, (counts.get(v) ?? 0) + 1);
      }
    }
  }
  let best: LesionOrgan | null = null;
  for (const [label, count] of [...counts].sort((x, y) => x[0] - y[0])) {
    if (!best || count > best.shellVoxels) best = { label, shellVoxels: count, shellFraction: count / shell };
  }
  return best;
}
