/** Window/level presets and the automatic window (values in the scan's units, HU for CT). */
import { describe, expect, it } from 'vitest';
import { autoWindow, dragWindowLevel, greyLevel, initialPreset, looksLikeCt, PRESETS } from '../../viewer/src/core/window-level.js';

describe('window/level', () => {
  it('offers the CT presets of the issue with their usual values, and an automatic one', () => {
    expect(PRESETS.map((p) => [p.id, p.value?.window, p.value?.level])).toEqual([
      ['soft-tissue', 400, 40],
      ['lung', 1500, -600],
      ['bone', 1800, 400],
      ['liver', 150, 30],
      ['auto', undefined, undefined],
    ]);
  });

  it('maps the window linearly onto grey levels, clamped at both ends', () => {
    const soft = { window: 400, level: 40 };
    // −160 HU … 240 HU → 0 … 255: 40 HU (the level) is mid-grey, 140 HU is 3/4 up.
    expect(greyLevel(-1000, soft)).toBe(0);
    expect(greyLevel(-160, soft)).toBe(0);
    expect(greyLevel(40, soft)).toBe(128);
    expect(greyLevel(140, soft)).toBe(191);
    expect(greyLevel(240, soft)).toBe(255);
    expect(greyLevel(3000, soft)).toBe(255);
  });

  it('sets the automatic window from the 1st–99th percentiles (the comment example: 0…100 → window 98, level 50)', () => {
    const values = Array.from({ length: 101 }, (_, n) => n);
    const wl = autoWindow(values, 0, 100);
    expect(wl.window).toBeCloseTo(98, 0);
    expect(wl.level).toBeCloseTo(50, 0);
  });

  it('leaves MR background zeros out of the automatic window', () => {
    // 90 % background, tissue 200…400: the window covers the tissue, not 0…400.
    const values = [...new Array<number>(9000).fill(0), ...Array.from({ length: 1000 }, (_, n) => 200 + n / 5)];
    const wl = autoWindow(values, 0, 400);
    expect(wl.level - wl.window / 2).toBeGreaterThan(195);
    expect(wl.level + wl.window / 2).toBeLessThan(405);
  });

  it('recognises CT by its HU range and opens it with the soft-tissue window; anything else gets the automatic one', () => {
    expect(looksLikeCt(-1024, 3071, true)).toBe(true);
    expect(initialPreset(-1024, 1500, true)).toBe('soft-tissue');
    expect(initialPreset(0, 4095, true)).toBe('auto');
    expect(initialPreset(-1000.5, 2000, false)).toBe('auto');
  });

  it('widens the window when dragging right and raises the level when dragging down', () => {
    // value range 4096 → 8.192 units per pixel
    const wl = dragWindowLevel({ window: 400, level: 40 }, 10, -5, 4096);
    expect(wl.window).toBeCloseTo(481.92, 9);
    expect(wl.level).toBeCloseTo(-0.96, 9);
    expect(dragWindowLevel({ window: 10, level: 0 }, -100, 0, 100).window).toBe(1);
  });
});
