/**
 * A PNG decoder for browser screenshots, by hand with node:zlib: Chromium writes 8-bit RGB or RGBA, non-interlaced
 * PNGs, and reading those takes inflate plus the five scanline filters (PNG spec §9). No dependency for 60 lines.
 */
import { inflateSync } from 'node:zlib';

export interface RgbaImage {
  width: number;
  height: number;
  /** RGBA, 4 bytes per pixel, rows top to bottom. */
  data: Uint8Array;
}

const SIGNATURE = [137, 80, 78, 71, 13, 10, 26, 10];

/** @throws Error for anything but an 8-bit, non-interlaced RGB/RGBA PNG, naming what it found. */
export function decodePng(png: Uint8Array): RgbaImage {
  if (!SIGNATURE.every((b, n) => png[n] === b)) throw new Error('not a PNG file (bad signature)');
  const view = new DataView(png.buffer, png.byteOffset, png.byteLength);
  let width = 0;
  let height = 0;
  let channels = 0;
  const idat: Uint8Array[] = [];
  for (let offset = 8; offset < png.length; ) {
    const length = view.getUint32(offset);
    const type = String.fromCharCode(...png.subarray(offset + 4, offset + 8));
    const body = png.subarray(offset + 8, offset + 8 + length);
    if (type === 'IHDR') {
      width = view.getUint32(offset + 8);
      height = view.getUint32(offset + 12);
      const [depth, colour, , , interlace] = body.subarray(8, 13);
      if (depth !== 8 || (colour !== 2 && colour !== 6) || interlace !== 0) throw new Error(`unsupported PNG: bit depth ${depth}, colour type ${colour}, interlace ${interlace} (8-bit RGB/RGBA, non-interlaced only)`);
      channels = colour === 6 ? 4 : 3;
    } else if (type === 'IDAT') idat.push(body);
    else if (type === 'IEND') break;
    offset += 12 + length;
  }
  const raw = inflateSync(Buffer.concat(idat));
  const stride = width * channels;
  const pixels = new Uint8Array(stride * height);
  for (let y = 0; y < height; y++) {
    const filter = raw[y * (stride + 1)]!;
    const line = raw.subarray(y * (stride + 1) + 1, (y + 1) * (stride + 1));
    const out = pixels.subarray(y * stride, (y + 1) * stride);
    const prev = y > 0 ? pixels.subarray((y - 1) * stride, y * stride) : new Uint8Array(stride);
    for (let x = 0; x < stride; x++) {
      const a = x >= channels ? out[x - channels]! : 0;
      const b = prev[x]!;
      const c = x >= channels ? prev[x - channels]! : 0;
      let predictor: number;
      if (filter === 0) predictor = 0;
      else if (filter === 1) predictor = a;
      else if (filter === 2) predictor = b;
      else if (filter === 3) predictor = (a + b) >> 1;
      else if (filter === 4) {
        const p = a + b - c;
        const [pa, pb, pc] = [Math.abs(p - a), Math.abs(p - b), Math.abs(p - c)];
        predictor = pa <= pb && pa <= pc ? a : pb <= pc ? b : c;
      } else throw new Error(`bad PNG filter type ${filter} on row ${y}`);
      out[x] = (line[x]! + predictor) & 0xff;
    }
  }
  const data = new Uint8Array(width * height * 4);
  for (let n = 0; n < width * height; n++) {
    data[4 * n] = pixels[channels * n]!;
    data[4 * n + 1] = pixels[channels * n + 1]!;
    data[4 * n + 2] = pixels[channels * n + 2]!;
    data[4 * n + 3] = channels === 4 ? pixels[channels * n + 3]! : 255;
  }
  return { width, height, data };
}

/** Mean RGB of the (2r+1)² pixels around (x, y) (page pixels, rounded). */
export function meanRgb(img: RgbaImage, x: number, y: number, r = 1): [number, number, number] {
  let [r0, g0, b0, n] = [0, 0, 0, 0];
  for (let dy = -r; dy <= r; dy++) {
    for (let dx = -r; dx <= r; dx++) {
      const px = Math.round(x) + dx;
      const py = Math.round(y) + dy;
      if (px < 0 || py < 0 || px >= img.width || py >= img.height) continue;
      const o = 4 * (py * img.width + px);
      r0 += img.data[o]!;
      g0 += img.data[o + 1]!;
      b0 += img.data[o + 2]!;
      n++;
    }
  }
  return [r0 / n, g0 / n, b0 / n];
}
