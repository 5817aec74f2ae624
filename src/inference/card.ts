/**
 * Model cards: a JSON file next to (or naming) an ONNX model that says how the model's authors run it. Validated
 * with zod; every error names the card file and the offending field.
 */
import { promises as fsp } from 'node:fs';
import * as path from 'node:path';
import { z } from 'zod';
import { SegError } from '../errors.js';

const axisLetter = z.enum(['i', 'j', 'k']);
const vec3 = z.tuple([z.number().positive(), z.number().positive(), z.number().positive()]);
const int3 = z.tuple([z.number().int().positive(), z.number().int().positive(), z.number().int().positive()]);
const intOr3 = z.union([z.number().int().positive(), int3]);
const code = z.object({ scheme: z.string().min(1), value: z.string().min(1), meaning: z.string().min(1) }).strict();

/** A 3-letter orientation code (one of L/R, P/A, I/S per axis), e.g. RAS, LPS, LIA. */
const orientation = z
  .string()
  .regex(/^[LRPAIS]{3}$/, 'an orientation code of three letters from L/R, P/A, I/S, e.g. "RAS" or "LIA"')
  .refine((s) => new Set([...s].map((c) => ({ L: 0, R: 0, P: 1, A: 1, I: 2, S: 2 })[c])).size === 3, {
    message: 'each of the L/R, P/A and I/S pairs must appear exactly once',
  });

const normalization = z.discriminatedUnion('type', [
  z.object({ type: z.literal('none') }).strict(),
  /** nnU-Net CTNormalization: clip to [lower, upper] (dataset foreground percentiles), then (x − mean) / max(std, 1e-8). */
  z.object({ type: z.literal('ct'), clip: z.tuple([z.number(), z.number()]), mean: z.number(), std: z.number().nonnegative() }).strict(),
  /** Per-volume z-score (nnU-Net ZScoreNormalization); `nonzeroOnly` uses and changes only voxels ≠ 0. */
  z.object({ type: z.literal('zscore'), nonzeroOnly: z.boolean().default(false) }).strict(),
  /** Clip to the volume's [lower, upper] percentiles and scale that range to [outMin, outMax]. */
  z
    .object({
      type: z.literal('percentile'),
      lower: z.number().min(0).max(100),
      upper: z.number().min(0).max(100),
      outMin: z.number().default(0),
      outMax: z.number().default(1),
      nonzeroOnly: z.boolean().default(false),
    })
    .strict(),
  /** Scale the volume's own [min, max] to [0, 1]. */
  z.object({ type: z.literal('minmax') }).strict(),
  /** MONAI ScaleIntensityRange: [aMin, aMax] → [bMin, bMax], optionally clipped. */
  z
    .object({ type: z.literal('range'), aMin: z.number(), aMax: z.number(), bMin: z.number(), bMax: z.number(), clip: z.boolean().default(true) })
    .strict(),
]);

const crop = z.discriminatedUnion('type', [
  /** Bounding box of voxels > fractionOfMax · max (after normalisation), grown by `margin` voxels (brainchop). */
  z.object({ type: z.literal('threshold'), fractionOfMax: z.number().min(0).max(1), margin: z.number().int().nonnegative().default(0) }).strict(),
  /** Bounding box of nonzero voxels of the image before normalisation (nnU-Net crop_to_nonzero). */
  z.object({ type: z.literal('nonzero'), margin: z.number().int().nonnegative().default(0) }).strict(),
]);

const label = z
  .object({
    value: z.number().int().min(1).max(65535),
    name: z.string().min(1),
    color: z.tuple([z.number().int().min(0).max(255), z.number().int().min(0).max(255), z.number().int().min(0).max(255)]).optional(),
    /** SNOMED CT (or other) codes for DICOM SEG: segmented property category and type. */
    category: code.optional(),
    type: code.optional(),
  })
  .strict();

