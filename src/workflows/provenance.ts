/**
 * provenance.json of `medseg segment`: what was segmented (input files and their SHA-256), with which model (card and
 * ONNX SHA-256), by which software, with which parameters, how long each stage took and what it warned about.
 *
 * It is written last, after labels, probabilities and statistics, so its presence marks a finished study: `segment`
 * deletes a previous provenance.json before writing anything, and `segment --batch` skips a study only when its
 * provenance.json exists with the same card and model hashes.
 *
 * Input hash: SHA-256 over the bytes of the files the volume was read from, concatenated in path order (a DICOM
 * series' files, a NIfTI file, or both halves of a .hdr/.img pair). For a single file it equals `sha256sum <file>`.
 * Files rather than voxels: it pins the exact input including headers (geometry, rescale, UIDs), and anyone can
 * check it without medseg; a re-export of the same pixels therefore hashes differently.
 */
import { createHash } from 'node:crypto';
import { createReadStream, promises as fsp } from 'node:fs';
import { createRequire } from 'node:module';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { SegError } from '../errors.js';
import { writeFileAtomic } from '../io/atomic-write.js';
import type { LoadedScan } from '../io/load.js';

export const PROVENANCE_FILE = 'provenance.json';

export interface Provenance {
  /** Bumped when fields change meaning. */
  schemaVersion: 1;
  /** "complete": every output listed in `outputs` was written before this file. */
  status: 'complete';
  startedAt: string;
  finishedAt: string;
  input: {
    /** The paths given, resolved to absolute paths. */
    paths: string[];
    format: 'nifti' | 'dicom';
    /** The files the volume was read from (absolute), in path order; the hash covers these bytes. */
    files: string[];
    sha256: string;
    sha256Of: 'input-files-concatenated-in-path-order';
    dicom: {
      studyInstanceUid: string | null;
      seriesInstanceUid: string;
      /** The series id `medseg info` lists (SeriesInstanceUID, "#2" for a further stack). */
      seriesId: string;
      seriesNumber: number | null;
      seriesDescription: string | null;
      modality: string | null;
      files: number;
    } | null;
    nifti: { volumeIndex: number; volumeCount: number } | null;
    grid: { dims: number[]; spacing: number[]; origin: number[]; direction: number[] };
  };
  model: { name: string; version: string; card: string; cardSha256: string; onnx: string; onnxSha256: string };
  software: { medseg: string; node: string; onnxruntime: string };
  parameters: {
    provider: { asked: string; used: string };
    /** null: ONNX Runtime's default (all cores). */
    threads: number | null;
    batchSize: { asked: number | null; used: number };
    tta: { asked: boolean; used: boolean; mirrorAxes: number[] };
    probabilities: boolean;
    seriesId: string | null;
    allowNonUniform: boolean;
    /** The card's postprocessing, applied on the scan grid after inference. */
    postprocess: unknown;
  };
  timingsMs: { load: number; preprocess: number; inference: number; sessionRun: number; postprocess: number; stats: number; write: number; total: number };
  /** Files written before this one, relative to the output folder. */
  outputs: { file: string; bytes: number; sha256: string }[];
  warnings: string[];
}

/** SHA-256 (hex) of a file's bytes, streamed. */
export async function sha256File(file: string): Promise<string> {
  return sha256Files([file]);
}

/** SHA-256 (hex) of the files' bytes concatenated in the order given, streamed. */
export async function sha256Files(files: readonly string[]): Promise<string> {
  const hash = createHash('sha256');
  for (const file of files) {
    for await (const chunk of createReadStream(file, { highWaterMark: 1 << 20 })) hash.update(chunk as Buffer);
  }
  return hash.digest('hex');
}

/** The files a loaded scan was read from (absolute paths, sorted). */
export async function scanSourceFiles(scan: LoadedScan, inputs: readonly string[]): Promise<string[]> {
  if (scan.format === 'dicom') return [...new Set(scan.dicom.series.files.map((f) => path.resolve(f)))].sort();
  const file = path.resolve(inputs[0]!);
  const m = /^(.*)\.(hdr|img)(\.gz)?$/i.exec(file);
  if (!m) return [file];
  // An Analyze/NIfTI pair: the header and the voxels are both input. Same rule as io/nifti/read.ts (extension case
  // as given; the image with the header's compression, else either), so a case-insensitive disk never counts twice.
  const upper = m[2] === m[2]!.toUpperCase();
  const ext = (e: string) => (upper ? e.toUpperCase() : e);
  const gz = m[3] ?? '';
  const header = `${m[1]}.${ext('hdr')}${gz}`;
  for (const image of [`${m[1]}.${ext('img')}${gz}`, `${m[1]}.${ext('img')}`, `${m[1]}.${ext('img')}.gz`]) {
    if (await fsp.stat(image).then((s) => s.isFile(), () => false)) return [header, image].sort();
  }
  return [header];
}

