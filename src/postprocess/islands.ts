/**
 * Small-island removal in millimetres: connected components of a label whose volume is below a threshold (mm³) become
 * background. Volume per voxel = |det(direction)| × product of spacings, so the threshold means the same on any grid
 * (TotalSegmentator removes blobs below 200 mm³ in the same way; a voxel threshold would change with the resolution).
 * All listed labels are labelled at once by union–find over row runs (postprocess/runs.ts): linear time, no per-voxel
 * scratch buffer. Written by hand for the same reason as runs.ts.
 */
import { voxelVolumeMm3 } from '../volume/geometry.js';
import type { LabelVolume } from '../volume/types.js';
import type { Connectivity } from './components.js';
import { clearRuns, labelRuns, runComponents, type LabelRuns } from './runs.js';

export interface RemoveIslandsOptions {
  /** Components smaller than this volume (mm³, strictly below) are removed. */
  minVolumeMm3: number;
  /** Labels to clean (default: every non-zero label present). */
  labels?: readonly number[] | undefined;
  /** Voxel connectivity of a component (default 26). */
  connectivity?: Connectivity | undefined;
  /** Runs of `labels.data` when the caller already has them (they are stale afterwards). */
  runs?: LabelRuns | undefined;
}

/** What `removeSmallIslands` did to one label. */
export interface IslandsRemoved {
  label: number;
  /** Components before removal. */
  components: number;
  removedComponents: number;
  removedVoxels: number;
  removedVolumeMm3: number;
}

/**
 * Sets to 0, in place, every connected component of the listed labels whose volume is below `minVolumeMm3`.
 * @returns one entry per listed label present in the map, ascending by label.
 * @throws RangeError for a negative or non-finite threshold, labels outside 1…65535, or a bad connectivity.
 * @example removeSmallIslands(labels, { minVolumeMm3: 200 }) // TotalSegmentator's default
 */
export function removeSmallIslands(labels: LabelVolume, options: RemoveIslandsOptions): IslandsRemoved[] {
  const { minVolumeMm3 } = options;
  if (!(minVolumeMm3 >= 0 && Number.isFinite(minVolumeMm3))) throw new RangeError(`minVolumeMm3 must be a finite number ≥ 0 (mm³), got ${minVolumeMm3}`);
  const connectivity = options.connectivity ?? 26;
  checkConnectivity(connectivity);
  const wanted = labelSet(options.labels);
  const runs = options.runs ?? labelRuns(labels.data, labels.dims);
  const comps = runComponents(runs, connectivity, wanted ? (l) => wanted.has(l) : undefined);
  const voxelMm3 = voxelVolumeMm3(labels);
  const byLabel = new Map<number, IslandsRemoved>();
  const remove = new Uint8Array(comps.count + 1);
  for (let c = 1; c <= comps.count; c++) {
    const label = comps.label[c]!;
    let entry = byLabel.get(label);
    if (!entry) {
      entry = { label, components: 0, removedComponents: 0, removedVoxels: 0, removedVolumeMm3: 0 };
      byLabel.set(label, entry);
    }
    entry.components++;
    const voxels = comps.voxels[c]!;
    if (voxels * voxelMm3 < minVolumeMm3) {
      remove[c] = 1;
      entry.removedComponents++;
      entry.removedVoxels += voxels;
      entry.removedVolumeMm3 += voxels * voxelMm3;
    }
  }
  clearRuns(labels.data, runs, (q) => remove[comps.ofRun[q]!] === 1);
  return [...byLabel.values()].sort((a, b) => a.label - b.label);
}

export function checkConnectivity(c: number): asserts c is Connectivity {
  if (c !== 6 && c !== 18 && c !== 26) throw new RangeError(`connectivity must be 6, 18 or 26, got ${c}`);
}

/** The listed labels as a set (undefined: all), validated. */
export function labelSet(labels: readonly number[] | undefined): Set<number> | undefined {
  if (!labels) return undefined;
  for (const l of labels) {
    if (!Number.isInteger(l) || l < 1 || l > 65535) throw new RangeError(`labels must be integers 1…65535 (0 is the background), got ${l}`);
  }
  return new Set(labels);
}
