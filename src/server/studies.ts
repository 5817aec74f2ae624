/**
 * Uploaded studies on disk: `<data>/studies/<id>/input/` (the scan files under sequence names) and `study.json`.
 * An upload is assembled in `<data>/tmp/` and renamed into place whole, so a study either exists complete or not at
 * all; only the extracted files are kept (zips are deleted after extraction).
 */
import { existsSync, promises as fsp } from 'node:fs';
import * as path from 'node:path';
import type { Request } from 'express';
import { z } from 'zod';
import { HttpError } from './http-error.js';
import { newId, parseId } from './ids.js';
import type { UploadLimits } from './options.js';
import { classifyFile, KIND_EXTENSION, type FileKind } from './upload/classify.js';
import { receiveMultipart } from './upload/multipart.js';
import { extractZip } from './upload/zip.js';

export const studySchema = z.object({
  id: z.string(),
  createdAt: z.string(),
  format: z.enum(['nifti', 'dicom']),
  /** Scan files kept (after extraction). */
  files: z.number().int(),
  /** Their total size. */
  bytes: z.number().int(),
  /** The loader's input, relative to the study folder: one NIfTI file, or the DICOM folder. */
  input: z.string(),
});
export type Study = z.infer<typeof studySchema>;

/** What the API shows of a study (the server-side layout stays private). */
export function publicStudy(s: Study) {
  return { id: s.id, createdAt: s.createdAt, format: s.format, files: s.files, bytes: s.bytes, image: `/api/studies/${s.id}/image.nii.gz` };
}

interface Classified {
  path: string;
  bytes: number;
  kind: FileKind;
}

/**
 * Decides what the kept files form: exactly one NIfTI, or DICOM files (plus files the DICOM reader will skip).
 * @throws HttpError 400 MIXED_UPLOAD, 415 UNSUPPORTED_MEDIA_TYPE
 */
export function studyFormat(files: readonly Pick<Classified, 'kind'>[]): 'nifti' | 'dicom' {
  const nifti = files.filter((f) => f.kind === 'nifti' || f.kind === 'nifti-gz').length;
  const dicom = files.filter((f) => f.kind === 'dicom').length;
  if (nifti > 1) throw new HttpError(400, 'MIXED_UPLOAD', `the upload holds ${nifti} NIfTI files; a study is one NIfTI file (upload each as its own study)`);
  if (nifti === 1 && dicom > 0) throw new HttpError(400, 'MIXED_UPLOAD', `the upload holds a NIfTI file and ${dicom} DICOM file(s); a study is one NIfTI file or one DICOM series`);
  if (nifti === 1) return 'nifti';
  if (dicom > 0) return 'dicom';
  throw new HttpError(415, 'UNSUPPORTED_MEDIA_TYPE', `no NIfTI (.nii, .nii.gz) or DICOM Part-10 file found among the ${files.length} uploaded file(s) (zips are opened one level deep)`);
}

export class StudyStore {
  readonly root: string;
  private readonly tmp: string;

  constructor(dataDir: string, private readonly limits: UploadLimits) {
    this.root = path.join(dataDir, 'studies');
    this.tmp = path.join(dataDir, 'tmp');
  }

  async init(): Promise<void> {
    await fsp.mkdir(this.root, { recursive: true });
    // Uploads interrupted by a crash leave staging folders: nobody can reference them, so they go.
    await fsp.rm(this.tmp, { recursive: true, force: true });
    await fsp.mkdir(this.tmp, { recursive: true });
  }

  /** Receives, extracts, classifies and stores one upload. */
  async create(req: Request): Promise<Study> {
    const id = newId('study');
    const staging = path.join(this.tmp, id);
    const raw = path.join(staging, 'raw');
    const input = path.join(staging, 'input');
    await fsp.mkdir(raw, { recursive: true });
    await fsp.mkdir(input);
    try {
      let seq = 0;
      const next = () => String(++seq).padStart(6, '0');
      const received = await receiveMultipart(req, raw, this.limits, next);
      const kept = await this.extractAll(received, input, next);
      await fsp.rm(raw, { recursive: true });
      return await this.commit(id, staging, kept);
    } finally {
      await fsp.rm(staging, { recursive: true, force: true });
    }
  }

