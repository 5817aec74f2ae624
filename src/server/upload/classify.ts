/**
 * What an uploaded file is, from its first bytes (never from its client-side name, which is not kept): a zip, a
 * NIfTI (plain or gzipped), a DICOM Part-10 file, or something else.
 */
import { promises as fsp } from 'node:fs';
import { constants as zc, gunzipSync } from 'node:zlib';

export type FileKind = 'zip' | 'nifti' | 'nifti-gz' | 'dicom' | 'other';

/** File name extension the loader expects for each kind (loadScan detects NIfTI by name or magic). */
export const KIND_EXTENSION: Record<FileKind, string> = { zip: '.zip', nifti: '.nii', 'nifti-gz': '.nii.gz', dicom: '.dcm', other: '' };

/** Classifies a file's head (≥ 352 bytes when the file has them; a gzip head up to 64 kB). */
export function classifyHead(head: Uint8Array): FileKind {
  if (head.length >= 4 && head[0] === 0x50 && head[1] === 0x4b && (head[2] === 0x03 || head[2] === 0x05) && (head[3] === 0x04 || head[3] === 0x06)) return 'zip';
  if (head.length >= 2 && head[0] === 0x1f && head[1] === 0x8b) {
    // Inflate just the head (a truncated stream is fine with a sync flush) and look for a NIfTI header in it.
    let inner: Buffer;
    try {
      inner = gunzipSync(head, { finishFlush: zc.Z_SYNC_FLUSH });
    } catch {
      return 'other';
    }
    return isNiftiHeader(inner) ? 'nifti-gz' : 'other';
  }
  if (isNiftiHeader(head)) return 'nifti';
  if (head.length >= 132 && head[128] === 0x44 && head[129] === 0x49 && head[130] === 0x43 && head[131] === 0x4d) return 'dicom';
  return 'other';
}

/** NIfTI-1 (sizeof_hdr 348, magic "n+1"/"ni1" at 344) or NIfTI-2 (540, "n+2"/"ni2" at 4), either byte order. */
export function isNiftiHeader(b: Uint8Array): boolean {
  if (b.length < 8) return false;
  const view = new DataView(b.buffer, b.byteOffset, b.byteLength);
  const le = view.getInt32(0, true);
  const be = view.getInt32(0, false);
  const magic = (at: number) => (b.length >= at + 3 ? String.fromCharCode(b[at]!, b[at + 1]!, b[at + 2]!) : '');
  if (le === 348 || be === 348) return ['n+1', 'ni1'].includes(magic(344));
  if (le === 540 || be === 540) return ['n+2', 'ni2'].includes(magic(4));
  return false;
}

export async function classifyFile(file: string): Promise<FileKind> {
  const fh = await fsp.open(file, 'r');
  try {
    const head = Buffer.alloc(65536);
    const { bytesRead } = await fh.read(head, 0, head.length, 0);
    return classifyHead(head.subarray(0, bytesRead));
  } finally {
    await fh.close();
  }
}
