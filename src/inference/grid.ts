/**
 * The grid a model runs on. From the scan's geometry and the card's `grid` (orientation, spacing, fixed size) and
 * `input.axes` (tensor axis order), builds the *engine grid*: a Geometry whose i, j, k axes are the tensor's W, H, D.
 * Also the affine map between engine and scan voxel indices, and whether it is an exact signed permutation
 * (then data moves without interpolation).
 */
import { axis, cross, dot, indexToLps, lpsToIndex, normalize, norm } from '../volume/geometry.js';
import type { Geometry, Mat3, Vec3, Vec3i } from '../volume/types.js';

export interface GridGeometry extends Geometry {
  readonly dims: Vec3i;
}

export interface GridSpec {
  orientation?: string | undefined;
  orientationMode: 'closest' | 'exact';
  spacing?: Vec3 | undefined;
  size?: Vec3i | undefined;
}

type AxisLetter = 'i' | 'j' | 'k';

const LETTER_DIRECTION: Record<string, Vec3> = {
  L: [1, 0, 0],
  R: [-1, 0, 0],
  P: [0, 1, 0],
  A: [0, -1, 0],
  S: [0, 0, 1],
  I: [0, 0, -1],
};

/** The model grid (before tensor axis permutation) for a scan grid and a card's grid spec. */
export function modelGrid(src: GridGeometry, spec: GridSpec): GridGeometry {
  // 1. Axes: the scan's, permuted/flipped to the closest match of the orientation code, or exact world axes.
  let dirs: Vec3[] = [axis(src.direction, 0), axis(src.direction, 1), axis(src.direction, 2)];
  let srcSpacing: number[] = [...src.spacing];
  let srcDims: number[] = [...src.dims];
  if (spec.orientation) {
    const targets = [...spec.orientation].map((c) => LETTER_DIRECTION[c]!);
    const perm = closestAxes(dirs, targets);
    srcSpacing = perm.map((p) => src.spacing[p.axis]!);
    srcDims = perm.map((p) => src.dims[p.axis]!);
    dirs =
      spec.orientationMode === 'exact'
        ? targets
        : perm.map((p) => {
            const d = axis(src.direction, p.axis as 0 | 1 | 2);
            return p.sign > 0 ? d : ([-d[0], -d[1], -d[2]] as Vec3);
          });
  }
  const direction = [...dirs[0]!, ...dirs[1]!, ...dirs[2]!] as unknown as Mat3;
  const centre = indexToLps(src, [(src.dims[0] - 1) / 2, (src.dims[1] - 1) / 2, (src.dims[2] - 1) / 2]);

  // 2. Size and spacing.
  let dims: number[];
  let spacing: number[];
  if (spec.size) {
    // Conform: a fixed grid centred on the scan's centre.
    dims = [...spec.size];
    spacing = [...spec.spacing!];
  } else if (spec.orientationMode === 'exact' && spec.orientation) {
    // World-aligned axes: cover the scan's full extent (voxel edges), centred on its centre.
    spacing = spec.spacing ? [...spec.spacing] : srcSpacing;
    dims = [0, 1, 2].map((t) => {
      let lo = Infinity;
      let hi = -Infinity;
      for (const corner of boxCorners(src.dims)) {
        const p = dot(indexToLps(src, corner), dirs[t]!);
        lo = Math.min(lo, p);
        hi = Math.max(hi, p);
      }
      return Math.max(1, Math.round((hi - lo) / spacing[t]!));
    });
  } else {
    // Same field of view as the scan, edge-aligned (skimage.transform.resize as nnU-Net uses it): n' = round(n·s/s'),
    // effective spacing n·s/n' so the grid covers exactly the scan's extent.
    const target = spec.spacing ? [...spec.spacing] : srcSpacing;
    dims = srcDims.map((n, a) => Math.max(1, Math.round((n * srcSpacing[a]!) / target[a]!)));
    spacing = dims.map((n, a) => (srcDims[a]! * srcSpacing[a]!) / n);
  }
  // Origin: the centre of the new grid sits on the scan's centre.
  const origin: Vec3 = [0, 1, 2].map(
    (w) => centre[w]! - [0, 1, 2].reduce((acc, a) => acc + dirs[a]![w]! * spacing[a]! * ((dims[a]! - 1) / 2), 0),
  ) as unknown as Vec3;
  return { dims: dims as unknown as Vec3i, spacing: spacing as unknown as Vec3, origin, direction };
}

