/**
 * Held-out evaluation of a default model through medseg's own engine: phantoms the model never saw (seeds outside the
 * training range) are generated, segmented with the model card exactly as `medseg segment` does, and compared with
 * the phantom's exact truth: Dice per structure (on the scan grid), volume error against the analytic true volume
 * inside the field of view, and lesion detection (a true lesion counts as found when a predicted lesion component
 * overlaps it; predicted components that overlap no true lesion are false positives).
 *
 * Usage: npx tsx models/default/recipe/evaluate.ts --card models/default/default.card.json --seeds 5000-5019
 *          [--json out.json] [--markdown out.md]
 */
import { writeFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { loadModelCard, type ModelCard } from '../../../src/inference/card.js';
import { segmentVolume } from '../../../src/inference/pipeline.js';
import { evaluateLabels } from '../../../src/measure/evaluate.js';
import { generatePhantom } from '../../../src/phantom/generate.js';
import { connectedComponents } from '../../../src/postprocess/components.js';
import { lpsToIndex } from '../../../src/volume/geometry.js';
import type { LabelVolume, Vec3i } from '../../../src/volume/types.js';
import { isOblique, parseSeeds } from './seeds.js';

export const LESION_LABEL = 8;
/** Lesions at least this large (mm) count for the detection-sensitivity bar of the model report. */
export const DETECTION_MIN_DIAMETER_MM = 10;

export interface LesionOutcome {
  diameterMm: number;
  trueVolumeMl: number;
  detected: boolean;
  /** Predicted lesion voxels inside the true lesion. */
  overlapVoxels: number;
  trueVoxels: number;
}

export interface CaseResult {
  seed: number;
  oblique: boolean;
  dims: Vec3i;
  spacing: number[];
  phase: string;
  structures: { value: number; name: string; dice: number | null; predMl: number; trueMl: number; volumeErrorPercent: number | null }[];
  lesions: LesionOutcome[];
  falsePositiveLesions: number;
  /** Volume (mm³) of each false-positive lesion component, largest first: says whether a size filter would help. */
  falsePositiveVolumesMm3: number[];
  seconds: number;
}

/** Matches true lesions (components of the truth's lesion label, found from each lesion's centre) with predicted ones. */
export function lesionOutcomes(
  pred: LabelVolume,
  truth: LabelVolume,
  lesions: readonly { centerLps: readonly [number, number, number]; diameterMm: number; trueVolumeMl: number }[],
): { lesions: LesionOutcome[]; falsePositives: number; falsePositiveVolumesMm3: number[] } {
  const isLesion = (v: number) => v === LESION_LABEL;
  const t = connectedComponents(truth.data, truth.dims, isLesion, 26);
  const p = connectedComponents(pred.data, pred.dims, isLesion, 26);
  const [nx, ny, nz] = truth.dims;
  // Overlap of every predicted component with every true component (sparse: lesions are few).
  const overlap = new Map<number, Map<number, number>>();
  for (let v = 0; v < t.ids.length; v++) {
    const a = t.ids[v]!;
    const b = p.ids[v]!;
    if (a === 0 || b === 0) continue;
    let row = overlap.get(a);
    if (!row) overlap.set(a, (row = new Map()));
    row.set(b, (row.get(b) ?? 0) + 1);
  }
  const matchedPred = new Set<number>();
  for (const row of overlap.values()) for (const b of row.keys()) matchedPred.add(b);
  const outcomes = lesions.map((l) => {
    const [fi, fj, fk] = lpsToIndex(truth, [l.centerLps[0], l.centerLps[1], l.centerLps[2]]);
    const i = Math.round(fi);
    const j = Math.round(fj);
    const k = Math.round(fk);
    const id = i >= 0 && j >= 0 && k >= 0 && i < nx && j < ny && k < nz ? t.ids[i + nx * (j + ny * k)]! : 0;
    let over = 0;
    for (const n of overlap.get(id)?.values() ?? []) over += n;
    return { diameterMm: l.diameterMm, trueVolumeMl: l.trueVolumeMl, detected: id > 0 && over > 0, overlapVoxels: over, trueVoxels: id > 0 ? t.sizes[id]! : 0 };
  });
  const voxelMm3 = truth.spacing[0] * truth.spacing[1] * truth.spacing[2];
  const falsePositiveVolumesMm3: number[] = [];
  for (let id = 1; id < p.sizes.length; id++) if (!matchedPred.has(id)) falsePositiveVolumesMm3.push(p.sizes[id]! * voxelMm3);
  falsePositiveVolumesMm3.sort((a, b) => b - a);
  return { lesions: outcomes, falsePositives: falsePositiveVolumesMm3.length, falsePositiveVolumesMm3 };
}

export async function evaluateCase(card: ModelCard, seed: number, obliqueEvery = 4, threads?: number): Promise<CaseResult> {
  const t0 = performance.now();
  const oblique = isOblique(seed, obliqueEvery);
  const phantom = await generatePhantom({ seed, oblique });
  const result = await segmentVolume(phantom.ct, card, { threads });
  const ev = evaluateLabels(result.labels, phantom.labels, { labels: card.labels.map((l) => l.value) });
  const structures = card.labels.map((l) => {
    const e = ev.labels.find((x) => x.label === l.value);
    const truth = phantom.truth.labels.find((x) => x.value === l.value);
    const predMl = e?.predVolumeMl ?? 0;
    const trueMl = truth?.trueVolumeMl ?? 0;
    const dice = e && Number.isFinite(e.dice) ? e.dice : null;
    return { value: l.value, name: l.name, dice, predMl, trueMl, volumeErrorPercent: trueMl > 0 ? (100 * (predMl - trueMl)) / trueMl : null };
  });
  const lesions = lesionOutcomes(result.labels, phantom.labels, phantom.truth.lesions);
  return {
    seed,
    oblique,
    dims: phantom.ct.dims,
    spacing: [...phantom.ct.spacing],
    phase: phantom.truth.phase,
    structures,
    lesions: lesions.lesions,
    falsePositiveLesions: lesions.falsePositives,
    falsePositiveVolumesMm3: lesions.falsePositiveVolumesMm3,
    seconds: (performance.now() - t0) / 1000,
  };
}

export interface Summary {
  cases: number;
  structures: { name: string; meanDice: number; minDice: number; meanAbsVolumeErrorPercent: number; maxAbsVolumeErrorPercent: number }[];
  lesionSensitivity10mm: number;
  lesionsAtLeast10mm: number;
  lesionSensitivityAll: number;
  lesions: number;
  falsePositiveLesions: number;
  meanSeconds: number;
}

export function summarize(results: readonly CaseResult[]): Summary {
  const names = results[0]?.structures.map((s) => s.name) ?? [];
  const structures = names.map((name) => {
    const rows = results.map((r) => r.structures.find((s) => s.name === name)!);
    const dice = rows.map((r) => r.dice).filter((d): d is number => d !== null);
    const errs = rows.map((r) => r.volumeErrorPercent).filter((e): e is number => e !== null).map(Math.abs);
    return {
      name,
      meanDice: mean(dice),
      minDice: dice.length ? Math.min(...dice) : NaN,
      meanAbsVolumeErrorPercent: mean(errs),
      maxAbsVolumeErrorPercent: errs.length ? Math.max(...errs) : NaN,
    };
  });
  const all = results.flatMap((r) => r.lesions);
  const big = all.filter((l) => l.diameterMm >= DETECTION_MIN_DIAMETER_MM);
  return {
    cases: results.length,
    structures,
    lesionSensitivity10mm: big.filter((l) => l.detected).length / big.length,
    lesionsAtLeast10mm: big.length,
    lesionSensitivityAll: all.filter((l) => l.detected).length / all.length,
    lesions: all.length,
    falsePositiveLesions: results.reduce((s, r) => s + r.falsePositiveLesions, 0),
    meanSeconds: mean(results.map((r) => r.seconds)),
  };
}

function mean(v: readonly number[]): number {
  return v.length ? v.reduce((a, b) => a + b, 0) / v.length : NaN;
}

export function markdownTable(s: Summary): string {
  const f = (v: number, d = 3) => (Number.isFinite(v) ? v.toFixed(d) : '–');
  const lines = [
    '| structure | mean Dice | min Dice | mean abs. volume error (%) | max abs. volume error (%) |',
    '|---|---|---|---|---|',
    ...s.structures.map((r) => `| ${r.name} | ${f(r.meanDice)} | ${f(r.minDice)} | ${f(r.meanAbsVolumeErrorPercent, 2)} | ${f(r.maxAbsVolumeErrorPercent, 2)} |`),
    '',
    `Lesions ≥ ${DETECTION_MIN_DIAMETER_MM} mm: ${s.lesionsAtLeast10mm}, sensitivity ${f(s.lesionSensitivity10mm)}; all lesions: ${s.lesions}, sensitivity ${f(s.lesionSensitivityAll)}; false-positive lesion components: ${s.falsePositiveLesions} in ${s.cases} cases. Mean time per case (generate + segment + evaluate): ${f(s.meanSeconds, 1)} s.`,
  ];
  return lines.join('\n');
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { card: { type: 'string' }, seeds: { type: 'string' }, json: { type: 'string' }, markdown: { type: 'string' }, threads: { type: 'string' } } });
  if (!values.card || !values.seeds) throw new Error('usage: evaluate.ts --card <card.json> --seeds a-b [--json f] [--markdown f]');
  const card = await loadModelCard(values.card);
  const results: CaseResult[] = [];
  for (const seed of parseSeeds(values.seeds)) {
    const r = await evaluateCase(card, seed, 4, values.threads ? Number(values.threads) : undefined);
    results.push(r);
    const d = r.structures.map((s) => `${s.name} ${s.dice === null ? '–' : s.dice.toFixed(3)}`).join(', ');
    console.log(`seed ${seed}${r.oblique ? ' (oblique)' : ''}: ${d}; lesions ${r.lesions.filter((l) => l.detected).length}/${r.lesions.length}, FP ${r.falsePositiveLesions}, ${r.seconds.toFixed(1)} s`);
  }
  const summary = summarize(results);
  console.log(markdownTable(summary));
  if (values.json) await writeFile(values.json, JSON.stringify({ card: card.name, version: card.version, summary, results }, null, 1) + '\n');
  if (values.markdown) await writeFile(values.markdown, markdownTable(summary) + '\n');
}

if (import.meta.url === `file://${process.argv[1]}`) await main();
