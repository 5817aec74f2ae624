/**
 * Overlap-tile geometry: where windows start, how they are weighted when blended, and how a padded coordinate maps
 * back into the volume. Pure functions; rules cited from nnU-Net v2 (`sliding_window_prediction.py`) and MONAI
 * (`monai/inferers/utils.py`, `monai/data/utils.py`), see ../../shared/DOMAIN.md §3.
 */

export type WindowPlacement = 'nnunet' | 'monai';
export type Blending = 'gaussian' | 'constant';
export type PaddingMode = 'constant' | 'mirror' | 'replicate';

/**
 * Window start positions along one axis of length `size` (already padded to ≥ `tile`).
 * - nnU-Net: n = ceil((size − tile) / (tile · step)) + 1 windows, evenly spread: start_i = round(i · (size − tile) / (n − 1)).
 * - MONAI: interval = max(int(tile · (1 − overlap)), 1); windows at multiples of it until one reaches the end, the
 *   last clamped to size − tile (so the last overlap is uneven). For MONAI `fraction` is the overlap, for nnU-Net the step.
 */
export function windowStarts(size: number, tile: number, fraction: number, placement: WindowPlacement): number[] {
  if (!(Number.isInteger(size) && Number.isInteger(tile) && tile > 0 && size >= tile)) {
    throw new RangeError(`window placement needs integer size ≥ tile > 0, got size ${size}, tile ${tile}`);
  }
  if (size === tile) return [0];
  if (placement === 'nnunet') {
    if (!(fraction > 0 && fraction <= 1)) throw new RangeError(`nnU-Net step must be in (0, 1], got ${fraction}`);
    const n = Math.ceil((size - tile) / (tile * fraction)) + 1;
    const stride = (size - tile) / (n - 1);
    // Python's round() is half-to-even; the ties it could break differently never occur for integer inputs
    // except at exact .5, which we round the same way.
    return Array.from({ length: n }, (_, i) => roundHalfEven(i * stride));
  }
  if (!(fraction >= 0 && fraction < 1)) throw new RangeError(`MONAI overlap must be in [0, 1), got ${fraction}`);
  const interval = Math.max(Math.floor(tile * (1 - fraction)), 1);
  const starts: number[] = [];
  for (let d = 0; ; d++) {
    const start = d * interval;
    starts.push(Math.min(start, size - tile));
    if (start + tile >= size) break;
  }
  return starts;
}

