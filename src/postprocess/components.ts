/**
 * 3-D connected components of label maps: two-pass raster labelling with union–find over the already-visited half of
 * the 6-, 18- or 26-neighbourhood. Linear in the number of voxels, one Int32Array of scratch, no per-voxel objects.
 * Written by hand: no maintained npm package labels 3-D typed arrays (the ones that exist are 2-D image tools).
 */
import type { Vec3i } from '../volume/types.js';
import { clearRuns, labelRuns, runComponents } from './runs.js';

export type Connectivity = 6 | 18 | 26;

/** Backward neighbour offsets (dx, dy, dz) visited before the current voxel in raster order. */
function backwardNeighbours(connectivity: Connectivity): [number, number, number][] {
  const out: [number, number, number][] = [];
  for (let dz = -1; dz <= 0; dz++)
    for (let dy = -1; dy <= 1; dy++)
      for (let dx = -1; dx <= 1; dx++) {
        if (dz === 0 && (dy > 0 || (dy === 0 && dx >= 0))) continue;
        const manhattan = Math.abs(dx) + Math.abs(dy) + Math.abs(dz);
        if (connectivity === 6 && manhattan > 1) continue;
        if (connectivity === 18 && manhattan > 2) continue;
        out.push([dx, dy, dz]);
      }
  return out;
}

export interface Components {
  /** Component id per voxel (1-based, 0 = outside the mask). */
  readonly ids: Int32Array;
  /** Voxel count per component id (index 0 unused). */
  readonly sizes: number[];
}

/**
 * Labels the connected components of the voxels where `inMask(value)` holds.
 * @param scratch optional reusable buffer of the volume's length.
 */
export function connectedComponents(
  data: ArrayLike<number>,
  dims: Vec3i,
  inMask: (v: number) => boolean,
  connectivity: Connectivity = 26,
  scratch?: Int32Array,
): Components {
  const [nx, ny, nz] = dims;
  const n = nx * ny * nz;
  const ids = scratch && scratch.length === n ? scratch.fill(0) : new Int32Array(n);
  const parent: number[] = [0];
  const find = (a: number): number => {
    let r = a;
    while (parent[r] !== r) r = parent[r]!;
    while (parent[a] !== r) {
      const next = parent[a]!;
      parent[a] = r;
      a = next;
    }
    return r;
  };
  const neighbours = backwardNeighbours(connectivity);
  const offsets = neighbours.map(([dx, dy, dz]) => dx + dy * nx + dz * nx * ny);
  let o = 0;
  for (let z = 0; z < nz; z++) {
    for (let y = 0; y < ny; y++) {
      for (let x = 0; x < nx; x++, o++) {
        if (!inMask(data[o]!)) continue;
        let label = 0;
        for (let q = 0; q < neighbours.length; q++) {
          const [dx, dy, dz] = neighbours[q]!;
          const xx = x + dx;
          const yy = y + dy;
          if (xx < 0 || xx >= nx || yy < 0 || yy >= ny || z + dz < 0) continue;
          const other = ids[o + offsets[q]!]!;
          if (other === 0) continue;
          if (label === 0) label = find(other);
          else {
            const a = find(other);
            if (a !== label) {
              // Union: keep the smaller root so roots stay stable.
              if (a < label) {
                parent[label] = a;
                label = a;
              } else parent[a] = label;
            }
          }
        }
        if (label === 0) {
          label = parent.length;
          parent.push(label);
        }
        ids[o] = label;
      }
    }
  }
  // Second pass: compact roots to 1..m and count.
  const compact = new Int32Array(parent.length);
  const sizes: number[] = [0];
  for (let i = 0; i < n; i++) {
    const id = ids[i]!;
    if (id === 0) continue;
    const root = find(id);
    let c = compact[root]!;
    if (c === 0) {
      c = sizes.length;
      compact[root] = c;
      sizes.push(0);
    }
    ids[i] = c;
    sizes[c] = sizes[c]! + 1;
  }
  return { ids, sizes };
}

/**
 * Keeps, for each listed label (default: every nonzero label present), only its largest connected component; other
 * components become 0. Ties go to the component whose first voxel comes first in raster order. All listed labels are
 * labelled in one union–find pass over row runs (postprocess/runs.ts), so the cost is one scan of the map plus work
 * per run, not a voxel-by-voxel labelling per label (measured on 512×512×600 with 5 labels: ~9 s that way).
 * Returns the number of voxels removed per listed label present in the map.
 */
export function keepLargestComponent(
  labels: Uint8Array | Uint16Array,
  dims: Vec3i,
  options: { labels?: readonly number[] | undefined; connectivity?: Connectivity } = {},
): Map<number, number> {
  const connectivity = options.connectivity ?? 26;
  if (connectivity !== 6 && connectivity !== 18 && connectivity !== 26) throw new RangeError(`connectivity must be 6, 18 or 26, got ${String(connectivity)}`);
  const wanted = options.labels ? new Set(options.labels) : undefined;
  const runs = labelRuns(labels, dims);
  const comps = runComponents(runs, connectivity, wanted ? (l) => wanted.has(l) : undefined);
  // Components are numbered in raster order of their first run, so a strict > keeps the first of equal sizes.
  const best = new Map<number, number>();
  const total = new Map<number, number>();
  for (let c = 1; c <= comps.count; c++) {
    const label = comps.label[c]!;
    total.set(label, (total.get(label) ?? 0) + comps.voxels[c]!);
    const b = best.get(label);
    if (b === undefined || comps.voxels[c]! > comps.voxels[b]!) best.set(label, c);
  }
  const keep = new Uint8Array(comps.count + 1);
  for (const c of best.values()) keep[c] = 1;
  clearRuns(labels, runs, (q) => comps.ofRun[q] !== 0 && keep[comps.ofRun[q]!] === 0);
  const order = options.labels ? options.labels.filter((l) => best.has(l)) : [...best.keys()].sort((a, b) => a - b);
  const removed = new Map<number, number>();
  for (const label of order) removed.set(label, total.get(label)! - comps.voxels[best.get(label)!]!);
  return removed;
}
