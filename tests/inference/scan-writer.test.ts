/**
 * ScanWriter's shortcut for argmax labels (a scan voxel whose 8 surrounding engine voxels share one label takes that
 * label without interpolating) must give exactly the labels of full interpolation. Writing probabilities turns the
 * shortcut off, so the same planes written both ways must agree voxel for voxel, on an oblique, scaled mapping where
 * every scan voxel interpolates between engine voxels.
 */
import { describe, expect, it } from 'vitest';
import { ScanWriter, backgroundVector, type DecisionRule } from '../../src/inference/output.js';
import type { IndexMap } from '../../src/volume/index-map.js';
import type { Vec3i } from '../../src/volume/types.js';

const ENGINE: Vec3i = [24, 20, 14];
const SCAN: Vec3i = [37, 33, 19];

/** Scan index → engine index: a rotation of about 17° in-plane, 9° out of plane, scaled by 0.6 (no permutation). */
function obliqueMap(): IndexMap {
  const a = (17 * Math.PI) / 180;
  const t = (9 * Math.PI) / 180;
  const s = 0.6;
  const m = [s * Math.cos(a), -s * Math.sin(a), 0, s * Math.sin(a) * Math.cos(t), s * Math.cos(a) * Math.cos(t), -s * Math.sin(t), s * Math.sin(a) * Math.sin(t), s * Math.cos(a) * Math.sin(t), s * Math.cos(t)];
  return { m, b: [3.3, -1.7, 0.4] };
}

/** Deterministic smooth channel fields (sums of sinusoids with seeded phases): blobs of each class with boundaries. */
function planes(channels: number, seed: number): Float32Array[] {
  let state = seed >>> 0;
  const rand = () => ((state = (Math.imul(state, 1664525) + 1013904223) >>> 0) / 2 ** 32);
  const waves = Array.from({ length: channels }, () => Array.from({ length: 3 }, () => [rand() * 0.7, rand() * 0.7, rand() * 0.7, rand() * 6.28] as const));
  const [w, h, d] = ENGINE;
  return Array.from({ length: d }, (_, z) => {
    const v = new Float32Array(channels * w * h);
    for (let c = 0; c < channels; c++)
      for (let y = 0; y < h; y++)
        for (let x = 0; x < w; x++) {
          let f = 0;
          for (const [kx, ky, kz, ph] of waves[c]!) f += Math.sin(kx * x + ky * y + kz * z + ph);
          v[c * w * h + y * w + x] = f;
        }
    return v;
  });
}

function write(rule: DecisionRule, wantProbabilities: boolean, input: Float32Array[]): Uint8Array | Uint16Array {
  const writer = new ScanWriter(ENGINE, SCAN, obliqueMap(), rule, 'probabilities', wantProbabilities, backgroundVector(rule));
  input.forEach((values, z) => writer.plane(z, values.slice()));
  writer.finish();
  return writer.labels;
}

describe('ScanWriter uniform-label shortcut', () => {
  it.each([
    ['softmax, 5 classes', { activation: 'softmax', threshold: 0.5, channelLabels: [0, 1, 2, 3, 4] }, 11],
    ['raw logits, 4 classes with sparse label values', { activation: 'none', threshold: 0.5, channelLabels: [0, 7, 3, 12] }, 23],
    ['two channels sharing a label (shortcut off)', { activation: 'softmax', threshold: 0.5, channelLabels: [0, 1, 1, 2] }, 5],
  ] as [string, DecisionRule, number][])('%s: the same labels as full interpolation', (_name, rule, seed) => {
    const input = planes(rule.channelLabels.length, seed);
    const fast = write(rule, false, input);
    const full = write(rule, true, input);
    let differ = 0;
    for (let i = 0; i < full.length; i++) if (fast[i] !== full[i]) differ++;
    expect(differ).toBe(0);
    // Non-trivial: several labels, with boundaries between them inside the engine grid.
    const present = new Set(full);
    expect(present.size).toBeGreaterThanOrEqual(3);
  });
});
