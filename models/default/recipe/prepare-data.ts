/**
 * Training data for the default model, prepared exactly as medseg's inference pipeline sees a scan: each phantom CT is
 * generated at its own drawn acquisition (spacing, slice thickness, noise, optional obliquity), then taken through
 * `prepareModelInput` (the card's grid, trilinear resampling, CT normalisation, body crop). The targets are the
 * phantom's analytic anatomy sampled at the centres of that same cropped model grid (not nearest-neighbour copies of
 * thick-slice labels), so the network learns the true anatomy from blurred, noisy input.
 *
 * Usage: npx tsx models/default/recipe/prepare-data.ts --card models/default/default.card.json --seeds 1000-1079
 *          --out scratch/train-data [--oblique-every 4] [--phase non-contrast]
 * --phase keeps only the seeds whose phantom is drawn in that contrast phase (config.json's extra non-contrast cases).
 * Writes per case: case-<seed>.json (dims as [W, H, D], phantom facts), case-<seed>.img.f32 (float32, W fastest),
 * case-<seed>.lab.u8 (uint8 labels).
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { readModelCardSpec } from '../../../src/inference/card.js';
import { prepareModelInput } from '../../../src/inference/pipeline.js';
import { buildContext, labelsOnGrid } from '../../../src/phantom/context.js';
import { generatePhantom } from '../../../src/phantom/generate.js';
import { CONTRAST_PHASES } from '../../../src/phantom/materials.js';
import { indexToLps } from '../../../src/volume/geometry.js';
import type { Vec3, Vec3i } from '../../../src/volume/types.js';
import { isOblique, parseSeeds } from './seeds.js';

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { card: { type: 'string' }, seeds: { type: 'string' }, out: { type: 'string' }, 'oblique-every': { type: 'string', default: '4' }, phase: { type: 'string' } } });
  if (!values.card || !values.seeds || !values.out) throw new Error('usage: prepare-data.ts --card <card.json> --seeds a-b --out <dir> [--oblique-every n]');
  // Not loadModelCard: the ONNX file does not exist before training.
  const card = await readModelCardSpec(values.card);
  const every = Number(values['oblique-every']);
  if (values.phase !== undefined && !(CONTRAST_PHASES as readonly string[]).includes(values.phase)) {
    throw new Error(`--phase: expected one of ${CONTRAST_PHASES.join(', ')}, got "${values.phase}"`);
  }
  await mkdir(values.out, { recursive: true });
  for (const seed of parseSeeds(values.seeds)) {
    const t0 = performance.now();
    const options = { seed, oblique: isOblique(seed, every) };
    if (values.phase) {
      const phase = buildContext(options).phase;
      if (phase !== values.phase) continue;
    }
    const phantom = await generatePhantom(options);
    const input = prepareModelInput([phantom.ct], card);
    const offset = input.crop?.offset ?? [0, 0, 0];
    const dims = (input.crop?.dims ?? input.engine.dims) as Vec3i;
    const origin = indexToLps(input.engine, offset as unknown as Vec3);
    const labels = labelsOnGrid(buildContext(options), { dims, spacing: input.engine.spacing, origin, direction: input.engine.direction });
    const counts = new Array<number>(card.output.channels).fill(0);
    for (const l of labels) counts[l] = (counts[l] ?? 0) + 1;
    const base = join(values.out, `case-${seed}`);
    await writeFile(`${base}.img.f32`, new Uint8Array(input.channels[0]!.buffer));
    await writeFile(`${base}.lab.u8`, labels);
    const meta = {
      seed,
      dims,
      spacing: input.engine.spacing,
      oblique: options.oblique,
      phase: phantom.truth.phase,
      sourceSpacing: phantom.ct.spacing,
      sourceDims: phantom.ct.dims,
      counts,
      lesionsMm: phantom.truth.lesions.map((l) => l.diameterMm),
    };
    await writeFile(`${base}.json`, JSON.stringify(meta));
    console.log(`case ${seed}: ${dims.join('×')} from ${phantom.ct.dims.join('×')} @ ${phantom.ct.spacing.map((s) => s.toFixed(2)).join('×')} mm, ${meta.lesionsMm.length} lesion(s), ${((performance.now() - t0) / 1000).toFixed(1)} s`);
  }
}

await main();
