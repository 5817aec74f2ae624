/**
 * The overlap-tile engine. Runs a network over a 3-D array on the engine grid (W fastest, then H, then D, i.e. the
 * tensor's spatial order), in 3-D patches, 2-D slices (with neighbour slices as channels) or all at once, and
 * streams finished planes to a consumer.
 *
 * Memory: weighted outputs are accumulated only in a slab (a ring of planes along D) as deep as the tiles still in
 * flight touch; a plane is finalised (divided by the summed weights, activated, argmax) as soon as no remaining tile
 * covers it, handed to the consumer and its slot reused. Nothing of size C × volume is ever allocated here.
 */
import { SegError } from '../errors.js';
import { blendingWeights, mirrorCombinations, padToAtLeast, padToMultiple, sourceIndex, windowStarts, type Blending, type PaddingMode, type WindowPlacement } from './tiling.js';

export type Vec3n = [number, number, number];

/** Runs one batch through the network. Input and output are NC + spatial, float32. */
export interface TensorRunner {
  run(input: Float32Array, shape: readonly number[]): Promise<{ data: Float32Array; dims: readonly number[] }>;
  /** Largest batch the model accepts (1 for a fixed batch dimension). */
  readonly maxBatch: number;
}

export interface EngineInput {
  /** One Float32Array per image channel, W fastest, dims [W, H, D]. */
  readonly channels: readonly Float32Array[];
  readonly dims: Vec3n;
}

export interface EngineSettings {
  mode: 'slice' | 'sliding-window' | 'whole';
  /** Output patch in tensor order [D, H, W]; slice mode: [1, H, W]; whole mode: ignored. */
  patch?: Vec3n | undefined;
  neighbourSlices: number;
  divisibleBy: Vec3n;
  placement: WindowPlacement;
  /** nnU-Net step or MONAI overlap. */
  fraction: number;
  blending: Blending;
  sigmaScale: number;
  padding: { mode: PaddingMode; value: number; margin: Vec3n };
  mirrorAxes: readonly number[];
  batchSize: number;
  outputChannels: number;
}

export interface EngineProgress {
  readonly stage: 'inference';
  readonly done: number;
  readonly total: number;
  readonly elapsedMs: number;
  readonly etaMs: number | undefined;
}

export interface CancelToken {
  readonly cancelled: boolean;
}

/** Receives finalised planes in increasing D order: blended raw outputs (C × H × W, channel-major). */
export interface PlaneConsumer {
  plane(z: number, values: Float32Array): void;
}

export interface EngineStats {
  tiles: number;
  runs: number;
  runMs: number;
  slabPlanes: number;
  tileStarts: [number[], number[], number[]];
  padBefore: Vec3n;
  padAfter: Vec3n;
}

/** The tiling plan: padding, tile starts (padded coordinates of the output patch), input context. */
export interface TilePlan {
  outPatch: Vec3n;
  inPatch: Vec3n;
  context: Vec3n;
  padBefore: Vec3n;
  padAfter: Vec3n;
  starts: [number[], number[], number[]];
}

