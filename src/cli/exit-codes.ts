/** CLI exit codes by error class (documented in the README; scripts rely on them). */
import { SegError, type SegErrorCode } from '../errors.js';

export const EXIT = {
  ok: 0,
  internal: 1,
  usage: 2,
  badInput: 3,
  unsupported: 4,
  seriesChoice: 5,
  writeFailed: 6,
  model: 7,
  remote: 8,
  cancelled: 130,
} as const;

const BY_CODE: Record<SegErrorCode, number> = {
  FILE_NOT_FOUND: EXIT.badInput,
  EMPTY_FILE: EXIT.badInput,
  TRUNCATED_FILE: EXIT.badInput,
  NOT_NIFTI: EXIT.badInput,
  NOT_DICOM: EXIT.badInput,
  INVALID_HEADER: EXIT.badInput,
  MISSING_PIXEL_DATA: EXIT.badInput,
  DECODE_FAILED: EXIT.badInput,
  TOO_LARGE: EXIT.badInput,
  VOLUME_INDEX: EXIT.badInput,
  INVALID_GEOMETRY: EXIT.badInput,
  INCONSISTENT_SERIES: EXIT.badInput,
  NON_UNIFORM_SPACING: EXIT.badInput,
  UNSUPPORTED_DATATYPE: EXIT.unsupported,
  UNSUPPORTED_TRANSFER_SYNTAX: EXIT.unsupported,
  UNSUPPORTED_FORMAT: EXIT.unsupported,
  NO_SERIES: EXIT.seriesChoice,
  AMBIGUOUS_SERIES: EXIT.seriesChoice,
  WRITE_FAILED: EXIT.writeFailed,
  INVALID_MODEL_CARD: EXIT.model,
  MODEL_LOAD_FAILED: EXIT.model,
  MODEL_MISMATCH: EXIT.model,
  INFERENCE_FAILED: EXIT.model,
  INVALID_SEG: EXIT.badInput,
  REMOTE_REJECTED: EXIT.remote,
  REMOTE_AUTH: EXIT.remote,
  REMOTE_UNAVAILABLE: EXIT.remote,
  CANCELLED: EXIT.cancelled,
};

export function exitCodeFor(error: unknown): number {
  if (error instanceof SegError) return BY_CODE[error.code] ?? EXIT.internal;
  return EXIT.internal;
}