const padding = z
  .object({
    mode: z.enum(['constant', 'mirror', 'replicate']).default('constant'),
    value: z.number().default(0),
    /** Extra context added at every border before tiling, in voxels along the tensor axes (D, H, W). */
    margin: z.union([z.number().int().nonnegative(), z.tuple([z.number().int().nonnegative(), z.number().int().nonnegative(), z.number().int().nonnegative()])]).default(0),
  })
  .strict();

const connectivity = z.union([z.literal(6), z.literal(18), z.literal(26)]).default(26);
const postprocessLabels = z.array(z.number().int().min(1).max(65535)).optional();
/** Remove connected components smaller than minVolumeMm3 (mm³, never voxels: the same on every grid). */
const removeIslands = z.object({ minVolumeMm3: z.number().nonnegative(), labels: postprocessLabels, connectivity }).strict();

/** Applied on the scan grid in this order: largestComponent, removeIslands (each entry in turn), fillHoles. */
const postprocess = z
  .object({
    largestComponent: z
      .object({ labels: z.array(z.number().int().min(1)).optional(), connectivity: z.union([z.literal(6), z.literal(18), z.literal(26)]).default(26) })
      .strict()
      .optional(),
    /** One rule, or several (e.g. a different threshold for small structures). */
    removeIslands: z.union([removeIslands, z.array(removeIslands).min(1)]).optional(),
    /** 3-D hole filling: background enclosed by a label becomes that label. */
    fillHoles: z.object({ labels: postprocessLabels }).strict().optional(),
  })
  .strict();

