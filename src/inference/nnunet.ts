/**
 * nnU-Net v2 importer: a trained model's `plans.json` and `dataset.json` → a model card, so an nnU-Net model exported
 * to ONNX needs no hand-written card.
 *
 * Conventions followed (nnunetv2): `PlansManager` (configurations and `inherits_from`), `DefaultPreprocessor`
 * (transpose → crop to nonzero → normalise → resample), the normalisation schemes of
 * `default_normalization_schemes.py`, `LabelManager` (labels, regions, ignore label) and the predictor's defaults
 * (tile step 0.5, Gaussian weighting σ = patch/8, zero padding, mirroring of every spatial axis).
 *
 * Axes. nnU-Net's arrays are in the order SimpleITK gives them, (z, y, x), i.e. the voxel axes (k, j, i), then
 * permuted by the plans' `transpose_forward`; every per-axis list in a configuration (`patch_size`, `spacing`) is in
 * that permuted order, which is medseg's tensor order [D, H, W]. So `input.axes[a]` = ["k","j","i"][transpose_forward[a]]
 * and `grid.spacing` (along i, j, k) takes `spacing[a]` at the letter `input.axes[a]`; for the usual identity
 * transpose this is the reversed list.
 */
import { promises as fsp } from 'node:fs';
import { SegError } from '../errors.js';
import { parseModelCard, type ModelCardJson } from './card.js';

export interface NnunetImportOptions {
  /** nnU-Net configuration name; default `3d_fullres` if the plans have it, else `2d`. */
  configuration?: string | undefined;
  /** The exported ONNX file, relative to where the card will be saved. */
  modelPath: string;
  /** Card name; default the plans' `dataset_name`. */
  name?: string | undefined;
  /** Tiles per session run (the ONNX model needs a dynamic batch dimension for more than 1). */
  batchSize?: number | undefined;
  /** false: no test-time mirroring in the card (nnU-Net's `--disable_tta`). */
  tta?: boolean | undefined;
}

/** A plans.json or dataset.json that cannot be turned into a card; the message names the file and the field. */
export class NnunetImportError extends SegError {
  override name = 'NnunetImportError';
  constructor(
    readonly file: string,
    readonly field: string | undefined,
    problem: string,
    options?: { cause?: unknown },
  ) {
    super('INVALID_MODEL_CARD', `${file}: ${field ? `${field}: ` : ''}${problem}`, options);
  }
}

type Json = Record<string, unknown>;
type Letter = 'i' | 'j' | 'k';

/** Voxel axis of each array axis of a SimpleITK-read image, (z, y, x). */
const SITK_AXES: readonly Letter[] = ['k', 'j', 'i'];
const LETTER_INDEX: Record<Letter, 0 | 1 | 2> = { i: 0, j: 1, k: 2 };

/** Builds (and validates) a model card from parsed nnU-Net v2 `plans.json` and `dataset.json` contents. */
export function cardFromNnunet(plans: unknown, dataset: unknown, options: NnunetImportOptions): ModelCardJson {
  return buildCard(plans, dataset, options, 'plans.json', 'dataset.json');
}

/** Reads nnU-Net v2 `plans.json` and `dataset.json` (as copied into a trained model's folder) and builds a card. */
export async function importNnunetCard(plansFile: string, datasetFile: string, options: NnunetImportOptions): Promise<ModelCardJson> {
  const [plans, dataset] = await Promise.all([readJson(plansFile), readJson(datasetFile)]);
  return buildCard(plans, dataset, options, plansFile, datasetFile);
}

async function readJson(file: string): Promise<unknown> {
  let text: string;
  try {
    text = await fsp.readFile(file, 'utf8');
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    throw new SegError(e.code === 'ENOENT' ? 'FILE_NOT_FOUND' : 'INVALID_MODEL_CARD', `${file}: cannot read the file (${e.code ?? e.message})`, { cause: err });
  }
  try {
    return JSON.parse(text) as unknown;
  } catch (err) {
    throw new NnunetImportError(file, undefined, `not valid JSON: ${(err as Error).message}`, { cause: err });
  }
}

