import { CodecError } from './codec-error.js';
import type { DecodedPixels, FrameFormat, RawDecodedFrame } from './frame-format.js';
import { transferSyntaxName } from './transfer-syntaxes.js';

/** Allocates the output array for a frame format: typed by Bits Allocated (8/16/32) and Pixel Representation. */
export function allocateOutput(format: FrameFormat, length: number): DecodedPixels {
  const signed = format.pixelRepresentation === 1;
  switch (format.bitsAllocated) {
    case 8:
      return signed ? new Int8Array(length) : new Uint8Array(length);
    case 16:
      return signed ? new Int16Array(length) : new Uint16Array(length);
    case 32:
      return signed ? new Int32Array(length) : new Uint32Array(length);
    default:
      throw new RangeError(`bitsAllocated ${format.bitsAllocated} has no output type`);
  }
}

/**
 * Turns a decoder's output into the final pixel array: checks the dimensions and sample count against the DICOM
 * header, converts planar colour to interleaved, widens to Bits Allocated and sign-extends unsigned codestream
 * values when the DICOM data is signed.
 *
 * Sign extension follows pydicom: it starts from the codestream precision when the codestream says so (JPEG 2000
 * files whose Bits Stored disagrees with the codestream bit depth decode like pydicom's J2K corrections), else
 * from Bits Stored.
 */
export function finishFrame(uid: string, raw: RawDecodedFrame, format: FrameFormat): DecodedPixels {
  const name = transferSyntaxName(uid);
  const { rows, columns, samplesPerPixel: spp } = format;
  if (raw.rows !== rows || raw.columns !== columns || raw.components !== spp) {
    throw new CodecError(
      'DECODE_FAILED',
      uid,
      `${name}: the codestream holds a ${raw.columns}x${raw.rows} image with ${raw.components} component(s) but ` +
        `the DICOM header says ${columns}x${rows} with ${spp} sample(s) per pixel; the pixel data is corrupt or ` +
        `does not belong to this header.`,
    );
  }
  const length = rows * columns * spp;
  if (raw.samples.length !== length) {
    throw new CodecError(
      'DECODE_FAILED',
      uid,
      `${name}: decoded ${raw.samples.length} samples, expected ${length} (${columns}x${rows}x${spp}); the ` +
        `codestream is truncated or corrupt.`,
    );
  }
  if (raw.precision > format.bitsAllocated) {
    throw new CodecError(
      'DECODE_FAILED',
      uid,
      `${name}: the codestream has ${raw.precision}-bit samples, more than Bits Allocated ` +
        `(${format.bitsAllocated}); the DICOM header is inconsistent with the pixel data.`,
    );
  }
  const out = allocateOutput(format, length);
  const src = raw.samples;
  if (raw.planar && spp > 1) {
    const plane = rows * columns;
    for (let s = 0; s < spp; s++) {
      const base = s * plane;
      for (let p = 0; p < plane; p++) out[p * spp + s] = src[base + p] as number;
    }
  } else {
    out.set(src);
  }
  if (format.pixelRepresentation === 1 && !raw.signed) {
    const bits = Math.min(Math.max(raw.precision > 0 ? raw.precision : format.bitsStored, 1), format.bitsAllocated);
    if (bits < 32) {
      const shift = 32 - bits;
      for (let i = 0; i < length; i++) out[i] = ((out[i] as number) << shift) >> shift;
    }
  }
  return out;
}
