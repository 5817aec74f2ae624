/**
 * From blended network outputs on the engine grid to a label map (and optional probabilities) on the scan's grid,
 * plane by plane: activation, un-cropping, and the return to the scan grid — an exact scatter when the grids are a
 * signed permutation of each other, otherwise interpolation from a window of buffered planes (only the engine planes
 * the remaining scan planes still need are kept).
 */
import type { Vec3i } from '../volume/types.js';
import type { PlaneConsumer } from './engine.js';
import type { IndexMap } from '../volume/index-map.js';

export interface DecisionRule {
  activation: 'softmax' | 'sigmoid' | 'none';
  threshold: number;
  /** Sigmoid: most confident channel above threshold, or channels painted in order (nnU-Net regions). */
  sigmoidRule?: 'confident' | 'ordered' | undefined;
  /** Label value per output channel. */
  channelLabels: readonly number[];
}

/**
 * Applies the activation in place to a channel-major plane stack (C × n). Loops run channel by channel over
 * contiguous memory; `scratch` (2n float64) avoids allocation per plane.
 */
export function activate(values: Float32Array, channels: number, n: number, activation: DecisionRule['activation'], scratch: Float64Array = new Float64Array(2 * n)): void {
  if (activation === 'none') return;
  if (activation === 'sigmoid') {
    for (let i = 0; i < channels * n; i++) values[i] = 1 / (1 + Math.exp(-values[i]!));
    return;
  }
  const max = scratch.subarray(0, n).fill(-Infinity);
  const sum = scratch.subarray(n, 2 * n).fill(0);
  for (let c = 0; c < channels; c++) {
    const o = c * n;
    for (let p = 0; p < n; p++) if (values[o + p]! > max[p]!) max[p] = values[o + p]!;
  }
  for (let c = 0; c < channels; c++) {
    const o = c * n;
    for (let p = 0; p < n; p++) {
      const e = Math.exp(values[o + p]! - max[p]!);
      values[o + p] = e;
      sum[p] = sum[p]! + e;
    }
  }
  for (let p = 0; p < n; p++) sum[p] = 1 / sum[p]!;
  for (let c = 0; c < channels; c++) {
    const o = c * n;
    for (let p = 0; p < n; p++) values[o + p] = values[o + p]! * sum[p]!;
  }
}

/**
 * The label of one voxel from its channel values (stride `n` apart starting at `p`): argmax for multi-class
 * softmax/none outputs; for sigmoid or single-channel outputs the most confident channel above the threshold (or,
 * with the `ordered` rule, the last channel above it), else 0.
 */
export function decide(values: ArrayLike<number>, p: number, n: number, rule: DecisionRule): number {
  const channels = rule.channelLabels.length;
  if (rule.activation === 'sigmoid' && rule.sigmoidRule === 'ordered') {
    let label = 0;
    for (let c = 0; c < channels; c++) if (values[c * n + p]! > rule.threshold) label = rule.channelLabels[c]!;
    return label;
  }
  if (rule.activation === 'sigmoid' || channels === 1) {
    let best = 0;
    let bestValue = rule.threshold;
    for (let c = 0; c < channels; c++) {
      const v = values[c * n + p]!;
      if (v > bestValue) {
        bestValue = v;
        best = rule.channelLabels[c]!;
      }
    }
    return best;
  }
  let bestC = 0;
  let bestV = values[p]!;
  for (let c = 1; c < channels; c++) {
    const v = values[c * n + p]!;
    if (v > bestV) {
      bestV = v;
      bestC = c;
    }
  }
  return rule.channelLabels[bestC]!;
}

/** Channel values of a voxel outside the model's crop: certain background. */
export function backgroundVector(rule: DecisionRule): Float32Array {
  const v = new Float32Array(rule.channelLabels.length);
  if (rule.activation !== 'sigmoid' && rule.channelLabels.length > 1) rule.channelLabels.forEach((l, c) => (v[c] = l === 0 ? 1 : 0));
  return v;
}

