/**
 * Intensity normalisation as the model card says, and the exact percentiles it needs.
 * Conventions: nnU-Net v2 `default_normalization_schemes.py` (CT, z-score), MONAI ScaleIntensityRange(Percentiles),
 * brainchop (min-max).
 */
import type { ModelCardSpec } from './card.js';

export type Normalization = ModelCardSpec['normalization'];

/**
 * Percentiles (0–100) with numpy's default linear interpolation between order statistics, exactly, without sorting
 * the whole volume: a 65,536-bin histogram locates the order statistics, then only the values in their bins are sorted.
 * `filter` restricts to some voxels (e.g. nonzero). Returns NaN for an empty selection.
 */
export function percentiles(data: ArrayLike<number>, ps: readonly number[], filter?: (v: number) => boolean): number[] {
  let min = Infinity;
  let max = -Infinity;
  let n = 0;
  for (let i = 0; i < data.length; i++) {
    const v = data[i]!;
    if (filter && !filter(v)) continue;
    if (v < min) min = v;
    if (v > max) max = v;
    n++;
  }
  if (n === 0) return ps.map(() => NaN);
  if (min === max) return ps.map(() => min);
  const bins = 65536;
  const scale = (bins - 1) / (max - min);
  const hist = new Float64Array(bins);
  for (let i = 0; i < data.length; i++) {
    const v = data[i]!;
    if (filter && !filter(v)) continue;
    const b = Math.floor((v - min) * scale);
    hist[b] = hist[b]! + 1;
  }
  const cumulative = new Float64Array(bins + 1);
  for (let b = 0; b < bins; b++) cumulative[b + 1] = cumulative[b]! + hist[b]!;
  const orderStatistic = (rank: number): number => {
    // Bin holding the rank-th smallest value (0-based).
    let lo = 0;
    let hi = bins - 1;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (cumulative[mid + 1]! > rank) hi = mid;
      else lo = mid + 1;
    }
    const values: number[] = [];
    for (let i = 0; i < data.length; i++) {
      const v = data[i]!;
      if (filter && !filter(v)) continue;
      if (Math.floor((v - min) * scale) === lo) values.push(v);
    }
    values.sort((a, b) => a - b);
    return values[rank - cumulative[lo]!]!;
  };
  return ps.map((p) => {
    if (!(p >= 0 && p <= 100)) throw new RangeError(`percentile must be in [0, 100], got ${p}`);
    const rank = (p / 100) * (n - 1);
    const r0 = Math.floor(rank);
    const v0 = orderStatistic(r0);
    if (rank === r0) return v0;
    const v1 = orderStatistic(r0 + 1);
    return v0 + (rank - r0) * (v1 - v0);
  });
}

/** Mean and (population) standard deviation, optionally over nonzero voxels only. */
export function meanStd(data: ArrayLike<number>, nonzeroOnly = false): { mean: number; std: number; count: number } {
  let sum = 0;
  let count = 0;
  for (let i = 0; i < data.length; i++) {
    const v = data[i]!;
    if (nonzeroOnly && v === 0) continue;
    sum += v;
    count++;
  }
  const mean = count ? sum / count : 0;
  let ss = 0;
  for (let i = 0; i < data.length; i++) {
    const v = data[i]!;
    if (nonzeroOnly && v === 0) continue;
    ss += (v - mean) * (v - mean);
  }
  return { mean, std: count ? Math.sqrt(ss / count) : 0, count };
}

/** Normalises `data` in place as the card says; returns the parameters used (for provenance). */
export function normalizeInPlace(data: Float32Array, norm: Normalization): Record<string, number> {
  switch (norm.type) {
    case 'none':
      return {};
    case 'ct': {
      const [lo, hi] = norm.clip;
      const std = Math.max(norm.std, 1e-8);
      for (let i = 0; i < data.length; i++) {
        const v = data[i]!;
        data[i] = ((v < lo ? lo : v > hi ? hi : v) - norm.mean) / std;
      }
      return { lower: lo, upper: hi, mean: norm.mean, std };
    }
    case 'zscore': {
      const { mean, std } = meanStd(data, norm.nonzeroOnly);
      const s = Math.max(std, 1e-8);
      for (let i = 0; i < data.length; i++) {
        if (norm.nonzeroOnly && data[i] === 0) continue;
        data[i] = (data[i]! - mean) / s;
      }
      return { mean, std: s };
    }
    case 'percentile': {
      const [lo, hi] = percentiles(data, [norm.lower, norm.upper], norm.nonzeroOnly ? (v) => v !== 0 : undefined) as [number, number];
      const scale = hi > lo ? (norm.outMax - norm.outMin) / (hi - lo) : 0;
      for (let i = 0; i < data.length; i++) {
        const v = data[i]!;
        data[i] = norm.outMin + ((v < lo ? lo : v > hi ? hi : v) - lo) * scale;
      }
      return { lower: lo, upper: hi };
    }
    case 'minmax': {
      let min = Infinity;
      let max = -Infinity;
      for (let i = 0; i < data.length; i++) {
        const v = data[i]!;
        if (v < min) min = v;
        if (v > max) max = v;
      }
      const range = max - min;
      for (let i = 0; i < data.length; i++) data[i] = range > 0 ? (data[i]! - min) / range : 0;
      return { min, max };
    }
    case 'range': {
      const scale = (norm.bMax - norm.bMin) / (norm.aMax - norm.aMin);
      for (let i = 0; i < data.length; i++) {
        let v = norm.bMin + (data[i]! - norm.aMin) * scale;
        if (norm.clip) v = norm.bMax >= norm.bMin ? Math.min(Math.max(v, norm.bMin), norm.bMax) : Math.min(Math.max(v, norm.bMax), norm.bMin);
        data[i] = v;
      }
      return { aMin: norm.aMin, aMax: norm.aMax, bMin: norm.bMin, bMax: norm.bMax };
    }
  }
}

/** Bounding box [lo, hi) per axis (x fastest) of voxels passing `keep`; undefined when none does. */
export function boundingBox(data: ArrayLike<number>, dims: readonly [number, number, number], keep: (v: number) => boolean): { lo: [number, number, number]; hi: [number, number, number] } | undefined {
  const [nx, ny, nz] = dims;
  const lo: [number, number, number] = [nx, ny, nz];
  const hi: [number, number, number] = [-1, -1, -1];
  let o = 0;
  for (let z = 0; z < nz; z++)
    for (let y = 0; y < ny; y++)
      for (let x = 0; x < nx; x++, o++) {
        if (!keep(data[o]!)) continue;
        if (x < lo[0]) lo[0] = x;
        if (x > hi[0]) hi[0] = x;
        if (y < lo[1]) lo[1] = y;
        if (y > hi[1]) hi[1] = y;
        if (z < lo[2]) lo[2] = z;
        if (z > hi[2]) hi[2] = z;
      }
  if (hi[0] < 0) return undefined;
  return { lo, hi: [hi[0] + 1, hi[1] + 1, hi[2] + 1] };
}
