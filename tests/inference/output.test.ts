import { describe, expect, it } from 'vitest';
import { activate, backgroundVector, decide, type DecisionRule } from '../../src/inference/output.js';

describe('activation and decision rules', () => {
  it('softmax per voxel over channel-major planes, stable for large logits', () => {
    const v = new Float32Array([1000, 0, 1001, 0, 999, 0]); // 3 channels × 2 voxels
    activate(v, 3, 2, 'softmax');
    const e = [Math.exp(-1), 1, Math.exp(-2)];
    const s = e[0]! + e[1]! + e[2]!;
    expect([v[0], v[2], v[4]].map((x) => +x!.toFixed(6))).toEqual(e.map((x) => +(x / s).toFixed(6)));
    expect([v[1], v[3], v[5]].map((x) => +x!.toFixed(6))).toEqual([0.333333, 0.333333, 0.333333]);
  });
  it('argmax maps channels to label values; ties go to the first channel', () => {
    const rule: DecisionRule = { activation: 'softmax', threshold: 0.5, channelLabels: [0, 5, 9] };
    expect(decide([0.2, 0.3, 0.5], 0, 1, rule)).toBe(9);
    expect(decide([0.4, 0.4, 0.2], 0, 1, rule)).toBe(0);
  });
  it('sigmoid: the most confident channel above threshold, or (ordered, nnU-Net regions) the last one above it', () => {
    const confident: DecisionRule = { activation: 'sigmoid', threshold: 0.5, channelLabels: [1, 2, 3] };
    const ordered: DecisionRule = { ...confident, sigmoidRule: 'ordered' };
    // whole tumour 0.95, core 0.7, enhancing 0.6: nested regions
    expect(decide([0.95, 0.7, 0.6], 0, 1, confident)).toBe(1);
    expect(decide([0.95, 0.7, 0.6], 0, 1, ordered)).toBe(3);
    expect(decide([0.95, 0.7, 0.4], 0, 1, ordered)).toBe(2);
    expect(decide([0.2, 0.3, 0.4], 0, 1, ordered)).toBe(0);
    expect(decide([0.2, 0.3, 0.4], 0, 1, confident)).toBe(0);
  });
  it('a single channel is thresholded; background vectors are certain background', () => {
    const one: DecisionRule = { activation: 'none', threshold: 0.5, channelLabels: [1] };
    expect(decide([0.51], 0, 1, one)).toBe(1);
    expect(decide([0.5], 0, 1, one)).toBe(0);
    expect([...backgroundVector({ activation: 'softmax', threshold: 0.5, channelLabels: [0, 1, 2] })]).toEqual([1, 0, 0]);
    expect([...backgroundVector({ activation: 'sigmoid', threshold: 0.5, channelLabels: [1, 2] })]).toEqual([0, 0]);
  });
});