function buildCard(plansIn: unknown, datasetIn: unknown, options: NnunetImportOptions, plansFile: string, datasetFile: string): ModelCardJson {
  if (typeof options?.modelPath !== 'string' || options.modelPath.length === 0) throw new TypeError('options.modelPath must be a non-empty string');
  if (options.batchSize !== undefined && !(Number.isInteger(options.batchSize) && options.batchSize > 0)) {
    throw new RangeError(`options.batchSize must be a positive integer, got ${options.batchSize}`);
  }
  const P = new Reader(plansFile);
  const D = new Reader(datasetFile);
  const plans = P.object(plansIn, '', 'is not a JSON object (expected an nnU-Net v2 plans.json)');
  const dataset = D.object(datasetIn, '', 'is not a JSON object (expected an nnU-Net v2 dataset.json)');

  // Configuration.
  const configurations = P.object(plans.configurations, 'configurations', 'missing or not an object — is this an nnU-Net v2 plans.json?');
  const available = Object.keys(configurations);
  const configName = options.configuration ?? (available.includes('3d_fullres') ? '3d_fullres' : '2d');
  const cfg = resolveConfiguration(P, configurations, configName, []);
  const at = `configurations.${configName}`;
  if (cfg.previous_stage !== undefined && cfg.previous_stage !== null) {
    throw new NnunetImportError(
      plansFile,
      `${at}.previous_stage`,
      `"${configName}" is the second stage of a cascade (it also takes the segmentation of "${String(cfg.previous_stage)}" as input); ` +
        `a model card describes one network, so import "${String(cfg.previous_stage)}" or another single-stage configuration (${available.filter((c) => c !== configName).join(', ')})`,
    );
  }
  if (cfg.preprocessor_name !== undefined && cfg.preprocessor_name !== 'DefaultPreprocessor') {
    throw new NnunetImportError(
      plansFile,
      `${at}.preprocessor_name`,
      `"${String(cfg.preprocessor_name)}" is a custom preprocessor; only nnU-Net's DefaultPreprocessor can be described by a model card`,
    );
  }

  // Geometry: patch, spacing, axes.
  const patch = P.intList(cfg.patch_size, `${at}.patch_size`);
  if (patch.length !== 2 && patch.length !== 3) throw new NnunetImportError(plansFile, `${at}.patch_size`, `has ${patch.length} entries; expected 2 (2d) or 3 (3d)`);
  const is2d = patch.length === 2;
  const spacing = P.positiveList(cfg.spacing, `${at}.spacing`);
  if (spacing.length !== patch.length) {
    throw new NnunetImportError(plansFile, `${at}.spacing`, `has ${spacing.length} entries but patch_size has ${patch.length}`);
  }
  const transpose = plans.transpose_forward === undefined ? [0, 1, 2] : P.intList(plans.transpose_forward, 'transpose_forward', 0);
  if (transpose.length !== 3 || [...transpose].sort().join() !== '0,1,2') {
    throw new NnunetImportError(plansFile, 'transpose_forward', `must be a permutation of [0, 1, 2], got ${JSON.stringify(plans.transpose_forward)}`);
  }
  const axes = transpose.map((t) => SITK_AXES[t]!) as [Letter, Letter, Letter];
  // Target spacing per tensor axis (D, H, W).
  let tensorSpacing: number[];
  if (is2d) {
    // nnU-Net 2d keeps each scan's own spacing along the slice axis (tensor axis 0) and resamples only in-plane. A card's
    // grid.spacing sets all three axes, so the slice axis gets the dataset's median spacing along it (what 3d_fullres
    // uses too): scans at that slice spacing are exact, others are interpolated between slices and back.
    const median = P.positiveList(plans.original_median_spacing_after_transp, 'original_median_spacing_after_transp');
    if (median.length !== 3) throw new NnunetImportError(plansFile, 'original_median_spacing_after_transp', `has ${median.length} entries; expected 3`);
    tensorSpacing = [median[0]!, ...spacing];
  } else tensorSpacing = spacing;
  const gridSpacing: [number, number, number] = [0, 0, 0];
  axes.forEach((letter, a) => (gridSpacing[LETTER_INDEX[letter]] = tensorSpacing[a]!));

  // Channels and normalisation.
  const channelNames = D.object(dataset.channel_names ?? dataset.modality, 'channel_names', 'missing or not an object (expected e.g. {"0": "CT"})');
  const channels = Object.keys(channelNames).length;
  if (channels === 0) throw new NnunetImportError(datasetFile, 'channel_names', 'lists no input channel');
  const norm = normalization(P, plans, cfg, at, channels, datasetFile);

  // Output channels and labels.
  const { output, labels } = outputAndLabels(D, dataset);

  const name = options.name ?? (typeof plans.dataset_name === 'string' && plans.dataset_name ? plans.dataset_name : undefined) ?? (typeof dataset.name === 'string' && dataset.name ? dataset.name : undefined);
  if (!name) throw new NnunetImportError(plansFile, 'dataset_name', 'missing; pass a card name');
  const version = typeof plans.version === 'string' || typeof plans.version === 'number' ? String(plans.version) : undefined;
  const plansName = typeof plans.plans_name === 'string' ? plans.plans_name : 'nnU-Net plans';

  const card: ModelCardJson = {
    schemaVersion: 1,
    name,
    ...(version !== undefined ? { version } : {}),
    description: `nnU-Net v2 ${plansName}, configuration "${configName}"${typeof plans.dataset_name === 'string' ? ` of ${plans.dataset_name}` : ''}; card imported from plans.json and dataset.json.`,
    model: options.modelPath,
    mode: is2d ? 'slice' : 'sliding-window',
    input: { channels, axes },
    output,
    grid: {
      // SimpleITKIO and NibabelIO keep the scan's voxel axes; NibabelIOWithReorient first reorients to the closest RAS.
      ...(plans.image_reader_writer === 'NibabelIOWithReorient' ? { orientation: 'RAS', orientationMode: 'closest' as const } : {}),
      spacing: gridSpacing,
      interpolation: 'linear',
    },
    normalization: norm.normalization,
    // nnU-Net normalises on the scan's grid, then resamples ("or we get huge problems with resampled nonzero masks").
    normalizeBeforeResampling: true,
    // nnU-Net always crops every case to the bounding box of its nonzero voxels before anything else. For CT (and any
    // dataset whose planner left use_mask_for_norm false, i.e. cropping shrank the median case by less than a quarter)
    // that box is nearly the whole scan — air is −1000 HU, not 0 — and medseg's crop is found after normalisation, where
    // CT zeros are no longer zeros; so the crop is only written when the mask matters: use_mask_for_norm for channel 0
    // (skull-stripped MRI and the like), where nonzero-only z-scoring keeps the background at exactly 0. (nnU-Net's box
    // is that of all channels' nonzero voxels on the scan grid; medseg's is channel 0's on the model grid.)
    ...(norm.maskForNorm ? { crop: { type: 'nonzero' as const } } : {}),
    tiling: {
      patch: is2d ? [patch[0]!, patch[1]!] : [patch[0]!, patch[1]!, patch[2]!],
      placement: 'nnunet',
      step: 0.5,
      blending: 'gaussian',
      sigmaScale: 0.125,
      padding: { mode: 'constant', value: 0, margin: 0 },
      // nnU-Net trainers mirror every spatial axis (2d: the two in-plane axes; in slice mode tensor axis 0 is the slice).
      mirrorAxes: options.tta === false ? [] : is2d ? [1, 2] : [0, 1, 2],
      batchSize: options.batchSize ?? 1,
    },
    labels,
  };
  parseModelCard(card, `card imported from ${plansFile} and ${datasetFile}`);
  return card;
}

