/**
 * `medseg stats <labels> [--image <scan>] [--model <card.json>]`: per-structure statistics and lesions of a label map,
 * optionally after postprocessing, as a printed table, JSON, and stats.json / stats.csv files.
 * `buildStatsReport` and `writeStatsFiles` are also what `medseg segment` uses to write its statistics.
 */
import { promises as fsp } from 'node:fs';
import * as path from 'node:path';
import { SegError } from '../errors.js';
import { writeFileAtomic } from '../io/atomic-write.js';
import { loadScan, type LoadScanOptions } from '../io/load.js';
import { writeNifti } from '../io/nifti/write.js';
import { readModelCardSpec } from '../inference/card.js';
import type { LesionMeasurement } from '../measure/lesions.js';
import { labelStatistics, lesionLabelsFromMetadata, type LabelStatistics, type StructureStats } from '../measure/stats.js';
import { keepLargestComponent, type Connectivity } from '../postprocess/components.js';
import { fillHoles, type HolesFilled } from '../postprocess/holes.js';
import { removeSmallIslands, type IslandsRemoved } from '../postprocess/islands.js';
import type { BorderSide } from '../measure/border.js';
import type { LabelVolume, Volume } from '../volume/types.js';
import { toLabelVolume } from './evaluate.js';

export interface StatsPostprocessOptions {
  /** Keep only the largest connected component of each label. */
  largestComponent?: boolean | undefined;
  /** Remove connected components below this volume (mm³). */
  removeIslandsMm3?: number | undefined;
  /** Fill 3-D holes. */
  fillHoles?: boolean | undefined;
  /** Labels the postprocessing applies to (default: all). */
  labels?: number[] | undefined;
  connectivity?: Connectivity | undefined;
}

export interface StatsCommandOptions extends LoadScanOptions {
  /** Image (scan) for intensity statistics. */
  image?: string | undefined;
  /** Model card: label names, and lesion labels from SNOMED category 49755003. */
  model?: string | undefined;
  /** Labels to report (default: present + card labels). */
  labels?: number[] | undefined;
  /** Lesion labels (default: from the card). */
  lesionLabels?: number[] | undefined;
  postprocess?: StatsPostprocessOptions | undefined;
  /** Folder for stats.json, stats.csv (and labels.nii.gz when postprocessing changed the map). */
  out?: string | undefined;
  /** File for the CSV table. */
  csv?: string | undefined;
}

/** What postprocessing did before the statistics (null fields: not applied). */
export interface PostprocessReport {
  largestComponent: { label: number; removedVoxels: number }[] | null;
  removeIslands: (IslandsRemoved & { minVolumeMm3: number })[] | null;
  fillHoles: HolesFilled[] | null;
  connectivity: Connectivity;
}

export interface StructureReport extends Omit<StructureStats, 'softVolumeMl'> {
  softVolumeMl: number | null;
}

export interface LesionReport extends Omit<LesionMeasurement, 'longestAxialDiameterMm' | 'longestDiameterMm'> {
  name: string;
  longestAxialDiameterMm: number | null;
  longestDiameterMm: number | null;
  organ: (LesionMeasurement['organ'] & { name: string }) | null;
}

/** JSON-safe statistics (numbers rounded to 6 significant decimals, no NaN/Infinity). */
export interface StatsReport {
  labels: string;
  image: string | null;
  /** The card that named the labels: its name, version and file. */
  model: { name: string; version: string; card: string } | null;
  grid: { dims: number[]; spacing: number[]; origin: number[]; direction: number[]; voxelVolumeMm3: number };
  axialAxis: 'i' | 'j' | 'k';
  borderMarginVoxels: number;
  surface: LabelStatistics['surface'];
  intensitySampling: LabelStatistics['intensitySampling'];
  postprocess: PostprocessReport | null;
  structures: StructureReport[];
  lesions: LesionReport[];
  files: string[];
  notes: string[];
  warnings: string[];
  timings: { loadMs: number; postprocessMs: number; statsMs: number };
}

/** Rounds for JSON: 6 decimals, −0 → 0, non-finite → null. */
const r6 = (v: number): number | null => (Number.isFinite(v) ? Math.round(v * 1e6) / 1e6 + 0 : null);
const vec = <T extends readonly number[]>(v: T): T => v.map((x) => r6(x) ?? NaN) as unknown as T;

/**
 * The JSON report of a `labelStatistics` result (what stats.json holds).
 * @param meta file names, model, postprocessing, warnings and timings to record with it.
 */
