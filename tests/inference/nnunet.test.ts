import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { SegError } from '../../src/errors.js';
import { parseModelCard, type ModelCardJson } from '../../src/inference/card.js';
import { cardFromNnunet, importNnunetCard, labelColor, NnunetImportError } from '../../src/inference/nnunet.js';
import { fixture } from '../helpers.js';

type Json = Record<string, any>;
const load = (...parts: string[]): Json => JSON.parse(readFileSync(fixture('nnunet', ...parts), 'utf8')) as Json;
const CT_PLANS = fixture('nnunet', 'ct-kidney', 'plans.json');
const CT_DATASET = fixture('nnunet', 'ct-kidney', 'dataset.json');
const ct = () => ({ plans: load('ct-kidney', 'plans.json'), dataset: load('ct-kidney', 'dataset.json') });
const brats = () => ({ plans: load('mri-brats', 'plans.json'), dataset: load('mri-brats', 'dataset.json') });
const opts = { modelPath: 'model.onnx' };

/** The error a call throws (fails the test if it does not throw). */
function thrown(fn: () => unknown): Error {
  try {
    fn();
  } catch (e) {
    return e as Error;
  }
  throw new Error('expected an error');
}

const nnunetTiling = (patch: number[], mirrorAxes: number[]) => ({
  patch,
  placement: 'nnunet',
  step: 0.5,
  blending: 'gaussian',
  sigmaScale: 0.125,
  padding: { mode: 'constant', value: 0, margin: 0 },
  mirrorAxes,
  batchSize: 1,
});

