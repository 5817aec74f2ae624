/**
 * Segmentation of a Volume with a model card: reorient/resample to the card's grid → normalise → crop → run (tiles,
 * slices or whole) → blend → un-crop → back to the scan grid (probabilities interpolated, or labels) → argmax →
 * postprocess. The result is a label Volume on exactly the scan's grid.
 */
import { SegError } from '../errors.js';
import { keepLargestComponent } from '../postprocess/components.js';
import { fillHoles } from '../postprocess/holes.js';
import { removeSmallIslands } from '../postprocess/islands.js';
import type { LabelVolume, Volume } from '../volume/types.js';
import { channelLabelValues, type ModelCard, type ModelCardSpec } from './card.js';
import { runEngine, type CancelToken, type EngineSettings, type EngineStats, type TensorRunner, type Vec3n } from './engine.js';
import { engineGrid, modelGrid } from './grid.js';
import { indexMap, type GridGeometry } from '../volume/index-map.js';
import { boundingBox, normalizeInPlace, percentiles } from './intensity.js';
import { Activation, backgroundVector, ScanWriter, Uncrop, type DecisionRule } from './output.js';
import { quantizeUint8, resampleScalar } from '../volume/resample.js';
import { openModelSession, type ProviderChoice } from './session.js';

export type SegmentStage = 'preprocess' | 'inference' | 'postprocess';

export interface SegmentProgress {
  stage: SegmentStage;
  /** Work units done and total within the stage (tiles × test-time passes during inference). */
  done: number;
  total: number;
  elapsedMs: number;
  etaMs?: number | undefined;
}

export interface SegmentOptions {
  provider?: ProviderChoice | undefined;
  threads?: number | undefined;
  /** Overrides the card's tiling.batchSize. */
  batchSize?: number | undefined;
  /** false disables the card's test-time mirroring (faster). */
  tta?: boolean | undefined;
  /** Also return per-channel probabilities on the scan grid (C float32 volumes: large). */
  probabilities?: boolean | undefined;
  onProgress?: ((p: SegmentProgress) => void) | undefined;
  cancel?: CancelToken | undefined;
}

export interface SegmentResult {
  labels: LabelVolume;
  probabilities?: Volume<Float32Array>[] | undefined;
  provider: string;
  warnings: string[];
  engine: EngineStats;
  /** The grid the network saw (W, H, D as i, j, k) and the crop inside it. */
  engineGrid: GridGeometry;
  crop: { offset: Vec3n; dims: Vec3n } | undefined;
  normalization: Record<string, number>;
  timings: { preprocessMs: number; inferenceMs: number; sessionRunMs: number; postprocessMs: number; totalMs: number };
}

/** Runs a card's model on a scan: opens an ONNX Runtime session, segments, releases the session. */
export async function segmentVolume(images: Volume | readonly Volume[], card: ModelCard, options: SegmentOptions = {}): Promise<SegmentResult> {
  const session = await openModelSession(card.modelFile, { input: card.input.name, output: card.output.name }, options);
  try {
    const result = await segmentWithRunner(images, card, session.runner, options);
    result.provider = session.provider;
    result.warnings.unshift(...session.fallbackReasons.map((r) => `${r}; ran on ${session.provider}`));
    return result;
  } finally {
    await session.release();
  }
}

