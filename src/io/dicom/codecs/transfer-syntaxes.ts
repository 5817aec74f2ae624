/** Transfer syntax UIDs of the encapsulated (compressed) encodings that {@link decodeFrame} handles. */
export const CompressedSyntax = {
  JpegBaseline8Bit: '1.2.840.10008.1.2.4.50',
  JpegExtended12Bit: '1.2.840.10008.1.2.4.51',
  JpegLossless: '1.2.840.10008.1.2.4.57',
  JpegLosslessSV1: '1.2.840.10008.1.2.4.70',
  JpegLsLossless: '1.2.840.10008.1.2.4.80',
  JpegLsNearLossless: '1.2.840.10008.1.2.4.81',
  Jpeg2000Lossless: '1.2.840.10008.1.2.4.90',
  Jpeg2000: '1.2.840.10008.1.2.4.91',
  HtJpeg2000Lossless: '1.2.840.10008.1.2.4.201',
  HtJpeg2000LosslessRpcl: '1.2.840.10008.1.2.4.202',
  HtJpeg2000: '1.2.840.10008.1.2.4.203',
  RleLossless: '1.2.840.10008.1.2.5',
} as const;

/** One of the UIDs in {@link CompressedSyntax}. */
export type CompressedSyntaxUid = (typeof CompressedSyntax)[keyof typeof CompressedSyntax];

/** The decoder family that handles a compressed transfer syntax. */
export type CodecFamily = 'rle' | 'jpeg-dct' | 'jpeg-lossless' | 'jpeg-ls' | 'jpeg-2000';

/** Decoder family and lossiness of each supported compressed transfer syntax. */
export const COMPRESSED_SYNTAXES: ReadonlyMap<string, { family: CodecFamily; lossless: boolean }> = new Map([
  [CompressedSyntax.JpegBaseline8Bit, { family: 'jpeg-dct', lossless: false }],
  [CompressedSyntax.JpegExtended12Bit, { family: 'jpeg-dct', lossless: false }],
  [CompressedSyntax.JpegLossless, { family: 'jpeg-lossless', lossless: true }],
  [CompressedSyntax.JpegLosslessSV1, { family: 'jpeg-lossless', lossless: true }],
  [CompressedSyntax.JpegLsLossless, { family: 'jpeg-ls', lossless: true }],
  [CompressedSyntax.JpegLsNearLossless, { family: 'jpeg-ls', lossless: false }],
  [CompressedSyntax.Jpeg2000Lossless, { family: 'jpeg-2000', lossless: true }],
  [CompressedSyntax.Jpeg2000, { family: 'jpeg-2000', lossless: false }],
  [CompressedSyntax.HtJpeg2000Lossless, { family: 'jpeg-2000', lossless: true }],
  [CompressedSyntax.HtJpeg2000LosslessRpcl, { family: 'jpeg-2000', lossless: true }],
  [CompressedSyntax.HtJpeg2000, { family: 'jpeg-2000', lossless: false }],
  [CompressedSyntax.RleLossless, { family: 'rle', lossless: true }],
] as const);

