import { CodecError } from './codec-error.js';
import type { FrameFormat, RawDecodedFrame } from './frame-format.js';
import { transferSyntaxName } from './transfer-syntaxes.js';
import { openJpeg, runWasmDecoder } from './wasm-modules.js';

/**
 * JPEG 2000 (1.2.840.10008.1.2.4.90/.91) and High-Throughput JPEG 2000 (1.2.840.10008.1.2.4.201/.202/.203) frames,
 * via the OpenJPEG wasm build (OpenJPEG 2.5 decodes HT code-blocks). Output is pixel-interleaved; colour
 * codestreams with a multi-component transform (YBR_RCT / YBR_ICT) come out as RGB. Unsigned codestreams of signed
 * DICOM data (a known encoder mistake) are sign-extended from the codestream bit depth, as pydicom does.
 */
export async function decodeJpeg2000(uid: string, frame: Uint8Array, _format: FrameFormat): Promise<RawDecodedFrame> {
  const module = await openJpeg();
  const { bytes, info } = runWasmDecoder(openJpeg, new module.J2KDecoder(), frame);
  if (info.width === 0 || info.height === 0 || bytes.length === 0) {
    throw new CodecError(
      'DECODE_FAILED',
      uid,
      `${transferSyntaxName(uid)}: OpenJPEG could not decode the frame; the codestream is corrupt or truncated.`,
    );
  }
  if (info.bitsPerSample > 16) {
    throw new CodecError(
      'UNSUPPORTED_TRANSFER_SYNTAX',
      uid,
      `${transferSyntaxName(uid)}: ${info.bitsPerSample}-bit JPEG 2000 samples are not supported (at most 16). ` +
        `Convert the file first, e.g. \`gdcmconv --raw in.dcm out.dcm\`.`,
    );
  }
  const signed = info.isSigned === true;
  let samples: RawDecodedFrame['samples'];
  if (info.bitsPerSample > 8) {
    const count = Math.floor(bytes.byteLength / 2);
    samples = signed
      ? new Int16Array(bytes.buffer, bytes.byteOffset, count)
      : new Uint16Array(bytes.buffer, bytes.byteOffset, count);
  } else {
    samples = signed ? new Int8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength) : bytes;
  }
  return {
    samples,
    rows: info.height,
    columns: info.width,
    components: info.componentCount,
    planar: false,
    signed,
    precision: info.bitsPerSample,
  };
}