export function planTiles(dims: Vec3n, s: EngineSettings): TilePlan {
  const [W, H, D] = dims;
  const size: Vec3n = [D, H, W];
  const margin = s.padding.margin;
  const padBefore: Vec3n = [0, 0, 0];
  const padAfter: Vec3n = [0, 0, 0];
  let outPatch: Vec3n;
  let context: Vec3n = [0, 0, 0];
  if (s.mode === 'whole') {
    for (let a = 0; a < 3; a++) {
      const withMargin = size[a]! + 2 * margin[a]!;
      const [b, e] = padToMultiple(withMargin, s.divisibleBy[a]!);
      padBefore[a] = margin[a]! + b;
      padAfter[a] = margin[a]! + e;
    }
    outPatch = [0, 1, 2].map((a) => size[a]! + padBefore[a]! + padAfter[a]!) as Vec3n;
    return { outPatch, inPatch: outPatch, context, padBefore, padAfter, starts: [[0], [0], [0]] };
  }
  if (s.mode === 'slice') {
    const inPlane = s.patch ? [s.patch[1], s.patch[2]] : undefined;
    outPatch = [1, 0, 0];
    for (const a of [1, 2]) {
      const withMargin = size[a]! + 2 * margin[a]!;
      const target = inPlane ? Math.max(withMargin, inPlane[a - 1]!) : Math.ceil(withMargin / s.divisibleBy[a]!) * s.divisibleBy[a]!;
      const [b, e] = padToAtLeast(withMargin, target);
      padBefore[a] = margin[a]! + b;
      padAfter[a] = margin[a]! + e;
      outPatch[a] = inPlane ? inPlane[a - 1]! : size[a]! + padBefore[a]! + padAfter[a]!;
    }
    context = [s.neighbourSlices, 0, 0];
    const starts: [number[], number[], number[]] = [
      Array.from({ length: D }, (_, z) => z),
      windowStarts(size[1]! + padBefore[1]! + padAfter[1]!, outPatch[1]!, s.fraction, s.placement),
      windowStarts(size[2]! + padBefore[2]! + padAfter[2]!, outPatch[2]!, s.fraction, s.placement),
    ];
    return { outPatch, inPatch: [1 + 2 * s.neighbourSlices, outPatch[1]!, outPatch[2]!], context, padBefore, padAfter, starts };
  }
  if (!s.patch) throw new RangeError('sliding-window mode needs a patch size');
  outPatch = [...s.patch];
  for (let a = 0; a < 3; a++) {
    const withMargin = size[a]! + 2 * margin[a]!;
    const [b, e] = padToAtLeast(withMargin, outPatch[a]!);
    padBefore[a] = margin[a]! + b;
    padAfter[a] = margin[a]! + e;
  }
  const starts = [0, 1, 2].map((a) => windowStarts(size[a]! + padBefore[a]! + padAfter[a]!, outPatch[a]!, s.fraction, s.placement)) as [number[], number[], number[]];
  return { outPatch, inPatch: outPatch, context, padBefore, padAfter, starts };
}

interface Tile {
  d: number;
  h: number;
  w: number;
}

/**
 * Runs the network over `input` and streams blended planes to `consumer`.
 * @throws SegError MODEL_MISMATCH when the network's output does not have the expected shape; CANCELLED.
 */