export function buildStatsReport(
  result: LabelStatistics,
  meta: {
    labels: string;
    image?: string | undefined;
    model?: { name: string; version: string; card: string } | undefined;
    postprocess?: PostprocessReport | undefined;
    warnings?: string[] | undefined;
    timings?: StatsReport['timings'] | undefined;
  },
): StatsReport {
  const names = new Map(result.structures.map((s) => [s.label, s.name]));
  return {
    labels: meta.labels,
    image: meta.image ?? null,
    model: meta.model ?? null,
    grid: {
      dims: [...result.grid.dims],
      spacing: [...result.grid.spacing],
      origin: [...result.grid.origin],
      direction: [...result.grid.direction],
      voxelVolumeMm3: r6(result.voxelVolumeMm3) ?? 0,
    },
    axialAxis: result.axialAxis,
    borderMarginVoxels: result.borderMarginVoxels,
    surface: { ...result.surface, maxPlaneErrorPercent: r6(result.surface.maxPlaneErrorPercent) ?? 0 },
    intensitySampling: result.intensitySampling,
    postprocess: meta.postprocess ?? null,
    structures: result.structures.map((s) => ({
      ...s,
      volumeMl: r6(s.volumeMl) ?? 0,
      softVolumeMl: s.softVolumeMl === null ? null : r6(s.softVolumeMl),
      surfaceAreaMm2: r6(s.surfaceAreaMm2) ?? 0,
      centroidLps: s.centroidLps && vec(s.centroidLps),
      boundsLps: s.boundsLps && { min: vec(s.boundsLps.min), max: vec(s.boundsLps.max) },
      intensity: s.intensity && {
        voxels: s.intensity.voxels,
        min: r6(s.intensity.min) ?? 0,
        max: r6(s.intensity.max) ?? 0,
        mean: r6(s.intensity.mean) ?? 0,
        median: r6(s.intensity.median) ?? 0,
        std: r6(s.intensity.std) ?? 0,
      },
    })),
    lesions: result.lesions.map((l) => ({
      ...l,
      name: names.get(l.label) ?? `label ${l.label}`,
      volumeMl: r6(l.volumeMl) ?? 0,
      centroidLps: vec(l.centroidLps),
      longestAxialDiameterMm: r6(l.longestAxialDiameterMm),
      axialDiameterEndpointsLps: l.axialDiameterEndpointsLps && [vec(l.axialDiameterEndpointsLps[0]), vec(l.axialDiameterEndpointsLps[1])],
      longestDiameterMm: r6(l.longestDiameterMm),
      diameterEndpointsLps: l.diameterEndpointsLps && [vec(l.diameterEndpointsLps[0]), vec(l.diameterEndpointsLps[1])],
      organ: l.organ && { ...l.organ, name: names.get(l.organ.label) ?? `label ${l.organ.label}`, shellFraction: r6(l.organ.shellFraction) ?? 0 },
    })),
    files: [],
    notes: result.notes,
    warnings: meta.warnings ?? [],
    timings: meta.timings ?? { loadMs: 0, postprocessMs: 0, statsMs: 0 },
  };
}

const CSV_COLUMNS = [
  'kind', 'label', 'name', 'lesion_index', 'voxels', 'volume_ml', 'incomplete', 'cut_by', 'soft_volume_ml', 'surface_area_mm2', 'components',
  'centroid_l_mm', 'centroid_p_mm', 'centroid_s_mm', 'i_min', 'i_max', 'j_min', 'j_max', 'k_min', 'k_max',
  'l_min_mm', 'l_max_mm', 'p_min_mm', 'p_max_mm', 's_min_mm', 's_max_mm',
  'intensity_min', 'intensity_max', 'intensity_mean', 'intensity_median', 'intensity_std',
  'longest_axial_diameter_mm', 'longest_diameter_mm', 'organ_label', 'organ_name', 'organ_shell_fraction',
] as const;

/**
 * The statistics as one CSV table (RFC 4180, comma-separated, header row): a row per structure (kind "structure") and
 * a row per lesion (kind "lesion"); cells that do not apply are empty. Coordinates are patient LPS mm.
 */