export const modelCardSchema = z
  .object({
    schemaVersion: z.literal(1).default(1),
    name: z.string().min(1),
    version: z.string().default('unversioned'),
    description: z.string().optional(),
    license: z.string().optional(),
    /** Intended use and limits, in words (e.g. "trained on synthetic phantoms; not for clinical use"). */
    intendedUse: z.string().optional(),
    /** Path of the ONNX file, relative to the card; default: the card's name with .onnx. */
    model: z.string().min(1).optional(),
    mode: z.enum(['slice', 'sliding-window', 'whole']),
    input: z
      .object({
        name: z.string().min(1).optional(),
        /** Image channels (modalities). */
        channels: z.number().int().positive().default(1),
        /**
         * Which voxel axes of the model grid the tensor's spatial axes are, outermost first: ["k","j","i"] (the
         * default) is a NIfTI buffer as it is (NCDHW with W = i). For `slice` mode the first axis is the slice axis.
         */
        axes: z.tuple([axisLetter, axisLetter, axisLetter]).default(['k', 'j', 'i']).refine((a) => new Set(a).size === 3, { message: 'must be a permutation of i, j, k' }),
        /** `slice` mode: neighbouring slices on each side stacked as extra channels. */
        neighbourSlices: z.number().int().nonnegative().default(0),
        /** Spatial sizes the network accepts must be multiples of this (per tensor axis or one for all). */
        divisibleBy: intOr3.default(1),
      })
      .strict()
      .default({ channels: 1, axes: ['k', 'j', 'i'], neighbourSlices: 0, divisibleBy: 1 }),
    output: z
      .object({
        name: z.string().min(1).optional(),
        channels: z.number().int().positive(),
        /** Applied after blending raw outputs (nnU-Net blends logits, then softmax). */
        activation: z.enum(['softmax', 'sigmoid', 'none']),
        /** Sigmoid or single-channel outputs: foreground above this. */
        threshold: z.number().default(0.5),
        /**
         * Sigmoid outputs: `confident` labels a voxel with the most confident channel above the threshold; `ordered`
         * paints channels in order, later ones overwriting earlier ones where above the threshold (nnU-Net regions).
         */
        sigmoidRule: z.enum(['confident', 'ordered']).default('confident'),
        /** Label value of each output channel; default: channel c → c (softmax/none) or c + 1 (sigmoid). */
        channelLabels: z.array(z.number().int().min(0).max(65535)).optional(),
        /** How results return to the source grid: interpolate probabilities then argmax (nnU-Net), or nearest labels. */
        resample: z.enum(['probabilities', 'labels']).default('probabilities'),
      })
      .strict(),
    grid: z
      .object({
        /** Target orientation of the model grid's i, j, k axes; omit to keep the scan's voxel axes. */
        orientation: orientation.optional(),
        /** closest: permute/flip voxel axes only (MONAI Orientationd); exact: resample onto world-aligned axes. */
        orientationMode: z.enum(['closest', 'exact']).default('closest'),
        /** Target spacing (mm) along the model grid's i, j, k; omit to keep the scan's. */
        spacing: vec3.optional(),
        /** Fixed grid size (conform), centred on the scan's centre; needs `spacing`. */
        size: int3.optional(),
        interpolation: z.enum(['linear', 'nearest']).default('linear'),
        /** FreeSurfer/brainchop conform: uint8 inputs kept, others map 0..p99.9 of nonzero voxels to 0..255, result rounded to uint8. */
        quantize: z.enum(['uint8']).optional(),
      })
      .strict()
      .default({ orientationMode: 'closest', interpolation: 'linear' }),
    normalization: normalization.default({ type: 'none' }),
    /** Normalise on the scan's grid before resampling (nnU-Net) or on the model grid after (MONAI, brainchop). */
    normalizeBeforeResampling: z.boolean().default(false),
    crop: crop.optional(),
    tiling: z
      .object({
        /** Patch size along the tensor's spatial axes (D, H, W); `slice` mode: (H, W) or omitted for whole slices. */
        patch: z.union([int3, z.tuple([z.number().int().positive(), z.number().int().positive()])]).optional(),
        placement: z.enum(['nnunet', 'monai']).default('nnunet'),
        /** nnU-Net: step as a fraction of the patch (0.5); MONAI: overlap fraction (0.25). */
        step: z.number().positive().max(1).optional(),
        overlap: z.number().min(0).lt(1).optional(),
        blending: z.enum(['gaussian', 'constant']).default('gaussian'),
        sigmaScale: z.number().positive().default(0.125),
        padding: padding.default({ mode: 'constant', value: 0, margin: 0 }),
        /** Test-time mirroring: tensor spatial axes (0 = D, 1 = H, 2 = W) to flip; every non-empty combination is averaged. */
        mirrorAxes: z.array(z.number().int().min(0).max(2)).default([]),
        /** Tiles (or slices) per session run; needs a dynamic batch dimension. */
        batchSize: z.number().int().positive().default(1),
      })
      .strict()
      .default({ placement: 'nnunet', blending: 'gaussian', sigmaScale: 0.125, padding: { mode: 'constant', value: 0, margin: 0 }, mirrorAxes: [], batchSize: 1 }),
    postprocess: postprocess.default({}),
    labels: z.array(label).min(1),
  })
  .strict()
  .superRefine((card, ctx) => {
    if (card.mode === 'sliding-window' && card.tiling.patch?.length !== 3) {
      ctx.addIssue({ code: 'custom', path: ['tiling', 'patch'], message: 'sliding-window mode needs a 3-D patch size [D, H, W]' });
    }
    if (card.mode === 'slice' && card.tiling.patch && card.tiling.patch.length !== 2) {
      ctx.addIssue({ code: 'custom', path: ['tiling', 'patch'], message: 'slice mode takes a 2-D patch size [H, W] (or none for whole slices)' });
    }
    if (card.mode !== 'slice' && card.input.neighbourSlices > 0) {
      ctx.addIssue({ code: 'custom', path: ['input', 'neighbourSlices'], message: 'neighbour slices only apply to slice mode' });
    }
    if (card.grid.size && !card.grid.spacing) {
      ctx.addIssue({ code: 'custom', path: ['grid', 'size'], message: 'a fixed grid size needs grid.spacing as well' });
    }
    if (card.tiling.step !== undefined && card.tiling.placement !== 'nnunet') {
      ctx.addIssue({ code: 'custom', path: ['tiling', 'step'], message: 'step belongs to nnunet placement; MONAI placement takes overlap' });
    }
    if (card.tiling.overlap !== undefined && card.tiling.placement !== 'monai') {
      ctx.addIssue({ code: 'custom', path: ['tiling', 'overlap'], message: 'overlap belongs to monai placement; nnU-Net placement takes step' });
    }
    const values = new Set<number>();
    card.labels.forEach((l, n) => {
      if (values.has(l.value)) ctx.addIssue({ code: 'custom', path: ['labels', n, 'value'], message: `label value ${l.value} appears twice` });
      values.add(l.value);
    });
    const cl = card.output.channelLabels;
    if (cl && cl.length !== card.output.channels) {
      ctx.addIssue({ code: 'custom', path: ['output', 'channelLabels'], message: `has ${cl.length} entries for ${card.output.channels} output channels` });
    }
    for (const v of channelLabelValues(card)) {
      if (v !== 0 && !values.has(v)) {
        ctx.addIssue({ code: 'custom', path: ['labels'], message: `output channel label ${v} has no entry in labels` });
      }
    }
    if (card.output.activation === 'softmax' && card.output.channels < 2) {
      ctx.addIssue({ code: 'custom', path: ['output', 'activation'], message: 'softmax needs at least 2 output channels; use sigmoid for one' });
    }
  });

