/**
 * A multipart/form-data upload streamed to disk (busboy): every file part goes to its own file under a sequence
 * name (the client's file name is never used or stored), with the per-file size, total size and file count limits
 * enforced while the bytes arrive.
 */
import { createWriteStream } from 'node:fs';
import * as path from 'node:path';
import { pipeline } from 'node:stream/promises';
import { Transform } from 'node:stream';
import type { Request } from 'express';
import busboy from 'busboy';
import { HttpError } from '../http-error.js';
import type { UploadLimits } from '../options.js';

export interface ReceivedFile {
  path: string;
  bytes: number;
}

const mib = (n: number) => `${(n / 1024 ** 2).toFixed(1)} MiB`;

/**
 * Streams the file parts of `req` into `dir` as `nextName()` files.
 * @throws HttpError 415 (not multipart), 413 PAYLOAD_TOO_LARGE / TOO_MANY_FILES, 400 (malformed body or no file).
 * On failure the rest of the body is drained (not stored), so the client still reads the error response.
 */
export function receiveMultipart(req: Request, dir: string, limits: UploadLimits, nextName: () => string): Promise<ReceivedFile[]> {
  if (!req.is('multipart/form-data')) {
    return Promise.reject(new HttpError(415, 'UNSUPPORTED_MEDIA_TYPE', `an upload must be multipart/form-data with one or more file fields, got ${req.get('content-type') ?? 'no Content-Type'}`));
  }
  const declared = Number(req.get('content-length'));
  if (Number.isFinite(declared) && declared > limits.maxUploadBytes) {
    req.resume();
    return Promise.reject(new HttpError(413, 'PAYLOAD_TOO_LARGE', `the upload is ${mib(declared)}; at most ${mib(limits.maxUploadBytes)} are accepted per upload (server option maxUploadBytes)`));
  }
  return new Promise((resolve, reject) => {
    let bb: busboy.Busboy;
    try {
      bb = busboy({ headers: req.headers, limits: { fileSize: limits.maxFileBytes, files: limits.maxFiles, fields: 20, fieldSize: 4096, parts: limits.maxFiles + 20 } });
    } catch (cause) {
      return reject(new HttpError(400, 'BAD_REQUEST', `malformed multipart request: ${(cause as Error).message}`, { cause }));
    }
    const files: ReceivedFile[] = [];
    const writes: Promise<void>[] = [];
    let total = 0;
    let failed = false;
    const fail = (error: HttpError) => {
      if (failed) return;
      failed = true;
      req.unpipe(bb);
      req.resume(); // drain without storing: the response can only be read by a client whose upload completes
      reject(error);
    };
    bb.on('file', (_field, stream, _info) => {
      if (failed) return void stream.resume();
      const target = path.join(dir, nextName());
      const entry: ReceivedFile = { path: target, bytes: 0 };
      files.push(entry);
      const counter = new Transform({
        transform(chunk: Buffer, _enc, done) {
          entry.bytes += chunk.length;
          total += chunk.length;
          if (total > limits.maxUploadBytes) return done(new HttpError(413, 'PAYLOAD_TOO_LARGE', `the upload exceeds ${mib(limits.maxUploadBytes)} (server option maxUploadBytes)`));
          done(null, chunk);
        },
      });
      stream.on('limit', () => fail(new HttpError(413, 'PAYLOAD_TOO_LARGE', `an uploaded file exceeds ${mib(limits.maxFileBytes)} (server option maxFileBytes)`)));
      writes.push(
        pipeline(stream, counter, createWriteStream(target, { flags: 'wx' })).catch((e: unknown) => {
          stream.resume();
          fail(e instanceof HttpError ? e : new HttpError(400, 'BAD_REQUEST', `the upload was interrupted: ${(e as Error).message}`, { cause: e }));
        }),
      );
    });
    bb.on('filesLimit', () => fail(new HttpError(413, 'TOO_MANY_FILES', `the upload has more than ${limits.maxFiles} files (server option maxFiles); zip them or split the study`)));
    bb.on('error', (e: unknown) => fail(new HttpError(400, 'BAD_REQUEST', `malformed multipart body: ${(e as Error).message}`, { cause: e })));
    bb.on('close', () => {
      void Promise.all(writes).then(() => {
        if (failed) return;
        if (files.length === 0) return fail(new HttpError(400, 'EMPTY_UPLOAD', 'the upload has no file parts: send the scan as one or more multipart file fields (any field name)'));
        resolve(files);
      });
    });
    req.on('aborted', () => fail(new HttpError(400, 'BAD_REQUEST', 'the client aborted the upload')));
    req.pipe(bb);
  });
}
