/**
 * Streams a WADO-RS multipart response to disk: one file per part, each written to a temporary sibling and renamed
 * when complete, so a folder never holds a half-written instance (an interrupted transfer leaves only whole files).
 * Memory use is one network chunk plus the first PART10_HEAD_BYTES of the current part (to name it).
 */
import { randomBytes } from 'node:crypto';
import { promises as fsp } from 'node:fs';
import type { FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { SegError } from '../../errors.js';
import { MultipartParser, boundaryFromContentType, type PartHeaders } from './multipart.js';
import { PART10_HEAD_BYTES, isDicomUid, readPart10Meta } from './part10-meta.js';

export interface RetrievedFile {
  /** Where the instance was written: `<outDir>/<SOPInstanceUID>.dcm`, or `<outDir>/part-00001.dcm` for a part that
   *  is not a Part 10 file with a usable SOP Instance UID. */
  path: string;
  bytes: number;
  sopInstanceUid?: string | undefined;
  transferSyntaxUid?: string | undefined;
  /** The part's Content-Type header (e.g. `application/dicom; transfer-syntax=1.2.840.10008.1.2.1`). */
  contentType?: string | undefined;
}

/**
 * Writes each part of the multipart body `body` into `outDir` (which must exist). Returns the files in response
 * order; a SOP instance sent twice is written once.
 * @throws MultipartError for a malformed or truncated body (the caller decides on retrying); SegError WRITE_FAILED.
 */
export async function saveMultipartParts(body: Readable, contentType: string | undefined, outDir: string): Promise<RetrievedFile[]> {
  const parser = new MultipartParser(boundaryFromContentType(contentType));
  const files = new Map<string, RetrievedFile>();
  let current: PartFile | undefined;
  let index = 0; // not parser.parts: push() parses a whole chunk, which may hold several parts, before we see them
  try {
    for await (const chunk of body) {
      for (const ev of parser.push(chunk as Buffer)) {
        if (ev.type === 'part') current = await PartFile.open(outDir, ++index, ev.headers);
        else if (ev.type === 'data') await current!.write(ev.bytes);
        else {
          const file = await current!.commit();
          current = undefined;
          files.set(file.path, file);
        }
      }
    }
    parser.finish();
  } catch (e) {
    await current?.abort();
    throw e;
  }
  return [...files.values()];
}

/** One part being written to a temporary file in the output folder. */
class PartFile {
  private size = 0;
  private readonly head: Buffer[] = [];
  private headBytes = 0;

  private constructor(
    private readonly outDir: string,
    private readonly index: number,
    private readonly headers: PartHeaders,
    private readonly tmp: string,
    private readonly fh: FileHandle,
  ) {}

  static async open(outDir: string, index: number, headers: PartHeaders): Promise<PartFile> {
    const tmp = join(outDir, `.part-${process.pid}-${randomBytes(6).toString('hex')}.tmp`);
    try {
      return new PartFile(outDir, index, headers, tmp, await fsp.open(tmp, 'w'));
    } catch (cause) {
      throw writeFailed(tmp, cause);
    }
  }

  async write(bytes: Uint8Array): Promise<void> {
    if (this.headBytes < PART10_HEAD_BYTES) {
      const take = bytes.subarray(0, PART10_HEAD_BYTES - this.headBytes);
      this.head.push(Buffer.from(take)); // a copy: `bytes` may be reused by the stream
      this.headBytes += take.length;
    }
    try {
      let done = 0;
      while (done < bytes.length) done += (await this.fh.write(bytes, done, bytes.length - done)).bytesWritten;
    } catch (cause) {
      throw writeFailed(this.tmp, cause);
    }
    this.size += bytes.length;
  }

  async commit(): Promise<RetrievedFile> {
    const meta = readPart10Meta(Buffer.concat(this.head));
    const uid = meta?.sopInstanceUid !== undefined && isDicomUid(meta.sopInstanceUid) ? meta.sopInstanceUid : undefined;
    const path = join(this.outDir, uid ? `${uid}.dcm` : `part-${String(this.index).padStart(5, '0')}.dcm`);
    try {
      await this.fh.close();
      await fsp.rename(this.tmp, path);
    } catch (cause) {
      await fsp.rm(this.tmp, { force: true });
      throw writeFailed(path, cause);
    }
    return {
      path,
      bytes: this.size,
      sopInstanceUid: uid,
      transferSyntaxUid: meta?.transferSyntaxUid,
      contentType: this.headers['content-type'],
    };
  }

  async abort(): Promise<void> {
    await this.fh.close().catch(() => undefined);
    await fsp.rm(this.tmp, { force: true });
  }
}

function writeFailed(file: string, cause: unknown): SegError {
  return new SegError('WRITE_FAILED', `${file}: could not be written (${(cause as Error).message})`, { cause });
}
