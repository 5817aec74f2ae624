/** `medseg evaluate <pred> <reference>`: per-label Dice, IoU, HD95, ASSD and volumes of a prediction vs a reference. */
import { SegError } from '../errors.js';
import { loadScan, type LoadScanOptions } from '../io/load.js';
import { evaluateLabels, type EmptyMask, type LabelEvaluation } from '../measure/evaluate.js';
import type { LabelVolume, Volume } from '../volume/types.js';

export interface EvaluateCommandOptions extends LoadScanOptions {
  /** Labels to report (default: every non-zero label in either map). */
  labels?: number[] | undefined;
  /** Hausdorff percentile (default 95). */
  percentile?: number | undefined;
}

/** One label's metrics; NaN and Infinity (which JSON cannot hold) become null, and `empty` says why. */
export interface LabelReport {
  label: number;
  /** Which mask has no voxel: 'prediction' or 'reference' → distances are infinite (null); 'both' → undefined. */
  empty: EmptyMask;
  dice: number | null;
  iou: number | null;
  hdPercentileMm: number | null;
  hdMaxMm: number | null;
  assdMm: number | null;
  predVolumeMl: number;
  refVolumeMl: number;
  volumeDifferenceMl: number;
  volumeDifferencePercent: number | null;
  predVoxels: number;
  refVoxels: number;
  intersectionVoxels: number;
  predSurfaceVoxels: number;
  refSurfaceVoxels: number;
}

export interface EvaluationReport {
  prediction: string;
  reference: string;
  percentile: number;
  /** The reference grid, on which everything was measured. */
  grid: { dims: number[]; spacing: number[]; origin: number[]; direction: number[]; voxelVolumeMm3: number };
  resampled: boolean;
  distanceMethod: 'edt' | 'kd-tree';
  labels: LabelReport[];
  notes: string[];
  warnings: string[];
  timings: { loadMs: number; evaluateMs: number };
}

/**
 * Loads both label maps, checks they hold whole-number labels, and evaluates the prediction against the reference.
 * @throws SegError UNSUPPORTED_DATATYPE for non-integral or out-of-range label values, INVALID_GEOMETRY for frames that
 * cannot be compared, and the readers' errors.
 */
export async function evaluateCommand(predFile: string | string[], refFile: string | string[], options: EvaluateCommandOptions = {}): Promise<EvaluationReport> {
  const t0 = performance.now();
  const predName = typeof predFile === 'string' ? predFile : predFile.join(', ');
  const refName = typeof refFile === 'string' ? refFile : refFile.join(', ');
  const [pred, ref] = await Promise.all([loadScan(predFile, options), loadScan(refFile, options)]);
  const predLabels = toLabelVolume(pred.volume, predName);
  const refLabels = toLabelVolume(ref.volume, refName);
  const t1 = performance.now();
  const result = evaluateLabels(predLabels, refLabels, { labels: options.labels, percentile: options.percentile, names: { prediction: predName, reference: refName } });
  const t2 = performance.now();
  const r = (v: number, digits = 6) => (Number.isFinite(v) ? Math.round(v * 10 ** digits) / 10 ** digits + 0 : null);
  return {
    prediction: predName,
    reference: refName,
    percentile: result.percentile,
    grid: {
      dims: [...result.grid.dims],
      spacing: [...result.grid.spacing],
      origin: [...result.grid.origin],
      direction: [...result.grid.direction],
      voxelVolumeMm3: r(result.voxelVolumeMm3) ?? 0,
    },
    resampled: result.resampled,
    distanceMethod: result.distanceMethod,
    labels: result.labels.map((l: LabelEvaluation) => ({
      label: l.label,
      empty: l.empty,
      dice: r(l.dice),
      iou: r(l.iou),
      hdPercentileMm: r(l.hdPercentileMm),
      hdMaxMm: r(l.hdMaxMm),
      assdMm: r(l.assdMm),
      predVolumeMl: r(l.predVolumeMl) ?? 0,
      refVolumeMl: r(l.refVolumeMl) ?? 0,
      volumeDifferenceMl: r(l.volumeDifferenceMl) ?? 0,
      volumeDifferencePercent: r(l.volumeDifferencePercent, 4),
      predVoxels: l.predVoxels,
      refVoxels: l.refVoxels,
      intersectionVoxels: l.intersectionVoxels,
      predSurfaceVoxels: l.predSurfaceVoxels,
      refSurfaceVoxels: l.refSurfaceVoxels,
    })),
    notes: result.notes,
    warnings: [...pred.warnings.map((w) => `${predName}: ${w}`), ...ref.warnings.map((w) => `${refName}: ${w}`)],
    timings: { loadMs: Math.round(t1 - t0), evaluateMs: Math.round(t2 - t1) },
  };
}

