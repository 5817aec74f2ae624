/**
 * Intensity statistics per label in the image's own units (HU for CT): voxel count, min, max, mean, median (numpy:
 * the mean of the two middle values for an even count) and population standard deviation (numpy's default ddof = 0).
 *
 * The image is read at the centre of each labelled voxel: directly when it is on the label grid, otherwise at the
 * nearest image voxel (the image values stay real source values; nothing is interpolated), as evaluate.ts takes a
 * prediction on another grid. Labelled voxels whose centre falls outside the image are counted and skipped.
 * Medians: 8/16-bit integer images use one histogram per label (exact, linear); other types collect one label's values
 * at a time and select the middle ones (quickselect), so the extra memory is one label's voxels.
 * Written by hand: the npm statistics packages take plain arrays of one sample; per-label sums over row runs of typed
 * arrays, with exact medians in bounded memory, are a few loops.
 */
import { SegError } from '../errors.js';
import { sameGrid } from '../volume/geometry.js';
import { indexMap, type GridGeometry } from '../volume/index-map.js';
import type { LabelRuns } from '../postprocess/runs.js';
import type { Volume } from '../volume/types.js';

export interface IntensityStats {
  /** Labelled voxels that had an image value. */
  voxels: number;
  min: number;
  max: number;
  mean: number;
  median: number;
  /** Population standard deviation (ddof 0). */
  std: number;
}

export interface IntensityResult {
  /** Per slot; null when no labelled voxel of the slot had an image value. */
  stats: (IntensityStats | null)[];
  /** 'same-grid' or 'nearest' (the image was sampled at the nearest voxel). */
  sampling: 'same-grid' | 'nearest';
  /** Labelled voxels outside the image (skipped). */
  outsideVoxels: number;
}

/**
 * Per-slot intensity statistics of `image` over the labelled voxels of `runs` (label value → slot via `slotOf`).
 * @throws SegError INVALID_GEOMETRY when no labelled voxel lies inside the image (not the same frame of reference).
 */
export function intensityStats(runs: LabelRuns, labelGrid: GridGeometry, image: Volume, slotOf: Int32Array, slots: number, imageName = 'image'): IntensityResult {
  const same = sameGrid(labelGrid, image, 0.01 * Math.min(...labelGrid.spacing));
  const [nx, ny] = labelGrid.dims;
  const [ix, iy, iz] = image.dims;
  const src = image.data;
  const map = same ? undefined : indexMap(labelGrid, image);
  const count = new Float64Array(slots);
  const shift = new Float64Array(slots);
  const sum = new Float64Array(slots);
  const sum2 = new Float64Array(slots);
  const min = new Float64Array(slots).fill(Infinity);
  const max = new Float64Array(slots).fill(-Infinity);
  let outside = 0;
  let firstPass = true;
  const histogram = histogramLayout(src);
  const hist: (Uint32Array | undefined)[] = new Array(slots);

  /** Calls visit(imageIndex) for every labelled voxel of run q (row r) that falls inside the image. */
  const forEachVoxel = (q: number, r: number, visit: (n: number) => void) => {
    const s = runs.start[q]!;
    const e = runs.end[q]!;
    if (!map) {
      for (let n = r * nx + s; n < r * nx + e; n++) visit(n);
      return;
    }
    const j = r % ny;
    const k = (r - j) / ny;
    const m = map.m;
    for (let i = s; i < e; i++) {
      const x = Math.round(map.b[0] + m[0]! * i + m[1]! * j + m[2]! * k);
      const y = Math.round(map.b[1] + m[3]! * i + m[4]! * j + m[5]! * k);
      const z = Math.round(map.b[2] + m[6]! * i + m[7]! * j + m[8]! * k);
      if (x < 0 || y < 0 || z < 0 || x >= ix || y >= iy || z >= iz) {
        if (firstPass) outside++;
        continue;
      }
      visit(x + y * ix + z * ix * iy);
    }
  };

  const rows = runs.rowStart.length - 1;
  for (let r = 0; r < rows; r++) {
    for (let q = runs.rowStart[r]!; q < runs.rowStart[r + 1]!; q++) {
      const slot = slotOf[runs.label[q]!]!;
      if (slot < 0) continue;
      let h = hist[slot];
      if (histogram && !h) h = hist[slot] = new Uint32Array(histogram.bins);
      forEachVoxel(q, r, (n) => {
        const v = src[n]!;
        if (count[slot] === 0) shift[slot] = v;
        count[slot]!++;
        const d = v - shift[slot]!;
        sum[slot] = sum[slot]! + d;
        sum2[slot] = sum2[slot]! + d * d;
        if (v < min[slot]!) min[slot] = v;
        if (v > max[slot]!) max[slot] = v;
        if (h) h[v - histogram!.offset]!++;
      });
    }
  }
  firstPass = false;
  const labelled = count.reduce((a, b) => a + b, 0);
  if (labelled === 0 && outside > 0) {
    throw new SegError(
      'INVALID_GEOMETRY',
      `${imageName}: none of the ${outside} labelled voxels lies inside the image (LPS extents do not overlap); the image and the label map are not in the same frame of reference. Pass the scan that the labels were made on.`,
    );
  }
  const stats: (IntensityStats | null)[] = [];
  let buffer: Float64Array | undefined;
  for (let slot = 0; slot < slots; slot++) {
    const n = count[slot]!;
    if (n === 0) {
      stats.push(null);
      continue;
    }
    let median: number;
    const h = hist[slot];
    if (h && histogram) median = histogramMedian(h, n, histogram.offset);
    else {
      if (!buffer || buffer.length < n) buffer = new Float64Array(n);
      let w = 0;
      const values = buffer;
      for (let r = 0; r < rows; r++) {
        for (let q = runs.rowStart[r]!; q < runs.rowStart[r + 1]!; q++) {
          if (slotOf[runs.label[q]!] !== slot) continue;
          forEachVoxel(q, r, (x) => {
            values[w++] = src[x]!;
          });
        }
      }
      median = medianOf(values.subarray(0, n));
    }
    const meanShifted = sum[slot]! / n;
    const variance = Math.max(0, sum2[slot]! / n - meanShifted * meanShifted);
    stats.push({ voxels: n, min: min[slot]!, max: max[slot]!, mean: shift[slot]! + meanShifted, median, std: Math.sqrt(variance) });
  }
  return { stats, sampling: same ? 'same-grid' : 'nearest', outsideVoxels: outside };
}