export async function runEngine(
  input: EngineInput,
  settings: EngineSettings,
  runner: TensorRunner,
  consumer: PlaneConsumer,
  hooks: { onProgress?: ((p: EngineProgress) => void) | undefined; cancel?: CancelToken | undefined } = {},
): Promise<EngineStats> {
  const [W, H, D] = input.dims;
  const plan = planTiles(input.dims, settings);
  const { outPatch, inPatch, context, padBefore } = plan;
  const [oD, oH, oW] = outPatch;
  const [iD, iH, iW] = inPatch;
  const cin = input.channels.length;
  const cout = settings.outputChannels;
  const spatialRank = settings.mode === 'slice' ? 2 : 3;
  const weights = settings.mode === 'whole' ? new Float32Array(oD * oH * oW).fill(1) : blendingWeights(outPatch, settings.blending, settings.placement, settings.sigmaScale);
  const tiles: Tile[] = [];
  for (const d of plan.starts[0]) for (const h of plan.starts[1]) for (const w of plan.starts[2]) tiles.push({ d, h, w });
  const batch = Math.max(1, Math.min(settings.batchSize, runner.maxBatch, tiles.length));
  const combos = [[] as number[], ...mirrorCombinations(settings.mirrorAxes)];
  // Batches of consecutive tiles. In 3-D a batch never spans two rows of D starts: that would deepen the slab by a
  // whole step (measured: 64 → 96 planes, +0.6 GB at 512×512×600). Slices are one plane apart, so they may.
  const batches: Tile[][] = [];
  for (const tile of tiles) {
    const last = batches[batches.length - 1];
    if (last && last.length < batch && (settings.mode === 'slice' || last[0]!.d === tile.d)) last.push(tile);
    else batches.push([tile]);
  }

  // Slab depth: the most planes any batch keeps unfinished at once (simulated on the plan).
  let slab = 1;
  for (const group of batches) {
    const firstUnfinished = group[0]!.d - padBefore[0];
    const end = Math.max(...group.map((x) => x.d - padBefore[0] + oD));
    slab = Math.max(slab, Math.min(end, D) - Math.max(firstUnfinished, 0));
  }
  slab = Math.min(Math.max(slab, 1), D);
  const plane = W * H;
  // Channel-last slab, [slot][y][x][c]: one tile row's C outputs land in one contiguous block instead of C rows a
  // plane apart (C pages per row), which made accumulate ~1.6× faster on the benchmark machine (docs/benchmarks.md).
  // finalise transposes each finished plane into the channel-major layout consumers expect.
  const acc = new Float32Array(slab * plane * cout);
  const planeOut = new Float32Array(cout * plane);
  const wsum = new Float32Array(slab * plane);
  const inverse = new Float64Array(plane);

  const tileIn = iD * iH * iW;
  const tileOut = oD * oH * oW;
  const inputBuf = new Float32Array(batch * cin * tileIn);
  const flipBuf = combos.length > 1 ? new Float32Array(batch * cin * tileIn) : undefined;
  const sumBuf = combos.length > 1 ? new Float32Array(batch * cout * tileOut) : undefined;
  const outFlipBuf = combos.length > 1 ? new Float32Array(batch * cout * tileOut) : undefined;
  const padMode = settings.padding.mode;
  const padValue = settings.padding.value;
  const stats: EngineStats = { tiles: tiles.length, runs: 0, runMs: 0, slabPlanes: slab, tileStarts: plan.starts, padBefore: plan.padBefore, padAfter: plan.padAfter };
  const started = performance.now();
  let finalisedUpTo = 0; // planes < this are done
  const totalSteps = tiles.length * combos.length;
  let doneSteps = 0;

  const fill = (tile: Tile, b: number): void => {
    const zIdx = axisIndices(tile.d - padBefore[0] - context[0], iD, D, padMode);
    const yIdx = axisIndices(tile.h - padBefore[1] - context[1], iH, H, padMode);
    const xIdx = axisIndices(tile.w - padBefore[2] - context[2], iW, W, padMode);
    // Interior tiles (no padding along x) copy whole rows.
    const x0 = xIdx[0]!;
    let xContiguous = x0 >= 0;
    for (let x = 1; x < iW && xContiguous; x++) xContiguous = xIdx[x] === x0 + x;
    for (let c = 0; c < cin; c++) {
      const src = input.channels[c]!;
      let o = (b * cin + c) * tileIn;
      for (let z = 0; z < iD; z++) {
        const sz = zIdx[z]!;
        for (let y = 0; y < iH; y++) {
          const sy = yIdx[y]!;
          if (sz < 0 || sy < 0) {
            inputBuf.fill(padValue, o, o + iW);
            o += iW;
            continue;
          }
          const row = sz * plane + sy * W;
          if (xContiguous) {
            for (let x = 0, sx = row + x0; x < iW; x++, o++, sx++) inputBuf[o] = src[sx]!;
            continue;
          }
          for (let x = 0; x < iW; x++, o++) {
            const sx = xIdx[x]!;
            inputBuf[o] = sx < 0 ? padValue : src[row + sx]!;
          }
        }
      }
    }
  };

  const checkCancel = (): void => {
    if (hooks.cancel?.cancelled) throw new SegError('CANCELLED', 'segmentation cancelled');
  };

  let nextTile = 0;
  for (const group of batches) {
    checkCancel();
    const n = group.length;
    group.forEach((tile, b) => fill(tile, b));
    const inShape = spatialRank === 3 ? [n, cin, iD, iH, iW] : [n, cin * iD, iH, iW];
    let out: Float32Array | undefined;
    for (const axes of combos) {
      checkCancel();
      let feed = inputBuf.subarray(0, n * cin * tileIn);
      if (axes.length) {
        flipInto(feed, flipBuf!.subarray(0, feed.length), n * cin, [iD, iH, iW], axes);
        feed = flipBuf!.subarray(0, feed.length);
      }
      const t = performance.now();
      const result = await runner.run(feed, inShape);
      stats.runMs += performance.now() - t;
      stats.runs++;
      checkOutput(result.dims, n, cout, spatialRank === 3 ? [oD, oH, oW] : [oH, oW]);
      let data = result.data;
      if (axes.length) {
        const back = outFlipBuf!.subarray(0, data.length);
        flipInto(data, back, n * cout, [oD, oH, oW], axes);
        data = back;
      }
      if (combos.length > 1) {
        const sum = sumBuf!.subarray(0, n * cout * tileOut);
        if (!out) {
          sum.set(data);
          out = sum;
        } else for (let i = 0; i < sum.length; i++) sum[i] = sum[i]! + data[i]!;
      } else out = data;
      doneSteps += n;
      const elapsedMs = performance.now() - started;
      hooks.onProgress?.({ stage: 'inference', done: doneSteps, total: totalSteps, elapsedMs, etaMs: doneSteps ? (elapsedMs / doneSteps) * (totalSteps - doneSteps) : undefined });
    }
    const scale = 1 / combos.length;
    group.forEach((tile, b) => accumulate(out!, b, tile, scale));
    // Planes no later tile covers are final.
    nextTile += n;
    const next = tiles[nextTile];
    const boundary = next ? Math.min(next.d - padBefore[0], D) : D;
    for (; finalisedUpTo < boundary; finalisedUpTo++) finalise(finalisedUpTo);
  }
  return stats;

  function accumulate(out: Float32Array, b: number, tile: Tile, scale: number): void {
    const z0 = tile.d - padBefore[0];
    const y0 = tile.h - padBefore[1];
    const x0 = tile.w - padBefore[2];
    for (let gz = Math.max(z0, 0); gz < Math.min(z0 + oD, D); gz++) {
      if (gz < finalisedUpTo) throw new Error(`internal: plane ${gz} received output after it was finalised`);
    }
    accumulateTile(acc, wsum, weights, out, b, cout, [oD, oH, oW], [W, H, D], [x0, y0, z0], slab, scale);
  }

  function finalise(z: number): void {
    const slot = z % slab;
    const values = acc.subarray(slot * plane * cout, (slot + 1) * plane * cout);
    const w = wsum.subarray(slot * plane, (slot + 1) * plane);
    for (let p = 0; p < plane; p++) inverse[p] = w[p]! > 0 ? 1 / w[p]! : 0;
    // Transpose in blocks of pixels that stay in cache, so both the reads and the writes are sequential runs.
    for (let p0 = 0; p0 < plane; p0 += 1024) {
      const p1 = Math.min(plane, p0 + 1024);
      for (let c = 0; c < cout; c++) {
        const o = c * plane;
        for (let p = p0, k = p0 * cout + c; p < p1; p++, k += cout) planeOut[o + p] = values[k]! * inverse[p]!;
      }
    }
    consumer.plane(z, planeOut);
    values.fill(0);
    w.fill(0);
  }
}

