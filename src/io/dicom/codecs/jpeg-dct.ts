import { CodecError } from './codec-error.js';
import type { FrameFormat, RawDecodedFrame } from './frame-format.js';
import { decodeJpegDct12 } from './jpeg-dct-12.js';
import { type JpegFrameHeader, requireJpegFrameHeader } from './jpeg-header.js';
import { transferSyntaxName } from './transfer-syntaxes.js';
import { libJpegTurbo, runWasmDecoder } from './wasm-modules.js';

/** Whether component identifiers equal `ids`. */
function idsAre(header: JpegFrameHeader, ids: readonly number[]): boolean {
  return header.componentIds.length === ids.length && ids.every((id, i) => header.componentIds[i] === id);
}

/**
 * Whether a 3-component DCT codestream holds YCbCr (to be converted to RGB) rather than RGB. The codestream's own
 * signalling wins: a JFIF marker means YCbCr, an Adobe APP14 marker gives the transform, component ids 'R','G','B'
 * mean RGB, ids 1,2,3 or chroma subsampling mean YCbCr (GDCM writes such YCbCr streams under Photometric
 * Interpretation RGB). Only without any of these does the DICOM Photometric Interpretation decide, where libjpeg
 * would guess YCbCr (e.g. pydicom's SC_jpeg_no_color_transform.dcm: RGB, ids 0,1,2, no markers).
 */
export function isYcbcrCoded(header: JpegFrameHeader, photometricInterpretation: string): boolean {
  if (header.jfif) return true;
  if (header.adobeTransform !== undefined) return header.adobeTransform !== 0;
  if (idsAre(header, [0x52, 0x47, 0x42])) return false;
  if (idsAre(header, [1, 2, 3]) || header.subsampled) return true;
  return photometricInterpretation.trim() !== 'RGB';
}

/** An Adobe APP14 segment with transform 0 ("no colour transform"), which makes libjpeg output the components as is. */
const ADOBE_NO_TRANSFORM = Uint8Array.from([
  0xff, 0xee, 0x00, 0x0e, 0x41, 0x64, 0x6f, 0x62, 0x65, 0x00, 0x64, 0x00, 0x00, 0x00, 0x00, 0x00,
]);

/** The codestream with an Adobe no-transform marker inserted after SOI. */
function withoutColourTransform(frame: Uint8Array): Uint8Array {
  const out = new Uint8Array(frame.length + ADOBE_NO_TRANSFORM.length);
  out.set(frame.subarray(0, 2), 0);
  out.set(ADOBE_NO_TRANSFORM, 2);
  out.set(frame.subarray(2), 2 + ADOBE_NO_TRANSFORM.length);
  return out;
}

/**
 * JPEG Baseline (1.2.840.10008.1.2.4.50) and JPEG Extended (1.2.840.10008.1.2.4.51) frames: 8-bit samples via the
 * libjpeg-turbo 8-bit wasm build, 12-bit samples (process 4, allowed in .51) via the IJG 12-bit decoder of
 * dcmjs-codecs (see jpeg-dct-12.ts). Colour output is always RGB: YCbCr codestreams are converted (libjpeg's
 * default), so YBR_FULL and YBR_FULL_422 data come out as RGB. See {@link isYcbcrCoded} for how the codestream's
 * colour space is decided. Other sample precisions (e.g. the non-standard 16-bit DCT streams GDCM's lossy encoder
 * writes) are refused as unsupported.
 */
export async function decodeJpegDct(uid: string, frame: Uint8Array, format: FrameFormat): Promise<RawDecodedFrame> {
  const name = transferSyntaxName(uid);
  const header = requireJpegFrameHeader(uid, frame);
  if (header.marker !== 0xc0 && header.marker !== 0xc1 && header.marker !== 0xc2) {
    throw new CodecError(
      'DECODE_FAILED',
      uid,
      `${name}: the codestream uses JPEG process marker 0xFF${header.marker.toString(16).toUpperCase()}, not a ` +
        `DCT process this transfer syntax allows; the file's transfer syntax is wrong.`,
    );
  }
  if (header.precision === 12) {
    const ycbcr = header.components === 3 && isYcbcrCoded(header, format.photometricInterpretation);
    return decodeJpegDct12(uid, frame, format, header, ycbcr);
  }
  if (header.precision > 8) {
    throw new CodecError(
      'UNSUPPORTED_TRANSFER_SYNTAX',
      uid,
      `${name}: ${header.precision}-bit JPEG (DCT) data cannot be decoded: the bundled decoders handle 8 and ` +
        `12-bit DCT JPEG only (the sample precisions ISO 10918-1 allows). Convert the file first, e.g. ` +
        `\`gdcmconv --raw in.dcm out.dcm\`.`,
    );
  }
  // libjpeg guesses YCbCr for a 3-component stream without markers or 'R','G','B' ids; when the DICOM header says
  // RGB and nothing in the stream contradicts it, tell libjpeg not to convert.
  const input =
    header.components === 3 &&
    header.adobeTransform === undefined &&
    !idsAre(header, [0x52, 0x47, 0x42]) &&
    !isYcbcrCoded(header, format.photometricInterpretation)
      ? withoutColourTransform(frame)
      : frame;
  const module = await libJpegTurbo();
  const { bytes, info } = runWasmDecoder(libJpegTurbo, new module.JPEGDecoder(), input);
  return {
    samples: bytes,
    rows: info.height,
    columns: info.width,
    components: info.componentCount,
    planar: false,
    signed: false,
    precision: Math.min(info.bitsPerSample, format.bitsAllocated),
  };
}
