/**
 * 3-D hole filling per label: a hole of label L is a connected region of "not L" voxels that does not reach the border
 * of L's bounding box (equivalently: is not connected to the volume border), with 6-connectivity for the background,
 * the dual of a 26-connected structure (scipy.ndimage.binary_fill_holes' default). Only background (0) voxels of a
 * hole become L: another structure enclosed by L (a lesion inside the liver) is kept, and the gap around it is filled.
 * Labels are processed from the smallest bounding box to the largest, so a cavity inside a structure nested in
 * another goes to the inner structure.
 *
 * Why no per-slice 2-D filling: it also "fills" every lumen and concavity that is closed within one slice (the lumen of
 * an aorta-wall or bowel label, the trachea inside a lung label, the spinal canal inside a vertebra ring), which
 * changes anatomy, while a true 3-D cavity (a segmentation hole inside an organ) is already filled in 3-D.
 *
 * Works on row runs (postprocess/runs.ts): the complement of L's runs inside its box, union–find between overlapping
 * gaps of neighbouring rows. Linear in the number of runs and rows of the box; no per-voxel scratch buffer.
 * Written by hand for the same reason as runs.ts.
 */
import type { LabelVolume } from '../volume/types.js';
import { labelSet } from './islands.js';
import { findRoot, labelBoxes, labelRuns, type LabelRuns } from './runs.js';

export interface FillHolesOptions {
  /** Labels to fill (default: every non-zero label present). */
  labels?: readonly number[] | undefined;
  /** Runs of `labels.data` when the caller already has them. */
  runs?: LabelRuns | undefined;
}

export interface HolesFilled {
  label: number;
  /** Enclosed regions of "not L" found (with or without background voxels). */
  holes: number;
  /** Background voxels that became L. */
  filledVoxels: number;
}

/**
 * Fills, in place, the 3-D holes of each listed label with that label (background voxels only).
 * @returns one entry per listed label present, ascending by label.
 */
export function fillHoles(labels: LabelVolume, options: FillHolesOptions = {}): HolesFilled[] {
  const wanted = labelSet(options.labels);
  const runs = options.runs ?? labelRuns(labels.data, labels.dims);
  const boxes = labelBoxes(runs);
  const todo = boxes.present.filter((l) => !wanted || wanted.has(l));
  const b = boxes.boxes;
  const boxVolume = (l: number) => (b[6 * l + 1]! - b[6 * l]! + 1) * (b[6 * l + 3]! - b[6 * l + 2]! + 1) * (b[6 * l + 5]! - b[6 * l + 4]! + 1);
  todo.sort((x, y) => boxVolume(x) - boxVolume(y) || x - y);
  const work = new GapWork();
  const out = todo.map((label) => fillLabel(labels, runs, label, b.subarray(6 * label, 6 * label + 6), work));
  return out.sort((x, y) => x.label - y.label);
}

/** Gap buffers reused across labels (grown on demand). */
class GapWork {
  start = new Int32Array(1024);
  end = new Int32Array(1024);
  parent = new Int32Array(1024);
  flag = new Uint8Array(1024);
  rowStart = new Int32Array(1024);

  ensureGaps(n: number): void {
    if (n <= this.start.length) return;
    let c = this.start.length;
    while (c < n) c *= 2;
    const copy = <T extends Int32Array | Uint8Array>(a: T, make: (n: number) => T): T => {
      const b = make(c);
      b.set(a);
      return b;
    };
    this.start = copy(this.start, (n) => new Int32Array(n));
    this.end = copy(this.end, (n) => new Int32Array(n));
    this.parent = copy(this.parent, (n) => new Int32Array(n));
    this.flag = copy(this.flag, (n) => new Uint8Array(n));
  }
}

const OUTSIDE = 1;

function fillLabel(volume: LabelVolume, runs: LabelRuns, label: number, box: Int32Array, w: GapWork): HolesFilled {
  const [i0, i1, j0, j1, k0, k1] = [box[0]!, box[1]!, box[2]!, box[3]!, box[4]!, box[5]!];
  const [nx, ny] = volume.dims;
  const bj = j1 - j0 + 1;
  const boxRows = bj * (k1 - k0 + 1);
  if (w.rowStart.length < boxRows + 1) w.rowStart = new Int32Array(boxRows + 1);
  const rowStart = w.rowStart;
  let g = 0;
  // Gaps: the complement of this label's runs within [i0, i1] in every row of the box.
  for (let k = k0; k <= k1; k++) {
    for (let j = j0; j <= j1; j++) {
      const br = j - j0 + (k - k0) * bj;
      rowStart[br] = g;
      const r = j + k * ny;
      const edgeRow = j === j0 || j === j1 || k === k0 || k === k1;
      let x = i0;
      const q1 = runs.rowStart[r + 1]!;
      for (let q = runs.rowStart[r]!; q <= q1; q++) {
        let s: number;
        if (q < q1) {
          if (runs.label[q] !== label) continue;
          s = runs.start[q]!;
        } else s = i1 + 1;
        if (s > x) {
          w.ensureGaps(g + 1);
          w.start[g] = x;
          w.end[g] = s;
          w.parent[g] = g;
          w.flag[g] = edgeRow || x === i0 || s === i1 + 1 ? OUTSIDE : 0;
          g++;
        }
        if (q < q1) x = runs.end[q]!;
      }
    }
  }
  rowStart[boxRows] = g;
  const parent = w.parent;
  const find = (a: number) => findRoot(parent, a);
  // Union gaps with overlapping gaps of the previous row (j − 1) and slice (k − 1): background 6-connectivity.
  for (let br = 0; br < boxRows; br++) {
    if (br % bj > 0) unionRows(w, br, br - 1, find);
    if (br >= bj) unionRows(w, br, br - bj, find);
  }
  for (let a = 0; a < g; a++) {
    if (w.flag[a]! & OUTSIDE) w.flag[find(a)] = w.flag[find(a)]! | OUTSIDE;
  }
  let holes = 0;
  let filled = 0;
  const data = volume.data;
  for (let br = 0; br < boxRows; br++) {
    const base = (j0 + (br % bj) + (k0 + Math.floor(br / bj)) * ny) * nx;
    for (let a = rowStart[br]!; a < rowStart[br + 1]!; a++) {
      const root = find(a);
      if (w.flag[root]! & OUTSIDE) continue;
      if (root === a) holes++;
      for (let n = base + w.start[a]!; n < base + w.end[a]!; n++) {
        if (data[n] === 0) {
          data[n] = label;
          filled++;
        }
      }
    }
  }
  return { label, holes, filledVoxels: filled };
}

/** Unions the gaps of box row `br` with the overlapping gaps of box row `pr` (exact overlap: 6-connectivity). */
function unionRows(w: GapWork, br: number, pr: number, find: (a: number) => number): void {
  const { rowStart, start, end, parent } = w;
  let first = rowStart[pr]!;
  const p1 = rowStart[pr + 1]!;
  for (let a = rowStart[br]!; a < rowStart[br + 1]! && first < p1; a++) {
    while (first < p1 && end[first]! <= start[a]!) first++;
    for (let b = first; b < p1 && start[b]! < end[a]!; b++) {
      const ra = find(a);
      const rb = find(b);
      if (ra !== rb) {
        if (ra < rb) parent[rb] = ra;
        else parent[ra] = rb;
      }
    }
  }
}
