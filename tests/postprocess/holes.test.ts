/** 3-D hole filling: hand-derived cavities, tunnels, diagonal openings, enclosed lesions, nesting and the scan border. */
import { describe, expect, it } from 'vitest';
import { fillHoles } from '../../src/postprocess/holes.js';
import type { LabelVolume, Vec3i } from '../../src/volume/types.js';

function volume(dims: Vec3i): LabelVolume {
  return { data: new Uint8Array(dims[0] * dims[1] * dims[2]), dims, spacing: [1, 1, 2], origin: [0, 0, 0], direction: [1, 0, 0, 0, 1, 0, 0, 0, 1] };
}
const idx = (v: LabelVolume, i: number, j: number, k: number) => i + j * v.dims[0] + k * v.dims[0] * v.dims[1];
const set = (v: LabelVolume, i: number, j: number, k: number, value: number) => (v.data[idx(v, i, j, k)] = value);
const get = (v: LabelVolume, i: number, j: number, k: number) => v.data[idx(v, i, j, k)];

/** Paints the surface (one voxel thick) of the box lo…hi (inclusive) with `value`. */
function shell(v: LabelVolume, lo: number, hi: number, value: number): void {
  for (let k = lo; k <= hi; k++) {
    for (let j = lo; j <= hi; j++) {
      for (let i = lo; i <= hi; i++) {
        const onFace = i === lo || i === hi || j === lo || j === hi || k === lo || k === hi;
        if (onFace) set(v, i, j, k, value);
      }
    }
  }
}

const count = (v: LabelVolume, value: number) => Array.from(v.data).filter((x) => x === value).length;

describe('fillHoles', () => {
  it('fills an enclosed 3×3×3 cavity', () => {
    const v = volume([7, 7, 7]);
    shell(v, 1, 5, 1); // 5³ − 3³ = 98 voxels
    expect(fillHoles(v)).toEqual([{ label: 1, holes: 1, filledVoxels: 27 }]);
    expect(count(v, 1)).toBe(125);
  });

  it('leaves a cavity open to the outside through a face-connected tunnel', () => {
    const v = volume([7, 7, 7]);
    shell(v, 1, 5, 1);
    set(v, 3, 3, 1, 0); // the tunnel: (3,3,0) outside ↔ (3,3,1) ↔ (3,3,2) cavity
    expect(fillHoles(v)).toEqual([{ label: 1, holes: 0, filledVoxels: 0 }]);
  });

  it('fills a cavity that meets the outside only at a corner (background is 6-connected)', () => {
    const v = volume([7, 7, 7]);
    shell(v, 1, 5, 1);
    set(v, 1, 1, 1, 0); // the shell's corner voxel: outside, and touches the cavity voxel (2,2,2) by a corner only
    expect(fillHoles(v)).toEqual([{ label: 1, holes: 1, filledVoxels: 27 }]);
    expect(get(v, 1, 1, 1)).toBe(0);
  });

  it('keeps an enclosed lesion and fills the background around it', () => {
    const v = volume([7, 7, 7]);
    shell(v, 1, 5, 1);
    set(v, 3, 3, 3, 2);
    expect(fillHoles(v, { labels: [1] })).toEqual([{ label: 1, holes: 1, filledVoxels: 26 }]);
    expect(get(v, 3, 3, 3)).toBe(2);
    expect(count(v, 1)).toBe(124);
  });

  it('gives a cavity inside a nested structure to the inner structure', () => {
    // label 1 shell 1…9, label 2 shell 3…7 inside it, cavity 4…6 inside label 2.
    const v = volume([11, 11, 11]);
    shell(v, 1, 9, 1);
    shell(v, 3, 7, 2);
    const r = fillHoles(v);
    // gap between the shells: 7³ − 5³ = 218 voxels → label 1; cavity 3³ = 27 → label 2
    expect(r).toEqual([
      { label: 1, holes: 1, filledVoxels: 218 },
      { label: 2, holes: 1, filledVoxels: 27 },
    ]);
    expect(get(v, 5, 5, 5)).toBe(2);
    expect(get(v, 2, 5, 5)).toBe(1);
  });

  it('does not fill a cavity that opens onto the scan border (a structure cut by the scan)', () => {
    // The box 1…5 in i and j, 0…4 in k, its k = 0 face missing: the cavity reaches the volume face k = 0.
    const v = volume([7, 7, 5]);
    for (let k = 0; k <= 4; k++) for (let j = 1; j <= 5; j++) for (let i = 1; i <= 5; i++) {
      const wall = i === 1 || i === 5 || j === 1 || j === 5 || k === 4;
      if (wall) set(v, i, j, k, 1);
    }
    expect(fillHoles(v)).toEqual([{ label: 1, holes: 0, filledVoxels: 0 }]);
  });

  it('fills only the listed labels', () => {
    const v = volume([7, 7, 7]);
    shell(v, 1, 5, 3);
    expect(fillHoles(v, { labels: [1, 2] })).toEqual([]);
    expect(count(v, 3)).toBe(98);
  });
});
