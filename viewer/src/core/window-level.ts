/**
 * Window/level (display contrast). Values are in the scan's units (Hounsfield units for CT). A window of width W
 * centred on level L maps L − W/2 … L + W/2 linearly onto black … white, as DICOM's VOI LUT "LINEAR_EXACT" does.
 */

export interface WindowLevel {
  /** Width of the displayed value range (> 0). */
  window: number;
  /** Centre of the displayed value range. */
  level: number;
}

export type PresetId = 'soft-tissue' | 'lung' | 'bone' | 'liver' | 'auto';

export interface Preset {
  id: PresetId;
  label: string;
  /** Fixed CT values; undefined for `auto`, computed from the image. */
  value?: WindowLevel;
}

/** Common radiology presets (Radiopaedia's "windowing (CT)" values), plus an automatic one for MR and others. */
export const PRESETS: readonly Preset[] = [
  { id: 'soft-tissue', label: 'CT soft tissue', value: { window: 400, level: 40 } },
  { id: 'lung', label: 'CT lung', value: { window: 1500, level: -600 } },
  { id: 'bone', label: 'CT bone', value: { window: 1800, level: 400 } },
  { id: 'liver', label: 'CT liver', value: { window: 150, level: 30 } },
  { id: 'auto', label: 'MR / auto' },
];

/** Grey level 0…255 of a value under a window (clamped at both ends). */
export function greyLevel(value: number, wl: WindowLevel): number {
  const lo = wl.level - wl.window / 2;
  const t = (value - lo) / wl.window;
  return Math.round(255 * Math.min(1, Math.max(0, t)));
}

/**
 * The window spanning the `lowPercent` … `highPercent` percentiles of the values (for MR, whose intensities have no
 * absolute scale). Reads at most `maxSamples` values, evenly strided, into a 1024-bin histogram. When 0 is the
 * smallest value (MR background, often most of the volume), zeros are left out, so the window follows the tissue.
 *
 * Example: the values 0…100 (each once) with 1…99 % → about window 98, level 50.
 */
export function autoWindow(data: ArrayLike<number>, min: number, max: number, { lowPercent = 1, highPercent = 99, maxSamples = 1 << 20 } = {}): WindowLevel {
  if (!(max > min)) return { window: Math.max(1, Math.abs(min) || 1), level: min };
  const bins = 1024;
  const hist = new Float64Array(bins);
  const stride = Math.max(1, Math.floor(data.length / maxSamples));
  const binOf = (v: number) => Math.min(bins - 1, Math.floor(((v - min) / (max - min)) * bins));
  let total = 0;
  let zeros = 0;
  for (let n = 0; n < data.length; n += stride) {
    const v = data[n]!;
    if (!Number.isFinite(v)) continue;
    if (v === 0) zeros++;
    hist[binOf(v)]!++;
    total++;
  }
  if (min === 0 && zeros > 0 && zeros < total) {
    // Zero is the floor of the range: MR background, often most of the volume. Leave it out so the tissue sets the window.
    hist[binOf(0)]! -= zeros;
    total -= zeros;
  }
  const at = (percent: number) => {
    const target = (percent / 100) * total;
    let acc = 0;
    for (let b = 0; b < bins; b++) {
      acc += hist[b]!;
      if (acc >= target) return min + ((b + 0.5) / bins) * (max - min);
    }
    return max;
  };
  const lo = at(lowPercent);
  const hi = at(highPercent);
  const window = Math.max(hi - lo, (max - min) / bins);
  return { window, level: (lo + hi) / 2 };
}

/**
 * Whether a scan looks like CT from its value range: CT in HU reaches air (about −1000) and tissue above 0.
 * (A NIfTI file carries no modality; DICOM studies arrive here converted to NIfTI.)
 */
export function looksLikeCt(min: number, max: number, integral: boolean): boolean {
  return integral && min <= -500 && min >= -3100 && max >= 100;
}

/** The preset a scan opens with: soft tissue for CT, automatic for everything else. */
export function initialPreset(min: number, max: number, integral: boolean): PresetId {
  return looksLikeCt(min, max, integral) ? 'soft-tissue' : 'auto';
}

/** Window/level after a drag of (dx, dy) CSS pixels: right widens the window, down raises the level. */
export function dragWindowLevel(start: WindowLevel, dx: number, dy: number, valueRange: number): WindowLevel {
  // One pixel changes the window by 1/500 of the value range (at least 1 unit), as 3D Slicer's drag roughly does.
  const perPx = Math.max(1, valueRange / 500);
  return { window: Math.max(1, start.window + dx * perPx), level: start.level + dy * perPx };
}
