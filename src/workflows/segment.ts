/**
 * `medseg segment`: a scan + a model card → <out>/labels.nii.gz (and optional probabilities), per-structure statistics
 * (<out>/stats.json, <out>/stats.csv) and <out>/provenance.json, with progress. provenance.json is written last and
 * marks the output folder as finished (see provenance.ts).
 */
import { existsSync, promises as fsp } from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import cliProgress from 'cli-progress';
import { SegError } from '../errors.js';
import { loadScan, type LoadedScan, type LoadScanOptions } from '../io/load.js';
import { writeNifti } from '../io/nifti/write.js';
import { channelLabelValues, loadModelCard, ModelCardError, type ModelCard } from '../inference/card.js';
import type { SegmentProgress, SegmentResult } from '../inference/pipeline.js';
import { segmentInWorker } from '../inference/run-in-worker.js';
import type { ProviderChoice } from '../inference/session.js';
import { labelStatistics, lesionLabelsFromMetadata } from '../measure/stats.js';
import type { Volume } from '../volume/types.js';
import { describeInput, describeOutputs, removeProvenance, scanSourceFiles, sha256File, sha256Files, softwareVersions, writeProvenance, type Provenance } from './provenance.js';
import { buildStatsReport, writeStatsFiles } from './stats.js';

/** The bundled default model's card, relative to the package root (issue 4 ships the model). */
export const DEFAULT_CARD = 'models/default/default.card.json';

/** A loaded card with the SHA-256 of the card and of its ONNX file (computed once per batch). */
export interface PreparedModel {
  card: ModelCard;
  cardSha256: string;
  onnxSha256: string;
}

export interface SegmentCommandOptions extends LoadScanOptions {
  model?: string | undefined;
  /** A model already loaded and hashed by prepareSegmentModel (takes precedence over `model`). */
  prepared?: PreparedModel | undefined;
  out: string;
  provider?: ProviderChoice | undefined;
  threads?: number | undefined;
  batchSize?: number | undefined;
  tta?: boolean | undefined;
  probabilities?: boolean | undefined;
  /** Show a progress bar on stderr (only drawn when stderr is a terminal). */
  progress?: boolean | undefined;
  /** Called with the inference worker's progress (the server reports it as job progress). */
  onProgress?: ((p: SegmentProgress) => void) | undefined;
  signal?: AbortSignal | undefined;
  /** Called with the loaded scan before inference (`medseg pacs` writes its SEG against the DICOM source it holds). */
  onLoaded?: ((scan: LoadedScan) => void) | undefined;
}

export interface SegmentSummary {
  labelsFile: string;
  /** stats.json and stats.csv when they were written. */
  statsFiles?: string[] | undefined;
  /** provenance.json: written last; its presence marks a finished output folder. */
  provenanceFile?: string | undefined;
  probabilityFiles: string[];
  model: { name: string; version: string; card: string };
  provider: string;
  dims: number[];
  /** The card's labels: voxels and volume (mL, 6 decimals, as in stats.json). */
  structures: { value: number; name: string; voxels: number; volumeMl: number }[];
  timings: { loadMs: number; preprocessMs: number; inferenceMs: number; sessionRunMs: number; postprocessMs: number; statsMs: number; writeMs: number; totalMs: number };
  tiles: number;
  warnings: string[];
}

export function defaultCardPath(): string {
  const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
  return path.join(root, DEFAULT_CARD);
}

/**
 * Loads a card (the bundled default without `model`) and hashes it and its ONNX file.
 * @throws SegError FILE_NOT_FOUND without a bundled default model; card errors as loadModelCard.
 */
export async function prepareSegmentModel(model: string | undefined): Promise<PreparedModel> {
  const cardFile = model ?? defaultCardPath();
  if (!model && !existsSync(cardFile)) {
    throw new SegError('FILE_NOT_FOUND', `no bundled default model in this installation (${cardFile}); pass --model <card.json>`);
  }
  let card;
  try {
    card = await loadModelCard(cardFile);
  } catch (e) {
    // The bundled card ships before its trained ONNX file: say so instead of calling the card invalid.
    if (model || !(e instanceof ModelCardError) || !e.problems.some((p) => p.startsWith('model:'))) throw e;
    throw new SegError('FILE_NOT_FOUND', `the bundled default model has not been trained into this installation yet (${e.problems.join('; ')}; its recipe: models/default/recipe/README.md); pass --model <card.json>`, { cause: e });
  }
  try {
    const [cardSha256, onnxSha256] = await Promise.all([sha256File(card.cardFile), sha256File(card.modelFile)]);
    return { card, cardSha256, onnxSha256 };
  } catch (cause) {
    throw new SegError('MODEL_LOAD_FAILED', `${card.cardFile}: the card or its ONNX file ${card.modelFile} could not be read for hashing (${(cause as Error).message})`, { cause });
  }
}