describe('cardFromNnunet: CT, label-based (fixtures/nnunet/ct-kidney)', () => {
  it('3d_fullres by default: reversed spacing, patch in tensor order, CT normalisation from the foreground statistics', () => {
    const { plans, dataset } = ct();
    const card = cardFromNnunet(plans, dataset, { modelPath: 'kidney.onnx' });
    const { labels, ...rest } = card;
    expect(rest).toEqual({
      schemaVersion: 1,
      name: 'Dataset501_KidneyCT',
      description: 'nnU-Net v2 nnUNetPlans, configuration "3d_fullres" of Dataset501_KidneyCT; card imported from plans.json and dataset.json.',
      model: 'kidney.onnx',
      mode: 'sliding-window',
      input: { channels: 1, axes: ['k', 'j', 'i'] },
      output: { channels: 4, activation: 'softmax', resample: 'probabilities' },
      // plans spacing (z, y, x) = [3.0, 0.78125, 0.78125] → along (i, j, k)
      grid: { spacing: [0.78125, 0.78125, 3.0], interpolation: 'linear' },
      normalization: { type: 'ct', clip: [-79.0, 303.0], mean: 101.53, std: 76.24 },
      normalizeBeforeResampling: true,
      tiling: nnunetTiling([40, 256, 192], [0, 1, 2]),
    });
    expect(card.crop).toBeUndefined(); // use_mask_for_norm false
    expect(labels.map(({ value, name }) => ({ value, name }))).toEqual([
      { value: 1, name: 'kidney' },
      { value: 2, name: 'tumor' },
      { value: 3, name: 'cyst' },
    ]);
    const colors = labels.map((l) => l.color!.join(','));
    expect(new Set(colors).size).toBe(3);
    // Deterministic: the same card again, and colours keyed by label value.
    expect(cardFromNnunet(plans, dataset, { modelPath: 'kidney.onnx' })).toEqual(card);
    expect(labels[0]!.color).toEqual(labelColor(1));
  });

  it('produces a card that parseModelCard accepts, with the defaults it fills in', () => {
    const { plans, dataset } = ct();
    const spec = parseModelCard(cardFromNnunet(plans, dataset, opts), 'imported.card.json');
    expect(spec.version).toBe('unversioned');
    expect(spec.grid.orientation).toBeUndefined();
    expect(spec.tiling.patch).toEqual([40, 256, 192]);
    expect(spec.output.threshold).toBe(0.5);
  });

  it('3d_lowres', () => {
    const { plans, dataset } = ct();
    const card = cardFromNnunet(plans, dataset, { ...opts, configuration: '3d_lowres' });
    expect(card.mode).toBe('sliding-window');
    expect(card.grid!.spacing).toEqual([1.5625, 1.5625, 3.0]);
    expect(card.tiling!.patch).toEqual([80, 160, 160]);
    expect(card.description).toContain('"3d_lowres"');
  });

  it('2d: slice mode with the 2-D patch, in-plane mirroring, slice axis at the median spacing', () => {
    const { plans, dataset } = ct();
    const card = cardFromNnunet(plans, dataset, { ...opts, configuration: '2d' });
    expect(card.mode).toBe('slice');
    expect(card.input).toEqual({ channels: 1, axes: ['k', 'j', 'i'] });
    expect(card.tiling).toEqual(nnunetTiling([512, 512], [1, 2]));
    // 2d spacing (y, x) = [0.78125, 0.78125]; slice axis k from original_median_spacing_after_transp[0]
    expect(card.grid!.spacing).toEqual([0.78125, 0.78125, 3.0]);
    expect(card.normalization).toEqual({ type: 'ct', clip: [-79.0, 303.0], mean: 101.53, std: 76.24 });
    expect(() => parseModelCard(card, '2d')).not.toThrow();
  });

  it('inherits_from: fields from the parent, overridden by the child', () => {
    const { plans, dataset } = ct();
    const card = cardFromNnunet(plans, dataset, { ...opts, configuration: '3d_fullres_custom_spacing' });
    expect(card.grid!.spacing).toEqual([0.75, 0.8, 2.5]); // own spacing [2.5, 0.8, 0.75], reversed
    expect(card.tiling!.patch).toEqual([40, 256, 192]); // inherited
    expect(card.normalization).toEqual({ type: 'ct', clip: [-79.0, 303.0], mean: 101.53, std: 76.24 }); // inherited
  });

  it('inherits_from chains resolve; a missing parent or a cycle is a clear error', () => {
    const { plans, dataset } = ct();
    plans.configurations['3d_fullres_bs4'] = { inherits_from: '3d_fullres_custom_spacing', batch_size: 4 };
    expect(cardFromNnunet(plans, dataset, { ...opts, configuration: '3d_fullres_bs4' }).grid!.spacing).toEqual([0.75, 0.8, 2.5]);

    plans.configurations.orphan = { inherits_from: '3d_hires' };
    const e = thrown(() => cardFromNnunet(plans, dataset, { ...opts, configuration: 'orphan' }));
    expect(e.message).toMatch(/^plans\.json: configurations\.orphan\.inherits_from: no configuration "3d_hires"; available: "2d", "3d_lowres", "3d_fullres"/);

    plans.configurations.a = { inherits_from: 'b' };
    plans.configurations.b = { inherits_from: 'a' };
    expect(() => cardFromNnunet(plans, dataset, { ...opts, configuration: 'a' })).toThrow(/circular inheritance: a → b → a/);
  });

  it('an unknown configuration is an error listing the available ones', () => {
    const { plans, dataset } = ct();
    const e = thrown(() => cardFromNnunet(plans, dataset, { ...opts, configuration: '3d_midres' }));
    expect(e).toBeInstanceOf(NnunetImportError);
    expect(e).toBeInstanceOf(SegError);
    expect((e as SegError).code).toBe('INVALID_MODEL_CARD');
    expect(e.message).toBe(
      'plans.json: configurations: no configuration "3d_midres"; available: "2d", "3d_lowres", "3d_fullres", "3d_cascade_fullres", "3d_fullres_custom_spacing"',
    );
  });

  it('the cascade stage is refused (it needs the previous stage as input)', () => {
    const { plans, dataset } = ct();
    expect(() => cardFromNnunet(plans, dataset, { ...opts, configuration: '3d_cascade_fullres' })).toThrow(
      /configurations\.3d_cascade_fullres\.previous_stage: .*second stage of a cascade.*"3d_lowres"/,
    );
  });

  it('options: name, batch size, tta off; version from the plans when present', () => {
    const { plans, dataset } = ct();
    plans.version = '2024-05';
    const card = cardFromNnunet(plans, dataset, { modelPath: 'm.onnx', name: 'kidney-ct', batchSize: 4, tta: false });
    expect(card.name).toBe('kidney-ct');
    expect(card.version).toBe('2024-05');
    expect(card.tiling!.batchSize).toBe(4);
    expect(card.tiling!.mirrorAxes).toEqual([]);
    expect(() => cardFromNnunet(plans, dataset, { modelPath: 'm.onnx', batchSize: 0 })).toThrow(RangeError);
    expect(() => cardFromNnunet(plans, dataset, { modelPath: '' })).toThrow(TypeError);
  });

  it('transpose_forward: tensor axes and spacing follow nnU-Net\'s axis permutation', () => {
    const { plans, dataset } = ct();
    // Transposed axis a is SimpleITK axis t[a]: [2, 0, 1] → (x, z, y) → letters (i, k, j).
    plans.transpose_forward = [2, 0, 1];
    plans.transpose_backward = [1, 2, 0];
    plans.configurations['3d_fullres'].spacing = [0.7, 3.0, 0.8];
    const card = cardFromNnunet(plans, dataset, opts);
    expect(card.input!.axes).toEqual(['i', 'k', 'j']);
    expect(card.grid!.spacing).toEqual([0.7, 0.8, 3.0]); // i ← 0.7, j ← 0.8, k ← 3.0
    expect(card.tiling!.patch).toEqual([40, 256, 192]); // already in tensor order
    plans.transpose_forward = [0, 0, 1];
    expect(() => cardFromNnunet(plans, dataset, opts)).toThrow(/transpose_forward: must be a permutation/);
  });

  it('NibabelIOWithReorient: the model grid is the closest RAS reorientation', () => {
    const { plans, dataset } = ct();
    plans.image_reader_writer = 'NibabelIOWithReorient';
    expect(cardFromNnunet(plans, dataset, opts).grid).toEqual({ orientation: 'RAS', orientationMode: 'closest', spacing: [0.78125, 0.78125, 3.0], interpolation: 'linear' });
  });

  it('falls back to 2d when there is no 3d_fullres', () => {
    const { plans, dataset } = ct();
    delete plans.configurations['3d_fullres'];
    delete plans.configurations['3d_cascade_fullres'];
    delete plans.configurations['3d_fullres_custom_spacing'];
    expect(cardFromNnunet(plans, dataset, opts).mode).toBe('slice');
    delete plans.configurations['2d'];
    expect(() => cardFromNnunet(plans, dataset, opts)).toThrow(/no configuration "2d"; available: "3d_lowres"/);
  });
});