/** The input part of the provenance, except the hash. */
export function describeInput(scan: LoadedScan, inputs: readonly string[], files: string[], sha256: string): Provenance['input'] {
  const v = scan.volume;
  const s = scan.format === 'dicom' ? scan.dicom.series : undefined;
  return {
    paths: inputs.map((p) => path.resolve(p)),
    format: scan.format,
    files,
    sha256,
    sha256Of: 'input-files-concatenated-in-path-order',
    dicom: s
      ? {
          studyInstanceUid: s.studyInstanceUid ?? null,
          seriesInstanceUid: s.seriesInstanceUid,
          seriesId: s.id,
          seriesNumber: s.seriesNumber ?? null,
          seriesDescription: s.seriesDescription ?? null,
          modality: s.modality ?? null,
          files: s.files.length,
        }
      : null,
    nifti: scan.format === 'nifti' ? { volumeIndex: scan.nifti.volumeIndex, volumeCount: scan.nifti.volumeCount } : null,
    grid: { dims: [...v.dims], spacing: [...v.spacing], origin: [...v.origin], direction: [...v.direction] },
  };
}

let versions: Provenance['software'] | undefined;

/** medseg (package.json), Node.js and onnxruntime-node versions, read once. */
export async function softwareVersions(): Promise<Provenance['software']> {
  if (versions) return versions;
  const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
  const readVersion = async (file: string) => {
    try {
      return String((JSON.parse(await fsp.readFile(file, 'utf8')) as { version?: unknown }).version ?? 'unknown');
    } catch {
      return 'unknown';
    }
  };
  let ortPackage: string | undefined;
  try {
    ortPackage = createRequire(path.join(root, 'package.json')).resolve('onnxruntime-node/package.json');
  } catch {
    ortPackage = undefined;
  }
  versions = {
    medseg: await readVersion(path.join(root, 'package.json')),
    node: process.version,
    onnxruntime: ortPackage ? await readVersion(ortPackage) : 'unknown',
  };
  return versions;
}

/** SHA-256 and size of each output file, named relative to `dir`. */
export async function describeOutputs(dir: string, files: readonly string[]): Promise<Provenance['outputs']> {
  return Promise.all(
    files.map(async (file) => ({
      file: path.relative(dir, file).split(path.sep).join('/'),
      bytes: (await fsp.stat(file)).size,
      sha256: await sha256File(file),
    })),
  );
}

/**
 * Writes <dir>/provenance.json atomically. Call it after every other output.
 * @throws SegError WRITE_FAILED.
 */
export async function writeProvenance(dir: string, provenance: Provenance): Promise<string> {
  const file = path.join(dir, PROVENANCE_FILE);
  await writeFileAtomic(file, [Buffer.from(`${JSON.stringify(provenance, null, 2)}\n`)]);
  return file;
}

/** Deletes <dir>/provenance.json so that a run interrupted while rewriting the outputs is not taken as finished. */
export async function removeProvenance(dir: string): Promise<void> {
  const file = path.join(dir, PROVENANCE_FILE);
  try {
    await fsp.rm(file, { force: true });
  } catch (cause) {
    throw new SegError('WRITE_FAILED', `${file}: the previous run's provenance could not be removed (${(cause as Error).message})`, { cause });
  }
}

/** The provenance of a finished study in `dir`, or undefined when there is none or it cannot be parsed. */
export async function readProvenance(dir: string): Promise<Provenance | undefined> {
  try {
    const p = JSON.parse(await fsp.readFile(path.join(dir, PROVENANCE_FILE), 'utf8')) as Provenance;
    return p && p.status === 'complete' && typeof p.model?.cardSha256 === 'string' ? p : undefined;
  } catch {
    return undefined;
  }
}
