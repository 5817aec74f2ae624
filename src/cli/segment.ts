/** `medseg segment`: a scan + a model card → <out>/labels.nii.gz (and optional probabilities), with progress. */
import { existsSync, promises as fsp } from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import cliProgress from 'cli-progress';
import { SegError } from '../errors.js';
import { loadScan, type LoadScanOptions } from '../io/load.js';
import { writeNifti } from '../io/nifti/write.js';
import { loadModelCard } from '../inference/card.js';
import type { SegmentProgress } from '../inference/pipeline.js';
import { segmentInWorker } from '../inference/run-in-worker.js';
import type { ProviderChoice } from '../inference/session.js';
import { voxelVolumeMm3 } from '../volume/geometry.js';

/** The bundled default model's card, relative to the package root (issue 4 ships the model). */
export const DEFAULT_CARD = 'models/default/default.card.json';

export interface SegmentCommandOptions extends LoadScanOptions {
  model?: string | undefined;
  out: string;
  provider?: ProviderChoice | undefined;
  threads?: number | undefined;
  batchSize?: number | undefined;
  tta?: boolean | undefined;
  probabilities?: boolean | undefined;
  /** Show a progress bar on stderr (only drawn when stderr is a terminal). */
  progress?: boolean | undefined;
  signal?: AbortSignal | undefined;
}

export interface SegmentSummary {
  labelsFile: string;
  /** stats.json and stats.csv when they were written. */
  statsFiles?: string[] | undefined;
  probabilityFiles: string[];
  model: { name: string; version: string; card: string };
  provider: string;
  dims: number[];
  structures: { value: number; name: string; voxels: number; volumeMl: number }[];
  timings: { loadMs: number; preprocessMs: number; inferenceMs: number; sessionRunMs: number; postprocessMs: number; writeMs: number; totalMs: number };
  tiles: number;
  warnings: string[];
}

export function defaultCardPath(): string {
  const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
  return path.join(root, DEFAULT_CARD);
}

export async function segmentCommand(inputs: string[], options: SegmentCommandOptions): Promise<SegmentSummary> {
  const t0 = performance.now();
  const cardFile = options.model ?? defaultCardPath();
  if (!options.model && !existsSync(cardFile)) {
    throw new SegError('FILE_NOT_FOUND', `no bundled default model in this installation (${cardFile}); pass --model <card.json>`);
  }
  const card = await loadModelCard(cardFile);
  const scan = await loadScan(inputs, options);
  const tLoad = performance.now();
  const bar = options.progress ? new cliProgress.SingleBar({ format: ' {stage} |{bar}| {percentage}% {value}/{total} ETA {eta_formatted}', hideCursor: true, clearOnComplete: true }, cliProgress.Presets.shades_classic) : undefined;
  let barStage = '';
  const onProgress = (p: SegmentProgress) => {
    if (!bar) return;
    if (p.stage !== barStage) {
      if (barStage) bar.stop();
      barStage = p.stage;
      bar.start(p.total, p.done, { stage: p.stage.padEnd(11) });
    } else bar.update(p.done, { stage: p.stage.padEnd(11) });
  };
  let result;
  try {
    result = await segmentInWorker(scan.volume, card.cardFile, {
      provider: options.provider,
      threads: options.threads,
      batchSize: options.batchSize,
      tta: options.tta,
      probabilities: options.probabilities,
      onProgress,
      signal: options.signal,
      transferImages: true,
    });
  } finally {
    bar?.stop();
  }
  const tSeg = performance.now();
  await fsp.mkdir(options.out, { recursive: true });
  const labelsFile = path.join(options.out, 'labels.nii.gz');
  await writeNifti(labelsFile, result.labels, { intentCode: 1002, description: `medseg ${card.name}`.slice(0, 79) });
  const probabilityFiles: string[] = [];
  if (result.probabilities) {
    const dir = path.join(options.out, 'probabilities');
    await fsp.mkdir(dir, { recursive: true });
    const names = new Map(card.labels.map((l) => [l.value, l.name]));
    const values = card.output.channelLabels ?? result.probabilities.map((_, c) => (card.output.activation === 'sigmoid' || card.output.channels === 1 ? c + 1 : c));
    for (const [c, p] of result.probabilities.entries()) {
      const value = values[c]!;
      const file = path.join(dir, `${c}-${safeName(names.get(value) ?? (value === 0 ? 'background' : `label-${value}`))}.nii.gz`);
      await writeNifti(file, p, { description: `medseg probability channel ${c}` });
      probabilityFiles.push(file);
    }
  }
  const tEnd = performance.now();
  const counts = new Map<number, number>();
  for (const v of result.labels.data) if (v) counts.set(v, (counts.get(v) ?? 0) + 1);
  const voxelMl = voxelVolumeMm3(result.labels) / 1000;
  return {
    labelsFile,
    probabilityFiles,
    model: { name: card.name, version: card.version, card: card.cardFile },
    provider: result.provider,
    dims: [...result.labels.dims],
    structures: card.labels.map((l) => ({ value: l.value, name: l.name, voxels: counts.get(l.value) ?? 0, volumeMl: +((counts.get(l.value) ?? 0) * voxelMl).toFixed(3) })),
    timings: {
      loadMs: Math.round(tLoad - t0),
      preprocessMs: Math.round(result.timings.preprocessMs),
      inferenceMs: Math.round(result.timings.inferenceMs),
      sessionRunMs: Math.round(result.timings.sessionRunMs),
      postprocessMs: Math.round(result.timings.postprocessMs),
      writeMs: Math.round(tEnd - tSeg),
      totalMs: Math.round(tEnd - t0),
    },
    tiles: result.engine.tiles,
    warnings: [...scan.warnings, ...result.warnings],
  };
}

function safeName(name: string): string {
  return name.replace(/[^A-Za-z0-9._-]+/g, '_').slice(0, 60);
}

export function renderSegmentSummary(s: SegmentSummary): string {
  const lines = [`wrote ${s.labelsFile} (${s.dims.join('×')}), model ${s.model.name} ${s.model.version}, provider ${s.provider}, ${s.tiles} tile(s), ${(s.timings.totalMs / 1000).toFixed(1)} s`];
  const width = Math.max(9, ...s.structures.map((x) => x.name.length));
  lines.push(`  ${'label'.padStart(5)}  ${'structure'.padEnd(width)}  ${'voxels'.padStart(10)}  ${'volume mL'.padStart(10)}`);
  for (const x of s.structures) lines.push(`  ${String(x.value).padStart(5)}  ${x.name.padEnd(width)}  ${String(x.voxels).padStart(10)}  ${x.volumeMl.toFixed(2).padStart(10)}`);
  for (const f of s.probabilityFiles) lines.push(`wrote ${f}`);
  for (const w of s.warnings) lines.push(`note: ${w}`);
  return lines.join('\n');
}