describe('cardFromNnunet: MRI, region-based, 4 channels (fixtures/nnunet/mri-brats)', () => {
  it('3d_fullres: z-score on nonzero voxels, nonzero crop, sigmoid regions in regions_class_order', () => {
    const { plans, dataset } = brats();
    const card = cardFromNnunet(plans, dataset, opts);
    expect(card.name).toBe('Dataset137_BraTS2021');
    expect(card.mode).toBe('sliding-window');
    expect(card.input).toEqual({ channels: 4, axes: ['k', 'j', 'i'] });
    expect(card.grid!.spacing).toEqual([1, 1, 1]);
    expect(card.normalization).toEqual({ type: 'zscore', nonzeroOnly: true });
    expect(card.crop).toEqual({ type: 'nonzero' });
    expect(card.normalizeBeforeResampling).toBe(true);
    expect(card.tiling).toEqual(nnunetTiling([128, 160, 112], [0, 1, 2]));
    expect(card.output).toEqual({ channels: 3, activation: 'sigmoid', threshold: 0.5, sigmoidRule: 'ordered', channelLabels: [1, 2, 3], resample: 'probabilities' });
    expect(card.labels.map(({ value, name }) => ({ value, name }))).toEqual([
      { value: 1, name: 'whole tumor' },
      { value: 2, name: 'tumor core' },
      { value: 3, name: 'enhancing tumor' },
    ]);
    const spec = parseModelCard(card, 'brats');
    expect(spec.input.channels).toBe(4);
  });

  it('2d', () => {
    const { plans, dataset } = brats();
    const card = cardFromNnunet(plans, dataset, { ...opts, configuration: '2d' });
    expect(card.mode).toBe('slice');
    expect(card.tiling!.patch).toEqual([192, 160]);
    expect(card.tiling!.mirrorAxes).toEqual([1, 2]);
    expect(card.crop).toEqual({ type: 'nonzero' });
    expect(() => parseModelCard(card, '2d')).not.toThrow();
  });

  it('KiTS23-style regions: a scalar region among lists and a non-monotonic regions_class_order', () => {
    const { plans, dataset } = ct();
    // As nnU-Net's Dataset220_KiTS2023 conversion declares them.
    dataset.labels = { background: 0, kidney: [1, 2, 3], masses: [2, 3], tumor: 2 };
    dataset.regions_class_order = [1, 3, 2];
    const card = cardFromNnunet(plans, dataset, opts);
    expect(card.output).toEqual({ channels: 3, activation: 'sigmoid', threshold: 0.5, sigmoidRule: 'ordered', channelLabels: [1, 3, 2], resample: 'probabilities' });
    expect(card.labels.map(({ value, name }) => [value, name])).toEqual([
      [1, 'kidney'],
      [2, 'tumor'],
      [3, 'masses'],
    ]);
  });

  it('regions need a matching regions_class_order', () => {
    const { plans, dataset } = brats();
    delete dataset.regions_class_order;
    expect(() => cardFromNnunet(plans, dataset, opts)).toThrow(/^dataset\.json: regions_class_order: region-based labels/);
    dataset.regions_class_order = [1, 2];
    expect(() => cardFromNnunet(plans, dataset, opts)).toThrow(/regions_class_order: has 2 entries for 3 regions \(whole tumor, tumor core, enhancing tumor\)/);
  });

  it('the ignore label is not an output channel', () => {
    const { plans, dataset } = ct();
    dataset.labels = { background: 0, kidney: 1, tumor: 2, ignore: 3 };
    const card = cardFromNnunet(plans, dataset, opts);
    expect(card.output.channels).toBe(3);
    expect(card.labels.map((l) => l.name)).toEqual(['kidney', 'tumor']);
  });
});

