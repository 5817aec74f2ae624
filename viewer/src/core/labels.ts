/**
 * Label display state and colour tables. Display state (colour, opacity, visibility per label) lives here, apart
 * from the label voxels, as cornerstone separates a Segmentation from its SegmentationRepresentation.
 */

export type Rgb = readonly [number, number, number];

/** A label as the model card names it (GET /api/models). */
export interface LabelInfo {
  value: number;
  name: string;
  /** 0–255 per channel; absent when the card gives none. */
  color?: Rgb | undefined;
}

export interface LabelDisplay {
  value: number;
  name: string;
  color: Rgb;
  /** 0–1, multiplied by the overlay's global opacity. */
  opacity: number;
  visible: boolean;
}

/** Colours for labels without a card colour: distinct, muted anatomy-like tones, cycled by value (stable per value). */
export const FALLBACK_COLORS: readonly Rgb[] = [
  [128, 174, 128],
  [241, 214, 145],
  [177, 122, 101],
  [111, 184, 210],
  [216, 101, 79],
  [221, 130, 101],
  [144, 238, 144],
  [192, 104, 88],
  [220, 245, 20],
  [78, 63, 0],
  [255, 250, 220],
  [230, 220, 70],
  [200, 200, 235],
  [250, 250, 210],
  [244, 214, 49],
  [0, 151, 206],
];

export function fallbackColor(value: number): Rgb {
  return FALLBACK_COLORS[(((value - 1) % FALLBACK_COLORS.length) + FALLBACK_COLORS.length) % FALLBACK_COLORS.length]!;
}

/**
 * The initial display of every label value present in the model or the map: card colours (or fallbacks), all
 * visible, full opacity. Values in `present` that the card does not name are shown as "label <value>".
 */
export function initialLabelDisplay(labels: readonly LabelInfo[], present: Iterable<number> = []): LabelDisplay[] {
  const byValue = new Map<number, LabelDisplay>();
  for (const l of labels) {
    if (l.value > 0) byValue.set(l.value, { value: l.value, name: l.name, color: l.color ?? fallbackColor(l.value), opacity: 1, visible: true });
  }
  for (const v of present) {
    if (v > 0 && !byValue.has(v)) byValue.set(v, { value: v, name: `label ${v}`, color: fallbackColor(v), opacity: 1, visible: true });
  }
  return [...byValue.values()].sort((a, b) => a.value - b.value);
}

export function rgbToHex([r, g, b]: Rgb): string {
  return `#${[r, g, b].map((c) => Math.round(Math.min(255, Math.max(0, c))).toString(16).padStart(2, '0')).join('')}`;
}

/** @throws RangeError for anything but "#rrggbb". */
export function hexToRgb(hex: string): Rgb {
  const m = /^#([0-9a-f]{2})([0-9a-f]{2})([0-9a-f]{2})$/i.exec(hex);
  if (!m) throw new RangeError(`expected a colour as #rrggbb, got "${hex}"`);
  return [parseInt(m[1]!, 16), parseInt(m[2]!, 16), parseInt(m[3]!, 16)];
}

/** Node points of a piecewise-constant transfer function: x and the value(s) there. */
export interface TransferPoints {
  /** [x, r, g, b] with r, g, b in 0–1. */
  colors: [number, number, number, number][];
  /** [x, opacity]. */
  opacities: [number, number][];
  /** The x range the points span (the lookup table's scalar range). */
  range: [number, number];
}

/**
 * Transfer functions that give every integer label its own colour and opacity, exactly. vtk.js samples a transfer
 * function into a texture and interpolates linearly between nodes, so each value v gets a flat step from
 * v − 0.5 + ε to v + 0.5 − ε: neighbouring labels never bleed into each other and background (0) stays clear.
 * Hidden labels get opacity 0. `globalOpacity` (0–1) scales every label's own opacity.
 */
export function labelTransferPoints(display: readonly LabelDisplay[], globalOpacity: number, maxValue: number): TransferPoints {
  const eps = 1e-3;
  const top = Math.max(maxValue, ...display.map((d) => d.value), 1);
  const byValue = new Map(display.map((d) => [d.value, d]));
  const colors: TransferPoints['colors'] = [];
  const opacities: TransferPoints['opacities'] = [];
  for (let v = 0; v <= top; v++) {
    const d = byValue.get(v);
    const rgb = d ? d.color.map((c) => c / 255) : [0, 0, 0];
    const a = d && d.visible && v > 0 ? Math.min(1, Math.max(0, d.opacity * globalOpacity)) : 0;
    for (const x of [v - 0.5 + eps, v + 0.5 - eps]) {
      colors.push([x, rgb[0]!, rgb[1]!, rgb[2]!]);
      opacities.push([x, a]);
    }
  }
  return { colors, opacities, range: [-0.5 + eps, top + 0.5 - eps] };
}
