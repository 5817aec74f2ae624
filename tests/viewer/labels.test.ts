/** Label display state and the colour/opacity tables that draw each label exactly in its own colour. */
import { describe, expect, it } from 'vitest';
import { fallbackColor, hexToRgb, initialLabelDisplay, labelTransferPoints, rgbToHex } from '../../viewer/src/core/labels.js';
import { cutDescription, formatVolume, lesionLine } from '../../viewer/src/core/format.js';
import type { LesionJson } from '../../viewer/src/core/api-types.js';

/** A piecewise-linear function through the points, as vtk.js's transfer functions evaluate them. */
function evaluate(points: number[][], x: number, component: number): number {
  for (let n = 1; n < points.length; n++) {
    const [x0, x1] = [points[n - 1]![0]!, points[n]![0]!];
    if (x >= x0 && x <= x1) return points[n - 1]![component]! + ((x - x0) / (x1 - x0)) * (points[n]![component]! - points[n - 1]![component]!);
  }
  return NaN;
}

describe('label display', () => {
  const labels = [
    { value: 1, name: 'liver', color: [221, 130, 101] as const },
    { value: 2, name: 'spleen', color: [157, 108, 162] as const },
    { value: 4, name: 'kidney_left' },
  ];

  it('starts with the card colours (fallbacks when absent), everything visible, and names unknown values', () => {
    const d = initialLabelDisplay(labels, [1, 2, 4, 9]);
    expect(d.map((l) => [l.value, l.name, l.visible, l.opacity])).toEqual([
      [1, 'liver', true, 1],
      [2, 'spleen', true, 1],
      [4, 'kidney_left', true, 1],
      [9, 'label 9', true, 1],
    ]);
    expect(d[2]!.color).toEqual(fallbackColor(4));
    expect(fallbackColor(1)).toEqual(fallbackColor(17));
  });

  it('gives every integer label exactly its colour and opacity, background and hidden labels none', () => {
    const d = initialLabelDisplay(labels, [1, 2, 4]).map((l) => (l.value === 2 ? { ...l, visible: false } : l));
    const t = labelTransferPoints(d, 0.5, 4);
    // Sampled anywhere within ±0.49 of a label value, the functions are flat: no bleeding between neighbours.
    for (const x of [0.99, 1, 1.49]) {
      expect(evaluate(t.colors, x, 1)).toBeCloseTo(221 / 255, 12);
      expect(evaluate(t.colors, x, 3)).toBeCloseTo(101 / 255, 12);
      expect(evaluate(t.opacities, x, 1)).toBeCloseTo(0.5, 12);
    }
    expect(evaluate(t.opacities, 0, 1)).toBe(0);
    expect(evaluate(t.opacities, 2, 1)).toBe(0);
    expect(evaluate(t.opacities, 3, 1)).toBe(0);
    expect(evaluate(t.opacities, 4, 1)).toBeCloseTo(0.5, 12);
    expect(t.range[0]).toBeCloseTo(-0.499, 12);
    expect(t.range[1]).toBeCloseTo(4.499, 12);
  });

  it('converts colours to and from #rrggbb', () => {
    expect(rgbToHex([221, 130, 101])).toBe('#dd8265');
    expect(hexToRgb('#DD8265')).toEqual([221, 130, 101]);
    expect(() => hexToRgb('red')).toThrow(new RangeError('expected a colour as #rrggbb, got "red"'));
  });
});

describe('panel text', () => {
  it('prints volumes in mL, as a lower bound for a structure cut by the scan border', () => {
    expect(formatVolume(1440.99522, false)).toBe('1441 mL');
    expect(formatVolume(84.93, true)).toBe('≥ 84.9 mL');
    expect(formatVolume(0.517262, false)).toBe('0.52 mL');
    expect(cutDescription({ incomplete: true, cutBy: [{ axis: 'k', side: 'min', patient: 'I' }, { axis: 'k', side: 'max', patient: 'S' }] })).toBe('cut by the scan border (inferior, superior)');
    expect(cutDescription({ incomplete: false, cutBy: [] })).toBe('');
  });

  it('describes a lesion by volume, longest axial diameter and organ', () => {
    const lesion = { label: 8, index: 1, volumeMl: 14.860321, longestAxialDiameterMm: 31.230522, incomplete: false, organ: { label: 1, shellVoxels: 1372, shellFraction: 1, name: 'liver' } } as unknown as LesionJson;
    expect(lesionLine(lesion, 'liver_lesion')).toBe('liver_lesion 1: 14.9 mL, 31 mm (in liver)');
  });
});