/** The pipeline with any TensorRunner (the engine is independent of ONNX Runtime). */
export async function segmentWithRunner(
  images: Volume | readonly Volume[],
  card: ModelCardSpec,
  runner: TensorRunner,
  options: SegmentOptions = {},
): Promise<SegmentResult> {
  const t0 = performance.now();
  const list = Array.isArray(images) ? (images as readonly Volume[]) : [images as Volume];
  const scan = list[0]!;
  const warnings: string[] = [];
  const progress = (stage: SegmentStage, done: number, total: number, etaMs?: number) =>
    options.onProgress?.({ stage, done, total, elapsedMs: performance.now() - t0, etaMs });
  progress('preprocess', 0, list.length);
  const { scanGrid, engine, channels, crop, normalization } = prepareModelInput(list, card, warnings, (done) => progress('preprocess', done, list.length));
  const tPre = performance.now();

  // 4. Engine → activation → un-crop → scan grid.
  const rule: DecisionRule = { activation: card.output.activation, threshold: card.output.threshold, sigmoidRule: card.output.sigmoidRule, channelLabels: channelLabelValues(card) };
  const background = backgroundVector(rule);
  const writer = new ScanWriter(engine.dims, scan.dims, indexMap(scanGrid, engine), rule, card.output.resample, options.probabilities ?? false, background);
  const uncrop = crop ? new Uncrop(writer, engine.dims, crop.dims, crop.offset, background) : undefined;
  const engineDims = (crop ? crop.dims : [...engine.dims]) as Vec3n;
  // Softmax does not change the argmax: without a probability output, labels come straight from the blended logits
  // (and resampling interpolates logits, as nnU-Net does).
  const skipActivation = rule.activation === 'softmax' && !options.probabilities;
  const activation = skipActivation ? (uncrop ?? writer) : new Activation(uncrop ?? writer, rule, engineDims[0] * engineDims[1]);
  const settings = engineSettings(card, options);
  if (settings.batchSize > runner.maxBatch) {
    warnings.push(`the model's batch dimension is fixed to ${runner.maxBatch}; running ${runner.maxBatch} tile(s) per session run instead of ${settings.batchSize}`);
  }
  const stats = await runEngine({ channels, dims: engineDims }, settings, runner, activation, {
    cancel: options.cancel,
    onProgress: (p) => progress('inference', p.done, p.total, p.etaMs),
  });
  uncrop?.finish();
  writer.finish();
  const tInf = performance.now();

  // 5. Postprocess on the scan grid.
  progress('postprocess', 0, 1);
  const lc = card.postprocess.largestComponent;
  if (lc) keepLargestComponent(writer.labels, scan.dims, { labels: lc.labels, connectivity: lc.connectivity });
  const geometry = { dims: scan.dims, spacing: scan.spacing, origin: scan.origin, direction: scan.direction };
  const labels: LabelVolume = { ...geometry, data: writer.labels };
  for (const rule of [card.postprocess.removeIslands ?? []].flat()) {
    removeSmallIslands(labels, { minVolumeMm3: rule.minVolumeMm3, labels: rule.labels, connectivity: rule.connectivity });
  }
  if (card.postprocess.fillHoles) fillHoles(labels, { labels: card.postprocess.fillHoles.labels });
  const probabilities = writer.probabilities?.map((data) => ({ ...geometry, data }));
  const tEnd = performance.now();
  progress('postprocess', 1, 1);
  return {
    labels,
    probabilities,
    provider: 'custom',
    warnings,
    engine: stats,
    engineGrid: engine,
    crop,
    normalization,
    timings: { preprocessMs: tPre - t0, inferenceMs: tInf - tPre, sessionRunMs: stats.runMs, postprocessMs: tEnd - tInf, totalMs: tEnd - t0 },
  };
}

/** The network's input: the images on the engine grid, normalised and cropped, as the engine will tile them. */
export interface ModelInput {
  scanGrid: GridGeometry;
  /** The model grid in tensor axis order (W, H, D as i, j, k), before the crop. */
  engine: GridGeometry;
  /** One float32 volume per image channel on the (cropped) engine grid. */
  channels: Float32Array[];
  crop: SegmentResult['crop'];
  normalization: Record<string, number>;
}

/**
 * Steps 1–3 of the pipeline: the card's grid, resampling, normalisation and crop. Exported so that training recipes
 * prepare their data exactly as inference sees it (models/default/recipe/prepare-data.ts).
 */