function histogramLayout(data: Volume['data']): { bins: number; offset: number } | undefined {
  if (data instanceof Int16Array) return { bins: 65536, offset: -32768 };
  if (data instanceof Uint16Array) return { bins: 65536, offset: 0 };
  if (data instanceof Int8Array) return { bins: 256, offset: -128 };
  if (data instanceof Uint8Array) return { bins: 256, offset: 0 };
  return undefined;
}

/** numpy median from a histogram: order statistics ⌊(n−1)/2⌋ and ⌈(n−1)/2⌉ averaged. */
function histogramMedian(h: Uint32Array, n: number, offset: number): number {
  const lo = Math.floor((n - 1) / 2);
  const hi = Math.ceil((n - 1) / 2);
  let seen = 0;
  let a = NaN;
  for (let b = 0; b < h.length; b++) {
    const c = h[b]!;
    if (c === 0) continue;
    if (Number.isNaN(a) && seen + c > lo) a = b + offset;
    if (seen + c > hi) return (a + b + offset) / 2;
    seen += c;
  }
  return a;
}

/** numpy median (mean of the two middle values for an even count); reorders `values`. */
export function medianOf(values: Float64Array): number {
  const n = values.length;
  if (n === 0) return NaN;
  const hi = n >> 1;
  const upper = select(values, hi);
  if (n % 2 === 1) return upper;
  // The lower middle is the largest value left of position hi after selection.
  let lower = -Infinity;
  for (let i = 0; i < hi; i++) if (values[i]! > lower) lower = values[i]!;
  return (lower + upper) / 2;
}

/** Quickselect (Hoare): values[k] becomes the k-th smallest, smaller ones left of it. */
function select(values: Float64Array, k: number): number {
  let l = 0;
  let r = values.length - 1;
  while (r > l) {
    const pivot = values[(l + r) >> 1]!;
    let i = l;
    let j = r;
    while (i <= j) {
      while (values[i]! < pivot) i++;
      while (values[j]! > pivot) j--;
      if (i <= j) {
        const t = values[i]!;
        values[i] = values[j]!;
        values[j] = t;
        i++;
        j--;
      }
    }
    if (k <= j) r = j;
    else if (k >= i) l = i;
    else break;
  }
  return values[k]!;
}
