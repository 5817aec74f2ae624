/**
 * The grid a model runs on. From the scan's geometry and the card's `grid` (orientation, spacing, fixed size) and
 * `input.axes` (tensor axis order), builds the *engine grid*: a Geometry whose i, j, k axes are the tensor's W, H, D.
 * The affine maps between grids are in volume/index-map.ts.
 */
import { axis, dot, indexToLps, normalize } from '../volume/geometry.js';
import type { GridGeometry } from '../volume/index-map.js';
import type { Mat3, Vec3, Vec3i } from '../volume/types.js';

export type { GridGeometry };

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