describe('cardFromNnunet: normalisation schemes', () => {
  const withScheme = (scheme: string, mask = false) => {
    const { plans, dataset } = ct();
    plans.configurations['3d_fullres'].normalization_schemes = [scheme];
    plans.configurations['3d_fullres'].use_mask_for_norm = [mask];
    return cardFromNnunet(plans, dataset, opts);
  };

  it('maps each nnU-Net scheme', () => {
    expect(withScheme('NoNormalization').normalization).toEqual({ type: 'none' });
    expect(withScheme('RescaleTo01Normalization').normalization).toEqual({ type: 'minmax' });
    expect(withScheme('RGBTo01Normalization').normalization).toEqual({ type: 'range', aMin: 0, aMax: 255, bMin: 0, bMax: 1, clip: false });
    expect(withScheme('ZScoreNormalization').normalization).toEqual({ type: 'zscore', nonzeroOnly: false });
    expect(withScheme('ZScoreNormalization').crop).toBeUndefined();
    expect(withScheme('ZScoreNormalization', true).crop).toEqual({ type: 'nonzero' });
  });

  it('an unknown scheme is an error', () => {
    expect(() => withScheme('MyFancyNormalization')).toThrow(
      /^plans\.json: configurations\.3d_fullres\.normalization_schemes: unsupported normalisation scheme "MyFancyNormalization"; supported: CTNormalization/,
    );
  });

  it('different schemes per channel are refused: the card has one normalisation', () => {
    const { plans, dataset } = brats();
    plans.configurations['3d_fullres'].normalization_schemes = ['ZScoreNormalization', 'ZScoreNormalization', 'ZScoreNormalization', 'CTNormalization'];
    expect(() => cardFromNnunet(plans, dataset, opts)).toThrow(
      /normalization_schemes: the channels use different schemes \(.*\); nnU-Net normalises each channel on its own, but the model card format supports one normalisation for all channels/,
    );
  });

  it('CT with several channels needs identical statistics; z-score needs one use_mask_for_norm', () => {
    const { plans, dataset } = brats();
    plans.configurations['3d_fullres'].normalization_schemes = Array(4).fill('CTNormalization');
    expect(() => cardFromNnunet(plans, dataset, opts)).toThrow(/different intensity statistics per channel/);
    const b = brats();
    b.plans.configurations['3d_fullres'].use_mask_for_norm = [true, true, false, true];
    expect(() => cardFromNnunet(b.plans, b.dataset, opts)).toThrow(/use_mask_for_norm: differs between channels/);
  });

  it('the scheme list must match the channel count', () => {
    const { plans, dataset } = brats();
    dataset.channel_names = { 0: 'T1', 1: 'T1ce' };
    expect(() => cardFromNnunet(plans, dataset, opts)).toThrow(
      /configurations\.3d_fullres\.normalization_schemes: has 4 entries, but dataset\.json channel_names lists 2 channel\(s\)/,
    );
  });

  it('CTNormalization without its statistics names the missing field', () => {
    const { plans, dataset } = ct();
    delete plans.foreground_intensity_properties_per_channel['0'].percentile_99_5;
    expect(() => cardFromNnunet(plans, dataset, opts)).toThrow('plans.json: foreground_intensity_properties_per_channel.0.percentile_99_5: missing');
    delete plans.foreground_intensity_properties_per_channel;
    expect(() => cardFromNnunet(plans, dataset, opts)).toThrow(/^plans\.json: foreground_intensity_properties_per_channel: missing or not an object/);
  });

  it('reads the older foreground_intensity_properties_by_modality and dataset.json "modality"', () => {
    const { plans, dataset } = ct();
    plans.foreground_intensity_properties_by_modality = plans.foreground_intensity_properties_per_channel;
    delete plans.foreground_intensity_properties_per_channel;
    dataset.modality = dataset.channel_names;
    delete dataset.channel_names;
    expect(cardFromNnunet(plans, dataset, opts).normalization).toEqual({ type: 'ct', clip: [-79.0, 303.0], mean: 101.53, std: 76.24 });
  });
});

