import { SegError } from '../../../errors.js';

/** The two error codes a pixel-data decoder reports. */
export type CodecErrorCode = 'DECODE_FAILED' | 'UNSUPPORTED_TRANSFER_SYNTAX';

/**
 * A compressed frame that cannot be decoded: corrupt or truncated codestream (`DECODE_FAILED`), or a transfer
 * syntax / pixel format no bundled decoder handles (`UNSUPPORTED_TRANSFER_SYNTAX`). The message always names the
 * transfer syntax and says what to do about it.
 */
export class CodecError extends SegError {
  override name = 'CodecError';
  declare readonly code: CodecErrorCode;

  /**
   * @param code - `DECODE_FAILED` or `UNSUPPORTED_TRANSFER_SYNTAX`.
   * @param transferSyntaxUid - the transfer syntax of the frame that failed.
   * @param message - the full, actionable message (already naming the transfer syntax).
   * @param options - the underlying decoder error, if any, as `cause`.
   */
  constructor(
    code: CodecErrorCode,
    readonly transferSyntaxUid: string,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(code, message, options);
  }
}
