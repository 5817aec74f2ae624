/**
 * Typed errors for bad input data, models and remote responses.
 * Bad arguments from code are plain TypeError/RangeError; bad *data* is a SegError subclass with a stable `code`
 * that the CLI maps to exit codes and the server to HTTP statuses.
 */
export type SegErrorCode =
  | 'FILE_NOT_FOUND'
  | 'EMPTY_FILE'
  | 'TRUNCATED_FILE'
  | 'NOT_NIFTI'
  | 'NOT_DICOM'
  | 'INVALID_HEADER'
  | 'UNSUPPORTED_DATATYPE'
  | 'UNSUPPORTED_TRANSFER_SYNTAX'
  | 'MISSING_PIXEL_DATA'
  | 'DECODE_FAILED'
  | 'TOO_LARGE'
  | 'VOLUME_INDEX'
  | 'INVALID_GEOMETRY'
  | 'NO_SERIES'
  | 'AMBIGUOUS_SERIES'
  | 'INCONSISTENT_SERIES'
  | 'NON_UNIFORM_SPACING'
  | 'UNSUPPORTED_FORMAT'
  | 'WRITE_FAILED'
  | 'INVALID_MODEL_CARD'
  | 'MODEL_LOAD_FAILED'
  | 'MODEL_MISMATCH'
  | 'INFERENCE_FAILED'
  /** A DICOM SEG or SR that medseg cannot read back (wrong SOP class, inconsistent frames). */
  | 'INVALID_SEG'
  /** A remote server (DICOMweb, Orthanc) answered with a client error (4xx other than auth). */
  | 'REMOTE_REJECTED'
  /** Authentication or authorisation failed at a remote server (401/403). */
  | 'REMOTE_AUTH'
  /** A remote server could not be reached or kept failing (timeouts, 5xx, connection errors) after retries. */
  | 'REMOTE_UNAVAILABLE'
  | 'CANCELLED';

export class SegError extends Error {
  override name = 'SegError';
  constructor(
    readonly code: SegErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** A file that cannot be read as the format it claims; the message always names the file. */
export class InputFileError extends SegError {
  override name = 'InputFileError';
  constructor(
    code: SegErrorCode,
    readonly file: string,
    problem: string,
    options?: { cause?: unknown },
  ) {
    super(code, `${file}: ${problem}`, options);
  }
}

/** Slice gaps of a DICOM series disagree: missing or duplicate slices, or a variable-spacing acquisition. */
export class NonUniformSpacingError extends SegError {
  override name = 'NonUniformSpacingError';
  constructor(
    readonly seriesDescription: string,
    readonly gapsMm: readonly number[],
    readonly offendingGaps: readonly { afterSlice: number; gapMm: number }[],
    readonly expectedGapMm: number,
  ) {
    const shown = offendingGaps
      .slice(0, 8)
      .map((g) => `after slice ${g.afterSlice}: ${g.gapMm.toFixed(3)} mm`)
      .join(', ');
    super(
      'NON_UNIFORM_SPACING',
      `${seriesDescription}: slice gaps differ from the typical ${expectedGapMm.toFixed(3)} mm ` +
        `(${offendingGaps.length} offending: ${shown}${offendingGaps.length > 8 ? ', …' : ''}); ` +
        `the series has missing or duplicate slices or variable spacing. Re-export the complete series, ` +
        `or pass allowNonUniform (CLI: --allow-nonuniform) to resample it linearly onto a uniform grid at the median gap.`,
    );
  }
}

/** Guard for header-declared sizes: never allocate what a (possibly malicious) header claims without a check. */
export const MAX_VOXELS = 2 ** 31 - 1;