const NAMES: ReadonlyMap<string, string> = new Map([
  ['1.2.840.10008.1.2', 'Implicit VR Little Endian'],
  ['1.2.840.10008.1.2.1', 'Explicit VR Little Endian'],
  ['1.2.840.10008.1.2.1.98', 'Encapsulated Uncompressed Explicit VR Little Endian'],
  ['1.2.840.10008.1.2.1.99', 'Deflated Explicit VR Little Endian'],
  ['1.2.840.10008.1.2.2', 'Explicit VR Big Endian'],
  [CompressedSyntax.JpegBaseline8Bit, 'JPEG Baseline (Process 1)'],
  [CompressedSyntax.JpegExtended12Bit, 'JPEG Extended (Process 2 & 4)'],
  ['1.2.840.10008.1.2.4.52', 'JPEG Extended (Process 3 & 5)'],
  ['1.2.840.10008.1.2.4.53', 'JPEG Spectral Selection, Non-Hierarchical (Process 6 & 8)'],
  ['1.2.840.10008.1.2.4.55', 'JPEG Full Progression, Non-Hierarchical (Process 10 & 12)'],
  [CompressedSyntax.JpegLossless, 'JPEG Lossless, Non-Hierarchical (Process 14)'],
  [CompressedSyntax.JpegLosslessSV1, 'JPEG Lossless, SV1'],
  [CompressedSyntax.JpegLsLossless, 'JPEG-LS Lossless'],
  [CompressedSyntax.JpegLsNearLossless, 'JPEG-LS Near-Lossless'],
  [CompressedSyntax.Jpeg2000Lossless, 'JPEG 2000 Lossless'],
  [CompressedSyntax.Jpeg2000, 'JPEG 2000'],
  ['1.2.840.10008.1.2.4.92', 'JPEG 2000 Part 2 Multi-component Lossless'],
  ['1.2.840.10008.1.2.4.93', 'JPEG 2000 Part 2 Multi-component'],
  ['1.2.840.10008.1.2.4.94', 'JPIP Referenced'],
  ['1.2.840.10008.1.2.4.95', 'JPIP Referenced Deflate'],
  ['1.2.840.10008.1.2.4.100', 'MPEG2 Main Profile / Main Level'],
  ['1.2.840.10008.1.2.4.101', 'MPEG2 Main Profile / High Level'],
  ['1.2.840.10008.1.2.4.102', 'MPEG-4 AVC/H.264 High Profile / Level 4.1'],
  ['1.2.840.10008.1.2.4.103', 'MPEG-4 AVC/H.264 BD-compatible High Profile / Level 4.1'],
  ['1.2.840.10008.1.2.4.104', 'MPEG-4 AVC/H.264 High Profile / Level 4.2 For 2D Video'],
  ['1.2.840.10008.1.2.4.105', 'MPEG-4 AVC/H.264 High Profile / Level 4.2 For 3D Video'],
  ['1.2.840.10008.1.2.4.106', 'MPEG-4 AVC/H.264 Stereo High Profile / Level 4.2'],
  ['1.2.840.10008.1.2.4.107', 'HEVC/H.265 Main Profile / Level 5.1'],
  ['1.2.840.10008.1.2.4.108', 'HEVC/H.265 Main 10 Profile / Level 5.1'],
  ['1.2.840.10008.1.2.4.110', 'JPEG XL Lossless'],
  ['1.2.840.10008.1.2.4.111', 'JPEG XL JPEG Recompression'],
  ['1.2.840.10008.1.2.4.112', 'JPEG XL'],
  [CompressedSyntax.HtJpeg2000Lossless, 'High-Throughput JPEG 2000 Lossless'],
  [CompressedSyntax.HtJpeg2000LosslessRpcl, 'High-Throughput JPEG 2000 with RPCL Options Lossless'],
  [CompressedSyntax.HtJpeg2000, 'High-Throughput JPEG 2000'],
  ['1.2.840.10008.1.2.4.204', 'JPIP HTJ2K Referenced'],
  ['1.2.840.10008.1.2.4.205', 'JPIP HTJ2K Referenced Deflate'],
  [CompressedSyntax.RleLossless, 'RLE Lossless'],
  ['1.2.840.10008.1.2.6.1', 'RFC 2557 MIME encapsulation'],
  ['1.2.840.10008.1.2.6.2', 'XML Encoding'],
  ['1.2.840.10008.1.2.7.1', 'SMPTE ST 2110-20 Uncompressed Progressive Active Video'],
]);

/**
 * Human name of a transfer syntax UID for messages, e.g. `"JPEG Lossless, SV1 (1.2.840.10008.1.2.4.70)"`;
 * an unknown UID reads `"unknown transfer syntax (1.2.3)"`.
 */
export function transferSyntaxName(uid: string): string {
  const name = NAMES.get(uid);
  return `${name ?? 'unknown transfer syntax'} (${uid})`;
}