/** For each target direction, the scan axis closest to it (by |cosine|, globally best assignment) and its sign. */
function closestAxes(dirs: readonly Vec3[], targets: readonly Vec3[]): { axis: number; sign: 1 | -1 }[] {
  const perms = [
    [0, 1, 2],
    [0, 2, 1],
    [1, 0, 2],
    [1, 2, 0],
    [2, 0, 1],
    [2, 1, 0],
  ];
  let best = perms[0]!;
  let bestScore = -Infinity;
  for (const p of perms) {
    const score = p.reduce((acc, a, t) => acc + Math.abs(dot(normalize(dirs[a]!), targets[t]!)), 0);
    if (score > bestScore + 1e-12) {
      bestScore = score;
      best = p;
    }
  }
  return best.map((a, t) => ({ axis: a, sign: dot(dirs[a]!, targets[t]!) >= 0 ? 1 : -1 }));
}

function boxCorners(dims: Vec3i): Vec3[] {
  const out: Vec3[] = [];
  for (const x of [-0.5, dims[0] - 0.5]) for (const y of [-0.5, dims[1] - 0.5]) for (const z of [-0.5, dims[2] - 0.5]) out.push([x, y, z]);
  return out;
}

/** Relabels a model grid so that its i, j, k axes are the tensor's W, H, D (`axes` lists D, H, W as model axes). */
export function engineGrid(model: GridGeometry, axes: readonly [AxisLetter, AxisLetter, AxisLetter]): GridGeometry {
  const idx = (l: AxisLetter): 0 | 1 | 2 => ({ i: 0, j: 1, k: 2 })[l] as 0 | 1 | 2;
  const order = [idx(axes[2]), idx(axes[1]), idx(axes[0])]; // engine i = W, j = H, k = D
  const d = order.map((a) => axis(model.direction, a));
  return {
    dims: order.map((a) => model.dims[a]) as unknown as Vec3i,
    spacing: order.map((a) => model.spacing[a]) as unknown as Vec3,
    origin: model.origin,
    direction: [...d[0]!, ...d[1]!, ...d[2]!] as unknown as Mat3,
  };
}

/**
 * Affine map from `to` voxel indices to `from` voxel indices: from = M · to + b (M row-major 3×3).
 * Used to pull voxels of `from` onto the grid `to`.
 */
export interface IndexMap {
  readonly m: readonly number[];
  readonly b: Vec3;
  /** When every output voxel centre lands exactly on an input voxel centre: the permutation, signs and offsets. */
  readonly permutation?: { readonly axis: Vec3i; readonly sign: Vec3i; readonly offset: Vec3i };
}

export function indexMap(to: GridGeometry, from: GridGeometry): IndexMap {
  const b = lpsToIndex(from, indexToLps(to, [0, 0, 0]));
  const cols = [0, 1, 2].map((a) => {
    const unit: [number, number, number] = [0, 0, 0];
    unit[a] = 1;
    const p = lpsToIndex(from, indexToLps(to, unit));
    return [p[0] - b[0], p[1] - b[1], p[2] - b[2]];
  });
  const m = [0, 1, 2].flatMap((r) => [cols[0]![r]!, cols[1]![r]!, cols[2]![r]!]);
  const permutation = asSignedPermutation(m, b, to.dims, from.dims);
  return permutation ? { m, b, permutation } : { m, b };
}

const EXACT = 1e-5;

function asSignedPermutation(m: readonly number[], b: Vec3, toDims: Vec3i, fromDims: Vec3i): IndexMap['permutation'] {
  const axisOf: number[] = [];
  const sign: number[] = [];
  for (let r = 0; r < 3; r++) {
    const row = [m[3 * r]!, m[3 * r + 1]!, m[3 * r + 2]!];
    const nz = row.map((v, c) => ({ v, c })).filter((e) => Math.abs(e.v) > EXACT);
    if (nz.length !== 1 || Math.abs(Math.abs(nz[0]!.v) - 1) > EXACT) return undefined;
    axisOf.push(nz[0]!.c);
    sign.push(Math.sign(nz[0]!.v));
  }
  if (new Set(axisOf).size !== 3) return undefined;
  const offset = b.map((v) => Math.round(v));
  if (b.some((v, r) => Math.abs(v - offset[r]!) > 1e-3)) return undefined;
  // Require the two grids to cover each other exactly (same extent), the common case of pure reorientation.
  for (let r = 0; r < 3; r++) {
    const n = toDims[axisOf[r]!]!;
    if (n !== fromDims[r]) return undefined;
    const last = offset[r]! + sign[r]! * (n - 1);
    if (Math.min(offset[r]!, last) !== 0 || Math.max(offset[r]!, last) !== fromDims[r]! - 1) return undefined;
  }
  // Here row r (a `from` axis) takes `to` axis axisOf[r]. Store per `from` axis.
  return { axis: axisOf as unknown as Vec3i, sign: sign as unknown as Vec3i, offset: offset as unknown as Vec3i };
}

/** Right-handedness does not matter here, but a degenerate (collinear) grid is refused upstream; keep for checks. */
export function isRightHanded(d: Mat3): boolean {
  return dot(cross(axis(d, 0), axis(d, 1)), axis(d, 2)) > 0;
}

export { norm };