export type ModelCardJson = z.input<typeof modelCardSchema>;
export type ModelCardSpec = z.output<typeof modelCardSchema>;

/** A validated card with its ONNX path resolved and a content hash for provenance. */
export interface ModelCard extends ModelCardSpec {
  readonly cardFile: string;
  readonly modelFile: string;
}

/** Label value of every output channel. */
export function channelLabelValues(card: Pick<ModelCardSpec, 'output'>): number[] {
  const { channels, activation, channelLabels } = card.output;
  if (channelLabels) return [...channelLabels];
  return Array.from({ length: channels }, (_, c) => (activation === 'sigmoid' || channels === 1 ? c + 1 : c));
}

export class ModelCardError extends SegError {
  override name = 'ModelCardError';
  constructor(
    readonly cardFile: string,
    readonly problems: readonly string[],
  ) {
    super('INVALID_MODEL_CARD', `${cardFile}: invalid model card:\n  ${problems.join('\n  ')}`);
  }
}

/** Validates parsed JSON as a model card (no file access). */
export function parseModelCard(json: unknown, cardFile: string): ModelCardSpec {
  const result = modelCardSchema.safeParse(json);
  if (!result.success) {
    throw new ModelCardError(
      cardFile,
      result.error.issues.map((i) => `${i.path.length ? i.path.join('.') : '(card)'}: ${i.message}`),
    );
  }
  return result.data;
}

/** Reads and validates a model card without looking for its ONNX file (label names, training recipes). */
export async function readModelCardSpec(cardFile: string): Promise<ModelCardSpec> {
  let text: string;
  try {
    text = await fsp.readFile(cardFile, 'utf8');
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    throw new SegError(e.code === 'ENOENT' ? 'FILE_NOT_FOUND' : 'INVALID_MODEL_CARD', `${cardFile}: cannot read the model card (${e.code ?? e.message})`, { cause: err });
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw new ModelCardError(cardFile, [`not valid JSON: ${(err as Error).message}`]);
  }
  return parseModelCard(json, cardFile);
}

/** Reads and validates a model card; checks that its ONNX file exists. */
export async function loadModelCard(cardFile: string): Promise<ModelCard> {
  const spec = await readModelCardSpec(cardFile);
  const modelFile = path.resolve(path.dirname(cardFile), spec.model ?? `${path.basename(cardFile).replace(/(\.card)?\.json$/i, '')}.onnx`);
  try {
    const st = await fsp.stat(modelFile);
    if (!st.isFile()) throw new Error('not a file');
  } catch {
    throw new ModelCardError(cardFile, [`model: the ONNX file ${modelFile} does not exist (paths are relative to the card)`]);
  }
  return { ...spec, cardFile: path.resolve(cardFile), modelFile };
}
