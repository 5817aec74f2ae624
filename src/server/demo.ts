/**
 * The demo result `npm start` shows: a scan imported as a study and a finished segmentation of it imported as a
 * succeeded job, under ids derived from their contents, so the viewer URL printed once stays valid across restarts
 * and a changed demo gets new ids instead of mixing with the old one.
 */
import { createHash } from 'node:crypto';
import { createReadStream, existsSync, promises as fsp } from 'node:fs';
import * as path from 'node:path';
import { HttpError } from './http-error.js';
import type { JobQueue } from './jobs/types.js';
import type { ModelCatalog } from './models.js';
import type { StudyStore } from './studies.js';

export interface DemoOptions {
  /** The scan: NIfTI file, DICOM files or folders. */
  inputs: string[];
  /** A folder with the scan's segmentation: labels.nii.gz and stats.json (stats.csv, provenance.json when present). */
  results: string;
  /** The name of the model card the labels belong to (the viewer takes label names and colours from it). */
  model: string;
}

export interface DemoIds {
  study: string;
  job: string;
}

async function hashFile(hash: ReturnType<typeof createHash>, file: string): Promise<void> {
  for await (const chunk of createReadStream(file)) hash.update(chunk as Buffer);
}

/** Ids from a SHA-256 over the inputs' bytes (files in a stable order), the model name and the result files. */
export async function demoIds(demo: DemoOptions): Promise<DemoIds> {
  for (const name of ['labels.nii.gz', 'stats.json']) {
    if (!existsSync(path.join(demo.results, name))) throw new HttpError(500, 'BAD_RESULTS', `cannot import the demo result from ${demo.results}: ${name} is missing (run \`medseg segment\` or \`medseg stats --out\` into that folder first)`);
  }
  const scan = createHash('sha256').update('medseg-demo-study\0');
  const files: string[] = [];
  for (const src of demo.inputs) {
    if ((await fsp.stat(src)).isDirectory()) {
      const entries = await fsp.readdir(src, { recursive: true, withFileTypes: true });
      files.push(...entries.filter((e) => e.isFile()).map((e) => path.join(e.parentPath, e.name)).sort());
    } else files.push(src);
  }
  for (const f of files) await hashFile(scan, f);
  const study = `st_${scan.digest('hex').slice(0, 32)}`;
  const job = createHash('sha256').update(`medseg-demo-job\0${study}\0${demo.model}\0`);
  for (const name of ['labels.nii.gz', 'stats.json']) await hashFile(job, path.join(demo.results, name));
  return { study, job: `job_${job.digest('hex').slice(0, 32)}` };
}

/**
 * Imports the demo study and its result (idempotent).
 * @throws HttpError 404/409 when the model is unknown, 500 BAD_RESULTS when a result file is missing.
 */
export async function importDemo(demo: DemoOptions, stores: { studies: StudyStore; queue: JobQueue; models: ModelCatalog }): Promise<DemoIds> {
  const ids = await demoIds(demo);
  // The card must exist (its labels name the structures); its ONNX file need not be installed to view a result.
  await stores.models.find(demo.model);
  await stores.studies.importLocal(ids.study, demo.inputs);
  await stores.queue.importSucceeded(ids.job, { study: ids.study, model: demo.model, options: {} }, demo.results);
  return ids;
}