describe('cardFromNnunet: bad labels and fields', () => {
  const withLabels = (labels: unknown) => {
    const { plans, dataset } = ct();
    dataset.labels = labels;
    return () => cardFromNnunet(plans, dataset, opts);
  };

  it('names the file and field', () => {
    expect(withLabels(undefined)).toThrow(/^dataset\.json: labels: missing or not an object/);
    expect(withLabels({ background: 0, liver: 1, tumour: 3 })).toThrow('dataset.json: labels: values must be consecutive integers 0, 1, 2, … (nnU-Net v2), got 0, 1, 3');
    expect(withLabels({ liver: 1 })).toThrow('dataset.json: labels: has no background entry; nnU-Net v2 requires "background": 0');
    expect(withLabels({ background: 0, liver: 1, spleen: 1 })).toThrow('dataset.json: labels.spleen: has value 1, as does "liver"');
    expect(withLabels({ background: 0, liver: 'one' })).toThrow('dataset.json: labels.liver: must be a number, got "one"');
    expect(withLabels({ background: 0 })).toThrow('dataset.json: labels: has no foreground label');
    expect(withLabels({ 0: 'background', 1: 'liver' })).toThrow(/labels: maps values to names \(nnU-Net v1 format\)/);
  });

  it('plans fields', () => {
    const { plans, dataset } = ct();
    plans.configurations['3d_fullres'].patch_size = [40, 256];
    expect(() => cardFromNnunet(plans, dataset, opts)).toThrow('plans.json: configurations.3d_fullres.spacing: has 3 entries but patch_size has 2');
    plans.configurations['3d_fullres'].patch_size = [40, 256, 0];
    expect(() => cardFromNnunet(plans, dataset, opts)).toThrow('plans.json: configurations.3d_fullres.patch_size[2]: must be an integer ≥ 1, got 0');
    plans.configurations['3d_fullres'].patch_size = [40, 256, 192];
    plans.configurations['3d_fullres'].preprocessor_name = 'MyPreprocessor';
    expect(() => cardFromNnunet(plans, dataset, opts)).toThrow(/preprocessor_name: "MyPreprocessor" is a custom preprocessor/);
    expect(() => cardFromNnunet([], dataset, opts)).toThrow('plans.json: is not a JSON object (expected an nnU-Net v2 plans.json)');
  });
});

