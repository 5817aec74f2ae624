/**
 * `medseg demo` (what `npm start` runs): segments the bundled phantom CT study (fixtures/demo/dicom) with the bundled
 * default model, exactly as `medseg segment` would, then sets the volumes next to the phantom's analytic true volumes
 * and the Dice against its exact label map, and says where to look next.
 */
import { promises as fsp } from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { SegError } from '../errors.js';
import { evaluateCommand } from './evaluate.js';
import { segmentCommand, type SegmentCommandOptions, type SegmentSummary } from './segment.js';

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