/**
 * Segments one scan and writes, in this order: labels.nii.gz, probabilities/ (with `probabilities`), stats.json,
 * stats.csv, provenance.json. A provenance.json left by an earlier run is deleted before the first write, so a folder
 * with one is always complete.
 * @throws SegError by class (input, model, write, cancelled), as the CLI maps them to exit codes.
 */
export async function segmentCommand(inputs: string[], options: SegmentCommandOptions): Promise<SegmentSummary> {
  const startedAt = new Date();
  const t0 = performance.now();
  const model = options.prepared ?? (await prepareSegmentModel(options.model));
  const { card } = model;
  const scan = await loadScan(inputs, options);
  options.onLoaded?.(scan);
  const tLoad = performance.now();
  // Hash the input files while the worker runs (they were just read, so this is mostly the page cache).
  const inputHash = scanSourceFiles(scan, inputs).then(async (files) => ({ files, sha256: await sha256Files(files) }));
  inputHash.catch(() => undefined);
  const bar = options.progress ? new cliProgress.SingleBar({ format: ' {stage} |{bar}| {percentage}% {value}/{total} ETA {eta_formatted}', hideCursor: true, clearOnComplete: true }, cliProgress.Presets.shades_classic) : undefined;
  let barStage = '';
  const onProgress = (p: SegmentProgress) => {
    options.onProgress?.(p);
    if (!bar) return;
    if (p.stage !== barStage) {
      if (barStage) bar.stop();
      barStage = p.stage;
      bar.start(p.total, p.done, { stage: p.stage.padEnd(11) });
    } else bar.update(p.done, { stage: p.stage.padEnd(11) });
  };
  let result: SegmentResult;
  try {
    // The scan is copied to the worker, not transferred: the statistics read its intensities afterwards.
    result = await segmentInWorker(scan.volume, card.cardFile, {
      provider: options.provider,
      threads: options.threads,
      batchSize: options.batchSize,
      tta: options.tta,
      probabilities: options.probabilities,
      onProgress,
      signal: options.signal,
      transferImages: false,
    });
  } finally {
    bar?.stop();
  }
  const tSeg = performance.now();

  // Statistics on the postprocessed label map, with the scan's intensities and the soft volumes when computed.
  const out = options.out;
  const labelsFile = path.join(out, 'labels.nii.gz');
  const inputName = inputs.join(', ');
  const channelValues = channelLabelValues(card);
  const probabilityByLabel = result.probabilities
    ? new Map(result.probabilities.flatMap((p, c): [number, Volume][] => (channelValues[c] ? [[channelValues[c], p]] : [])))
    : undefined;
  const statistics = labelStatistics(result.labels, {
    names: new Map(card.labels.map((l) => [l.value, l.name])),
    lesionLabels: lesionLabelsFromMetadata(card.labels),
    image: scan.volume,
    imageName: inputName,
    probabilities: probabilityByLabel,
    name: labelsFile,
  });
  const tStats = performance.now();
  const warnings = [...scan.warnings, ...result.warnings];
  const report = buildStatsReport(statistics, {
    labels: labelsFile,
    image: inputName,
    model: { name: card.name, version: card.version, card: card.cardFile },
    warnings,
    timings: { loadMs: Math.round(tLoad - t0), postprocessMs: Math.round(result.timings.postprocessMs), statsMs: Math.round(tStats - tSeg) },
  });

  // Outputs: provenance.json goes last.
  try {
    await fsp.mkdir(out, { recursive: true });
  } catch (cause) {
    throw new SegError('WRITE_FAILED', `${out}: cannot create the output folder (${(cause as Error).message})`, { cause });
  }
  await removeProvenance(out);
  await writeNifti(labelsFile, result.labels, { intentCode: 1002, description: `medseg ${card.name}`.slice(0, 79) });
  const probabilityFiles: string[] = [];
  if (result.probabilities) {
    const dir = path.join(out, 'probabilities');
    await fsp.mkdir(dir, { recursive: true });
    const names = new Map(card.labels.map((l) => [l.value, l.name]));
    for (const [c, p] of result.probabilities.entries()) {
      const value = channelValues[c]!;
      const file = path.join(dir, `${c}-${safeName(names.get(value) ?? (value === 0 ? 'background' : `label-${value}`))}.nii.gz`);
      await writeNifti(file, p, { description: `medseg probability channel ${c}` });
      probabilityFiles.push(file);
    }
  }
  report.files.push(labelsFile, ...probabilityFiles, path.join(out, 'stats.json'), path.join(out, 'stats.csv'));
  const statsFiles = await writeStatsFiles(out, report);
  let input: { files: string[]; sha256: string };
  try {
    input = await inputHash;
  } catch (cause) {
    throw new SegError('FILE_NOT_FOUND', `${inputName}: the input files could not be read again for their SHA-256 (${(cause as Error).message}); were they moved during the run?`, { cause });
  }
  const outputs = await describeOutputs(out, [labelsFile, ...probabilityFiles, ...statsFiles]);
  const tWrite = performance.now();
  const timings: SegmentSummary['timings'] = {
    loadMs: Math.round(tLoad - t0),
    preprocessMs: Math.round(result.timings.preprocessMs),
    inferenceMs: Math.round(result.timings.inferenceMs),
    sessionRunMs: Math.round(result.timings.sessionRunMs),
    postprocessMs: Math.round(result.timings.postprocessMs),
    statsMs: Math.round(tStats - tSeg),
    writeMs: Math.round(tWrite - tStats),
    totalMs: Math.round(tWrite - t0),
  };
  const provenance: Provenance = {
    schemaVersion: 1,
    status: 'complete',
    startedAt: startedAt.toISOString(),
    finishedAt: new Date().toISOString(),
    input: describeInput(scan, inputs, input.files, input.sha256),
    model: { name: card.name, version: card.version, card: card.cardFile, cardSha256: model.cardSha256, onnx: card.modelFile, onnxSha256: model.onnxSha256 },
    software: await softwareVersions(),
    parameters: {
      provider: { asked: options.provider ?? 'cpu', used: result.provider },
      threads: options.threads ?? null,
      batchSize: { asked: options.batchSize ?? null, used: usedBatchSize(options.batchSize ?? card.tiling.batchSize, result.warnings) },
      tta: { asked: options.tta !== false, used: options.tta !== false && card.tiling.mirrorAxes.length > 0, mirrorAxes: options.tta === false ? [] : [...card.tiling.mirrorAxes] },
      probabilities: options.probabilities ?? false,
      seriesId: options.seriesId ?? null,
      allowNonUniform: options.allowNonUniform ?? false,
      postprocess: card.postprocess,
    },
    timingsMs: {
      load: timings.loadMs,
      preprocess: timings.preprocessMs,
      inference: timings.inferenceMs,
      sessionRun: timings.sessionRunMs,
      postprocess: timings.postprocessMs,
      stats: timings.statsMs,
      write: timings.writeMs,
      total: timings.totalMs,
    },
    outputs,
    warnings,
  };
  const provenanceFile = await writeProvenance(out, provenance);
  const byLabel = new Map(report.structures.map((s) => [s.label, s]));
  return {
    labelsFile,
    statsFiles,
    provenanceFile,
    probabilityFiles,
    model: { name: card.name, version: card.version, card: card.cardFile },
    provider: result.provider,
    dims: [...result.labels.dims],
    structures: card.labels.map((l) => ({ value: l.value, name: l.name, voxels: byLabel.get(l.value)?.voxels ?? 0, volumeMl: byLabel.get(l.value)?.volumeMl ?? 0 })),
    timings,
    tiles: result.engine.tiles,
    warnings,
  };
}