/** A configuration with `inherits_from` resolved: the parent's fields, overridden by the child's (PlansManager). */
function resolveConfiguration(P: Reader, configurations: Json, name: string, visited: string[]): Json {
  if (!Object.hasOwn(configurations, name)) {
    const available = Object.keys(configurations);
    const what = visited.length ? `configurations.${visited[visited.length - 1]}.inherits_from` : 'configurations';
    throw new NnunetImportError(
      P.file,
      what,
      `no configuration "${name}"; available: ${available.length ? available.map((c) => `"${c}"`).join(', ') : '(none)'}`,
    );
  }
  const own = P.object(configurations[name], `configurations.${name}`, 'is not an object');
  if (own.inherits_from === undefined) return { ...own };
  const parent = P.string(own.inherits_from, `configurations.${name}.inherits_from`);
  if (visited.includes(parent) || parent === name) {
    throw new NnunetImportError(P.file, `configurations.${name}.inherits_from`, `circular inheritance: ${[...visited, name, parent].join(' → ')}`);
  }
  const base = resolveConfiguration(P, configurations, parent, [...visited, name]);
  return { ...base, ...own };
}

interface NormalizationResult {
  normalization: NonNullable<ModelCardJson['normalization']>;
  maskForNorm: boolean;
}

function normalization(P: Reader, plans: Json, cfg: Json, at: string, channels: number, datasetFile: string): NormalizationResult {
  const schemes = P.list(cfg.normalization_schemes, `${at}.normalization_schemes`).map((s, c) => P.string(s, `${at}.normalization_schemes[${c}]`));
  const masks = P.list(cfg.use_mask_for_norm, `${at}.use_mask_for_norm`).map((m, c) => {
    if (typeof m !== 'boolean') throw new NnunetImportError(P.file, `${at}.use_mask_for_norm[${c}]`, `must be true or false, got ${JSON.stringify(m)}`);
    return m;
  });
  for (const [field, list] of [
    ['normalization_schemes', schemes],
    ['use_mask_for_norm', masks],
  ] as const) {
    if (list.length !== channels) {
      throw new NnunetImportError(P.file, `${at}.${field}`, `has ${list.length} entries, but ${datasetFile} channel_names lists ${channels} channel(s)`);
    }
  }
  const scheme = schemes[0]!;
  if (schemes.some((s) => s !== scheme)) {
    throw new NnunetImportError(
      P.file,
      `${at}.normalization_schemes`,
      `the channels use different schemes (${schemes.join(', ')}); nnU-Net normalises each channel on its own, but the model card format supports one normalisation for all channels`,
    );
  }
  const maskForNorm = masks[0]!;
  switch (scheme) {
    case 'CTNormalization': {
      const all =
        plans.foreground_intensity_properties_per_channel !== undefined
          ? plans.foreground_intensity_properties_per_channel
          : plans.foreground_intensity_properties_by_modality;
      const field = plans.foreground_intensity_properties_per_channel !== undefined || plans.foreground_intensity_properties_by_modality === undefined
        ? 'foreground_intensity_properties_per_channel'
        : 'foreground_intensity_properties_by_modality';
      const props = P.object(all, field, 'missing or not an object (CTNormalization needs the dataset\'s foreground intensity statistics)');
      const perChannel = Array.from({ length: channels }, (_, c) => {
        const f = `${field}.${c}`;
        const p = P.object(props[String(c)], f, 'missing or not an object');
        return {
          clip: [P.number(p.percentile_00_5, `${f}.percentile_00_5`), P.number(p.percentile_99_5, `${f}.percentile_99_5`)] as [number, number],
          mean: P.number(p.mean, `${f}.mean`),
          std: P.number(p.std, `${f}.std`),
        };
      });
      const first = perChannel[0]!;
      if (first.std < 0) throw new NnunetImportError(P.file, `${field}.0.std`, `must not be negative, got ${first.std}`);
      if (perChannel.some((p) => p.clip[0] !== first.clip[0] || p.clip[1] !== first.clip[1] || p.mean !== first.mean || p.std !== first.std)) {
        throw new NnunetImportError(
          P.file,
          field,
          `CTNormalization with ${channels} channels uses different intensity statistics per channel; the model card format supports one normalisation for all channels`,
        );
      }
      return { normalization: { type: 'ct', clip: first.clip, mean: first.mean, std: first.std }, maskForNorm };
    }
    case 'ZScoreNormalization':
      if (masks.some((m) => m !== maskForNorm)) {
        throw new NnunetImportError(
          P.file,
          `${at}.use_mask_for_norm`,
          `differs between channels (${masks.join(', ')}); the model card format supports one normalisation for all channels`,
        );
      }
      // nnU-Net's mask is the hole-filled union of every channel's nonzero voxels; medseg's is each channel's nonzero voxels.
      return { normalization: { type: 'zscore', nonzeroOnly: maskForNorm }, maskForNorm };
    case 'NoNormalization':
      return { normalization: { type: 'none' }, maskForNorm };
    case 'RescaleTo01Normalization':
      return { normalization: { type: 'minmax' }, maskForNorm };
    case 'RGBTo01Normalization':
      // x / 255, exactly.
      return { normalization: { type: 'range', aMin: 0, aMax: 255, bMin: 0, bMax: 1, clip: false }, maskForNorm };
    default:
      throw new NnunetImportError(
        P.file,
        `${at}.normalization_schemes`,
        `unsupported normalisation scheme "${scheme}"; supported: CTNormalization, ZScoreNormalization, NoNormalization, RescaleTo01Normalization, RGBTo01Normalization`,
      );
  }
}