/** Source indices along one axis for a tile starting at `start` (unpadded coordinates), −1 for constant padding. */
function axisIndices(start: number, length: number, size: number, mode: PaddingMode): Int32Array {
  const out = new Int32Array(length);
  for (let i = 0; i < length; i++) out[i] = sourceIndex(start + i, size, mode);
  return out;
}

function checkOutput(dims: readonly number[], n: number, cout: number, spatial: readonly number[]): void {
  const expected = [n, cout, ...spatial];
  if (dims.length !== expected.length || dims.some((d, i) => d !== expected[i])) {
    throw new SegError(
      'MODEL_MISMATCH',
      `the model returned an output of shape [${dims.join(', ')}] for an input tile whose output should be [${expected.join(', ')}]; ` +
        `check the card's output.channels, mode and patch size against the model`,
    );
  }
}

/**
 * Flips `count` consecutive blocks of shape [D, H, W] (a batch × channel stack) along spatial axes (0 = D, 1 = H,
 * 2 = W) from `src` into `dst` (which may be a different buffer of the same length, or the same for out-of-place
 * use by the caller).
 */
export function flipInto(src: Float32Array, dst: Float32Array, count: number, shape: readonly number[], axes: readonly number[]): void {
  const [d, h, w] = shape as [number, number, number];
  const fd = axes.includes(0);
  const fh = axes.includes(1);
  const fw = axes.includes(2);
  const block = d * h * w;
  if (src === dst) throw new Error('flipInto needs distinct buffers');
  for (let n = 0; n < count; n++) {
    const base = n * block;
    for (let z = 0; z < d; z++) {
      const sz = fd ? d - 1 - z : z;
      for (let y = 0; y < h; y++) {
        const sy = fh ? h - 1 - y : y;
        const so = base + (sz * h + sy) * w;
        const o = base + (z * h + y) * w;
        if (fw) for (let x = 0; x < w; x++) dst[o + x] = src[so + w - 1 - x]!;
        else dst.set(src.subarray(so, so + w), o);
      }
    }
  }
}

