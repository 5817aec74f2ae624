/**
 * STOW-RS: the multipart/related request body streamed from the files (only one read chunk in memory), with its
 * exact Content-Length computed up front (some servers, Orthanc's civetweb among them, handle chunked uploads poorly),
 * and the Store Instances Response (PS3.18 §10.5.3) turned into stored/failed lists.
 */
import { randomUUID } from 'node:crypto';
import { createReadStream, promises as fsp } from 'node:fs';
import type { FileHandle } from 'node:fs/promises';
import { Readable } from 'node:stream';
import { InputFileError, SegError } from '../../errors.js';
import { TAG, isDicomJsonDataset, number, sequence, string, type DicomJsonDataset } from './dicom-json.js';
import { PART10_HEAD_BYTES, readPart10Meta, type Part10Meta } from './part10-meta.js';

/** A file to upload, with its size and (when it is a Part 10 file) the UIDs of its meta group. */
export interface StowFile {
  path: string;
  bytes: number;
  meta?: Part10Meta | undefined;
}

export interface StoredInstance {
  sopInstanceUid: string;
  sopClassUid?: string | undefined;
  retrieveUrl?: string | undefined;
  /** (0008,1196) when the server stored it with a warning (e.g. 0xB000 coercion of data elements). */
  warningReason?: number | undefined;
  file?: string | undefined;
}

export interface FailedInstance {
  sopInstanceUid?: string | undefined;
  sopClassUid?: string | undefined;
  /** (0008,1197) Failure Reason, e.g. 0xC000; absent when the server did not list the instance at all. */
  failureReason?: number | undefined;
  /** Words for the failure: the reason code's meaning, or what is known. */
  reason: string;
  file?: string | undefined;
}

export interface StowResult {
  stored: StoredInstance[];
  failed: FailedInstance[];
}

/** Some instances were not stored. `result` lists what was and what was not. */
export class StowError extends SegError {
  override name = 'StowError';
  constructor(
    message: string,
    readonly result: StowResult,
  ) {
    super('REMOTE_REJECTED', message);
  }
}

/** Stats each file and reads its meta group. @throws InputFileError FILE_NOT_FOUND / EMPTY_FILE. */
export async function describeStowFiles(paths: readonly string[]): Promise<StowFile[]> {
  const out: StowFile[] = [];
  for (const path of paths) {
    let fh: FileHandle | undefined;
    try {
      fh = await fsp.open(path, 'r');
      const { size } = await fh.stat();
      if (size === 0) throw new InputFileError('EMPTY_FILE', path, 'is empty; nothing to store');
      const head = Buffer.alloc(Math.min(size, PART10_HEAD_BYTES));
      await fh.read(head, 0, head.length, 0);
      out.push({ path, bytes: size, meta: readPart10Meta(head) });
    } catch (e) {
      if (e instanceof SegError) throw e;
      throw new InputFileError('FILE_NOT_FOUND', path, `cannot be read for STOW-RS (${(e as Error).message})`, { cause: e });
    } finally {
      await fh?.close();
    }
  }
  return out;
}

/** Splits files into requests of at most `maxBytes` each (a larger file goes alone), keeping their order. */
export function stowBatches(files: readonly StowFile[], maxBytes: number): StowFile[][] {
  const batches: StowFile[][] = [];
  let current: StowFile[] = [];
  let size = 0;
  for (const f of files) {
    if (current.length > 0 && size + f.bytes > maxBytes) {
      batches.push(current);
      current = [];
      size = 0;
    }
    current.push(f);
    size += f.bytes;
  }
  if (current.length > 0) batches.push(current);
  return batches;
}

export function newBoundary(): string {
  return `medseg-${randomUUID()}`;
}

function partHead(boundary: string): Buffer {
  return Buffer.from(`--${boundary}\r\nContent-Type: application/dicom\r\n\r\n`, 'latin1');
}

/** Exact byte length of the body stowBody writes. */
export function stowBodyLength(files: readonly StowFile[], boundary: string): number {
  const perPart = partHead(boundary).length + 2; // head + file + CRLF
  return files.reduce((n, f) => n + perPart + f.bytes, 0) + Buffer.byteLength(`--${boundary}--\r\n`);
}

/**
 * The multipart/related body for `files`, read from disk as it is sent.
 * @throws (through the stream) InputFileError TRUNCATED_FILE when a file's size changed since describeStowFiles.
 */
