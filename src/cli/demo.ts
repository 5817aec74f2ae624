/**
 * `medseg demo` (what `npm start` runs): segments the bundled phantom CT study (fixtures/demo/dicom) with the bundled
 * default model, exactly as `medseg segment` would, then sets the volumes next to the phantom's analytic true volumes
 * and the Dice against its exact label map, and says where to look next.
 */
import { existsSync, promises as fsp } from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { SegError } from '../errors.js';
import { evaluateCommand } from '../workflows/evaluate.js';
import { readModelCardSpec } from '../inference/card.js';
import type { DemoOptions } from '../server/demo.js';
import { defaultCardPath, segmentCommand, type SegmentCommandOptions, type SegmentSummary } from '../workflows/segment.js';
import { statsCommand } from '../workflows/stats.js';

/** The bundled demo study, relative to the package root. */
export const DEMO_STUDY = 'fixtures/demo';

export interface DemoRow {
  value: number;
  name: string;
  volumeMl: number;
  trueVolumeMl: number | null;
  errorPercent: number | null;
  dice: number | null;
}

export interface DemoSummary {
  study: string;
  segment: SegmentSummary;
  rows: DemoRow[];
}

export function packageRoot(): string {
  return path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
}

interface TruthFile {
  labels: { value: number; name: string; trueVolumeMl: number; truncated: boolean }[];
}

export async function demoCommand(options: Pick<SegmentCommandOptions, 'out' | 'model' | 'provider' | 'threads' | 'progress' | 'signal'> & { study?: string | undefined }): Promise<DemoSummary> {
  const study = options.study ?? path.join(packageRoot(), DEMO_STUDY);
  const truthFile = path.join(study, 'truth.json');
  let truth: TruthFile;
  try {
    truth = JSON.parse(await fsp.readFile(truthFile, 'utf8')) as TruthFile;
  } catch (e) {
    throw new SegError('FILE_NOT_FOUND', `the demo study's ground truth ${truthFile} could not be read (${(e as Error).message}); is this a complete medseg checkout?`);
  }
  const segment = await segmentCommand([path.join(study, 'dicom')], options);
  const evaluation = await evaluateCommand(segment.labelsFile, path.join(study, 'labels.nii.gz'), { labels: segment.structures.map((s) => s.value) });
  const rows = segment.structures.map((s) => {
    const t = truth.labels.find((l) => l.value === s.value);
    const e = evaluation.labels.find((l) => l.label === s.value);
    const trueVolumeMl = t ? t.trueVolumeMl : null;
    return {
      value: s.value,
      name: s.name,
      volumeMl: s.volumeMl,
      trueVolumeMl,
      errorPercent: trueVolumeMl ? (100 * (s.volumeMl - trueVolumeMl)) / trueVolumeMl : null,
      dice: e?.dice ?? null,
    };
  });
  return { study, segment, rows };
}

export function renderDemo(d: DemoSummary): string {
  const s = d.segment;
  const width = Math.max(9, ...d.rows.map((r) => r.name.length));
  const num = (v: number | null, digits: number, w: number) => (v === null ? '–' : v.toFixed(digits)).padStart(w);
  const lines = [
    `medseg demo: ${path.relative(process.cwd(), d.study) || d.study}/dicom (synthetic CT phantom, ${s.dims.join('×')}) with ${s.model.name} ${s.model.version}`,
    `segmented on ${s.provider} in ${(s.timings.totalMs / 1000).toFixed(1)} s (${s.tiles} tiles, ONNX Runtime ${(s.timings.sessionRunMs / 1000).toFixed(1)} s)`,
    '',
    `  ${'structure'.padEnd(width)}  ${'medseg mL'.padStart(10)}  ${'true mL'.padStart(10)}  ${'error %'.padStart(8)}  ${'Dice'.padStart(6)}`,
    ...d.rows.map((r) => `  ${r.name.padEnd(width)}  ${num(r.volumeMl, 1, 10)}  ${num(r.trueVolumeMl, 1, 10)}  ${num(r.errorPercent, 1, 8)}  ${num(r.dice, 3, 6)}`),
    '',
    '"true mL" is the phantom\'s analytic volume inside the field of view; Dice is against its exact label map.',
    `Output: ${s.labelsFile}${s.statsFiles?.length ? `, ${s.statsFiles.join(', ')}` : ''}`,
    'Next:',
    `  medseg stats ${s.labelsFile} --image ${path.relative(process.cwd(), path.join(d.study, 'ct.nii.gz'))} --model ${path.relative(process.cwd(), s.model.card)}`,
    `  medseg segment <your CT: DICOM folder or .nii.gz> --out <dir>     (the same default model)`,
    `  medseg phantom --seed 42 --out phantom42 --dicom                   (another phantom with ground truth)`,
    '  README.md explains model cards for your own ONNX models.',
  ];
  for (const w of s.warnings) lines.push(`note: ${w}`);
  return lines.join('\n');
}