/** Applies the activation to each plane and passes it on. */
export class Activation implements PlaneConsumer {
  private readonly scratch: Float64Array;
  constructor(
    private readonly next: PlaneConsumer,
    private readonly rule: DecisionRule,
    private readonly planeSize: number,
  ) {
    this.scratch = new Float64Array(2 * planeSize);
  }
  plane(z: number, values: Float32Array): void {
    activate(values, this.rule.channelLabels.length, this.planeSize, this.rule.activation, this.scratch);
    this.next.plane(z, values);
  }
}

/**
 * Places planes of a crop (dims `crop`, at `offset` in the full engine grid) into full planes, filling the rest with
 * background; emits every full plane in order (call finish() after the last crop plane).
 */
export class Uncrop implements PlaneConsumer {
  private nextZ = 0;
  private readonly full: Float32Array;
  constructor(
    private readonly next: PlaneConsumer,
    private readonly fullDims: Vec3i,
    private readonly crop: Vec3i,
    private readonly offset: Vec3i,
    private readonly background: Float32Array,
  ) {
    this.full = new Float32Array(background.length * fullDims[0] * fullDims[1]);
  }
  private emitBackground(z: number): void {
    const n = this.fullDims[0] * this.fullDims[1];
    for (let c = 0; c < this.background.length; c++) this.full.fill(this.background[c]!, c * n, (c + 1) * n);
    this.next.plane(z, this.full);
  }
  plane(z: number, values: Float32Array): void {
    const gz = z + this.offset[2];
    while (this.nextZ < gz) this.emitBackground(this.nextZ++);
    const [fw, fh] = this.fullDims;
    const [cw, ch] = this.crop;
    const n = fw * fh;
    for (let c = 0; c < this.background.length; c++) {
      this.full.fill(this.background[c]!, c * n, (c + 1) * n);
      for (let y = 0; y < ch; y++) {
        const src = c * cw * ch + y * cw;
        this.full.set(values.subarray(src, src + cw), c * n + (y + this.offset[1]) * fw + this.offset[0]);
      }
    }
    this.next.plane(gz, this.full);
    this.nextZ = gz + 1;
  }
  finish(): void {
    while (this.nextZ < this.fullDims[2]) this.emitBackground(this.nextZ++);
  }
}

/**
 * Writes engine-grid planes (activated channel values) into the scan grid: labels always, probabilities on request.
 * `toEngine` maps scan voxel indices to engine voxel indices (indexMap(scan, engine)).
 */
export class ScanWriter implements PlaneConsumer {
  readonly labels: Uint8Array | Uint16Array;
  readonly probabilities: Float32Array[] | undefined;
  private readonly channels: number;
  private readonly enginePlane: number;
  // General path state.
  private readonly pending: { k: number; zmin: number; zmax: number }[] = [];
  private readonly buffered = new Map<number, { values: Float32Array; labels: Uint16Array }>();
  private finalisedUpTo = 0;
  private readonly scratch: Float32Array;
  /**
   * Argmax labels from interpolated probabilities, where the 8 engine voxels around a scan voxel all have the same
   * label, are that label without interpolating: if every corner's channel c beats channel j (strictly for j < c, as
   * decide breaks ties towards the first channel), so does any weighted mean of the corners. Only for argmax rules
   * with one channel per label and when no probabilities are written; most voxels lie inside one structure, so this
   * skips most of the 8 × channels reads (found by profiling the slice-wise default model: this loop was the largest
   * part of the engine's own time).
   */
  private readonly uniformLabelShortcut: boolean;