/**
 * Adds weights × one tile's output (batch item b, channels-first [cout][oD][oH][oW]) into the channel-last slab ring
 * ([slot][y][x][cout]) and the weights into the weight ring ([slot][y][x]). A module-level function over plain
 * arguments so V8 keeps everything in registers. Per tile row, each channel's output row is read sequentially and
 * written with stride cout into one contiguous block of the slab.
 */
function accumulateTile(
  acc: Float32Array,
  wsum: Float32Array,
  weights: Float32Array,
  out: Float32Array,
  b: number,
  cout: number,
  [oD, oH, oW]: readonly number[],
  [W, H, D]: readonly number[],
  [x0, y0, z0]: readonly number[],
  slab: number,
  scale: number,
): void {
  const plane = W! * H!;
  const xa = Math.max(0, -x0!);
  const xb = Math.min(oW!, W! - x0!);
  const za = Math.max(0, -z0!);
  const zb = Math.min(oD!, D! - z0!);
  const ya = Math.max(0, -y0!);
  const yb = Math.min(oH!, H! - y0!);
  for (let z = za; z < zb; z++) {
    const slot = (z0! + z) % slab;
    for (let y = ya; y < yb; y++) {
      const wRow = (z * oH! + y) * oW!;
      const dst = slot * plane + (y0! + y) * W! + x0! - wRow;
      for (let x = wRow + xa, e = wRow + xb; x < e; x++) wsum[dst + x] = wsum[dst + x]! + weights[x]!;
    }
  }
  const tileOut = oD! * oH! * oW!;
  const outBase = b * cout * tileOut;
  for (let z = za; z < zb; z++) {
    const slotBase = ((z0! + z) % slab) * plane;
    for (let y = ya; y < yb; y++) {
      const wRow = (z * oH! + y) * oW!;
      const rowStart = (slotBase + (y0! + y) * W! + x0! + xa) * cout;
      for (let c = 0; c < cout; c++) {
        const src = outBase + c * tileOut;
        let k = rowStart + c;
        if (scale === 1) for (let x = wRow + xa, e = wRow + xb; x < e; x++, k += cout) acc[k] = acc[k]! + weights[x]! * out[src + x]!;
        else for (let x = wRow + xa, e = wRow + xb; x < e; x++, k += cout) acc[k] = acc[k]! + weights[x]! * out[src + x]! * scale;
      }
    }
  }
}
