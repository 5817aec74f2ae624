/**
 * Decoders for encapsulated (compressed) DICOM pixel data: RLE Lossless, JPEG baseline and extended (8 and 12-bit),
 * JPEG lossless, JPEG-LS, JPEG 2000 and High-Throughput JPEG 2000 (which package decodes what: ./README.md). The
 * caller extracts each frame's bytes from the Pixel Data fragments; uncompressed, deflated and big-endian transfer
 * syntaxes are not handled here.
 */
import { MAX_VOXELS } from '../../../errors.js';
import { CodecError } from './codec-error.js';
import type { DecodedPixels, FrameFormat, RawDecodedFrame } from './frame-format.js';
import { decodeJpeg2000 } from './jpeg-2000.js';
import { decodeJpegDct } from './jpeg-dct.js';
import { decodeJpegLossless } from './jpeg-lossless.js';
import { decodeJpegLs } from './jpeg-ls.js';
import { finishFrame } from './pixel-output.js';
import { decodeRle } from './rle.js';
import { COMPRESSED_SYNTAXES, type CodecFamily, transferSyntaxName } from './transfer-syntaxes.js';

export { CodecError, type CodecErrorCode } from './codec-error.js';
export type { DecodedPixels, FrameFormat } from './frame-format.js';
export { CompressedSyntax, type CompressedSyntaxUid, transferSyntaxName } from './transfer-syntaxes.js';

/** DICOM UI values may carry a trailing NUL or space pad byte. */
function normalizeUid(uid: string): string {
  return uid.replace(/[\0\s]+$/, '').trim();
}

/** Transfer syntaxes whose pixel data is encapsulated (fragments/frames) and that {@link decodeFrame} supports. */
export function isSupportedCompressedSyntax(transferSyntaxUid: string): boolean {
  return COMPRESSED_SYNTAXES.has(normalizeUid(transferSyntaxUid));
}

/** Whether a supported compressed transfer syntax is lossless (decoded pixels equal the original exactly). */
export function isLosslessCompressedSyntax(transferSyntaxUid: string): boolean {
  return COMPRESSED_SYNTAXES.get(normalizeUid(transferSyntaxUid))?.lossless === true;
}

type FamilyDecoder = (uid: string, frame: Uint8Array, format: FrameFormat) => Promise<RawDecodedFrame>;

const DECODERS: Record<CodecFamily, FamilyDecoder> = {
  rle: async (_uid, frame, format) => decodeRle(frame, format),
  'jpeg-dct': decodeJpegDct,
  'jpeg-lossless': decodeJpegLossless,
  'jpeg-ls': decodeJpegLs,
  'jpeg-2000': decodeJpeg2000,
};

const DECODER_NAMES: Record<CodecFamily, string> = {
  rle: 'RLE',
  'jpeg-dct': 'libjpeg-turbo', // 12-bit frames report their own errors (jpeg-dct-12.ts)
  'jpeg-lossless': 'jpeg-lossless-decoder-js',
  'jpeg-ls': 'CharLS',
  'jpeg-2000': 'OpenJPEG',
};