function outputAndLabels(D: Reader, dataset: Json): { output: ModelCardJson['output']; labels: ModelCardJson['labels'] } {
  const labelDict = D.object(dataset.labels, 'labels', 'missing or not an object (expected {"background": 0, "<name>": <value>, …})');
  const keys = Object.keys(labelDict);
  if (keys.length > 0 && keys.every((k) => /^\d+$/.test(k)) && Object.values(labelDict).every((v) => typeof v === 'string')) {
    throw new NnunetImportError(D.file, 'labels', 'maps values to names (nnU-Net v1 format); nnU-Net v2 maps names to values, e.g. {"background": 0, "liver": 1}');
  }
  // The ignore label marks unannotated voxels in training; it is not an output.
  const entries = Object.entries(labelDict)
    .filter(([key]) => key !== 'ignore')
    .map(([key, v]) => {
      const field = `labels.${key}`;
      if (Array.isArray(v)) {
        if (v.length === 0) throw new NnunetImportError(D.file, field, 'is an empty list');
        return { name: key, values: v.map((x, n) => D.int(x, `${field}[${n}]`, 0)) };
      }
      return { name: key, values: [D.int(v, field, 0)] };
    });
  const isBackground = (e: { values: number[] }) => e.values.every((x) => x === 0);
  if (!entries.some(isBackground)) throw new NnunetImportError(D.file, 'labels', 'has no background entry; nnU-Net v2 requires "background": 0');
  const hasRegions = entries.some((e) => e.values.length > 1);

  if (!hasRegions) {
    // Softmax over all labels; argmax channel c is label value c (nnU-Net requires consecutive values 0, 1, 2, …).
    const byValue = new Map<number, string>();
    for (const e of entries) {
      const value = e.values[0]!;
      const other = byValue.get(value);
      if (other !== undefined) throw new NnunetImportError(D.file, `labels.${e.name}`, `has value ${value}, as does "${other}"`);
      byValue.set(value, e.name);
    }
    const values = [...byValue.keys()].sort((a, b) => a - b);
    if (values.some((v, n) => v !== n)) {
      throw new NnunetImportError(D.file, 'labels', `values must be consecutive integers 0, 1, 2, … (nnU-Net v2), got ${values.join(', ')}`);
    }
    if (values.length < 2) throw new NnunetImportError(D.file, 'labels', 'has no foreground label');
    const used = new Set<string>();
    const labels = values.slice(1).map((value) => ({ value, name: byValue.get(value)!, color: labelColor(value, used) }));
    return { output: { channels: values.length, activation: 'softmax', resample: 'probabilities' }, labels };
  }

  // Region-based training: one sigmoid output per foreground region, in the order of dataset.json's labels; region i
  // becomes label regions_class_order[i] (LabelManager).
  const regions = entries.filter((e) => !isBackground(e));
  const order = D.list(dataset.regions_class_order, 'regions_class_order', 'region-based labels (lists of values) need regions_class_order').map((x, n) =>
    D.int(x, `regions_class_order[${n}]`, 0),
  );
  if (order.length !== regions.length) {
    throw new NnunetImportError(D.file, 'regions_class_order', `has ${order.length} entries for ${regions.length} regions (${regions.map((r) => r.name).join(', ')})`);
  }
  const names = new Map<number, string[]>();
  order.forEach((value, i) => {
    if (value === 0) return;
    names.set(value, [...(names.get(value) ?? []), regions[i]!.name]);
  });
  const used = new Set<string>();
  const labels = [...names.entries()].sort((a, b) => a[0] - b[0]).map(([value, n]) => ({ value, name: n.join(' / '), color: labelColor(value, used) }));
  if (labels.length === 0) throw new NnunetImportError(D.file, 'regions_class_order', 'places no foreground label');
  // nnU-Net paints the regions in this order, later ones overwriting earlier ones where their sigmoid > 0.5 (nested
  // regions: whole tumour ⊃ core ⊃ enhancing): the card's `ordered` sigmoid rule.
  return {
    output: { channels: regions.length, activation: 'sigmoid', threshold: 0.5, sigmoidRule: 'ordered', channelLabels: order, resample: 'probabilities' },
    labels,
  };
}