/**
 * A label map as uint8/uint16: integer data passes through (narrowed when needed), float data must hold whole numbers
 * (a NIfTI label map stored as float32, or with scl_slope, is fine; a probability map is not).
 * @throws SegError UNSUPPORTED_DATATYPE naming the first offending voxel.
 */
export function toLabelVolume(volume: Volume, name: string): LabelVolume {
  const { data } = volume;
  if (data instanceof Uint8Array || data instanceof Uint16Array) return volume as LabelVolume;
  const [nx, ny] = volume.dims;
  let max = 0;
  for (let n = 0; n < data.length; n++) {
    const v = data[n]!;
    if (Number.isInteger(v) && v >= 0 && v <= 65535) {
      if (v > max) max = v;
      continue;
    }
    const at = `voxel (${n % nx}, ${Math.floor(n / nx) % ny}, ${Math.floor(n / (nx * ny))}) holds ${v}`;
    throw new SegError(
      'UNSUPPORTED_DATATYPE',
      `${name}: not a label map: ${at}; labels must be whole numbers 0…65535` +
        (Number.isInteger(v) ? '' : ' (is this a probability map or an image? threshold or argmax it into labels first)'),
    );
  }
  const out = max <= 255 ? new Uint8Array(data.length) : new Uint16Array(data.length);
  for (let n = 0; n < data.length; n++) out[n] = data[n]!;
  return { ...volume, data: out };
}

/** The printed table: one row per label, then notes and warnings. */
export function renderEvaluation(report: EvaluationReport): string {
  const g = report.grid;
  const lines = [
    `${report.prediction} vs ${report.reference} on the reference grid ${g.dims.join('×')}, spacing ${g.spacing.map((s) => +s.toFixed(4)).join('×')} mm` +
      `${report.resampled ? ' (prediction resampled)' : ''}`,
  ];
  const hd = `HD${+report.percentile.toFixed(2)} mm`;
  const head = ['label', 'Dice', 'IoU', hd, 'ASSD mm', 'pred mL', 'ref mL', 'diff mL', 'diff %'];
  const rows = report.labels.map((l) => [
    String(l.label),
    fixed(l.dice, 4, l.empty),
    fixed(l.iou, 4, l.empty),
    fixed(l.hdPercentileMm, 2, l.empty),
    fixed(l.assdMm, 2, l.empty),
    l.predVolumeMl.toFixed(2),
    l.refVolumeMl.toFixed(2),
    signed(l.volumeDifferenceMl, 2),
    l.volumeDifferencePercent === null ? 'n/a' : `${signed(l.volumeDifferencePercent, 1)}%`,
  ]);
  const widths = head.map((h, c) => Math.max(h.length, ...rows.map((r) => r[c]!.length)));
  const line = (cells: string[]) => `  ${cells.map((x, c) => x.padStart(widths[c]!)).join('  ')}`;
  lines.push(line(head));
  for (const r of rows) lines.push(line(r));
  if (report.labels.length === 0) lines.push('  (no labels in either map)');
  for (const l of report.labels) {
    if (l.empty === 'prediction') lines.push(`label ${l.label}: missing from the prediction (distances infinite)`);
    else if (l.empty === 'reference') lines.push(`label ${l.label}: absent from the reference but predicted (distances infinite)`);
    else if (l.empty === 'both') lines.push(`label ${l.label}: in neither map (metrics undefined)`);
  }
  for (const n of report.notes) lines.push(`note: ${n}`);
  for (const w of report.warnings) lines.push(`warning: ${w}`);
  return lines.join('\n');
}

/** A metric cell: the number, "inf" when one mask is empty, "n/a" when both are. */
function fixed(v: number | null, digits: number, empty: EmptyMask): string {
  if (v !== null) return v.toFixed(digits);
  return empty === 'both' ? 'n/a' : 'inf';
}

/** With an explicit sign; a value that rounds to zero prints unsigned. */
function signed(v: number, digits: number): string {
  const s = v.toFixed(digits);
  if (Number(s) === 0) return (0).toFixed(digits);
  return v > 0 ? `+${s}` : s;
}