  /**
   * Stores local scan files (files or folders, walked recursively; not zips) as the study `id`, as an upload would be
   * stored: the files are copied under sequence names and classified by content. For studies the server itself
   * provides (the demo); idempotent: an existing study `id` is returned unchanged.
   * @throws HttpError 400/415 as for uploads when the files are not one NIfTI or a DICOM series.
   */
  async importLocal(id: string, sources: readonly string[]): Promise<Study> {
    if (this.exists(id)) return this.get(id);
    const staging = path.join(this.tmp, id);
    const input = path.join(staging, 'input');
    await fsp.mkdir(input, { recursive: true });
    try {
      let seq = 0;
      const kept: Classified[] = [];
      for (const file of await listFiles(sources)) {
        const kind = await classifyFile(file);
        const target = path.join(input, `${String(++seq).padStart(6, '0')}${KIND_EXTENSION[kind]}`);
        await fsp.copyFile(file, target);
        kept.push({ path: target, bytes: (await fsp.stat(target)).size, kind });
      }
      return await this.commit(id, staging, kept);
    } finally {
      await fsp.rm(staging, { recursive: true, force: true });
    }
  }

  /**
   * Decides the study's format from the classified files in `<staging>/input`, drops what it does not keep (a NIfTI
   * study keeps only its NIfTI file; a DICOM study keeps everything: the reader reports what it skips), writes
   * study.json and renames the staging folder into place whole.
   */
  private async commit(id: string, staging: string, kept: Classified[]): Promise<Study> {
    const format = studyFormat(kept);
    const files = format === 'nifti' ? kept.filter((f) => f.kind === 'nifti' || f.kind === 'nifti-gz') : kept;
    for (const f of kept) if (!files.includes(f)) await fsp.rm(f.path);
    const study: Study = {
      id,
      createdAt: new Date().toISOString(),
      format,
      files: files.length,
      bytes: files.reduce((s, f) => s + f.bytes, 0),
      input: format === 'nifti' ? path.posix.join('input', path.basename(files[0]!.path)) : 'input',
    };
    await fsp.writeFile(path.join(staging, 'study.json'), `${JSON.stringify(study, null, 2)}\n`);
    await fsp.rename(staging, this.dir(id));
    return study;
  }

  /** Zips are opened (one level deep); other files are moved as they are; each gets its kind's extension. */
  private async extractAll(received: { path: string; bytes: number }[], input: string, next: () => string): Promise<Classified[]> {
    const out: Classified[] = [];
    const plainBytes = received.reduce((s, f) => s + f.bytes, 0);
    let budget = this.limits.maxUncompressedBytes - plainBytes;
    const place = async (file: string, bytes: number, kind: FileKind) => {
      const target = path.join(input, `${next()}${KIND_EXTENSION[kind]}`);
      await fsp.rename(file, target);
      out.push({ path: target, bytes, kind });
    };
    for (const f of received) {
      const kind = await classifyFile(f.path);
      if (kind !== 'zip') {
        await place(f.path, f.bytes, kind);
        continue;
      }
      budget += f.bytes; // the zip itself is deleted once extracted
      const dir = `${f.path}.d`;
      await fsp.mkdir(dir);
      const extracted = await extractZip(f.path, dir, { maxEntries: this.limits.maxZipEntries, maxUncompressedBytes: budget, maxCompressionRatio: this.limits.maxCompressionRatio }, next);
      await fsp.rm(f.path);
      for (const e of extracted) {
        budget -= e.bytes;
        const inner = await classifyFile(e.path);
        // A zip inside a zip is not opened (bombs nest); the DICOM reader will skip it as "not DICOM".
        await place(e.path, e.bytes, inner === 'zip' ? 'other' : inner);
      }
    }
    return out;
  }

  dir(id: string): string {
    return path.join(this.root, parseId('study', id));
  }

  /** @throws HttpError 404 when no such study exists. */
  async get(id: string): Promise<Study> {
    const file = path.join(this.dir(id), 'study.json');
    let text: string;
    try {
      text = await fsp.readFile(file, 'utf8');
    } catch {
      throw new HttpError(404, 'NOT_FOUND', `no study ${id}: upload it first (POST /api/studies)`);
    }
    return studySchema.parse(JSON.parse(text));
  }

  exists(id: string): boolean {
    return existsSync(path.join(this.dir(id), 'study.json'));
  }

  /** The loader's inputs (absolute) for a study. */
  inputs(study: Study): string[] {
    return [path.join(this.dir(study.id), study.input)];
  }

  imagePath(id: string): string {
    return path.join(this.dir(id), 'image.nii.gz');
  }
}

/** The files named, and the files under the folders named (recursively), in a stable order. */
async function listFiles(sources: readonly string[]): Promise<string[]> {
  const out: string[] = [];
  for (const src of sources) {
    const st = await fsp.stat(src);
    if (st.isFile()) out.push(src);
    else if (st.isDirectory()) {
      const entries = (await fsp.readdir(src, { recursive: true, withFileTypes: true })).filter((e) => e.isFile());
      out.push(...entries.map((e) => path.join(e.parentPath, e.name)).sort());
    }
  }
  return out;
}
