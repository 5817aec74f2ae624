/** Row runs and connected components over runs: hand-derived cases and agreement with the voxel-based labelling. */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { connectedComponents, type Connectivity } from '../../src/postprocess/components.js';
import { labelBoxes, labelRuns, runComponents } from '../../src/postprocess/runs.js';
import type { Vec3i } from '../../src/volume/types.js';

function map(dims: Vec3i, voxels: [number, number, number, number][]): Uint8Array {
  const data = new Uint8Array(dims[0] * dims[1] * dims[2]);
  for (const [i, j, k, v] of voxels) data[i + j * dims[0] + k * dims[0] * dims[1]] = v;
  return data;
}

describe('labelRuns', () => {
  it('encodes each row as maximal runs of one non-zero label', () => {
    // row (j=0,k=0): 1 1 2 0 2 → runs [0,2) of 1, [2,3) of 2, [4,5) of 2; row (j=1,k=0): empty
    const data = Uint8Array.from([1, 1, 2, 0, 2, 0, 0, 0, 0, 0]);
    const r = labelRuns(data, [5, 2, 1]);
    expect(r.count).toBe(3);
    expect([...r.rowStart]).toEqual([0, 3, 3]);
    expect([...r.start.subarray(0, 3)]).toEqual([0, 2, 4]);
    expect([...r.end.subarray(0, 3)]).toEqual([2, 3, 5]);
    expect([...r.label.subarray(0, 3)]).toEqual([1, 2, 2]);
  });

  it('counts voxels and bounding boxes per label', () => {
    const dims: Vec3i = [4, 3, 2];
    const b = labelBoxes(labelRuns(map(dims, [[1, 0, 0, 5], [3, 2, 1, 5], [2, 1, 0, 7]]), dims));
    expect(b.present).toEqual([5, 7]);
    expect(b.voxels[5]).toBe(2);
    expect([...b.boxes.subarray(30, 36)]).toEqual([1, 3, 0, 2, 0, 1]);
    expect([...b.boxes.subarray(42, 48)]).toEqual([2, 2, 1, 1, 0, 0]);
  });

  it('refuses data of the wrong length', () => {
    expect(() => labelRuns(new Uint8Array(5), [2, 2, 2])).toThrow('label data has 5 voxels, dims [2, 2, 2] need 8');
  });
});

describe('runComponents', () => {
  // Two voxels of label 1 that share only an edge (Δ = (1, 1, 0)) and a third sharing only a corner with the second.
  const dims: Vec3i = [4, 4, 4];
  const data = map(dims, [[0, 0, 0, 1], [1, 1, 0, 1], [2, 2, 1, 1]]);
  it.each([
    [6, 3],
    [18, 2],
    [26, 1],
  ] as const)('separates diagonal neighbours by connectivity (%i → %i components)', (connectivity, count) => {
    expect(runComponents(labelRuns(data, dims), connectivity).count).toBe(count);
  });

  it('never joins runs of different labels, and labels only the included ones', () => {
    const d = map([3, 1, 1], [[0, 0, 0, 1], [1, 0, 0, 2], [2, 0, 0, 1]]);
    const all = runComponents(labelRuns(d, [3, 1, 1]), 26);
    expect(all.count).toBe(3);
    const only2 = runComponents(labelRuns(d, [3, 1, 1]), 26, (l) => l === 2);
    expect(only2.count).toBe(1);
    expect([...only2.ofRun]).toEqual([0, 1, 0]);
    expect(only2.label[1]).toBe(2);
  });

  it('joins runs that touch the same run from both sides when their ends meet (a–b, b–a′ at equal ends)', () => {
    // row j=0: 1 1 1 1 1 2 2 2 ; row j=1: 0 0 2 2 2 0 0 0 → the 2-run below touches the 2-run above diagonally at i=4/5
    const d = Uint8Array.from([1, 1, 1, 1, 1, 2, 2, 2, 0, 0, 2, 2, 2, 0, 0, 0]);
    const c = runComponents(labelRuns(d, [8, 2, 1]), 26);
    expect(c.count).toBe(2);
  });

  it('agrees with the voxel-based labelling on random maps (component count and sizes)', () => {
    fc.assert(
      fc.property(
        fc.tuple(fc.integer({ min: 1, max: 7 }), fc.integer({ min: 1, max: 7 }), fc.integer({ min: 1, max: 7 })),
        fc.constantFrom<Connectivity>(6, 18, 26),
        fc.integer({ min: 1, max: 2 ** 31 - 2 }),
        (dims, connectivity, seed) => {
          let s = seed;
          const data = new Uint8Array(dims[0] * dims[1] * dims[2]).map(() => {
            s = (s * 48271) % 2147483647;
            return s % 5 < 2 ? (s % 3) + 1 : 0;
          });
          const runs = runComponents(labelRuns(data, dims), connectivity);
          for (const label of [1, 2, 3]) {
            const voxel = connectedComponents(data, dims, (v) => v === label, connectivity);
            const fromRuns: number[] = [];
            for (let c = 1; c <= runs.count; c++) if (runs.label[c] === label) fromRuns.push(runs.voxels[c]!);
            expect(fromRuns.sort((a, b) => a - b)).toEqual(voxel.sizes.slice(1).sort((a, b) => a - b));
          }
        },
      ),
      { numRuns: 300 },
    );
  });
});
