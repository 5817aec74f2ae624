import { CodecError } from './codec-error.js';
import type { FrameFormat, RawDecodedFrame } from './frame-format.js';
import { endsWithEoi } from './jpeg-header.js';
import { transferSyntaxName } from './transfer-syntaxes.js';
import { charLs, runWasmDecoder } from './wasm-modules.js';

/** CharLS interleave mode "none": colour components come out one plane after another. */
const INTERLEAVE_NONE = 0;

/**
 * JPEG-LS lossless (1.2.840.10008.1.2.4.80) and near-lossless (1.2.840.10008.1.2.4.81) frames, via the CharLS wasm
 * build. CharLS output is unsigned; signed DICOM data is sign-extended afterwards.
 */
export async function decodeJpegLs(uid: string, frame: Uint8Array, _format: FrameFormat): Promise<RawDecodedFrame> {
  // CharLS spends seconds on a truncated stream before failing (over 5 s for a 128x128 frame cut to 10%), so a
  // frame that does not end with EOI is rejected up front.
  if (!endsWithEoi(frame)) {
    throw new CodecError(
      'DECODE_FAILED',
      uid,
      `${transferSyntaxName(uid)}: the codestream does not end with an end-of-image marker; the pixel data is ` +
        `truncated or corrupt.`,
    );
  }
  const module = await charLs();
  let interleaveMode = INTERLEAVE_NONE;
  let decoded;
  try {
    decoded = runWasmDecoder(charLs, new module.JpegLSDecoder(), frame, (decoder) => {
      interleaveMode = decoder.getInterleaveMode();
    });
  } catch (error) {
    // CharLS throws C++ exceptions, which arrive as pointers; getExceptionMessage turns them into text.
    if (typeof error === 'number' && module.getExceptionMessage !== undefined) {
      const message = module.getExceptionMessage(error);
      const text = Array.isArray(message) ? message.filter((part) => part !== '').join(': ') : message;
      throw new CodecError(
        'DECODE_FAILED',
        uid,
        `${transferSyntaxName(uid)}: CharLS rejected the frame (${text}); the pixel data is corrupt or truncated.`,
        { cause: error },
      );
    }
    throw error;
  }
  const { bytes, info } = decoded;
  const wide = info.bitsPerSample > 8;
  const samples = wide
    ? new Uint16Array(bytes.buffer, bytes.byteOffset, Math.floor(bytes.byteLength / 2))
    : bytes;
  return {
    samples,
    rows: info.height,
    columns: info.width,
    components: info.componentCount,
    planar: info.componentCount > 1 && interleaveMode === INTERLEAVE_NONE,
    signed: false,
    precision: info.bitsPerSample,
  };
}
