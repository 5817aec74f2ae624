/**
 * Safe zip extraction (yauzl): every entry is checked before a byte is written, and counted while it is written.
 * - zip-slip: absolute names, drive letters, backslashes and ".." segments are refused (and names are never used
 *   as paths anyway: each file is written under a fresh sequence name chosen by the caller);
 * - symbolic links and encrypted entries are refused;
 * - zip bombs: the entry count, the total uncompressed size and each large entry's compression ratio are limited,
 *   using the central directory's declared sizes first and the bytes actually inflated second (yauzl also fails
 *   an entry whose inflated size differs from the declared one).
 */
import { createWriteStream } from 'node:fs';
import * as path from 'node:path';
import { Transform, type Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import yauzl from 'yauzl';
import { HttpError } from '../http-error.js';

export interface ZipLimits {
  maxEntries: number;
  /** Bytes this zip may expand to (what is left of the study's budget). */
  maxUncompressedBytes: number;
  maxCompressionRatio: number;
}

/** Entries smaller than this are exempt from the ratio check: a tiny file that compresses well is harmless. */
export const RATIO_EXEMPT_BYTES = 1024 * 1024;

export interface ExtractedFile {
  path: string;
  bytes: number;
}

/** Why an entry name is unsafe, or undefined when it is a plain relative path. */
export function unsafeEntryName(name: string): string | undefined {
  if (name.includes('\\')) return 'contains a backslash';
  if (name.startsWith('/')) return 'is an absolute path';
  if (/^[A-Za-z]:/.test(name)) return 'starts with a drive letter';
  if (name.includes('\0')) return 'contains a NUL character';
  if (name.split('/').some((s) => s === '..')) return 'climbs out of the archive with ".."';
  return undefined;
}

/** Entries that are not data: folders and the metadata macOS and Windows add. */
export function isJunkEntry(name: string): boolean {
  return name.endsWith('/') || name.startsWith('__MACOSX/') || /(^|\/)(\.DS_Store|Thumbs\.db|desktop\.ini)$/i.test(name);
}

const S_IFMT = 0o170000;
const S_IFLNK = 0o120000;

const open = (file: string) =>
  new Promise<yauzl.ZipFile>((resolve, reject) =>
    // decodeStrings false: names are only checked (ASCII "/", "\\", "..") and never used as paths.
    yauzl.open(file, { lazyEntries: true, decodeStrings: false, validateEntrySizes: true, autoClose: true }, (err, zip) => (err || !zip ? reject(err) : resolve(zip))),
  );

const openEntry = (zip: yauzl.ZipFile, entry: yauzl.Entry) =>
  new Promise<Readable>((resolve, reject) => zip.openReadStream(entry, (err, stream) => (err || !stream ? reject(err) : resolve(stream))));

const mib = (n: number) => `${(n / 1024 ** 2).toFixed(1)} MiB`;

/**
 * Extracts the files of `zipFile` into `destDir` under names from `nextName(entryIndex)`.
 * @throws HttpError 400 UNSAFE_ZIP / INVALID_ZIP, 413 ZIP_BOMB; a partial extraction is left for the caller to remove.
 */
export async function extractZip(zipFile: string, destDir: string, limits: ZipLimits, nextName: () => string): Promise<ExtractedFile[]> {
  let zip: yauzl.ZipFile;
  try {
    zip = await open(zipFile);
  } catch (cause) {
    throw new HttpError(400, 'INVALID_ZIP', `an uploaded zip cannot be read: ${(cause as Error).message}`, { cause });
  }
  try {
    if (zip.entryCount > limits.maxEntries) {
      throw new HttpError(413, 'ZIP_BOMB', `an uploaded zip has ${zip.entryCount} entries; at most ${limits.maxEntries} are accepted (server option maxZipEntries)`);
    }
    const files: ExtractedFile[] = [];
    let total = 0;
    for (;;) {
      const entry = await nextEntry(zip);
      if (!entry) break;
      const name = (entry.fileName as unknown as Buffer).toString('utf8');
      const unsafe = unsafeEntryName(name);
      // The entry name is the uploader's, not patient data we log: it is only echoed to the uploader.
      if (unsafe) throw new HttpError(400, 'UNSAFE_ZIP', `zip entry "${name.slice(0, 200)}" ${unsafe}; only relative paths inside the archive are accepted (zip-slip protection)`);
      if (isJunkEntry(name)) continue;
      if (((entry.externalFileAttributes >>> 16) & S_IFMT) === S_IFLNK) throw new HttpError(400, 'UNSAFE_ZIP', `zip entry "${name.slice(0, 200)}" is a symbolic link; links are not accepted`);
      if (entry.isEncrypted()) throw new HttpError(400, 'INVALID_ZIP', `zip entry "${name.slice(0, 200)}" is encrypted; upload an unencrypted zip`);
      checkSizes(entry.uncompressedSize, entry.compressedSize, total, limits);
      const target = path.join(destDir, nextName());
      const bytes = await writeEntry(zip, entry, target, total, limits);
      total += bytes;
      files.push({ path: target, bytes });
    }
    return files;
  } finally {
    zip.close();
  }
}

function nextEntry(zip: yauzl.ZipFile): Promise<yauzl.Entry | undefined> {
  return new Promise((resolve, reject) => {
    const cleanup = () => {
      zip.off('entry', onEntry);
      zip.off('end', onEnd);
      zip.off('error', onError);
    };
    const onEntry = (e: yauzl.Entry) => (cleanup(), resolve(e));
    const onEnd = () => (cleanup(), resolve(undefined));
    const onError = (err: Error) => (cleanup(), reject(new HttpError(400, 'INVALID_ZIP', `an uploaded zip is malformed: ${err.message}`, { cause: err })));
    zip.on('entry', onEntry);
    zip.on('end', onEnd);
    zip.on('error', onError);
    zip.readEntry();
  });
}

/** The declared sizes, before anything is inflated. */
export function checkSizes(uncompressed: number, compressed: number, soFar: number, limits: ZipLimits): void {
  if (soFar + uncompressed > limits.maxUncompressedBytes) {
    throw new HttpError(413, 'ZIP_BOMB', `the upload would expand to more than ${mib(limits.maxUncompressedBytes)} (server option maxUncompressedBytes); split the study or raise the limit`);
  }
  if (uncompressed > RATIO_EXEMPT_BYTES && uncompressed > limits.maxCompressionRatio * Math.max(compressed, 1)) {
    throw new HttpError(413, 'ZIP_BOMB', `a zip entry expands ${Math.round(uncompressed / Math.max(compressed, 1))}-fold (${mib(uncompressed)} from ${compressed} bytes); at most ${limits.maxCompressionRatio}-fold is accepted (server option maxCompressionRatio)`);
  }
}

async function writeEntry(zip: yauzl.ZipFile, entry: yauzl.Entry, target: string, soFar: number, limits: ZipLimits): Promise<number> {
  let stream: Readable;
  try {
    stream = await openEntry(zip, entry);
  } catch (cause) {
    throw new HttpError(400, 'INVALID_ZIP', `a zip entry cannot be read: ${(cause as Error).message}`, { cause });
  }
  let bytes = 0;
  // Counts the inflated bytes as they come: the declared sizes are the uploader's word, this is the fact.
  const counter = new Transform({
    transform(chunk: Buffer, _enc, done) {
      bytes += chunk.length;
      if (soFar + bytes > limits.maxUncompressedBytes) return done(new HttpError(413, 'ZIP_BOMB', `the upload expands to more than ${mib(limits.maxUncompressedBytes)} (server option maxUncompressedBytes)`));
      done(null, chunk);
    },
  });
  try {
    await pipeline(stream, counter, createWriteStream(target, { flags: 'wx' }));
  } catch (cause) {
    if (cause instanceof HttpError) throw cause;
    throw new HttpError(400, 'INVALID_ZIP', `a zip entry is corrupt: ${(cause as Error).message}`, { cause });
  }
  return bytes;
}