export function prepareModelInput(list: readonly Volume[], card: ModelCardSpec, warnings: string[] = [], onChannel?: (done: number) => void): ModelInput {
  const scan = list[0]!;
  if (list.length !== card.input.channels) {
    throw new SegError('MODEL_MISMATCH', `the model "${card.name}" takes ${card.input.channels} image channel(s), but ${list.length} image(s) were given`);
  }

  // 1. Grids.
  const scanGrid: GridGeometry = { dims: scan.dims, spacing: scan.spacing, origin: scan.origin, direction: scan.direction };
  const model = modelGrid(scanGrid, {
    orientation: card.grid.orientation,
    orientationMode: card.grid.orientationMode,
    spacing: card.grid.spacing,
    size: card.grid.size,
  });
  const engine = engineGrid(model, card.input.axes);
  const pull = indexMap(engine, scanGrid); // scan index = M · engine index + b

  // 2. Channels on the engine grid.
  const fill = card.grid.quantize === 'uint8' ? 0 : 'border';
  let normalization: Record<string, number> = {};
  const channels: Float32Array[] = [];
  let nonzeroBox: ReturnType<typeof boundingBox>;
  for (const [c, image] of list.entries()) {
    if (c > 0 && !sameDims(image, scan)) throw new SegError('MODEL_MISMATCH', `image channel ${c} has dims [${image.dims.join(', ')}], channel 0 has [${scan.dims.join(', ')}]`);
    let src: ArrayLike<number> = image.data;
    if (card.grid.quantize === 'uint8' && !(image.data instanceof Uint8Array)) src = conformScale(image.data);
    if (card.normalizeBeforeResampling && card.normalization.type !== 'none') {
      const copy = Float32Array.from(src);
      normalization = normalizeInPlace(copy, card.normalization);
      src = copy;
    }
    const data = resampleScalar(src, image.dims, engine.dims, pull, { interpolation: card.grid.interpolation, fill });
    if (card.grid.quantize === 'uint8') quantizeUint8(data);
    if (c === 0 && card.crop?.type === 'nonzero') nonzeroBox = boundingBox(data, engine.dims, (v) => v !== 0);
    if (!card.normalizeBeforeResampling) normalization = normalizeInPlace(data, card.normalization);
    channels.push(data);
    onChannel?.(c + 1);
  }

  // 3. Crop.
  let crop: SegmentResult['crop'];
  if (card.crop) {
    let box = nonzeroBox;
    if (card.crop.type === 'threshold') {
      let max = -Infinity;
      for (const v of channels[0]!) if (v > max) max = v;
      const t = card.crop.fractionOfMax * max;
      box = boundingBox(channels[0]!, engine.dims, (v) => v > t);
    }
    if (!box) warnings.push(`crop (${card.crop.type}): no voxel qualifies; running on the whole grid`);
    else {
      const margin = card.crop.margin;
      const lo = box.lo.map((v) => Math.max(0, v - margin)) as Vec3n;
      const hi = box.hi.map((v, a) => Math.min(engine.dims[a]!, v + margin)) as Vec3n;
      crop = { offset: lo, dims: [hi[0] - lo[0], hi[1] - lo[1], hi[2] - lo[2]] };
      for (let c = 0; c < channels.length; c++) channels[c] = extractBox(channels[c]!, engine.dims, crop.offset, crop.dims);
    }
  }
  return { scanGrid, engine, channels, crop, normalization };
}

/** Engine settings from a card (tensor order [D, H, W]) and run options. */
export function engineSettings(card: ModelCardSpec, options: Pick<SegmentOptions, 'batchSize' | 'tta'> = {}): EngineSettings {
  const t = card.tiling;
  const div = card.input.divisibleBy;
  const margin = t.padding.margin;
  const patch = t.patch ? (t.patch.length === 3 ? ([...t.patch] as Vec3n) : ([1, t.patch[0], t.patch[1]] as Vec3n)) : undefined;
  return {
    mode: card.mode,
    patch,
    neighbourSlices: card.input.neighbourSlices,
    divisibleBy: (typeof div === 'number' ? [div, div, div] : [...div]) as Vec3n,
    placement: t.placement,
    fraction: t.placement === 'nnunet' ? (t.step ?? 0.5) : (t.overlap ?? 0.25),
    blending: t.blending,
    sigmaScale: t.sigmaScale,
    padding: { mode: t.padding.mode, value: t.padding.value, margin: (typeof margin === 'number' ? [margin, margin, margin] : [...margin]) as Vec3n },
    mirrorAxes: options.tta === false ? [] : t.mirrorAxes,
    batchSize: options.batchSize ?? t.batchSize,
    outputChannels: card.output.channels,
  };
}

function sameDims(a: Volume, b: Volume): boolean {
  return a.dims.every((d, i) => d === b.dims[i]);
}

/**
 * Conform's intensity mapping for non-uint8 inputs (FreeSurfer/brainchop): the nonzero voxels' 0th–99.9th percentile
 * range maps linearly to 0–255 (clamped).
 */
function conformScale(data: ArrayLike<number>): Float32Array {
  const [lo, hi] = percentiles(data, [0, 99.9], (v) => v !== 0) as [number, number];
  const out = new Float32Array(data.length);
  const scale = hi > lo ? 255 / (hi - lo) : 0;
  for (let i = 0; i < data.length; i++) {
    const v = (data[i]! - lo) * scale;
    out[i] = v < 0 ? 0 : v > 255 ? 255 : v;
  }
  return out;
}

export function extractBox(data: Float32Array, dims: readonly number[], offset: Vec3n, size: Vec3n): Float32Array {
  const [nx, ny] = dims as [number, number];
  const out = new Float32Array(size[0] * size[1] * size[2]);
  let o = 0;
  for (let z = 0; z < size[2]; z++)
    for (let y = 0; y < size[1]; y++, o += size[0]) {
      const s = offset[0] + (offset[1] + y) * nx + (offset[2] + z) * nx * ny;
      out.set(data.subarray(s, s + size[0]), o);
    }
  return out;
}