function roundHalfEven(x: number): number {
  const r = Math.round(x);
  return Math.abs(x % 1) === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

/**
 * Blending weights for one patch, as a Float32Array in tensor order (last axis fastest).
 * - nnU-Net: a delta at tile//2 filtered by a Gaussian with σ = tile · sigmaScale (scipy truncate 4.0), scaled to a
 *   maximum of 10; zeros replaced by the smallest nonzero value ("cannot be 0, otherwise nans").
 * - MONAI: product of 1-D Gaussians centred at (tile − 1)/2 with σ = tile · sigmaScale, clamped to ≥ max(min, 1e-3).
 * - constant: all ones.
 * Axes of size 1 (the slice axis of a 2-D model) get weight 1.
 */
export function blendingWeights(
  patch: readonly number[],
  blending: Blending,
  placement: WindowPlacement,
  sigmaScale = 0.125,
): Float32Array {
  const total = patch.reduce((a, b) => a * b, 1);
  const out = new Float32Array(total);
  if (blending === 'constant') return out.fill(1);
  const profiles = patch.map((n) => (placement === 'nnunet' ? nnunetProfile(n, sigmaScale) : monaiProfile(n, sigmaScale)));
  // Outer product, last axis fastest.
  let idx = 0;
  const rec = (axisIndex: number, acc: number): void => {
    const p = profiles[axisIndex]!;
    if (axisIndex === profiles.length - 1) {
      for (let x = 0; x < p.length; x++) out[idx++] = acc * p[x]!;
      return;
    }
    for (let x = 0; x < p.length; x++) rec(axisIndex + 1, acc * p[x]!);
  };
  rec(0, 1);
  if (placement === 'nnunet') {
    let max = 0;
    for (let i = 0; i < total; i++) max = Math.max(max, out[i]!);
    let minNonZero = Infinity;
    for (let i = 0; i < total; i++) {
      out[i] = (out[i]! / max) * 10;
      if (out[i]! > 0) minNonZero = Math.min(minNonZero, out[i]!);
    }
    for (let i = 0; i < total; i++) if (out[i] === 0) out[i] = minNonZero;
  } else {
    let min = Infinity;
    for (let i = 0; i < total; i++) min = Math.min(min, out[i]!);
    const floor = Math.max(min, 1e-3);
    for (let i = 0; i < total; i++) if (out[i]! < floor) out[i] = floor;
  }
  return out;
}

/** scipy.ndimage.gaussian_filter of a delta at n//2 (truncate 4.0, constant 0 outside), unnormalised. */
function nnunetProfile(n: number, sigmaScale: number): Float64Array {
  const p = new Float64Array(n);
  if (n === 1) return p.fill(1);
  const sigma = n * sigmaScale;
  const radius = Math.floor(4 * sigma + 0.5);
  const c = Math.floor(n / 2);
  for (let x = 0; x < n; x++) {
    const d = x - c;
    p[x] = Math.abs(d) <= radius ? Math.exp((-0.5 * d * d) / (sigma * sigma)) : 0;
  }
  return p;
}

function monaiProfile(n: number, sigmaScale: number): Float64Array {
  const p = new Float64Array(n);
  if (n === 1) return p.fill(1);
  const sigma = n * sigmaScale;
  for (let x = 0; x < n; x++) {
    const d = x - (n - 1) / 2;
    p[x] = Math.exp((d * d) / (-2 * sigma * sigma));
  }
  return p;
}

/**
 * For a padded axis (padBefore + size + padAfter), the source index of every padded position, or −1 where a constant
 * is used. 'mirror' reflects without repeating the edge voxel (numpy 'reflect', the U-Net paper's overlap-tile
 * mirroring), repeatedly when the padding exceeds the size; 'replicate' repeats the edge voxel.
 */
export function paddedIndexMap(size: number, padBefore: number, padAfter: number, mode: PaddingMode): Int32Array {
  const out = new Int32Array(padBefore + size + padAfter);
  for (let p = 0; p < out.length; p++) out[p] = sourceIndex(p - padBefore, size, mode);
  return out;
}

export function sourceIndex(x: number, size: number, mode: PaddingMode): number {
  if (x >= 0 && x < size) return x;
  if (mode === 'constant') return -1;
  if (mode === 'replicate' || size === 1) return x < 0 ? 0 : size - 1;
  const period = 2 * (size - 1);
  let m = x % period;
  if (m < 0) m += period;
  return m < size ? m : period - m;
}

/** Symmetric padding that brings `size` up to `target` (nnU-Net and MONAI both put the odd voxel after). */
export function padToAtLeast(size: number, target: number): [number, number] {
  const diff = Math.max(target - size, 0);
  const before = Math.floor(diff / 2);
  return [before, diff - before];
}

/** Extra padding so that `size` becomes a multiple of `divisor` (split like padToAtLeast). */
export function padToMultiple(size: number, divisor: number): [number, number] {
  const target = Math.ceil(size / divisor) * divisor;
  return padToAtLeast(size, target);
}

/** Every non-empty combination of mirror axes (nnU-Net test-time mirroring: 7 combinations for 3 axes). */
export function mirrorCombinations(axes: readonly number[]): number[][] {
  const unique = [...new Set(axes)].sort();
  const out: number[][] = [];
  for (let mask = 1; mask < 1 << unique.length; mask++) out.push(unique.filter((_, b) => mask & (1 << b)));
  return out;
}