/**
 * A deterministic colour for a label value: hues a golden angle apart (value 1 red-orange, 2 blue, 3 green, …) at fixed
 * saturation and brightness, darkened step by step in the rare case two values round to the same RGB triple.
 */
export function labelColor(value: number, used: Set<string> = new Set()): [number, number, number] {
  const hue = (((value - 1) * 0.6180339887498949 + 0.02) % 1 + 1) % 1;
  for (let step = 0; ; step++) {
    const rgb = hsvToRgb(hue, 0.7, Math.max(0.35, 0.95 - 0.08 * step));
    const key = rgb.join(',');
    if (!used.has(key) || step > 8) {
      used.add(key);
      return rgb;
    }
  }
}

function hsvToRgb(h: number, s: number, v: number): [number, number, number] {
  const f = (n: number) => {
    const k = (n + h * 6) % 6;
    return Math.round(255 * (v - v * s * Math.max(0, Math.min(k, 4 - k, 1))));
  };
  return [f(5), f(3), f(1)];
}

/** Typed access to parsed JSON with errors that name the file and the field. */
class Reader {
  constructor(readonly file: string) {}

  private fail(field: string, problem: string): never {
    throw new NnunetImportError(this.file, field || undefined, problem);
  }

  object(v: unknown, field: string, problem: string): Json {
    if (typeof v !== 'object' || v === null || Array.isArray(v)) this.fail(field, problem);
    return v as Json;
  }

