/**
 * Errors as HTTP responses: one table from SegErrorCode to status, one body shape `{ error: { code, message } }`
 * (the same shape as the CLI's `--json` errors).
 */
import type { SegErrorCode } from '../errors.js';
import { SegError } from '../errors.js';

/** Codes of errors that only the server raises (request shape, auth, limits); SegErrorCodes come from the library. */
export type HttpErrorCode =
  | 'BAD_REQUEST'
  | 'INVALID_ID'
  | 'INVALID_JSON'
  | 'UNAUTHORIZED'
  | 'NOT_FOUND'
  | 'METHOD_NOT_ALLOWED'
  | 'PAYLOAD_TOO_LARGE'
  | 'TOO_MANY_FILES'
  | 'UNSUPPORTED_MEDIA_TYPE'
  | 'EMPTY_UPLOAD'
  | 'MIXED_UPLOAD'
  | 'UNSAFE_ZIP'
  | 'ZIP_BOMB'
  | 'INVALID_ZIP'
  | 'UNKNOWN_MODEL'
  | 'MODEL_UNAVAILABLE'
  | 'NOT_READY'
  | 'CONFLICT'
  | 'SHUTTING_DOWN'
  | 'BAD_RESULTS'
  | 'INTERNAL';

export class HttpError extends Error {
  override name = 'HttpError';
  constructor(
    readonly status: number,
    readonly code: HttpErrorCode | SegErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** HTTP status per library error: bad data is the client's (4xx), a broken model or disk is the server's (5xx). */
export const SEG_ERROR_STATUS: Record<SegErrorCode, number> = {
  FILE_NOT_FOUND: 404,
  EMPTY_FILE: 422,
  TRUNCATED_FILE: 422,
  NOT_NIFTI: 422,
  NOT_DICOM: 422,
  INVALID_HEADER: 422,
  MISSING_PIXEL_DATA: 422,
  DECODE_FAILED: 422,
  TOO_LARGE: 413,
  VOLUME_INDEX: 422,
  INVALID_GEOMETRY: 422,
  INCONSISTENT_SERIES: 422,
  NON_UNIFORM_SPACING: 422,
  UNSUPPORTED_DATATYPE: 415,
  UNSUPPORTED_TRANSFER_SYNTAX: 415,
  UNSUPPORTED_FORMAT: 415,
  NO_SERIES: 422,
  AMBIGUOUS_SERIES: 422,
  INVALID_SEG: 422,
  WRITE_FAILED: 500,
  INVALID_MODEL_CARD: 500,
  MODEL_LOAD_FAILED: 500,
  MODEL_MISMATCH: 500,
  INFERENCE_FAILED: 500,
  REMOTE_REJECTED: 502,
  REMOTE_AUTH: 502,
  REMOTE_UNAVAILABLE: 503,
  CANCELLED: 409,
};

export interface ErrorBody {
  error: { code: string; message: string };
}

/** Status and body for anything thrown in a handler; unknown errors become 500 without their internals. */
export function errorResponse(error: unknown): { status: number; body: ErrorBody } {
  if (error instanceof HttpError) return { status: error.status, body: { error: { code: error.code, message: error.message } } };
  if (error instanceof SegError) return { status: SEG_ERROR_STATUS[error.code] ?? 500, body: { error: { code: error.code, message: error.message } } };
  const e = error as { type?: string; status?: number; message?: string };
  // body-parser's errors (express.json): malformed JSON, a body over the limit, a wrong charset.
  if (e?.type === 'entity.parse.failed') return { status: 400, body: { error: { code: 'INVALID_JSON', message: `the request body is not valid JSON (${e.message ?? 'parse error'})` } } };
  if (e?.type === 'entity.too.large') return { status: 413, body: { error: { code: 'PAYLOAD_TOO_LARGE', message: 'the JSON request body is larger than the 64 kB limit' } } };
  if (typeof e?.status === 'number' && e.status >= 400 && e.status < 500) return { status: e.status, body: { error: { code: 'BAD_REQUEST', message: e.message ?? 'bad request' } } };
  return { status: 500, body: { error: { code: 'INTERNAL', message: 'internal server error; the server log has the details under this request' } } };
}
