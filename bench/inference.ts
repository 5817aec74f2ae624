/**
 * The inference benchmark section (`npm run bench -- inference`), and its child process
 * (`node --import tsx bench/inference.ts <mode> '<json>'`): every measurement runs in a fresh process, so its peak RSS
 * is its own.
 *
 * 1. Engine overhead. A synthetic 256×256×200 int16 CT (bench/io/generate.ts's `synthesizeCt`, deterministic) is
 *    segmented with fixtures/models/unet3d-small.onnx through `segmentWithRunner` (card: sliding-window, patch
 *    64³, nnU-Net placement step 0.5, Gaussian blending, CT normalisation, no resampling, 14 channels softmax), with
 *    batch size 1 and 2. Ratio = wall time of `segmentWithRunner` / the summed session.run time it measured itself
 *    (`timings.sessionRunMs`); target ≤ 1.10. In the same process and on the same session, a plain loop of
 *    session.run over as many random [batch,1,64,64,64] tensors as the engine made runs (half before the engine, half
 *    after, so drift hits both alike) shows that sessionRunMs is what ONNX Runtime costs.
 * 2. Peak memory. The engine's memory with a 512×512×300 and a 512×512×600 CT and 14 classes, 64³ tiles, isolated
 *    from the network's with fixtures/models/pointwise-3d-14.onnx (a 1×1×1 Conv 1 → 14: the same tensor shapes as
 *    the U-Net at almost no compute); target ≤ 2.5 GB peak RSS. The U-Net's own per-patch ONNX Runtime memory is
 *    measured separately (one 64³ run: peak RSS minus the peak before it).
 *
 * `--profile` adds a V8 CPU profile of the engine (the overhead volume and card with pointwise-3d-14, so that the profile
 * shows the engine's JavaScript rather than the U-Net's convolutions).
 *
 * MEDSEG_BENCH_INFERENCE=quick runs the same measurements on smaller volumes (128×128×96; 256×256×150/300) in ~1 min.
 * The section runs every measurement once (`--reps` is ignored: one overhead run is ~300 session runs).
 */