export function stowBody(files: readonly StowFile[], boundary: string): Readable {
  async function* generate(): AsyncGenerator<Buffer> {
    for (const f of files) {
      yield partHead(boundary);
      let read = 0;
      try {
        for await (const chunk of createReadStream(f.path, { highWaterMark: 256 * 1024 })) {
          read += (chunk as Buffer).length;
          yield chunk as Buffer;
        }
      } catch (e) {
        throw new InputFileError('FILE_NOT_FOUND', f.path, `could not be read while sending it (${(e as Error).message})`, { cause: e });
      }
      if (read !== f.bytes) {
        throw new InputFileError('TRUNCATED_FILE', f.path, `changed size while being sent (${f.bytes} bytes expected, ${read} read)`);
      }
      yield Buffer.from('\r\n');
    }
    yield Buffer.from(`--${boundary}--\r\n`, 'latin1');
  }
  return Readable.from(generate(), { objectMode: false });
}

/** Meanings of the common STOW-RS / C-STORE failure reason codes (PS3.4 Annex B, PS3.18 §10.5.3). */
const FAILURE_REASONS: Record<number, string> = {
  0x0110: 'processing failure',
  0x0122: 'SOP class not supported',
  0x0124: 'not authorized',
  0xa700: 'out of resources',
  0xa900: 'data set does not match SOP class',
  0xc000: 'cannot understand',
  0xc122: 'transfer syntax not supported',
};

export function failureReasonText(code: number | undefined): string {
  if (code === undefined) return 'no reason given';
  const hex = `0x${code.toString(16).toUpperCase().padStart(4, '0')}`;
  const words = FAILURE_REASONS[code];
  return words ? `${hex} ${words}` : hex;
}

/**
 * Turns a Store Instances Response into stored/failed lists, matched to the files sent by SOP Instance UID. A sent
 * instance the server lists neither as stored nor as failed counts as failed (Orthanc drops unreadable parts
 * silently and answers 400).
 */
export function parseStowResponse(response: DicomJsonDataset | undefined, sent: readonly StowFile[]): StowResult {
  const byUid = new Map(sent.flatMap((f) => (f.meta?.sopInstanceUid ? [[f.meta.sopInstanceUid, f.path] as const] : [])));
  const stored: StoredInstance[] = [];
  const failed: FailedInstance[] = [];
  const seen = new Set<string>();
  for (const item of response ? sequence(response, TAG.ReferencedSopSequence) : []) {
    const uid = string(item, TAG.ReferencedSopInstanceUid);
    if (uid === undefined) continue;
    seen.add(uid);
    stored.push({
      sopInstanceUid: uid,
      sopClassUid: string(item, TAG.ReferencedSopClassUid),
      retrieveUrl: string(item, TAG.RetrieveUrl),
      warningReason: number(item, TAG.WarningReason),
      file: byUid.get(uid),
    });
  }
  for (const item of response ? sequence(response, TAG.FailedSopSequence) : []) {
    const uid = string(item, TAG.ReferencedSopInstanceUid);
    if (uid !== undefined) seen.add(uid);
    const failureReason = number(item, TAG.FailureReason);
    failed.push({
      sopInstanceUid: uid,
      sopClassUid: string(item, TAG.ReferencedSopClassUid),
      failureReason,
      reason: failureReasonText(failureReason),
      file: uid !== undefined ? byUid.get(uid) : undefined,
    });
  }
  for (const f of sent) {
    const uid = f.meta?.sopInstanceUid;
    if (uid !== undefined && seen.has(uid)) continue;
    failed.push({
      sopInstanceUid: uid,
      reason: uid === undefined ? 'not a DICOM Part 10 file (no file meta group), and not listed as stored' : 'not listed as stored by the server',
      file: f.path,
    });
  }
  return { stored, failed };
}

/** The data set of a STOW-RS response body (an object, or a one-element array); undefined when the body is empty. */
export function stowResponseDataset(body: string): DicomJsonDataset | undefined {
  if (body.trim() === '') return undefined;
  let json: unknown;
  try {
    json = JSON.parse(body);
  } catch {
    return undefined;
  }
  const ds = Array.isArray(json) ? json[0] : json;
  if (!isDicomJsonDataset(ds)) return undefined;
  return TAG.ReferencedSopSequence in ds || TAG.FailedSopSequence in ds ? ds : undefined;
}

/** "stored 75 of 77 instances; 2 failed: a.dcm (SOP 1.2.3): 0xC000 cannot understand; …" */
export function describeStowFailures(result: StowResult, sentCount: number): string {
  const shown = result.failed
    .slice(0, 5)
    .map((f) => `${f.file ?? '(unknown file)'}${f.sopInstanceUid ? ` (SOP ${f.sopInstanceUid})` : ''}: ${f.reason}`)
    .join('; ');
  return (
    `the server stored ${result.stored.length} of ${sentCount} instances; ${result.failed.length} failed: ${shown}` +
    `${result.failed.length > 5 ? '; …' : ''}`
  );
}