/** Whether the card's ONNX file is installed (path as the card names it, relative to the card). */
export async function modelInstalled(cardFile: string): Promise<boolean> {
  const spec = await readModelCardSpec(cardFile);
  return existsSync(path.resolve(path.dirname(cardFile), spec.model ?? `${path.basename(cardFile).replace(/(\.card)?\.json$/i, '')}.onnx`));
}

export interface DemoTruthSummary {
  study: string;
  /** Why the ground truth is shown instead of a segmentation. */
  reason: string;
  out: string;
  model: { name: string; card: string };
  rows: Omit<DemoRow, 'dice'>[];
}

/**
 * The demo without a trained model: the phantom's exact label map measured as `medseg stats` does (into `out`, with a
 * copy of the labels), so the viewer and the volume table still work end to end, saying plainly that it is the truth.
 */
export async function demoTruthCommand(options: { out: string; reason: string; study?: string | undefined }): Promise<DemoTruthSummary> {
  const study = options.study ?? path.join(packageRoot(), DEMO_STUDY);
  const truth = JSON.parse(await fsp.readFile(path.join(study, 'truth.json'), 'utf8')) as TruthFile;
  const card = defaultCardPath();
  const labels = path.join(study, 'labels.nii.gz');
  const report = await statsCommand(labels, { image: path.join(study, 'dicom'), model: card, out: options.out });
  await fsp.copyFile(labels, path.join(options.out, 'labels.nii.gz'));
  const rows = report.structures.map((s) => {
    const t = truth.labels.find((l) => l.value === s.label);
    const trueVolumeMl = t ? t.trueVolumeMl : null;
    return { value: s.label, name: s.name, volumeMl: s.volumeMl, trueVolumeMl, errorPercent: trueVolumeMl ? (100 * (s.volumeMl - trueVolumeMl)) / trueVolumeMl : null };
  });
  return { study, reason: options.reason, out: options.out, model: { name: report.model?.name ?? path.basename(card), card }, rows };
}

export function renderDemoTruth(d: DemoTruthSummary): string {
  const width = Math.max(9, ...d.rows.map((r) => r.name.length));
  const num = (v: number | null, digits: number, w: number) => (v === null ? '–' : v.toFixed(digits)).padStart(w);
  return [
    `medseg demo: ${path.relative(process.cwd(), d.study) || d.study}/dicom (synthetic CT phantom): ${d.reason}`,
    'Showing the phantom\'s exact label map instead of a segmentation, measured as `medseg stats` measures any label map:',
    '',
    `  ${'structure'.padEnd(width)}  ${'voxel mL'.padStart(10)}  ${'true mL'.padStart(10)}  ${'error %'.padStart(8)}`,
    ...d.rows.map((r) => `  ${r.name.padEnd(width)}  ${num(r.volumeMl, 1, 10)}  ${num(r.trueVolumeMl, 1, 10)}  ${num(r.errorPercent, 1, 8)}`),
    '',
    '"voxel mL" counts the label map\'s voxels; "true mL" is the analytic volume (the difference is the voxelisation).',
    `Output: ${path.join(d.out, 'labels.nii.gz')}, ${path.join(d.out, 'stats.json')}, ${path.join(d.out, 'stats.csv')}`,
  ].join('\n');
}

/** The server's demo import for a finished demo (segmentation or truth) in `out`. */
export function demoServerOptions(study: string, out: string, modelName: string): DemoOptions {
  return { inputs: [path.join(study, 'dicom')], results: out, model: modelName };
}
