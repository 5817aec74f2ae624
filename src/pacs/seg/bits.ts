/**
 * 1-bit pixel packing of BINARY Segmentation frames (PS3.5 §8.1.1 and Annex D): the first pixel is the least
 * significant bit of the first byte, and the frames of a multi-frame object follow one another *without padding*:
 * frame f starts at bit f · rows · columns, which is mid-byte when rows · columns is not a multiple of 8.
 *
 * Hand-written rather than dcmjs's BitArray.pack: that needs the whole SEG unpacked first (one byte per pixel for
 * every frame, 78 MB for 300 frames of 512²) and costs a division per pixel; here each frame is packed straight
 * into the output at its running bit offset. (dcmjs's derivation packed per segment before dcmjs#66 — the
 * "not a multiple of 8" bug DOMAIN.md §5 warns about; the same layout rule applies to readers.)
 */

/** Bytes needed for `frames` frames of `pixelsPerFrame` 1-bit pixels, packed contiguously, padded to even (OB). */
export function packedLength(frames: number, pixelsPerFrame: number): number {
  const bytes = Math.ceil((frames * pixelsPerFrame) / 8);
  return bytes + (bytes & 1);
}

/**
 * Sets the bits of frame `frame` in `out` where `pick(n)` is true for pixel n (0 ≤ n < pixelsPerFrame). `out` must
 * be zeroed where this frame goes (a fresh buffer is).
 */
export function packFrameInto(out: Uint8Array, frame: number, pixelsPerFrame: number, pick: (n: number) => boolean): void {
  let bit = frame * pixelsPerFrame;
  for (let n = 0; n < pixelsPerFrame; n++, bit++) {
    if (pick(n)) out[bit >>> 3]! |= 1 << (bit & 7);
  }
}

/** Whether pixel n of frame `frame` is set in contiguously packed 1-bit data. */
export function bitAt(packed: Uint8Array, frame: number, pixelsPerFrame: number, n: number): boolean {
  const bit = frame * pixelsPerFrame + n;
  return ((packed[bit >>> 3]! >>> (bit & 7)) & 1) === 1;
}
