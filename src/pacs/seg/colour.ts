/**
 * sRGB ↔ DICOM scaled CIELab colours for RecommendedDisplayCIELabValue (PS3.3 C.10.7.1.1): CIELab under the D65
 * white point, L* 0…100 scaled to 0…0xFFFF, a* and b* −128…127 shifted by 128 and scaled by 0xFFFF/0xFF = 257.
 * sRGB is IEC 61966-2-1 (the colours of model cards: 8-bit, gamma-encoded).
 */

export type Rgb8 = readonly [number, number, number];
export type DicomLab = readonly [number, number, number];

// IEC 61966-2-1 linear-sRGB → XYZ matrix (rows X, Y, Z) and the D65 reference white it is normalised to.
const RGB_TO_XYZ = [
  [0.4124564, 0.3575761, 0.1804375],
  [0.2126729, 0.7151522, 0.072175],
  [0.0193339, 0.119192, 0.9503041],
] as const;
const XYZ_TO_RGB = [
  [3.2404542, -1.5371385, -0.4985314],
  [-0.969266, 1.8760108, 0.041556],
  [0.0556434, -0.2040259, 1.0572252],
] as const;
const WHITE_D65 = [0.95047, 1, 1.08883] as const;
// CIE 1976 constants: ε = (6/29)³, and the linear segment's slope 1/(3·(6/29)²).
const EPSILON = (6 / 29) ** 3;

const toLinear = (c: number) => (c <= 0.04045 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4);
const toGamma = (c: number) => (c <= 0.0031308 ? 12.92 * c : 1.055 * c ** (1 / 2.4) - 0.055);
const f = (t: number) => (t > EPSILON ? Math.cbrt(t) : t / (3 * (6 / 29) ** 2) + 4 / 29);
const fInv = (t: number) => (t > 6 / 29 ? t ** 3 : 3 * (6 / 29) ** 2 * (t - 4 / 29));
const clamp = (v: number, lo: number, hi: number) => (v < lo ? lo : v > hi ? hi : v);

/** CIELab (L* 0…100, a*, b*) of an 8-bit sRGB colour. */
export function srgbToLab(rgb: Rgb8): [number, number, number] {
  for (const c of rgb) if (!(Number.isInteger(c) && c >= 0 && c <= 255)) throw new RangeError(`sRGB components must be integers 0…255, got [${rgb.join(', ')}]`);
  const lin = rgb.map((c) => toLinear(c / 255));
  const xyz = RGB_TO_XYZ.map((row) => row[0] * lin[0]! + row[1] * lin[1]! + row[2] * lin[2]!);
  const [fx, fy, fz] = [f(xyz[0]! / WHITE_D65[0]), f(xyz[1]! / WHITE_D65[1]), f(xyz[2]! / WHITE_D65[2])];
  return [116 * fy - 16, 500 * (fx - fy), 200 * (fy - fz)];
}

/**
 * DICOM scaled CIELab of an 8-bit sRGB colour, each component an integer 0…65535.
 * @example srgbToDicomLab([255, 255, 255]) → [65535, 32896, 32896] (L* 100, a* = b* = 0)
 */
export function srgbToDicomLab(rgb: Rgb8): DicomLab {
  const [l, a, b] = srgbToLab(rgb);
  return [
    Math.round(clamp((l * 65535) / 100, 0, 65535)),
    Math.round(clamp(((a + 128) * 65535) / 255, 0, 65535)),
    Math.round(clamp(((b + 128) * 65535) / 255, 0, 65535)),
  ];
}

/** The 8-bit sRGB colour closest to a DICOM scaled CIELab value (out-of-gamut components are clipped). */
export function dicomLabToSrgb(lab: DicomLab): Rgb8 {
  const l = (lab[0] * 100) / 65535;
  const a = (lab[1] * 255) / 65535 - 128;
  const b = (lab[2] * 255) / 65535 - 128;
  const fy = (l + 16) / 116;
  const xyz = [WHITE_D65[0] * fInv(fy + a / 500), WHITE_D65[1] * fInv(fy), WHITE_D65[2] * fInv(fy - b / 200)];
  const rgb = XYZ_TO_RGB.map((row) => toGamma(clamp(row[0] * xyz[0]! + row[1] * xyz[1]! + row[2] * xyz[2]!, 0, 1)));
  return [Math.round(rgb[0]! * 255), Math.round(rgb[1]! * 255), Math.round(rgb[2]! * 255)];
}
