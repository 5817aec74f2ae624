/** The screenshot PNG decoder: every scanline filter, RGB and RGBA, against the pixels it was encoded from. */
import { crc32, deflateSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { decodePng, meanRgb } from './png.js';

function chunk(type: string, body: Uint8Array): Buffer {
  const head = Buffer.alloc(8);
  head.writeUInt32BE(body.length, 0);
  head.write(type, 4, 'latin1');
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(Buffer.concat([head.subarray(4), body])) >>> 0, 0);
  return Buffer.concat([head, body, crc]);
}

/** Encodes with filter type `filterOf(row)` on each row (the filters written out as the spec defines them). */
function encode(w: number, h: number, channels: 3 | 4, pixels: Uint8Array, filterOf: (y: number) => number): Uint8Array {
  const stride = w * channels;
  const rows: number[] = [];
  for (let y = 0; y < h; y++) {
    const f = filterOf(y);
    rows.push(f);
    for (let x = 0; x < stride; x++) {
      const v = pixels[y * stride + x]!;
      const a = x >= channels ? pixels[y * stride + x - channels]! : 0;
      const b = y > 0 ? pixels[(y - 1) * stride + x]! : 0;
      const c = x >= channels && y > 0 ? pixels[(y - 1) * stride + x - channels]! : 0;
      const p = a + b - c;
      const paeth = Math.abs(p - a) <= Math.abs(p - b) && Math.abs(p - a) <= Math.abs(p - c) ? a : Math.abs(p - b) <= Math.abs(p - c) ? b : c;
      const pred = [0, a, b, (a + b) >> 1, paeth][f]!;
      rows.push((v - pred) & 0xff);
    }
  }
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(w, 0);
  ihdr.writeUInt32BE(h, 4);
  ihdr[8] = 8;
  ihdr[9] = channels === 4 ? 6 : 2;
  return new Uint8Array(Buffer.concat([Buffer.from([137, 80, 78, 71, 13, 10, 26, 10]), chunk('IHDR', ihdr), chunk('IDAT', deflateSync(Buffer.from(rows))), chunk('IEND', new Uint8Array(0))]));
}

describe('decodePng', () => {
  it.each([3, 4] as const)('decodes %i-channel images written with each of the five filters', (channels) => {
    const [w, h] = [7, 10];
    const pixels = Uint8Array.from({ length: w * h * channels }, (_, n) => (n * 37 + ((n / 5) | 0) * 11) & 0xff);
    const img = decodePng(encode(w, h, channels, pixels, (y) => y % 5));
    expect([img.width, img.height]).toEqual([w, h]);
    for (let n = 0; n < w * h; n++) {
      for (let c = 0; c < 3; c++) expect(img.data[4 * n + c]).toBe(pixels[channels * n + c]);
      expect(img.data[4 * n + 3]).toBe(channels === 4 ? pixels[4 * n + 3] : 255);
    }
  });

  it('averages a pixel neighbourhood, clipped at the image edge', () => {
    const pixels = new Uint8Array(3 * 3 * 3);
    pixels.set([30, 60, 90], 0);
    const img = decodePng(encode(3, 3, 3, pixels, () => 0));
    expect(meanRgb(img, 0, 0)).toEqual([7.5, 15, 22.5]);
  });

  it('refuses other PNG kinds, saying which', () => {
    const png = encode(1, 1, 3, new Uint8Array(3), () => 0);
    png[24] = 16;
    expect(() => decodePng(png)).toThrow('unsupported PNG: bit depth 16, colour type 2, interlace 0 (8-bit RGB/RGBA, non-interlaced only)');
  });
});