  constructor(
    private readonly engineDims: Vec3i,
    private readonly scanDims: Vec3i,
    private readonly toEngine: IndexMap,
    private readonly rule: DecisionRule,
    private readonly resample: 'probabilities' | 'labels',
    wantProbabilities: boolean,
    private readonly background: Float32Array,
  ) {
    const n = scanDims[0] * scanDims[1] * scanDims[2];
    const maxLabel = Math.max(0, ...rule.channelLabels);
    this.labels = maxLabel > 255 ? new Uint16Array(n) : new Uint8Array(n);
    this.channels = rule.channelLabels.length;
    this.probabilities = wantProbabilities ? Array.from({ length: this.channels }, () => new Float32Array(n)) : undefined;
    this.enginePlane = engineDims[0] * engineDims[1];
    this.scratch = new Float32Array(this.channels);
    const argmax = rule.activation !== 'sigmoid' && this.channels > 1;
    this.uniformLabelShortcut = resample === 'probabilities' && !wantProbabilities && argmax && new Set(rule.channelLabels).size === this.channels;
    if (!toEngine.permutation) {
      // Each scan plane needs the engine planes between the extreme engine z of its corners.
      const [nx, ny, nz] = scanDims;
      const m = toEngine.m;
      for (let k = 0; k < nz; k++) {
        let zmin = Infinity;
        let zmax = -Infinity;
        for (const i of [0, nx - 1]) {
          for (const j of [0, ny - 1]) {
            const z = toEngine.b[2] + m[6]! * i + m[7]! * j + m[8]! * k;
            zmin = Math.min(zmin, z);
            zmax = Math.max(zmax, z);
          }
        }
        this.pending.push({ k, zmin: Math.floor(zmin), zmax: Math.ceil(zmax) });
      }
      this.pending.sort((a, b) => a.zmax - b.zmax);
    }
  }

  plane(z: number, values: Float32Array): void {
    if (this.toEngine.permutation) return this.scatter(z, values);
    const labels = new Uint16Array(this.enginePlane);
    for (let p = 0; p < this.enginePlane; p++) labels[p] = decide(values, p, this.enginePlane, this.rule);
    const keepValues = this.resample === 'probabilities' || this.probabilities !== undefined;
    this.buffered.set(z, { values: keepValues ? values.slice() : new Float32Array(0), labels });
    this.finalisedUpTo = z + 1;
    this.drain(false);
  }

  /** Call after the last engine plane. */
  finish(): void {
    if (!this.toEngine.permutation) this.drain(true);
  }

  /** Exact path: every engine voxel is one scan voxel. */
  private scatter(z: number, values: Float32Array): void {
    const perm = this.toEngine.permutation!;
    // engine[r] = offset[r] + sign[r] · scan[axis[r]]  ⇒  scan[axis[r]] = sign[r] · (engine[r] − offset[r]).
    const [nx, ny] = this.scanDims;
    const stride = [1, nx, nx * ny];
    const step = [0, 0, 0];
    let base = 0;
    for (let r = 0; r < 3; r++) {
      step[r] = perm.sign[r]! * stride[perm.axis[r]!]!;
      base -= perm.sign[r]! * perm.offset[r]! * stride[perm.axis[r]!]!;
    }
    const [ew, eh] = this.engineDims;
    const n = this.enginePlane;
    let p = 0;
    for (let y = 0; y < eh; y++) {
      let s = base + y * step[1]! + z * step[2]!;
      for (let x = 0; x < ew; x++, p++, s += step[0]!) {
        this.labels[s] = decide(values, p, n, this.rule);
        if (this.probabilities) for (let c = 0; c < this.channels; c++) this.probabilities[c]![s] = values[c * n + p]!;
      }
    }
  }

  private drain(all: boolean): void {
    const lastEngine = this.engineDims[2] - 1;
    while (this.pending.length) {
      const next = this.pending[0]!;
      const needUpTo = Math.min(next.zmax, lastEngine);
      if (!all && needUpTo >= this.finalisedUpTo) break;
      this.pending.shift();
      this.writeScanPlane(next.k);
    }
    const keepFrom = this.pending.length ? Math.min(...this.pending.map((p) => p.zmin)) : Infinity;
    for (const z of this.buffered.keys()) if (z < keepFrom) this.buffered.delete(z);
  }

