/** `medseg import-nnunet`: a model card from an nnU-Net v2 plans.json + dataset.json. */
import { promises as fsp } from 'node:fs';
import * as path from 'node:path';
import { SegError } from '../errors.js';
import { writeFileAtomic } from '../io/atomic-write.js';
import { importNnunetCard } from '../inference/nnunet.js';

export interface ImportNnunetOptions {
  onnx: string;
  out: string;
  configuration?: string | undefined;
  batchSize?: number | undefined;
  tta?: boolean | undefined;
}

export async function importNnunetCommand(plansFile: string, datasetFile: string, options: ImportNnunetOptions) {
  const onnx = path.resolve(options.onnx);
  try {
    await fsp.access(onnx);
  } catch {
    throw new SegError('FILE_NOT_FOUND', `${options.onnx}: the ONNX model does not exist`);
  }
  const cardDir = path.dirname(path.resolve(options.out));
  // The card names its model relative to itself, so card and model can move together.
  const modelPath = path.relative(cardDir, onnx).split(path.sep).join('/');
  const card = await importNnunetCard(plansFile, datasetFile, {
    modelPath,
    configuration: options.configuration,
    batchSize: options.batchSize,
    tta: options.tta,
  });
  await fsp.mkdir(cardDir, { recursive: true });
  await writeFileAtomic(options.out, [Buffer.from(`${JSON.stringify(card, null, 2)}\n`)]);
  return { card: options.out, name: card.name, mode: card.mode, labels: card.labels.length, model: modelPath };
}
