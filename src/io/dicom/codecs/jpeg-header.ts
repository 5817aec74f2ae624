import { CodecError } from './codec-error.js';
import { transferSyntaxName } from './transfer-syntaxes.js';
/** Start-of-frame parameters of a JPEG (ITU T.81) or JPEG-LS (T.87) codestream. */
export interface JpegFrameHeader {
  /** The SOF marker's second byte: 0xc0 baseline, 0xc1 extended, 0xc3 lossless, 0xf7 JPEG-LS, ... */
  marker: number;
  /** Sample precision in bits. */
  precision: number;
  rows: number;
  columns: number;
  components: number;
  /** Component identifiers from the frame header, in order. */
  componentIds: number[];
  /** Whether any component has different horizontal/vertical sampling factors from the others (subsampled). */
  subsampled: boolean;
  /** Whether a JFIF APP0 segment precedes the frame header. */
  jfif: boolean;
  /** The Adobe APP14 colour transform flag (0 none, 1 YCbCr, 2 YCCK), when that segment is present. */
  adobeTransform: number | undefined;
}

const SOF_MARKERS = new Set([0xc0, 0xc1, 0xc2, 0xc3, 0xc5, 0xc6, 0xc7, 0xc9, 0xca, 0xcb, 0xcd, 0xce, 0xcf, 0xf7]);

/**
 * Reads the frame header of a JPEG-family codestream, skipping the marker segments before it. Returns undefined
 * when the data does not start with SOI or ends before a start-of-frame marker.
 */
export function readJpegFrameHeader(data: Uint8Array): JpegFrameHeader | undefined {
  if (data.length < 4 || data[0] !== 0xff || data[1] !== 0xd8) return undefined;
  let jfif = false;
  let adobeTransform: number | undefined;
  const text = (start: number, length: number): string =>
    String.fromCharCode(...data.subarray(start, Math.min(start + length, data.length)));
  let pos = 2;
  while (pos + 4 <= data.length) {
    if (data[pos] !== 0xff) return undefined;
    const marker = data[pos + 1] as number;
    if (marker === 0xff) {
      pos += 1; // fill byte
      continue;
    }
    if (marker === 0x01 || (marker >= 0xd0 && marker <= 0xd8)) {
      pos += 2; // markers without a length
      continue;
    }
    const length = ((data[pos + 2] as number) << 8) | (data[pos + 3] as number);
    if (length < 2) return undefined;
    if (marker === 0xe0 && length >= 7 && text(pos + 4, 5) === 'JFIF\0') jfif = true;
    if (marker === 0xee && length >= 14 && pos + 15 < data.length && text(pos + 4, 5) === 'Adobe') {
      adobeTransform = data[pos + 15] as number;
    }
    if (SOF_MARKERS.has(marker)) {
      if (pos + 10 > data.length) return undefined;
      const components = data[pos + 9] as number;
      const componentIds: number[] = [];
      const sampling = new Set<number>();
      for (let c = 0; c < components && pos + 12 + 3 * c <= data.length; c++) {
        componentIds.push(data[pos + 10 + 3 * c] as number);
        sampling.add(data[pos + 11 + 3 * c] as number);
      }
      return {
        marker,
        precision: data[pos + 4] as number,
        rows: ((data[pos + 5] as number) << 8) | (data[pos + 6] as number),
        columns: ((data[pos + 7] as number) << 8) | (data[pos + 8] as number),
        components,
        componentIds,
        subsampled: sampling.size > 1,
        jfif,
        adobeTransform,
      };
    }
    if (marker === 0xda || marker === 0xd9) return undefined; // scan or end of image before any frame header
    pos += 2 + length;
  }
  return undefined;
}

/**
 * Whether a JPEG-family codestream ends with an EOI marker (0xFFD9), ignoring up to 16 trailing zero bytes of
 * padding, or a single padding byte of any value: fragments have even length (PS3.5 A.4), and some encoders fill
 * the pad byte of an odd-length codestream with garbage instead of 00H (measured: DCMTK's JPEG-LS encoder in
 * Orthanc 1.10's transcoding writes e.g. 0x69, 0x04, 0x24). Entropy-coded data cannot contain 0xFFD9, so a frame
 * cut short almost never passes.
 */
export function endsWithEoi(data: Uint8Array): boolean {
  let end = data.length;
  while (end > 0 && data.length - end < 16 && data[end - 1] === 0) end--;
  if (end >= 2 && data[end - 2] === 0xff && data[end - 1] === 0xd9) return true;
  const n = data.length;
  return n >= 3 && data[n - 3] === 0xff && data[n - 2] === 0xd9;
}

/**
 * The frame header of a JPEG codestream, or a DECODE_FAILED CodecError naming the transfer syntax when the frame
 * has none (corrupt or truncated pixel data).
 */
export function requireJpegFrameHeader(uid: string, frame: Uint8Array): JpegFrameHeader {
  const header = readJpegFrameHeader(frame);
  if (header === undefined) {
    throw new CodecError(
      'DECODE_FAILED',
      uid,
      `${transferSyntaxName(uid)}: the frame is not a JPEG codestream (no start-of-image and frame header); the pixel ` +
        `data is corrupt or truncated.`,
    );
  }
  return header;
}