describe('importNnunetCard (files)', () => {
  const tmp = mkdtempSync(join(tmpdir(), 'medseg-nnunet-'));

  it('reads plans.json and dataset.json; the card round-trips through JSON and parseModelCard', async () => {
    const card = await importNnunetCard(CT_PLANS, CT_DATASET, { modelPath: 'kidney.onnx' });
    expect(card).toEqual(cardFromNnunet(ct().plans, ct().dataset, { modelPath: 'kidney.onnx' }));
    const text = JSON.stringify(card, null, 2);
    expect(() => parseModelCard(JSON.parse(text) as ModelCardJson, 'kidney.card.json')).not.toThrow();
  });

  it('a missing file is FILE_NOT_FOUND naming the file', async () => {
    const missing = join(tmp, 'nope', 'plans.json');
    const e = (await importNnunetCard(missing, CT_DATASET, opts).catch((err: unknown) => err)) as SegError;
    expect(e).toBeInstanceOf(SegError);
    expect(e.code).toBe('FILE_NOT_FOUND');
    expect(e.message).toContain(missing);
  });

  it('a file that is not JSON names the file', async () => {
    const bad = join(tmp, 'dataset.json');
    writeFileSync(bad, '{"labels": {"background": 0,');
    const e = (await importNnunetCard(CT_PLANS, bad, opts).catch((err: unknown) => err)) as NnunetImportError;
    expect(e).toBeInstanceOf(NnunetImportError);
    expect(e.file).toBe(bad);
    expect(e.message).toMatch(new RegExp(`^${bad.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: not valid JSON`));
  });

  it('swapped files say which file lacks what', async () => {
    await expect(importNnunetCard(CT_DATASET, CT_PLANS, opts)).rejects.toThrow(`${CT_DATASET}: configurations: missing or not an object — is this an nnU-Net v2 plans.json?`);
  });

  it('errors in dataset.json name dataset.json', async () => {
    const ds = join(tmp, 'dataset-bad.json');
    writeFileSync(ds, JSON.stringify({ channel_names: { 0: 'CT' }, labels: { background: 0, kidney: [1, 2] } }));
    await expect(importNnunetCard(CT_PLANS, ds, opts)).rejects.toThrow(`${ds}: regions_class_order: region-based labels`);
  });
});

describe('labelColor', () => {
  it('is deterministic and distinct for many labels', () => {
    const used = new Set<string>();
    const colors = Array.from({ length: 200 }, (_, n) => labelColor(n + 1, used).join(','));
    expect(new Set(colors).size).toBe(200);
    expect(labelColor(7)).toEqual(labelColor(7));
    for (const c of colors) expect(c).not.toBe('0,0,0');
  });
});