  private writeScanPlane(k: number): void {
    const [nx, ny] = this.scanDims;
    const [ew, eh, ed] = this.engineDims;
    const m = this.toEngine.m;
    const b = this.toEngine.b;
    const n = this.enginePlane;
    const C = this.channels;
    const interpolate = this.resample === 'probabilities' || this.probabilities !== undefined;
    for (let j = 0; j < ny; j++) {
      let x = b[0] + m[1]! * j + m[2]! * k;
      let y = b[1] + m[4]! * j + m[5]! * k;
      let z = b[2] + m[7]! * j + m[8]! * k;
      for (let i = 0; i < nx; i++, x += m[0]!, y += m[3]!, z += m[6]!) {
        const s = i + j * nx + k * nx * ny;
        const outside = x < -0.5 || y < -0.5 || z < -0.5 || x > ew - 0.5 || y > eh - 0.5 || z > ed - 0.5;
        if (outside) {
          this.labels[s] = decide(this.background, 0, 1, this.rule);
          if (this.probabilities) for (let c = 0; c < C; c++) this.probabilities[c]![s] = this.background[c]!;
          continue;
        }
        const cx = Math.min(Math.max(x, 0), ew - 1);
        const cy = Math.min(Math.max(y, 0), eh - 1);
        const cz = Math.min(Math.max(z, 0), ed - 1);
        if (interpolate) {
          const x0 = Math.floor(cx);
          const y0 = Math.floor(cy);
          const z0 = Math.floor(cz);
          const x1 = Math.min(x0 + 1, ew - 1);
          const y1 = Math.min(y0 + 1, eh - 1);
          const fx = cx - x0;
          const fy = cy - y0;
          const fz = cz - z0;
          // On an exact plane the next one may not be finalised yet (and is not needed).
          const z1 = fz > 0 ? Math.min(z0 + 1, ed - 1) : z0;
          const b0 = this.buffered.get(z0)!;
          const b1 = this.buffered.get(z1)!;
          if (this.uniformLabelShortcut) {
            const l0 = b0.labels;
            const l1 = b1.labels;
            const q00 = y0 * ew + x0;
            const q01 = y0 * ew + x1;
            const q10 = y1 * ew + x0;
            const q11 = y1 * ew + x1;
            const l = l0[q00]!;
            if (l0[q01] === l && l0[q10] === l && l0[q11] === l && l1[q00] === l && l1[q01] === l && l1[q10] === l && l1[q11] === l) {
              this.labels[s] = l;
              continue;
            }
          }
          const p0 = b0.values;
          const p1 = b1.values;
          for (let c = 0; c < C; c++) {
            const o = c * n;
            const a00 = p0[o + y0 * ew + x0]! + fx * (p0[o + y0 * ew + x1]! - p0[o + y0 * ew + x0]!);
            const a10 = p0[o + y1 * ew + x0]! + fx * (p0[o + y1 * ew + x1]! - p0[o + y1 * ew + x0]!);
            const a01 = p1[o + y0 * ew + x0]! + fx * (p1[o + y0 * ew + x1]! - p1[o + y0 * ew + x0]!);
            const a11 = p1[o + y1 * ew + x0]! + fx * (p1[o + y1 * ew + x1]! - p1[o + y1 * ew + x0]!);
            const a0 = a00 + fy * (a10 - a00);
            const a1 = a01 + fy * (a11 - a01);
            this.scratch[c] = a0 + fz * (a1 - a0);
          }
          if (this.probabilities) for (let c = 0; c < C; c++) this.probabilities[c]![s] = this.scratch[c]!;
        }
        if (this.resample === 'probabilities') {
          this.labels[s] = decide(this.scratch, 0, 1, this.rule);
        } else {
          const plane = this.buffered.get(Math.round(cz))!.labels;
          this.labels[s] = plane[Math.round(cy) * ew + Math.round(cx)]!;
        }
      }
    }
  }
}