export function statsCsv(report: StatsReport): string {
  const cut = (c: BorderSide[]) => c.map((b) => `${b.axis}-${b.side}(${b.patient})`).join(';');
  const rows: Record<(typeof CSV_COLUMNS)[number], string | number | boolean | null | undefined>[] = [];
  for (const s of report.structures) {
    rows.push({
      kind: 'structure', label: s.label, name: s.name, voxels: s.voxels, volume_ml: s.volumeMl, incomplete: s.incomplete, cut_by: cut(s.cutBy),
      soft_volume_ml: s.softVolumeMl, surface_area_mm2: s.surfaceAreaMm2, components: s.components,
      centroid_l_mm: s.centroidLps?.[0], centroid_p_mm: s.centroidLps?.[1], centroid_s_mm: s.centroidLps?.[2],
      i_min: s.boundsIjk?.min[0], i_max: s.boundsIjk?.max[0], j_min: s.boundsIjk?.min[1], j_max: s.boundsIjk?.max[1], k_min: s.boundsIjk?.min[2], k_max: s.boundsIjk?.max[2],
      l_min_mm: s.boundsLps?.min[0], l_max_mm: s.boundsLps?.max[0], p_min_mm: s.boundsLps?.min[1], p_max_mm: s.boundsLps?.max[1], s_min_mm: s.boundsLps?.min[2], s_max_mm: s.boundsLps?.max[2],
      intensity_min: s.intensity?.min, intensity_max: s.intensity?.max, intensity_mean: s.intensity?.mean, intensity_median: s.intensity?.median, intensity_std: s.intensity?.std,
      lesion_index: undefined, longest_axial_diameter_mm: undefined, longest_diameter_mm: undefined, organ_label: undefined, organ_name: undefined, organ_shell_fraction: undefined,
    });
  }
  for (const l of report.lesions) {
    rows.push({
      kind: 'lesion', label: l.label, name: l.name, lesion_index: l.index, voxels: l.voxels, volume_ml: l.volumeMl, incomplete: l.incomplete, cut_by: cut(l.cutBy),
      soft_volume_ml: undefined, surface_area_mm2: undefined, components: 1,
      centroid_l_mm: l.centroidLps[0], centroid_p_mm: l.centroidLps[1], centroid_s_mm: l.centroidLps[2],
      i_min: l.boundsIjk.min[0], i_max: l.boundsIjk.max[0], j_min: l.boundsIjk.min[1], j_max: l.boundsIjk.max[1], k_min: l.boundsIjk.min[2], k_max: l.boundsIjk.max[2],
      l_min_mm: undefined, l_max_mm: undefined, p_min_mm: undefined, p_max_mm: undefined, s_min_mm: undefined, s_max_mm: undefined,
      intensity_min: undefined, intensity_max: undefined, intensity_mean: undefined, intensity_median: undefined, intensity_std: undefined,
      longest_axial_diameter_mm: l.longestAxialDiameterMm, longest_diameter_mm: l.longestDiameterMm,
      organ_label: l.organ?.label, organ_name: l.organ?.name, organ_shell_fraction: l.organ?.shellFraction,
    });
  }
  const cell = (v: string | number | boolean | null | undefined) => {
    if (v === undefined || v === null) return '';
    const s = String(v);
    return /[",\n\r]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
  };
  return [CSV_COLUMNS.join(','), ...rows.map((row) => CSV_COLUMNS.map((c) => cell(row[c])).join(','))].join('\n') + '\n';
}

/**
 * Writes <dir>/stats.json and <dir>/stats.csv (atomically; the folder is created). Returns the files written.
 * @throws SegError WRITE_FAILED.
 */
export async function writeStatsFiles(dir: string, report: StatsReport): Promise<string[]> {
  try {
    await fsp.mkdir(dir, { recursive: true });
  } catch (cause) {
    throw new SegError('WRITE_FAILED', `${dir}: cannot create the output folder (${(cause as Error).message})`, { cause });
  }
  const json = path.join(dir, 'stats.json');
  const csv = path.join(dir, 'stats.csv');
  await writeFileAtomic(json, [Buffer.from(`${JSON.stringify(report, null, 2)}\n`)]);
  await writeFileAtomic(csv, [Buffer.from(statsCsv(report))]);
  return [json, csv];
}

/** Card labels (names and lesion categories), read without requiring the card's ONNX file. */
async function readCardLabels(cardFile: string): Promise<{ name: string; version: string; card: string; labels: { value: number; name: string; category?: { scheme: string; value: string } | undefined }[] }> {
  const spec = await readModelCardSpec(cardFile);
  return { name: spec.name, version: spec.version, card: path.resolve(cardFile), labels: spec.labels };
}

/** Applies the requested postprocessing in the segment pipeline's order: largest component, islands, holes. */
export function applyPostprocess(labels: LabelVolume, o: StatsPostprocessOptions): PostprocessReport | undefined {
  if (!o.largestComponent && o.removeIslandsMm3 === undefined && !o.fillHoles) return undefined;
  const connectivity = o.connectivity ?? 26;
  const report: PostprocessReport = { largestComponent: null, removeIslands: null, fillHoles: null, connectivity };
  if (o.largestComponent) {
    const removed = keepLargestComponent(labels.data, labels.dims, { labels: o.labels, connectivity });
    report.largestComponent = [...removed].map(([label, removedVoxels]) => ({ label, removedVoxels }));
  }
  if (o.removeIslandsMm3 !== undefined) {
    const minVolumeMm3 = o.removeIslandsMm3;
    report.removeIslands = removeSmallIslands(labels, { minVolumeMm3, labels: o.labels, connectivity }).map((r) => ({ ...r, minVolumeMm3 }));
  }
  if (o.fillHoles) report.fillHoles = fillHoles(labels, { labels: o.labels });
  return report;
}

/**
 * Loads a label map (and optionally an image and a card), postprocesses it when asked, measures it, and writes
 * stats.json/stats.csv (--out) and a CSV file (--csv).
 * @throws SegError for unreadable inputs, a non-label map, an invalid card, images on another frame, write failures.
 */
export async function statsCommand(labelsFile: string, options: StatsCommandOptions = {}): Promise<StatsReport> {
  const t0 = performance.now();
  const [scan, image, card] = await Promise.all([
    loadScan(labelsFile, options),
    options.image ? loadScan(options.image, options) : Promise.resolve(undefined),
    options.model ? readCardLabels(options.model) : Promise.resolve(undefined),
  ]);
  let labels = toLabelVolume(scan.volume, labelsFile);
  const t1 = performance.now();
  const post = options.postprocess ?? {};
  const changes = !!(post.largestComponent || post.removeIslandsMm3 !== undefined || post.fillHoles);
  if (changes && labels.data === scan.volume.data) labels = { ...labels, data: labels.data.slice() };
  const postprocess = applyPostprocess(labels, post);
  const t2 = performance.now();
  const names = card ? new Map(card.labels.map((l) => [l.value, l.name])) : undefined;
  const lesionLabels = options.lesionLabels ?? (card ? lesionLabelsFromMetadata(card.labels) : undefined);
  const result = labelStatistics(labels, {
    labels: options.labels,
    names,
    lesionLabels,
    image: image?.volume as Volume | undefined,
    imageName: options.image,
    name: labelsFile,
    connectivity: post.connectivity,
  });
  const t3 = performance.now();
  const warnings = [...scan.warnings.map((w) => `${labelsFile}: ${w}`), ...(image?.warnings.map((w) => `${options.image}: ${w}`) ?? [])];
  const report = buildStatsReport(result, {
    labels: labelsFile,
    image: options.image,
    model: card ? { name: card.name, version: card.version, card: card.card } : undefined,
    postprocess,
    warnings,
    timings: { loadMs: Math.round(t1 - t0), postprocessMs: Math.round(t2 - t1), statsMs: Math.round(t3 - t2) },
  });
  if (options.out) {
    report.files.push(path.join(options.out, 'stats.json'), path.join(options.out, 'stats.csv'));
    if (postprocess) report.files.push(path.join(options.out, 'labels.nii.gz'));
  }
  if (options.csv) report.files.push(options.csv);
  if (postprocess && !options.out) report.notes.push('the postprocessed label map was not written (pass --out <dir> to keep it as <dir>/labels.nii.gz)');
  if (options.out) {
    await writeStatsFiles(options.out, report);
    if (postprocess) await writeNifti(path.join(options.out, 'labels.nii.gz'), labels, { intentCode: 1002, description: 'medseg stats (postprocessed)' });
  }
  if (options.csv) {
    await fsp.mkdir(path.dirname(path.resolve(options.csv)), { recursive: true }).catch(() => undefined);
    await writeFileAtomic(options.csv, [Buffer.from(statsCsv(report))]);
  }
  return report;
}

// ---------------------------------------------------------------------------------------------------------------
// Printed table

const fmt = (v: number | null | undefined, digits: number) => (v === null || v === undefined || !Number.isFinite(v) ? '–' : v.toFixed(digits));

/** Volume cell: "≥ 123.40 (cut by scan border: S)" for incomplete structures. */
function volumeCell(volumeMl: number, incomplete: boolean, cutBy: BorderSide[]): string {
  if (!incomplete) return volumeMl.toFixed(2);
  return `≥ ${volumeMl.toFixed(2)} (cut by scan border: ${[...new Set(cutBy.map((c) => c.patient))].join(', ')})`;
}

function table(head: string[], rows: string[][], leftColumns: number[]): string[] {
  const widths = head.map((h, c) => Math.max(h.length, ...rows.map((r) => r[c]!.length)));
  const line = (cells: string[]) => `  ${cells.map((x, c) => (leftColumns.includes(c) ? x.padEnd(widths[c]!) : x.padStart(widths[c]!))).join('  ')}`.trimEnd();
  return [line(head), ...rows.map(line)];
}

/** The printed report: a structure table, a lesion table, then notes and warnings. */
export function renderStats(report: StatsReport): string {
  const g = report.grid;
  const lines = [
    `${report.labels}: ${g.dims.join('×')} voxels, spacing ${g.spacing.map((s) => +s.toFixed(4)).join('×')} mm, voxel ${+g.voxelVolumeMm3.toFixed(4)} mm³` +
      (report.model ? `, labels from ${report.model.name}` : ''),
  ];
  if (report.postprocess) {
    const p = report.postprocess;
    const parts: string[] = [];
    if (p.largestComponent) parts.push(`largest component (${p.largestComponent.reduce((a, b) => a + b.removedVoxels, 0)} voxels removed)`);
    if (p.removeIslands) parts.push(`islands < ${p.removeIslands[0]?.minVolumeMm3 ?? ''} mm³ removed (${p.removeIslands.reduce((a, b) => a + b.removedComponents, 0)} components, ${p.removeIslands.reduce((a, b) => a + b.removedVoxels, 0)} voxels)`);
    if (p.fillHoles) parts.push(`holes filled (${p.fillHoles.reduce((a, b) => a + b.filledVoxels, 0)} voxels)`);
    lines.push(`postprocessed: ${parts.join('; ')}`);
  }
  const withImage = report.structures.some((s) => s.intensity);
  const withSoft = report.structures.some((s) => s.softVolumeMl !== null);
  const head = ['label', 'name', 'voxels', 'volume mL', ...(withSoft ? ['soft mL'] : []), 'area mm²', 'parts', 'centroid LPS mm', ...(withImage ? ['mean ± sd', 'median', 'min … max'] : [])];
  const rows = report.structures.map((s) => [
    String(s.label),
    s.name + (s.lesion ? ' (lesion)' : ''),
    String(s.voxels),
    volumeCell(s.volumeMl, s.incomplete, s.cutBy),
    ...(withSoft ? [fmt(s.softVolumeMl, 2)] : []),
    s.surfaceAreaMm2.toFixed(0),
    String(s.components),
    s.centroidLps ? s.centroidLps.map((x) => x.toFixed(1)).join(', ') : '–',
    ...(withImage ? [s.intensity ? `${s.intensity.mean.toFixed(1)} ± ${s.intensity.std.toFixed(1)}` : '–', fmt(s.intensity?.median, 1), s.intensity ? `${s.intensity.min} … ${s.intensity.max}` : '–'] : []),
  ]);
  lines.push(...table(head, rows, [1]));
  if (report.structures.length === 0) lines.push('  (no labels)');
  if (report.lesions.length > 0) {
    lines.push('', `Lesions (diameters between voxel centres; axial = slices along ${report.axialAxis}):`);
    const lhead = ['label', 'name', '#', 'volume mL', 'axial mm', '3-D mm', 'centroid LPS mm', 'in'];
    const lrows = report.lesions.map((l) => [
      String(l.label),
      l.name,
      String(l.index),
      volumeCell(l.volumeMl, l.incomplete, l.cutBy),
      fmt(l.longestAxialDiameterMm, 1),
      fmt(l.longestDiameterMm, 1),
      l.centroidLps.map((x) => x.toFixed(1)).join(', '),
      l.organ ? `${l.organ.name} (${Math.round(100 * l.organ.shellFraction)}% of shell)` : '–',
    ]);
    lines.push(...table(lhead, lrows, [1, 7]));
  }
  for (const n of report.notes) lines.push(`note: ${n}`);
  for (const w of report.warnings) lines.push(`warning: ${w}`);
  for (const f of report.files) lines.push(`wrote ${f}`);
  return lines.join('\n');
}