  list(v: unknown, field: string, problem = 'missing or not a list'): unknown[] {
    if (!Array.isArray(v)) this.fail(field, problem);
    return v as unknown[];
  }

  string(v: unknown, field: string): string {
    if (typeof v !== 'string' || v.length === 0) this.fail(field, `must be a non-empty string, got ${JSON.stringify(v) ?? 'nothing'}`);
    return v as string;
  }

  number(v: unknown, field: string): number {
    if (typeof v !== 'number' || !Number.isFinite(v)) this.fail(field, v === undefined ? 'missing' : `must be a number, got ${JSON.stringify(v)}`);
    return v as number;
  }

  int(v: unknown, field: string, min = 1): number {
    const n = this.number(v, field);
    if (!Number.isInteger(n) || n < min) this.fail(field, `must be an integer ≥ ${min}, got ${n}`);
    return n;
  }

  intList(v: unknown, field: string, min = 1): number[] {
    return this.list(v, field).map((x, n) => this.int(x, `${field}[${n}]`, min));
  }

  positiveList(v: unknown, field: string): number[] {
    return this.list(v, field).map((x, n) => {
      const value = this.number(x, `${field}[${n}]`);
      if (!(value > 0)) this.fail(`${field}[${n}]`, `must be positive, got ${value}`);
      return value;
    });
  }
}
