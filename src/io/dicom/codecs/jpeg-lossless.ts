import { createRequire } from 'node:module';
import { CodecError } from './codec-error.js';
import type { FrameFormat, RawDecodedFrame } from './frame-format.js';
import { requireJpegFrameHeader } from './jpeg-header.js';
import { transferSyntaxName } from './transfer-syntaxes.js';

/** The part of jpeg-lossless-decoder-js's `Decoder` used here (the package ships no type declarations). */
interface LosslessDecoder {
  decode(buffer: ArrayBuffer, offset: number, length: number, numBytes: number): Uint8Array | Uint16Array;
  numComp: number;
  xDim: number;
  yDim: number;
  /** The input reader; `index` past the end means the decoder read beyond the data (it does not check). */
  stream: { index: number } | null;
}

let decoderClass: (new () => LosslessDecoder) | undefined;

function losslessDecoder(): LosslessDecoder {
  if (decoderClass === undefined) {
    const require = createRequire(import.meta.url);
    decoderClass = (require('jpeg-lossless-decoder-js') as { Decoder: new () => LosslessDecoder }).Decoder;
  }
  return new decoderClass();
}

/**
 * JPEG Lossless process 14 (1.2.840.10008.1.2.4.57) and its selection-value-1 form (1.2.840.10008.1.2.4.70), via
 * jpeg-lossless-decoder-js: 2 to 16-bit greyscale and 8-bit colour.
 */
export async function decodeJpegLossless(
  uid: string,
  frame: Uint8Array,
  format: FrameFormat,
): Promise<RawDecodedFrame> {
  const name = transferSyntaxName(uid);
  const header = requireJpegFrameHeader(uid, frame);
  if (header.marker !== 0xc3) {
    throw new CodecError(
      'DECODE_FAILED',
      uid,
      `${name}: the codestream uses JPEG process marker 0xFF${header.marker.toString(16).toUpperCase()} ` +
        `instead of lossless Huffman (0xFFC3); the file's transfer syntax is wrong.`,
    );
  }
  const numBytes = format.bitsAllocated <= 8 ? 1 : 2;
  if (header.precision > 16 || (numBytes === 2 && header.components > 1) || format.bitsAllocated > 16) {
    throw new CodecError(
      'UNSUPPORTED_TRANSFER_SYNTAX',
      uid,
      `${name}: ${header.components}-component ${header.precision}-bit lossless JPEG with Bits Allocated ` +
        `${format.bitsAllocated} is not supported (greyscale up to 16 bits and 8-bit colour are). Convert the ` +
        `file first, e.g. \`gdcmconv --raw in.dcm out.dcm\`.`,
    );
  }
  const decoder = losslessDecoder();
  const samples = decoder.decode(frame.buffer as ArrayBuffer, frame.byteOffset, frame.byteLength, numBytes);
  // jpeg-lossless-decoder-js reads undefined bytes past the end of a truncated frame and fills the rest of the
  // image with garbage instead of failing; its read position tells.
  const consumed = decoder.stream?.index ?? 0;
  if (consumed > frame.byteLength) {
    throw new CodecError(
      'DECODE_FAILED',
      uid,
      `${name}: the codestream ends after ${frame.byteLength} bytes, before the image is complete (the decoder ` +
        `needed ${consumed}); the pixel data is truncated or corrupt.`,
    );
  }
  return {
    samples: samples.slice(),
    rows: decoder.yDim,
    columns: decoder.xDim,
    components: decoder.numComp,
    planar: false,
    signed: false,
    precision: header.precision,
  };
}