import { mkdirSync, readdirSync, rmSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as ort from 'onnxruntime-node';
import { parseModelCard, type ModelCardJson, type ModelCardSpec } from '../src/inference/card.js';
import { planTiles, type TensorRunner } from '../src/inference/engine.js';
import { engineSettings, segmentWithRunner } from '../src/inference/pipeline.js';
import { openModelSession } from '../src/inference/session.js';
import type { Volume } from '../src/volume/types.js';
import { makeVolume } from '../src/volume/volume.js';
import { synthesizeCt } from './io/generate.js';
import { summarizeCpuProfile, type ProfileEntry } from './lib/cpuprofile.js';
import { lastJsonLine, runTsChild, vmHwmKiB } from './lib/proc.js';
import { fmt, markdownTable, median } from './lib/stats.js';

const SELF = fileURLToPath(import.meta.url);
const MODELS = fileURLToPath(new URL('../fixtures/models/', import.meta.url));
const UNET = join(MODELS, 'unet3d-small.onnx');
const POINTWISE14 = join(MODELS, 'pointwise-3d-14.onnx');
const SEED = 20261120;
const PATCH = 64;
const CLASSES = 14;
const MB = 1e6;

// ---------------------------------------------------------------------------------------------------------------
// Shared by parent and child

/** The benchmark's model card: what an nnU-Net 3d_fullres CT model looks like, minus resampling. */
export function benchCard(model: 'unet' | 'pointwise14', batchSize: number): ModelCardSpec {
  const json: ModelCardJson = {
    name: `bench-${model}`,
    mode: 'sliding-window',
    input: { name: 'input', channels: 1, divisibleBy: model === 'unet' ? 8 : 1 },
    output: { name: model === 'unet' ? 'logits' : 'output', channels: CLASSES, activation: 'softmax' },
    // No grid.spacing / grid.orientation: the engine grid is the scan's (no resampling, an exact permutation copy).
    normalization: { type: 'ct', clip: [-958, 327], mean: 82.9, std: 136.9 },
    tiling: { patch: [PATCH, PATCH, PATCH], placement: 'nnunet', step: 0.5, blending: 'gaussian', batchSize },
    labels: Array.from({ length: CLASSES - 1 }, (_, n) => ({ value: n + 1, name: `class ${n + 1}` })),
  };
  return parseModelCard(json, `bench/inference.ts (${model})`);
}

interface VolumeSpec {
  dims: [number, number, number];
  /** mm; in-plane spacing chosen so that the field of view is ~358 mm (the generator's body is in mm). */
  spacing: [number, number, number];
}

function makeCt(v: VolumeSpec): Volume<Int16Array> {
  const [nx, ny, nz] = v.dims;
  const data = synthesizeCt({ nx, ny, nz, spacing: v.spacing, seed: SEED });
  return makeVolume({ data, dims: v.dims, spacing: v.spacing, origin: [0, 0, 0], direction: [1, 0, 0, 0, 1, 0, 0, 0, 1] });
}

/** Tiles and session runs the engine will make (the scan grid is the engine grid: W = i, H = j, D = k). */
function planOf(dims: [number, number, number], card: ModelCardSpec, batch: number): { tiles: number; runs: number } {
  const plan = planTiles(dims, engineSettings(card, { batchSize: batch }));
  const tiles = plan.starts[0].length * plan.starts[1].length * plan.starts[2].length;
  return { tiles, runs: Math.ceil(tiles / batch) };
}

// ---------------------------------------------------------------------------------------------------------------
// Child

type ChildMode = 'overhead' | 'memory' | 'patch';

interface OverheadArgs {
  volume: VolumeSpec;
  batch: number;
  /** Raw session.run loop length (0: none). */
  rawRuns: number;
}

export interface OverheadChildResult {
  mode: 'overhead';
  batch: number;
  generateMs: number;
  sessionOpenMs: number;
  raw: { runs: number; sumMs: number; perRunMs: number[] };
  engine: {
    wallMs: number;
    timings: { preprocessMs: number; inferenceMs: number; sessionRunMs: number; postprocessMs: number; totalMs: number };
    tiles: number;
    runs: number;
    slabPlanes: number;
    perRunMeanMs: number;
    /** Each runner.run call as seen from outside the engine (their sum ≈ sessionRunMs). */
    perRunMs: number[];
  };
  /** Voxels per label (sanity: the random U-Net must still produce a label map of the scan's size). */
  labelCounts: number[];
  maxRssKiB: number;
}

interface MemoryArgs {
  volume: VolumeSpec;
  batch: number;
  model: 'unet' | 'pointwise14';
}

export interface MemoryChildResult {
  mode: 'memory';
  /** Peak RSS (KiB) after imports and session creation, before the volume exists. */
  rssIdleKiB: number;
  /** Peak RSS after generating the int16 volume (≈ idle + volume). */
  rssWithVolumeKiB: number;
  /** Peak RSS of the whole process after segmentation. */
  rssPeakKiB: number;
  vmHwmKiB?: number | undefined;
  volumeBytes: number;
  tiles: number;
  runs: number;
  slabPlanes: number;
  timings: OverheadChildResult['engine']['timings'];
  wallMs: number;
  labelVoxels: number;
}

interface PatchArgs {
  model: 'unet' | 'pointwise14';
  batch: number;
}

export interface PatchChildResult {
  mode: 'patch';
  /** Peak RSS after imports, session creation and allocating the input (KiB). */
  rssBeforeKiB: number;
  /** Peak RSS after the first run (KiB). */
  rssFirstKiB: number;
  /** Peak RSS after three more runs (KiB). */
  rssAfter4KiB: number;
  firstRunMs: number;
  outputBytes: number;
}

function maxRssKiB(): number {
  return process.resourceUsage().maxRSS;
}


/** xorshift32 uniform in [-1, 1) into `buf`. */
function fillRandom(buf: Float32Array, state: { s: number }): void {
  let s = state.s;
  for (let n = 0; n < buf.length; n++) {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    buf[n] = (s >>> 0) / 2147483648 - 1;
  }
  state.s = s;
}

async function childOverhead(a: OverheadArgs): Promise<OverheadChildResult> {
  let t = performance.now();
  const volume = makeCt(a.volume);
  const generateMs = performance.now() - t;
  const card = benchCard('unet', a.batch);
  t = performance.now();
  const ms = await openModelSession(UNET, { input: card.input.name, output: card.output.name });
  const sessionOpenMs = performance.now() - t;
  const { session } = ms;
  const shape = [a.batch, 1, PATCH, PATCH, PATCH];
  const buf = new Float32Array(a.batch * PATCH ** 3);
  const rng = { s: SEED };
  const rawRun = async (): Promise<number> => {
    fillRandom(buf, rng);
    const feed = { [ms.inputName]: new ort.Tensor('float32', buf, shape) };
    const t0 = performance.now();
    await session.run(feed, [ms.outputName]);
    return performance.now() - t0;
  };
  // Warm-up, unrecorded: ONNX Runtime's first runs allocate its arena and pick kernels.
  for (let n = 0; n < 2; n++) await rawRun();
  const perRunMs: number[] = [];
  const half = Math.floor(a.rawRuns / 2);
  for (let n = 0; n < half; n++) perRunMs.push(await rawRun());
  // The engine's runner, wrapped to keep each call's time too (the engine only reports the sum).
  const enginePerRunMs: number[] = [];
  const runner: TensorRunner = {
    maxBatch: ms.runner.maxBatch,
    async run(input, shape) {
      const t0 = performance.now();
      const r = await ms.runner.run(input, shape);
      enginePerRunMs.push(performance.now() - t0);
      return r;
    },
  };
  t = performance.now();
  const result = await segmentWithRunner(volume, card, runner, { batchSize: a.batch });
  const wallMs = performance.now() - t;
  for (let n = half; n < a.rawRuns; n++) perRunMs.push(await rawRun());
  await ms.release();
  const labelCounts = new Array<number>(CLASSES).fill(0);
  for (const v of result.labels.data) labelCounts[v] = labelCounts[v]! + 1;
  return {
    mode: 'overhead',
    batch: a.batch,
    generateMs,
    sessionOpenMs,
    raw: { runs: perRunMs.length, sumMs: perRunMs.reduce((x, y) => x + y, 0), perRunMs: perRunMs.map((v) => Math.round(v * 100) / 100) },
    engine: {
      wallMs,
      timings: result.timings,
      tiles: result.engine.tiles,
      runs: result.engine.runs,
      slabPlanes: result.engine.slabPlanes,
      perRunMeanMs: result.engine.runMs / result.engine.runs,
      perRunMs: enginePerRunMs.map((v) => Math.round(v * 100) / 100),
    },
    labelCounts,
    maxRssKiB: maxRssKiB(),
  };
}

async function childMemory(a: MemoryArgs): Promise<MemoryChildResult> {
  const card = benchCard(a.model, a.batch);
  const ms = await openModelSession(a.model === 'unet' ? UNET : POINTWISE14, { input: card.input.name, output: card.output.name });
  const rssIdleKiB = maxRssKiB();
  const volume = makeCt(a.volume);
  const rssWithVolumeKiB = maxRssKiB();
  const t = performance.now();
  const result = await segmentWithRunner(volume, card, ms.runner, { batchSize: a.batch });
  const wallMs = performance.now() - t;
  const rssPeakKiB = maxRssKiB();
  const vmHwm = vmHwmKiB();
  await ms.release();
  return {
    mode: 'memory',
    rssIdleKiB,
    rssWithVolumeKiB,
    rssPeakKiB,
    vmHwmKiB: vmHwm,
    volumeBytes: volume.data.byteLength,
    tiles: result.engine.tiles,
    runs: result.engine.runs,
    slabPlanes: result.engine.slabPlanes,
    timings: result.timings,
    wallMs,
    labelVoxels: result.labels.data.length,
  };
}

async function childPatch(a: PatchArgs): Promise<PatchChildResult> {
  const card = benchCard(a.model, a.batch);
  const ms = await openModelSession(a.model === 'unet' ? UNET : POINTWISE14, { input: card.input.name, output: card.output.name });
  const buf = new Float32Array(a.batch * PATCH ** 3);
  const rng = { s: SEED };
  fillRandom(buf, rng);
  const shape = [a.batch, 1, PATCH, PATCH, PATCH];
  const rssBeforeKiB = maxRssKiB();
  const t = performance.now();
  let out = await ms.session.run({ [ms.inputName]: new ort.Tensor('float32', buf, shape) }, [ms.outputName]);
  const firstRunMs = performance.now() - t;
  const outputBytes = (out[ms.outputName]!.data as Float32Array).byteLength;
  const rssFirstKiB = maxRssKiB();
  for (let n = 0; n < 3; n++) {
    fillRandom(buf, rng);
    out = await ms.session.run({ [ms.inputName]: new ort.Tensor('float32', buf, shape) }, [ms.outputName]);
  }
  const rssAfter4KiB = maxRssKiB();
  await ms.release();
  return { mode: 'patch', rssBeforeKiB, rssFirstKiB, rssAfter4KiB, firstRunMs, outputBytes };
}

async function childMain(mode: ChildMode, json: string): Promise<void> {
  const args = JSON.parse(json) as unknown;
  let result: object;
  if (mode === 'overhead') result = await childOverhead(args as OverheadArgs);
  else if (mode === 'memory') result = await childMemory(args as MemoryArgs);
  else if (mode === 'patch') result = await childPatch(args as PatchArgs);
  else throw new Error(`unknown mode ${String(mode)}`);
  process.stdout.write(`${JSON.stringify(result)}\n`);
}

// ---------------------------------------------------------------------------------------------------------------
// Parent: the section

export interface InferenceSectionOptions {
  cacheDir: string;
  reps: number;
  regenerate: boolean;
  profile: boolean;
  log: (line: string) => void;
}

interface OverheadRow {
  batch: number;
  volume: VolumeSpec;
  child: OverheadChildResult;
  /** segmentWithRunner wall / its own summed session.run time (target ≤ 1.10). */
  ratio: number;
  /** (session open + segmentWithRunner) / sessionRunMs: what segmentVolume adds. */
  ratioWithOpen: number;
  /** Median session.run time inside the engine / in the plain loop (median of its quieter half). */
  runHonesty: number;
  engineRunMedianMs: number;
  plainRunMedianMs: number;
  /** segmentWithRunner wall / (plain run median × the engine's runs): the whole pipeline against bare ONNX Runtime. */
  ratioVsRaw: number;
  patchesPerS: number;
  voxelsPerS: number;
  /** Parts with > 5 % of runs slower than 1.25× their median: other load on the machine. */
  disturbed: string[];
  /** Wall − session.run time, split by pipeline stage (ms). */
  overheadMs: { total: number; preprocess: number; inLoop: number; postprocess: number };
}

interface MemoryRow {
  volume: VolumeSpec;
  child: MemoryChildResult;
  /** Bytes of the arrays the pipeline must hold whatever the engine does: int16 input, float32 engine-grid copy, uint8 labels. */
  volumeArrays: { inputInt16: number; engineFloat32: number; labelsUint8: number };
  /** Slab (acc + wsum) bytes from slabPlanes. */
  slabBytes: number;
  /** Peak − idle − the three volume-sized arrays (bytes): the engine's working memory plus ORT's. */
  residualBytes: number;
}

export interface InferenceResults {
  section: 'inference';
  quick: boolean;
  card: ModelCardSpec;
  overhead: OverheadRow[];
  memory: MemoryRow[];
  patch: { model: string; batch: number; child: PatchChildResult; firstRunDeltaMB: number; after4DeltaMB: number }[];
  targets: { target: string; measured: string; value: number; limit: number; pass: boolean }[];
  profile?: { totalMs: number; top: ProfileEntry[]; run: { tiles: number; wallMs: number; timings: MemoryChildResult['timings'] } } | undefined;
  profileTable?: string | undefined;
  overheadTable: string;
  memoryTable: string;
  patchTable: string;
  targetTable: string;
}

async function child<T>(mode: ChildMode, args: object, flags: string[] = []): Promise<T> {
  const r = await runTsChild(SELF, [mode, JSON.stringify(args)], flags);
  return lastJsonLine<T>(r, `inference child ${mode}`);
}

export async function runInferenceSection(o: InferenceSectionOptions): Promise<InferenceResults> {
  const log = o.log;
  const quick = process.env.MEDSEG_BENCH_INFERENCE === 'quick';
  const overheadVolume: VolumeSpec = quick ? { dims: [128, 128, 96], spacing: [2.8, 2.8, 2] } : { dims: [256, 256, 200], spacing: [1.4, 1.4, 1.5] };
  const memoryVolumes: VolumeSpec[] = quick
    ? [{ dims: [256, 256, 150], spacing: [1.4, 1.4, 1] }, { dims: [256, 256, 300], spacing: [1.4, 1.4, 1] }]
    : [{ dims: [512, 512, 300], spacing: [0.7, 0.7, 1] }, { dims: [512, 512, 600], spacing: [0.7, 0.7, 1] }];
  const card = benchCard('unet', 1);
  if (quick) log('MEDSEG_BENCH_INFERENCE=quick: smaller volumes than the issue asks for');

  // 1. Overhead, batch 1 and 2.
  const overhead: OverheadRow[] = [];
  for (const batch of [1, 2]) {
    const { tiles, runs } = planOf(overheadVolume.dims, card, batch);
    log(`overhead: ${overheadVolume.dims.join('×')} CT, unet3d-small, batch ${batch}: ${tiles} tiles in ${runs} runs, plus ${runs} plain session.run calls …`);
    const c = await child<OverheadChildResult>('overhead', { volume: overheadVolume, batch, rawRuns: runs } satisfies OverheadArgs);
    const e = c.engine;
    const rawMean = c.raw.sumMs / c.raw.runs;
    const engineRunMedianMs = median(e.perRunMs);
    // The plain loop runs half before and half after the engine; other load on the machine during one half shows as
    // a higher median there, so the quieter half's median is the undisturbed cost of a run.
    const h = Math.floor(c.raw.runs / 2);
    const plainHalves = [median(c.raw.perRunMs.slice(0, h)), median(c.raw.perRunMs.slice(h))];
    const plainRunMedianMs = Math.min(...plainHalves);
    const voxels = overheadVolume.dims[0] * overheadVolume.dims[1] * overheadVolume.dims[2];
    const row: OverheadRow = {
      batch,
      volume: overheadVolume,
      child: c,
      ratio: e.wallMs / e.timings.sessionRunMs,
      ratioWithOpen: (e.wallMs + c.sessionOpenMs) / e.timings.sessionRunMs,
      runHonesty: engineRunMedianMs / plainRunMedianMs,
      engineRunMedianMs,
      plainRunMedianMs,
      disturbed: [],
      ratioVsRaw: e.wallMs / (plainRunMedianMs * e.runs),
      patchesPerS: e.tiles / (e.wallMs / 1000),
      voxelsPerS: voxels / (e.wallMs / 1000),
      overheadMs: {
        total: e.wallMs - e.timings.sessionRunMs,
        preprocess: e.timings.preprocessMs,
        inLoop: e.timings.inferenceMs - e.timings.sessionRunMs,
        postprocess: e.timings.postprocessMs,
      },
    };
    overhead.push(row);
    // Other load on the machine shows as slow runs: flag it, since it inflates session.run more than the engine's
    // single-threaded work (ONNX Runtime uses every core). The ratio only depends on the engine's run; the plain loop
    // only on its median.
    const slowEngineRuns = e.perRunMs.filter((v) => v > 1.25 * engineRunMedianMs).length;
    const slowPlainRuns = c.raw.perRunMs.filter((v) => v > 1.25 * plainRunMedianMs).length;
    // Load that lasts through the whole engine run shows only against the plain loop: engine runs > 1.15× plain ones
    // (which would also be the sign of a dishonest sessionRunMs; either way the ratio cannot be trusted).
    const engineSlow = slowEngineRuns > 0.05 * e.runs || engineRunMedianMs > 1.15 * plainRunMedianMs;
    row.disturbed = [engineSlow && 'engine', slowPlainRuns > 0.05 * c.raw.runs && 'plain loop'].filter((x): x is string => !!x);
    if (row.disturbed.length) {
      log(
        `  WARNING: other load on the machine: ${slowEngineRuns} of ${e.runs} engine runs and ${slowPlainRuns} of ${c.raw.runs} plain runs > 1.25× their median, ` +
          `engine run median ${(engineRunMedianMs / plainRunMedianMs).toFixed(2)}× the plain one ` +
          `(plain-loop halves ${plainHalves.map((v) => v.toFixed(0)).join(' / ')} ms)${row.disturbed.includes('engine') ? '; the ratio is unreliable, rerun on a quiet machine' : ''}`,
      );
    }
    log(
      `  wall ${(e.wallMs / 1000).toFixed(1)} s, session.run ${(e.timings.sessionRunMs / 1000).toFixed(1)} s → ${row.ratio.toFixed(3)}×; ` +
        `run median ${engineRunMedianMs.toFixed(0)} ms in the engine vs ${plainRunMedianMs.toFixed(0)} ms plain (means ${e.perRunMeanMs.toFixed(0)} / ${rawMean.toFixed(0)}); overhead ${row.overheadMs.total.toFixed(0)} ms ` +
        `(preprocess ${row.overheadMs.preprocess.toFixed(0)}, in loop ${row.overheadMs.inLoop.toFixed(0)}, postprocess ${row.overheadMs.postprocess.toFixed(0)})`,
    );
  }

  // Optional CPU profile of where the engine's own time goes: the same volume, card and tiling with the pointwise
  // graph instead of the U-Net (so ONNX Runtime's share is small and the profile takes seconds, not minutes).
  let profile: InferenceResults['profile'];
  let profileTable: string | undefined;
  if (o.profile) {
    const pdir = join(o.cacheDir, 'profiles', 'inference-engine');
    rmSync(pdir, { recursive: true, force: true });
    mkdirSync(pdir, { recursive: true });
    log(`profile: ${overheadVolume.dims.join('×')} CT with pointwise-3d-14 under --cpu-prof (500 µs sampling) …`);
    const c = await child<MemoryChildResult>('memory', { volume: overheadVolume, batch: 1, model: 'pointwise14' } satisfies MemoryArgs, ['--cpu-prof', '--cpu-prof-dir', pdir, '--cpu-prof-interval', '500']);
    const file = readdirSync(pdir).find((f) => f.endsWith('.cpuprofile'));
    if (file) {
      const s = summarizeCpuProfile(join(pdir, file), 20);
      profile = { totalMs: s.totalMs, top: s.entries, run: { tiles: c.tiles, wallMs: c.wallMs, timings: c.timings } };
      log(`CPU profile (${join(pdir, file)}; self time, whole process incl. start-up and volume generation; segmentWithRunner ${(c.wallMs / 1000).toFixed(1)} s for ${c.tiles} tiles, session.run ${(c.timings.sessionRunMs / 1000).toFixed(1)} s):`);
      profileTable = markdownTable(['self ms', 'share', 'ms/tile', 'function', 'where'], s.entries.map((e) => [e.selfMs.toFixed(0), `${(e.share * 100).toFixed(1)}%`, (e.selfMs / c.tiles).toFixed(2), e.fn, e.where]), ['r', 'r', 'r', 'l', 'l']);
      log(profileTable);
    }
  }

  // 2. Memory: U-Net per patch, then the engine with the pointwise graph.
  const patch: InferenceResults['patch'] = [];
  for (const [model, batch] of [['unet', 1], ['unet', 2], ['pointwise14', 1]] as const) {
    const c = await child<PatchChildResult>('patch', { model, batch } satisfies PatchArgs);
    const row = { model, batch, child: c, firstRunDeltaMB: ((c.rssFirstKiB - c.rssBeforeKiB) * 1024) / MB, after4DeltaMB: ((c.rssAfter4KiB - c.rssBeforeKiB) * 1024) / MB };
    patch.push(row);
    log(`patch: ${model} [${batch},1,64,64,64]: peak RSS +${row.firstRunDeltaMB.toFixed(0)} MB after the first run, +${row.after4DeltaMB.toFixed(0)} MB after 4 (output ${(c.outputBytes / MB).toFixed(1)} MB)`);
  }
  const memory: MemoryRow[] = [];
  for (const volume of memoryVolumes) {
    log(`memory: ${volume.dims.join('×')} CT, pointwise-3d-14, batch 1 …`);
    const c = await child<MemoryChildResult>('memory', { volume, batch: 1, model: 'pointwise14' } satisfies MemoryArgs);
    const voxels = volume.dims[0] * volume.dims[1] * volume.dims[2];
    const plane = volume.dims[0] * volume.dims[1];
    const volumeArrays = { inputInt16: 2 * voxels, engineFloat32: 4 * voxels, labelsUint8: voxels };
    const slabBytes = c.slabPlanes * plane * 4 * (CLASSES + 1);
    const residualBytes = c.rssPeakKiB * 1024 - c.rssIdleKiB * 1024 - volumeArrays.inputInt16 - volumeArrays.engineFloat32 - volumeArrays.labelsUint8;
    memory.push({ volume, child: c, volumeArrays, slabBytes, residualBytes });
    log(`  peak RSS ${((c.rssPeakKiB * 1024) / MB).toFixed(0)} MB (idle ${((c.rssIdleKiB * 1024) / MB).toFixed(0)} MB, with volume ${((c.rssWithVolumeKiB * 1024) / MB).toFixed(0)} MB); slab ${c.slabPlanes} planes = ${(slabBytes / MB).toFixed(0)} MB; ${c.tiles} tiles in ${(c.wallMs / 1000).toFixed(1)} s`);
  }

  // Targets and tables.
  const targets: InferenceResults['targets'] = [];
  for (const r of overhead) {
    targets.push({
      target: `engine overhead ≤ 1.10× session.run (batch ${r.batch}): segmentWithRunner wall / timings.sessionRunMs`,
      measured: `${(r.child.engine.wallMs / 1000).toFixed(1)} / ${(r.child.engine.timings.sessionRunMs / 1000).toFixed(1)} s = ${r.ratio.toFixed(3)}×${r.disturbed.includes('engine') ? ' (disturbed by other load: unreliable)' : ''}`,
      value: r.ratio,
      limit: 1.1,
      pass: r.ratio <= 1.1,
    });
  }
  for (const m of memory) {
    const peak = m.child.rssPeakKiB * 1024;
    targets.push({
      target: `peak RSS ≤ 2.5 GB: ${m.volume.dims.join('×')} CT, ${CLASSES} classes, 64³ tiles (whole process)`,
      measured: `${(peak / MB).toFixed(0)} MB`,
      value: peak / 1e9,
      limit: 2.5,
      pass: peak <= 2.5e9,
    });
  }

  const overheadTable = markdownTable(
    ['batch', 'tiles', 'runs', 'wall s', 'session.run s', 'ratio', 'engine run ms (median)', 'plain run ms (median, quieter half)', 'engine/plain run', 'wall / plain-loop equiv.', 'patches/s', 'Mvoxels/s', 'preprocess ms', 'in-loop ms', 'slab planes'],
    overhead.map((r) => [
      r.disturbed.length ? `${r.batch} (${r.disturbed.join(', ')} disturbed)` : String(r.batch),
      String(r.child.engine.tiles),
      String(r.child.engine.runs),
      fmt(r.child.engine.wallMs / 1000, 1),
      fmt(r.child.engine.timings.sessionRunMs / 1000, 1),
      `${r.ratio.toFixed(3)}×`,
      fmt(r.engineRunMedianMs),
      fmt(r.plainRunMedianMs),
      `${r.runHonesty.toFixed(3)}×`,
      `${r.ratioVsRaw.toFixed(3)}×`,
      fmt(r.patchesPerS, 2),
      fmt(r.voxelsPerS / 1e6, 3),
      fmt(r.overheadMs.preprocess),
      fmt(r.overheadMs.inLoop),
      String(r.child.engine.slabPlanes),
    ]),
    ['r', 'r', 'r', 'r', 'r', 'r', 'r', 'r', 'r', 'r', 'r', 'r', 'r', 'r', 'r'],
  );
  const memoryTable = markdownTable(
    ['volume', 'tiles', 'slab planes', 'slab MB', 'input int16 MB', 'engine float32 copy MB', 'labels MB', 'idle RSS MB', 'peak RSS MB', 'peak − idle MB', 'residual MB', 'wall s', 'session.run s', 'engine ms/tile (wall − run)'],
    memory.map((m) => [
      m.volume.dims.join('×'),
      String(m.child.tiles),
      String(m.child.slabPlanes),
      fmt(m.slabBytes / MB),
      fmt(m.volumeArrays.inputInt16 / MB),
      fmt(m.volumeArrays.engineFloat32 / MB),
      fmt(m.volumeArrays.labelsUint8 / MB),
      fmt((m.child.rssIdleKiB * 1024) / MB),
      fmt((m.child.rssPeakKiB * 1024) / MB),
      fmt(((m.child.rssPeakKiB - m.child.rssIdleKiB) * 1024) / MB),
      fmt(m.residualBytes / MB),
      fmt(m.child.wallMs / 1000, 1),
      fmt(m.child.timings.sessionRunMs / 1000, 1),
      fmt((m.child.wallMs - m.child.timings.sessionRunMs) / m.child.tiles, 1),
    ]),
    ['l', 'r', 'r', 'r', 'r', 'r', 'r', 'r', 'r', 'r', 'r', 'r', 'r', 'r'],
  );
  const patchTable = markdownTable(
    ['model', 'input', 'output MB', 'first run ms', 'peak RSS before MB', 'Δ after 1st run MB', 'Δ after 4 runs MB'],
    patch.map((p) => [
      p.model === 'unet' ? 'unet3d-small' : 'pointwise-3d-14',
      `[${p.batch},1,64,64,64]`,
      fmt(p.child.outputBytes / MB, 1),
      fmt(p.child.firstRunMs),
      fmt((p.child.rssBeforeKiB * 1024) / MB),
      fmt(p.firstRunDeltaMB),
      fmt(p.after4DeltaMB),
    ]),
    ['l', 'l', 'r', 'r', 'r', 'r', 'r'],
  );
  const targetTable = markdownTable(['target', 'measured', 'result'], targets.map((t) => [t.target, t.measured, t.pass ? 'PASS' : 'MISS']));
  return { section: 'inference', quick, card, overhead, memory, patch, targets, profile, profileTable, overheadTable, memoryTable, patchTable, targetTable };
}

// Child entry point.
if (process.argv[1] && resolve(process.argv[1]) === SELF) {
  const [mode, json] = process.argv.slice(2) as [ChildMode, string];
  await childMain(mode, json ?? '{}');
}
