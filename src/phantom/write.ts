/**
 * writePhantom: a generated phantom as files. `ct.nii.gz` (int16 HU, scl_slope 1 / scl_inter 0: the stored values
 * are the CT numbers), `labels.nii.gz` (uint8, NIFTI_INTENT_LABEL), `truth.json`, and with `dicom` a CT series in
 * `dicom/` holding exactly the same voxels on exactly the same grid.
 */
import { promises as fsp } from 'node:fs';
import { join } from 'node:path';
import { SegError } from '../errors.js';
import { writeFileAtomic } from '../io/atomic-write.js';
import { writeNifti } from '../io/nifti/write.js';
import { writeCtSeries } from './dicom-series.js';
import type { Phantom } from './generate.js';

export interface WritePhantomOptions {
  /** Also write the CT as a DICOM series in `<dir>/dicom/`. */
  dicom?: boolean | undefined;
  /** gzip level of the CT (default 1: the noise barely compresses, and level 6 costs 3× the time for ~3% less). */
  ctGzipLevel?: number | undefined;
}

export interface PhantomFiles {
  ct: string;
  labels: string;
  truth: string;
  dicom?: { dir: string; files: number };
}

/**
 * Writes the phantom's files into `dir` (created when missing), each atomically.
 * @throws SegError WRITE_FAILED naming the file or folder.
 */
export async function writePhantom(dir: string, phantom: Phantom, options: WritePhantomOptions = {}): Promise<PhantomFiles> {
  try {
    await fsp.mkdir(dir, { recursive: true });
  } catch (cause) {
    throw new SegError('WRITE_FAILED', `${dir}: the output folder could not be created (${(cause as Error).message})`, { cause });
  }
  const { truth } = phantom;
  const files: PhantomFiles = { ct: join(dir, 'ct.nii.gz'), labels: join(dir, 'labels.nii.gz'), truth: join(dir, 'truth.json') };
  const description = `medseg phantom seed ${truth.seed}`;
  // The two gzip streams run on libuv's thread pool, side by side.
  await Promise.all([
    writeNifti(files.ct, phantom.ct, { description, gzipLevel: options.ctGzipLevel ?? 1 }),
    writeNifti(files.labels, phantom.labels, { description, intentCode: 1002 }),
    writeFileAtomic(files.truth, [Buffer.from(`${JSON.stringify(truth, null, 2)}\n`)]),
  ]);
  if (options.dicom) {
    const dicomDir = join(dir, 'dicom');
    const written = await writeCtSeries(dicomDir, phantom.ct, {
      uidKey: `phantom/${truth.modelVersion}/${truth.seed}/${truth.dims.join('x')}/${truth.spacing.join(',')}/${truth.obliqueDeg}`,
      patientName: `PHANTOM^SEED${truth.seed}`,
      patientId: `MEDSEG-PHANTOM-${truth.seed}`,
      studyDate: syntheticDate(truth.seed),
      studyDescription: 'medseg abdominal CT phantom',
      seriesDescription: `phantom seed ${truth.seed} ${truth.phase}`,
      sliceThicknessMm: truth.sliceThicknessMm,
      contrastAgent: truth.phase === 'non-contrast' ? undefined : 'IV contrast',
      reconstructionDiameterMm: truth.dfovMm,
    });
    files.dicom = { dir: dicomDir, files: written.length };
  }
  return files;
}

/** A study date that depends only on the seed (2000-01-01 plus seed mod 7305 days), so files stay reproducible. */
function syntheticDate(seed: number): string {
  const d = new Date(Date.UTC(2000, 0, 1) + (seed % 7305) * 86400000);
  return `${d.getUTCFullYear()}${String(d.getUTCMonth() + 1).padStart(2, '0')}${String(d.getUTCDate()).padStart(2, '0')}`;
}