function checkFormat(uid: string, format: FrameFormat): void {
  const name = transferSyntaxName(uid);
  const { rows, columns, samplesPerPixel, bitsAllocated, bitsStored, pixelRepresentation } = format;
  const positive = (v: number): boolean => Number.isInteger(v) && v > 0;
  if (!positive(rows) || !positive(columns) || !positive(samplesPerPixel)) {
    throw new CodecError(
      'DECODE_FAILED',
      uid,
      `${name}: invalid image header (Rows ${rows}, Columns ${columns}, Samples per Pixel ${samplesPerPixel}); ` +
        `all must be positive integers.`,
    );
  }
  if (bitsAllocated !== 8 && bitsAllocated !== 16 && bitsAllocated !== 32) {
    throw new CodecError(
      'UNSUPPORTED_TRANSFER_SYNTAX',
      uid,
      `${name}: Bits Allocated ${bitsAllocated} is not supported for compressed pixel data (8, 16 or 32).`,
    );
  }
  if (!positive(bitsStored) || bitsStored > bitsAllocated || (pixelRepresentation !== 0 && pixelRepresentation !== 1)) {
    throw new CodecError(
      'DECODE_FAILED',
      uid,
      `${name}: invalid image header (Bits Stored ${bitsStored}, Bits Allocated ${bitsAllocated}, Pixel ` +
        `Representation ${String(pixelRepresentation)}).`,
    );
  }
  if (rows * columns * samplesPerPixel > MAX_VOXELS) {
    throw new CodecError(
      'DECODE_FAILED',
      uid,
      `${name}: a ${columns}x${rows}x${samplesPerPixel} frame exceeds the ${MAX_VOXELS}-sample limit.`,
    );
  }
}

function describe(error: unknown): string {
  if (error instanceof Error) return error.message;
  if (typeof error === 'number') return `native exception ${error}`;
  return String(error);
}

/**
 * Decodes one compressed frame into pixel values.
 *
 * The result has `rows * columns * samplesPerPixel` elements, samples interleaved (planar configuration 0 on
 * output, whatever the header declares), typed by Bits Allocated and Pixel Representation: Uint8Array/Int8Array
 * (8), Uint16Array/Int16Array (16), Uint32Array/Int32Array (32), a fresh array in native (little-endian) order.
 * Signed data (Pixel Representation 1) is sign-extended from Bits Stored, or from the codestream's own bit depth
 * when it reports one. Colour JPEG baseline YCbCr comes out as RGB; JPEG 2000 with a colour transform as RGB.
 *
 * @param transferSyntaxUid - the file's transfer syntax (trailing NUL/space padding is ignored).
 * @param frame - the bytes of one frame, already assembled from its fragments.
 * @param format - the Image Pixel module attributes of the frame.
 * @throws CodecError `UNSUPPORTED_TRANSFER_SYNTAX` for a transfer syntax or pixel format no decoder handles (the
 *   message names it and how to convert the file), `DECODE_FAILED` for a corrupt or truncated codestream or one
 *   that disagrees with the header. Decoder failures never escape as anything else.
 */
export async function decodeFrame(
  transferSyntaxUid: string,
  frame: Uint8Array,
  format: FrameFormat,
): Promise<DecodedPixels> {
  const uid = normalizeUid(transferSyntaxUid);
  const name = transferSyntaxName(uid);
  const syntax = COMPRESSED_SYNTAXES.get(uid);
  if (syntax === undefined) {
    throw new CodecError(
      'UNSUPPORTED_TRANSFER_SYNTAX',
      uid,
      `${name} is not a supported compressed transfer syntax (supported: RLE Lossless, JPEG Baseline, ` +
        `JPEG Extended 8 and 12-bit, JPEG Lossless, JPEG-LS, JPEG 2000, HTJ2K). Convert the file to an ` +
        `uncompressed transfer syntax first, e.g. \`gdcmconv --raw in.dcm out.dcm\` or \`dcmdjpeg\`/\`dcmdrle\` ` +
        `(DCMTK).`,
    );
  }
  checkFormat(uid, format);
  if (frame.length === 0) {
    throw new CodecError('DECODE_FAILED', uid, `${name}: the frame is empty; the pixel data is missing or truncated.`);
  }
  let raw: RawDecodedFrame;
  try {
    raw = await DECODERS[syntax.family](uid, frame, format);
  } catch (error) {
    if (error instanceof CodecError) throw error;
    throw new CodecError(
      'DECODE_FAILED',
      uid,
      `${name}: the ${DECODER_NAMES[syntax.family]} decoder rejected the frame (${describe(error)}); the pixel ` +
        `data is corrupt or truncated.`,
      { cause: error },
    );
  }
  return finishFrame(uid, raw, format);
}