/** The pipeline runs fewer tiles per session run than asked when the model's batch dimension is fixed (it warns). */
function usedBatchSize(asked: number, warnings: readonly string[]): number {
  for (const w of warnings) {
    const m = /batch dimension is fixed to (\d+)/.exec(w);
    if (m) return Math.min(asked, Number(m[1]));
  }
  return asked;
}

function safeName(name: string): string {
  return name.replace(/[^A-Za-z0-9._-]+/g, '_').slice(0, 60);
}

export function renderSegmentSummary(s: SegmentSummary): string {
  const lines = [`wrote ${s.labelsFile} (${s.dims.join('×')}), model ${s.model.name} ${s.model.version}, provider ${s.provider}, ${s.tiles} tile(s), ${(s.timings.totalMs / 1000).toFixed(1)} s`];
  const width = Math.max(9, ...s.structures.map((x) => x.name.length));
  lines.push(`  ${'label'.padStart(5)}  ${'structure'.padEnd(width)}  ${'voxels'.padStart(10)}  ${'volume mL'.padStart(10)}`);
  for (const x of s.structures) lines.push(`  ${String(x.value).padStart(5)}  ${x.name.padEnd(width)}  ${String(x.voxels).padStart(10)}  ${x.volumeMl.toFixed(2).padStart(10)}`);
  for (const f of [...s.probabilityFiles, ...(s.statsFiles ?? []), ...(s.provenanceFile ? [s.provenanceFile] : [])]) lines.push(`wrote ${f}`);
  for (const w of s.warnings) lines.push(`note: ${w}`);
  return lines.join('\n');
}
