/**
 * keepLargestComponent (run-based): hand-derived cases, and agreement with a voxel-by-voxel reference built on
 * connectedComponents over random maps, at every connectivity.
 */
import { describe, expect, it } from 'vitest';
import { connectedComponents, keepLargestComponent, type Connectivity } from '../../src/postprocess/components.js';
import type { Vec3i } from '../../src/volume/types.js';

/** Reference: label each value voxel by voxel and keep its largest component (first in raster order on ties). */
function reference(data: Uint8Array, dims: Vec3i, labels: number[], connectivity: Connectivity): { out: Uint8Array; removed: Map<number, number> } {
  const out = data.slice();
  const removed = new Map<number, number>();
  for (const value of labels) {
    if (!data.includes(value)) continue;
    const { ids, sizes } = connectedComponents(data, dims, (v) => v === value, connectivity);
    let largest = 1;
    for (let c = 2; c < sizes.length; c++) if (sizes[c]! > sizes[largest]!) largest = c;
    let n = 0;
    for (let i = 0; i < out.length; i++) {
      if (ids[i] !== 0 && ids[i] !== largest) {
        out[i] = 0;
        n++;
      }
    }
    removed.set(value, n);
  }
  return { out, removed };
}

describe('keepLargestComponent', () => {
  it('keeps the larger of two blobs per label and reports the removed voxels', () => {
    const dims: Vec3i = [8, 4, 3];
    const data = new Uint8Array(8 * 4 * 3);
    const set = (i: number, j: number, k: number, v: number) => (data[i + j * 8 + k * 32] = v);
    // Label 1: a 3-voxel bar at j=0 and a 2-voxel bar at j=3 (not touching). Label 2: one voxel touching the first
    // bar (different labels never join) and a 4-voxel bar.
    [0, 1, 2].forEach((i) => set(i, 0, 0, 1));
    [5, 6].forEach((i) => set(i, 3, 2, 1));
    set(3, 0, 0, 2);
    [0, 1, 2, 3].forEach((i) => set(i, 2, 2, 2));
    const removed = keepLargestComponent(data, dims);
    expect([...removed]).toEqual([
      [1, 2],
      [2, 1],
    ]);
    expect(data.reduce((a, v) => a + (v === 1 ? 1 : 0), 0)).toBe(3);
    expect(data.reduce((a, v) => a + (v === 2 ? 1 : 0), 0)).toBe(4);
    expect(data[3]).toBe(0);
  });

  it('touches only the listed labels, and keeps the first component in raster order on a tie', () => {
    const dims: Vec3i = [5, 1, 3];
    const data = new Uint8Array([1, 0, 1, 0, 3, 0, 0, 0, 0, 0, 3, 0, 0, 0, 0]);
    expect([...keepLargestComponent(data, dims, { labels: [1, 7] })]).toEqual([[1, 1]]);
    expect([...data]).toEqual([1, 0, 0, 0, 3, 0, 0, 0, 0, 0, 3, 0, 0, 0, 0]);
  });

  it('joins diagonal neighbours at 26-connectivity only', () => {
    const dims: Vec3i = [3, 3, 3];
    const make = () => {
      const d = new Uint8Array(27);
      d[0] = 1;
      d[1 + 3 + 9] = 1;
      return d;
    };
    const d26 = make();
    expect(keepLargestComponent(d26, dims, { connectivity: 26 }).get(1)).toBe(0);
    const d6 = make();
    expect(keepLargestComponent(d6, dims, { connectivity: 6 }).get(1)).toBe(1);
    expect(d6[13]).toBe(0);
  });

  it('equals the voxel-by-voxel reference on random maps (6, 18, 26)', () => {
    let seed = 12345;
    const rand = () => ((seed = (seed * 1103515245 + 12345) >>> 0) / 2 ** 32);
    for (const connectivity of [6, 18, 26] as const) {
      for (let trial = 0; trial < 12; trial++) {
        const dims: Vec3i = [3 + Math.floor(rand() * 14), 2 + Math.floor(rand() * 9), 1 + Math.floor(rand() * 7)];
        const n = dims[0] * dims[1] * dims[2];
        const data = new Uint8Array(n);
        const density = 0.2 + rand() * 0.5;
        for (let i = 0; i < n; i++) if (rand() < density) data[i] = 1 + Math.floor(rand() * 3);
        const listed = trial % 2 ? [1, 3] : [1, 2, 3];
        const want = reference(data, dims, listed, connectivity);
        const got = data.slice();
        const removed = keepLargestComponent(got, dims, { labels: listed, connectivity });
        expect(got).toEqual(want.out);
        expect(removed).toEqual(want.removed);
      }
    }
  });

  it('rejects a bad connectivity', () => {
    expect(() => keepLargestComponent(new Uint8Array(1), [1, 1, 1], { connectivity: 7 as Connectivity })).toThrow(/6, 18 or 26/);
  });
});
