/**
 * From a label map (or probability maps) to the frames of a SEG: bring the input onto the source series' grid
 * (nearest neighbour in world space for labels, trilinear for probabilities; LPS mm), then find which
 * (segment, source plane) pairs are non-empty. Frames are listed segment by segment, planes in k order (the
 * order dcmqi and highdicom use).
 */
import { sameGrid } from '../../volume/geometry.js';
import { indexMap, type GridGeometry } from '../../volume/index-map.js';
import { resampleScalar } from '../../volume/resample.js';
import type { Volume } from '../../volume/types.js';

export interface PlannedFrame {
  /** 1-based segment number. */
  segment: number;
  /** 0-based source plane (k index of the source volume). */
  k: number;
}

function describeGrid(g: GridGeometry): string {
  const f = (v: readonly number[]) => `[${v.map((x) => +x.toFixed(4)).join(', ')}]`;
  return `${g.dims.join('×')} at ${f(g.spacing)} mm, origin ${f(g.origin)}, direction ${f(g.direction)}`;
}

/**
 * `input` on the grid of `target`: the same array when the grids agree (within 1 µm), else resampled (nearest or
 * linear, 0 outside the input), with a note saying so.
 */
export function onSourceGrid(input: Volume, target: GridGeometry, interpolation: 'nearest' | 'linear', what: string, notes: string[]): ArrayLike<number> {
  if (sameGrid(input, target)) return input.data;
  const map = indexMap(target, input);
  const out = resampleScalar(input.data, input.dims, target.dims, map, { interpolation, fill: 0 });
  notes.push(
    `${what} was on another grid (${describeGrid(input)}) and was resampled onto the source series grid (${describeGrid(target)}) ` +
      `by ${interpolation === 'nearest' ? 'nearest-neighbour' : 'trilinear'} interpolation in patient space; voxels outside it became 0`,
  );
  return out;
}

/**
 * Segment index (0-based, or −1 for background) of every possible label value: a dense table when the values are
 * small, which they are for label maps (≤ 65535).
 */
export function labelLookup(values: readonly number[]): Int32Array {
  const max = Math.max(0, ...values);
  const lut = new Int32Array(max + 1).fill(-1);
  values.forEach((v, s) => {
    lut[v] = s;
  });
  return lut;
}

/**
 * Which planes of which segment hold voxels: presence[s · nz + k] = 1 when label values[s] occurs in plane k.
 * @throws RangeError when the label map holds values that are not integers or not in `values` (naming them).
 */
export function labelPresence(data: ArrayLike<number>, plane: number, nz: number, values: readonly number[]): { presence: Uint8Array; voxels: number[] } {
  const lut = labelLookup(values);
  const presence = new Uint8Array(values.length * nz);
  const voxels = new Array<number>(values.length).fill(0);
  const unknown = new Map<number, number>();
  for (let k = 0; k < nz; k++) {
    const base = k * plane;
    for (let n = base; n < base + plane; n++) {
      const v = data[n]!;
      if (v === 0) continue;
      const s = Number.isInteger(v) && v > 0 && v < lut.length ? lut[v]! : -1;
      if (s < 0) {
        unknown.set(v, (unknown.get(v) ?? 0) + 1);
        continue;
      }
      presence[s * nz + k] = 1;
      voxels[s]!++;
    }
  }
  if (unknown.size > 0) {
    const shown = [...unknown].slice(0, 8).map(([v, c]) => `${v} (${c} voxels)`);
    throw new RangeError(
      `the label map holds values that are not among the labels [${values.join(', ')}]: ${shown.join(', ')}${unknown.size > 8 ? ', …' : ''}; ` +
        `pass the labels of the model that produced it (its card's labels)`,
    );
  }
  return { presence, voxels };
}

/** Frames in SEG order (segment by segment, k ascending) for the non-empty (segment, plane) pairs. */
export function planFrames(presence: Uint8Array, segments: number, nz: number): PlannedFrame[] {
  const frames: PlannedFrame[] = [];
  for (let s = 0; s < segments; s++) {
    for (let k = 0; k < nz; k++) if (presence[s * nz + k]) frames.push({ segment: s + 1, k });
  }
  return frames;
}

/** Stored 8-bit fractions, round(p · max), of a probability map (p in [0, 1]; ±1e-6 of rounding tolerated). */
export function quantizeFractions(data: ArrayLike<number>, max: number, label: string): Uint8Array {
  const out = new Uint8Array(data.length);
  for (let n = 0; n < data.length; n++) {
    const p = data[n]!;
    if (!(p >= -1e-6 && p <= 1 + 1e-6)) throw new RangeError(`probability map of ${label} has value ${p} at voxel ${n}; probabilities must lie in [0, 1]`);
    out[n] = Math.round((p < 0 ? 0 : p > 1 ? 1 : p) * max);
  }
  return out;
}
