/** Image pixel attributes of one frame, from the DICOM Image Pixel module (group 0028). */
export interface FrameFormat {
  /** Rows (0028,0010). */
  rows: number;
  /** Columns (0028,0011). */
  columns: number;
  /** Samples per Pixel (0028,0002): 1 for monochrome, 3 for colour. */
  samplesPerPixel: number;
  /** Bits Allocated (0028,0100): 8, 16 or 32 for encapsulated data. */
  bitsAllocated: number;
  /** Bits Stored (0028,0101). */
  bitsStored: number;
  /** Pixel Representation (0028,0103): 0 unsigned, 1 two's complement. */
  pixelRepresentation: 0 | 1;
  /** Planar Configuration (0028,0006) as declared; decoded output is always interleaved (0). */
  planarConfiguration: 0 | 1;
  /** Photometric Interpretation (0028,0004), e.g. `MONOCHROME2`, `RGB`, `YBR_FULL_422`. */
  photometricInterpretation: string;
}

/** Pixel values of one decoded frame: samples interleaved, typed by Bits Allocated and Pixel Representation. */
export type DecodedPixels = Uint8Array | Int8Array | Uint16Array | Int16Array | Uint32Array | Int32Array;

/** What a decoder produced, before conversion to the output array. */
export interface RawDecodedFrame {
  /** Decoded samples, one element per sample, in decoder order. */
  samples: Uint8Array | Int8Array | Uint16Array | Int16Array | Uint32Array | Int32Array;
  /** Image width, height and component count as the codestream says. */
  columns: number;
  rows: number;
  components: number;
  /** True when `samples` holds colour planes one after another rather than interleaved. */
  planar: boolean;
  /** True when the codestream itself is signed and `samples` already holds signed values. */
  signed: boolean;
  /** Sample precision of the codestream in bits (may differ from Bits Stored). */
  precision: number;
}
