import { describe, expect, it } from 'vitest';
import { blendingWeights, mirrorCombinations, padToAtLeast, padToMultiple, paddedIndexMap, windowStarts } from '../../src/inference/tiling.js';
import { expectAllClose } from '../helpers.js';

describe('window placement (DOMAIN.md §3)', () => {
  it('nnU-Net: the worked example size 110, tile 64, step 0.5 gives 0, 23, 46', () => {
    expect(windowStarts(110, 64, 0.5, 'nnunet')).toEqual([0, 23, 46]);
  });
  it('nnU-Net: n = ceil((size − tile)/(tile·step)) + 1, evenly spread and rounded half-to-even', () => {
    // 200: n = ceil(136/32)+1 = 6, stride 27.2 → 0, 27.2, 54.4, 81.6, 108.8, 136
    expect(windowStarts(200, 64, 0.5, 'nnunet')).toEqual([0, 27, 54, 82, 109, 136]);
    // TotalSegmentator's step 0.8: 300, 128 → n = ceil(172/102.4)+1 = 3 → 0, 86, 172
    expect(windowStarts(300, 128, 0.8, 'nnunet')).toEqual([0, 86, 172]);
    // stride 2.5 exactly: 0, 2.5→2 (half to even), 5, 7.5→8, 10
    expect(windowStarts(14, 4, 0.625, 'nnunet')).toEqual([0, 2, 5, 8, 10]);
    expect(windowStarts(64, 64, 0.5, 'nnunet')).toEqual([0]);
  });
  it('MONAI: interval int(tile·(1 − overlap)), last window clamped to size − tile', () => {
    expect(windowStarts(110, 64, 0.5, 'monai')).toEqual([0, 32, 46]);
    expect(windowStarts(110, 64, 0.25, 'monai')).toEqual([0, 46]);
    expect(windowStarts(128, 64, 0.25, 'monai')).toEqual([0, 48, 64]);
    expect(windowStarts(96, 96, 0.25, 'monai')).toEqual([0]);
  });
  it('covers every position of the axis', () => {
    for (const placement of ['nnunet', 'monai'] as const) {
      for (let size = 5; size < 90; size += 7) {
        for (const tile of [1, 3, 5]) {
          const starts = windowStarts(size, tile, 0.5, placement);
          const covered = new Set<number>();
          for (const s of starts) for (let x = s; x < s + tile; x++) covered.add(x);
          expect(covered.size).toBe(size);
          expect(Math.max(...starts)).toBe(size - tile);
        }
      }
    }
  });
  it('refuses a tile larger than the (padded) axis', () => {
    expect(() => windowStarts(10, 64, 0.5, 'nnunet')).toThrow(/size ≥ tile/);
  });
});

describe('blending weights', () => {
  it('nnU-Net: Gaussian with σ = tile/8 around tile//2, maximum 10', () => {
    const w = blendingWeights([64], 'gaussian', 'nnunet');
    expect(w[32]).toBeCloseTo(10, 5);
    expect(w[24]).toBeCloseTo(10 * Math.exp(-0.5), 5); // one σ = 8 voxels away
    expect(w[40]).toBeCloseTo(10 * Math.exp(-0.5), 5);
    expect(w[0]).toBeCloseTo(10 * Math.exp(-8), 6); // 32 voxels = 4σ, still inside scipy's truncation
    expect(w[63]).toBeCloseTo(10 * Math.exp(-0.5 * (31 / 8) ** 2), 6);
  });
  it('nnU-Net 3-D: the outer product of the per-axis profiles, scaled to max 10', () => {
    const w = blendingWeights([4, 8, 16], 'gaussian', 'nnunet');
    expect(w.length).toBe(4 * 8 * 16);
    expect(w[(2 * 8 + 4) * 16 + 8]).toBeCloseTo(10, 5);
    // (0, 4, 8): one axis 2 voxels off centre with σ = 0.5 → exp(−8)
    expect(w[(0 * 8 + 4) * 16 + 8]).toBeCloseTo(10 * Math.exp(-8), 6);
  });
  it('MONAI: 1-D Gaussians centred at (n − 1)/2, σ = n·0.125, clamped at 1e-3', () => {
    const w4 = blendingWeights([4], 'gaussian', 'monai');
    expectAllClose(w4, [Math.exp(-4.5), Math.exp(-0.5), Math.exp(-0.5), Math.exp(-4.5)], { atol: 1e-7, rtol: 1e-6 });
    const w64 = blendingWeights([64], 'gaussian', 'monai');
    expect(w64[0]).toBeCloseTo(1e-3, 9); // exp(−31.5²/128) = 4.3e-4 → clamped
    expect(w64[31]).toBeCloseTo(Math.exp(-0.25 / 128), 6);
  });
  it('constant blending is all ones; an axis of length 1 is neutral', () => {
    expect([...blendingWeights([2, 3, 4], 'constant', 'nnunet')].every((v) => v === 1)).toBe(true);
    const w = blendingWeights([1, 64, 64], 'gaussian', 'nnunet');
    expect(w[32 * 64 + 32]).toBeCloseTo(10, 5);
  });
});

describe('padding', () => {
  it('mirror reflects without repeating the edge (the U-Net paper), replicate repeats it, constant marks −1', () => {
    expect([...paddedIndexMap(4, 3, 3, 'mirror')]).toEqual([3, 2, 1, 0, 1, 2, 3, 2, 1, 0]);
    expect([...paddedIndexMap(4, 3, 3, 'replicate')]).toEqual([0, 0, 0, 0, 1, 2, 3, 3, 3, 3]);
    expect([...paddedIndexMap(4, 2, 1, 'constant')]).toEqual([-1, -1, 0, 1, 2, 3, -1]);
    // Padding beyond the axis length keeps reflecting.
    expect([...paddedIndexMap(3, 5, 0, 'mirror')]).toEqual([1, 0, 1, 2, 1, 0, 1, 2]);
    expect([...paddedIndexMap(1, 2, 2, 'mirror')]).toEqual([0, 0, 0, 0, 0]);
  });
  it('pads symmetrically with the odd voxel after (nnU-Net, MONAI)', () => {
    expect(padToAtLeast(59, 64)).toEqual([2, 3]);
    expect(padToAtLeast(70, 64)).toEqual([0, 0]);
    expect(padToMultiple(202, 16)).toEqual([3, 3]);
    expect(padToMultiple(203, 16)).toEqual([2, 3]);
  });
  it('test-time mirroring uses every non-empty axis combination (7 in 3-D)', () => {
    expect(mirrorCombinations([0, 1, 2])).toEqual([[0], [1], [0, 1], [2], [0, 2], [1, 2], [0, 1, 2]]);
    expect(mirrorCombinations([])).toEqual([]);
  });
});
