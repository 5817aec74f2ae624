import { CodecError } from './codec-error.js';
import type { FrameFormat, RawDecodedFrame } from './frame-format.js';
import { CompressedSyntax, transferSyntaxName } from './transfer-syntaxes.js';

/*
 * DICOM RLE Lossless (PS3.5 Annex G), written by hand: there is no well-kept standalone npm decoder for it (the
 * cornerstone codecs bundle none, and RLE is a few dozen lines). A frame is a 64-byte header (number of segments,
 * then 15 uint32 little-endian segment offsets) followed by one PackBits-encoded segment per byte plane: for each
 * sample, the most significant byte plane first. Each segment decodes to rows*columns bytes.
 */

const UID = CompressedSyntax.RleLossless;
const NAME = transferSyntaxName(UID);

function fail(problem: string): never {
  throw new CodecError('DECODE_FAILED', UID, `${NAME}: ${problem}; the pixel data is corrupt or truncated.`);
}

/**
 * Decodes one PackBits segment `data[start, end)` into `plane` (whose length is the expected byte count).
 * Output beyond the plane (encoder padding) is ignored; a segment that ends short of it is an error.
 */
export function decodePackBitsSegment(data: Uint8Array, start: number, end: number, plane: Uint8Array): void {
  const size = plane.length;
  let pos = start;
  let out = 0;
  while (out < size && pos < end) {
    const header = data[pos++] as number;
    if (header < 128) {
      // literal run of header + 1 bytes
      const count = header + 1;
      if (pos + count > end) fail(`a literal run overruns its segment (byte ${pos - 1})`);
      const n = Math.min(count, size - out);
      plane.set(data.subarray(pos, pos + n), out);
      out += n;
      pos += count;
    } else if (header > 128) {
      // replicate run: next byte repeated 257 - header times
      if (pos >= end) fail(`a replicate run is missing its byte (byte ${pos - 1})`);
      const value = data[pos++] as number;
      const n = Math.min(257 - header, size - out);
      plane.fill(value, out, out + n);
      out += n;
    }
    // header 128 (-128): no operation
  }
  if (out < size) fail(`a segment decodes to ${out} bytes, expected ${size}`);
}

/** Decodes one RLE Lossless frame (8, 16 or 32 bits allocated; any samples per pixel up to what 15 segments hold). */
export function decodeRle(frame: Uint8Array, format: FrameFormat): RawDecodedFrame {
  const { rows, columns, samplesPerPixel: spp, bitsAllocated } = format;
  if (bitsAllocated !== 8 && bitsAllocated !== 16 && bitsAllocated !== 32) {
    throw new CodecError(
      'UNSUPPORTED_TRANSFER_SYNTAX',
      UID,
      `${NAME}: Bits Allocated ${bitsAllocated} is not supported (only 8, 16 and 32).`,
    );
  }
  const bytesPerSample = bitsAllocated / 8;
  const expectedSegments = spp * bytesPerSample;
  if (frame.length < 64) fail(`the frame is ${frame.length} bytes, shorter than the 64-byte RLE header`);
  const view = new DataView(frame.buffer, frame.byteOffset, frame.byteLength);
  const segments = view.getUint32(0, true);
  if (segments !== expectedSegments) {
    fail(
      `the RLE header lists ${segments} segments but ${spp} sample(s) of ${bitsAllocated} bits need ` +
        `${expectedSegments}`,
    );
  }
  if (segments > 15) fail(`${segments} segments do not fit an RLE header (at most 15)`);
  const offsets: number[] = [];
  for (let i = 0; i < segments; i++) offsets.push(view.getUint32(4 + 4 * i, true));
  offsets.push(frame.length);
  for (let i = 0; i < segments; i++) {
    const start = offsets[i] as number;
    const end = offsets[i + 1] as number;
    if (start < 64 || start > end || end > frame.length) {
      fail(`segment ${i + 1} has offsets ${start}..${end} outside the ${frame.length}-byte frame`);
    }
  }

  const pixels = rows * columns;
  const plane = new Uint8Array(pixels);
  const samples =
    bytesPerSample === 1
      ? new Uint8Array(pixels * spp)
      : bytesPerSample === 2
        ? new Uint16Array(pixels * spp)
        : new Uint32Array(pixels * spp);
  for (let s = 0; s < spp; s++) {
    for (let b = 0; b < bytesPerSample; b++) {
      const segment = s * bytesPerSample + b;
      decodePackBitsSegment(frame, offsets[segment] as number, offsets[segment + 1] as number, plane);
      const shift = 8 * (bytesPerSample - 1 - b); // most significant byte first
      if (bytesPerSample === 1) {
        for (let p = 0; p < pixels; p++) samples[p * spp + s] = plane[p] as number;
      } else {
        // Uint32Array assignment wraps the (possibly negative) int32 from << at bit 31 to the right value.
        for (let p = 0; p < pixels; p++) {
          const i = p * spp + s;
          samples[i] = ((samples[i] as number) | ((plane[p] as number) << shift)) >>> 0;
        }
      }
    }
  }
  return { samples, rows, columns, components: spp, planar: false, signed: false, precision: format.bitsStored };
}
