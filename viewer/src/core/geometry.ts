/**
 * Viewer geometry. World space: DICOM patient LPS (x → patient Left, y → Posterior, z → Superior), millimetres.
 * Voxel order: i fastest (index = i + j·nx + k·nx·ny). Direction matrices use the vtk.js layout: three consecutive
 * unit vectors, the i axis, the j axis, the k axis (as medseg's Volume does).
 *
 * Pure functions only (no DOM, no vtk.js), so the unit tests run them in Node.
 */
import type { Mat3, Vec3, Vec3i } from '../../../src/volume/types.js';

export type { Mat3, Vec3, Vec3i };

export interface Grid {
  dims: Vec3i;
  /** mm between voxel centres along i, j, k. */
  spacing: Vec3;
  /** LPS position (mm) of the centre of voxel (0, 0, 0). */
  origin: Vec3;
  direction: Mat3;
}

export type Axis = 0 | 1 | 2;
export type ViewName = 'axial' | 'coronal' | 'sagittal';
export const SLICE_VIEWS: readonly ViewName[] = ['axial', 'coronal', 'sagittal'];

export const add = (a: Vec3, b: Vec3): Vec3 => [a[0] + b[0], a[1] + b[1], a[2] + b[2]];
export const sub = (a: Vec3, b: Vec3): Vec3 => [a[0] - b[0], a[1] - b[1], a[2] - b[2]];
export const scale = (a: Vec3, s: number): Vec3 => [a[0] * s, a[1] * s, a[2] * s];
export const dot = (a: Vec3, b: Vec3): number => a[0] * b[0] + a[1] * b[1] + a[2] * b[2];
export const cross = (a: Vec3, b: Vec3): Vec3 => [a[1] * b[2] - a[2] * b[1], a[2] * b[0] - a[0] * b[2], a[0] * b[1] - a[1] * b[0]];
export const norm = (a: Vec3): number => Math.hypot(a[0], a[1], a[2]);

export function normalize(a: Vec3): Vec3 {
  const n = norm(a);
  if (!(n > 0)) throw new RangeError(`cannot normalise the zero vector [${a.join(', ')}]`);
  return [a[0] / n, a[1] / n, a[2] / n];
}

/** The unit LPS vector of voxel axis `c` (0 = i, 1 = j, 2 = k). */
export function axisVector(direction: Mat3, c: Axis): Vec3 {
  return [direction[3 * c]!, direction[3 * c + 1]!, direction[3 * c + 2]!];
}

/** Row-major 3×3 matrix M with lps − origin = M · ijk. */
function indexToLpsMatrix({ spacing: s, direction: d }: Pick<Grid, 'spacing' | 'direction'>): number[] {
  return [d[0] * s[0], d[3] * s[1], d[6] * s[2], d[1] * s[0], d[4] * s[1], d[7] * s[2], d[2] * s[0], d[5] * s[1], d[8] * s[2]];
}

/** Inverse of a row-major 3×3 matrix. @throws RangeError for a singular matrix. */
export function invert3(m: readonly number[]): number[] {
  const [a, b, c, d, e, f, g, h, i] = m as [number, number, number, number, number, number, number, number, number];
  const A = e * i - f * h;
  const B = -(d * i - f * g);
  const C = d * h - e * g;
  const det = a * A + b * B + c * C;
  if (!(Math.abs(det) > 1e-300)) throw new RangeError('singular geometry matrix (zero spacing or degenerate axes)');
  return [A / det, -(b * i - c * h) / det, (b * f - c * e) / det, B / det, (a * i - c * g) / det, -(a * f - c * d) / det, C / det, -(a * h - b * g) / det, (a * e - b * d) / det];
}

/** LPS position (mm) of voxel (i, j, k); fractional indices allowed. */
export function indexToLps(g: Pick<Grid, 'origin' | 'spacing' | 'direction'>, [i, j, k]: Vec3): Vec3 {
  const m = indexToLpsMatrix(g);
  const o = g.origin;
  return [o[0] + m[0]! * i + m[1]! * j + m[2]! * k, o[1] + m[3]! * i + m[4]! * j + m[5]! * k, o[2] + m[6]! * i + m[7]! * j + m[8]! * k];
}

/** Continuous voxel index of an LPS point (exact for sheared grids too: the full inverse, not a transpose). */
export function lpsToIndex(g: Pick<Grid, 'origin' | 'spacing' | 'direction'>, p: Vec3): Vec3 {
  const inv = invert3(indexToLpsMatrix(g));
  const q = sub(p, g.origin);
  return [inv[0]! * q[0] + inv[1]! * q[1] + inv[2]! * q[2], inv[3]! * q[0] + inv[4]! * q[1] + inv[5]! * q[2], inv[6]! * q[0] + inv[7]! * q[1] + inv[8]! * q[2]];
}

/** The nearest voxel of an LPS point, clamped into the grid. */
export function nearestVoxel(g: Grid, p: Vec3): Vec3i {
  const f = lpsToIndex(g, p);
  return [0, 1, 2].map((c) => Math.min(g.dims[c]! - 1, Math.max(0, Math.round(f[c]!)))) as unknown as Vec3i;
}

/** LPS centre of the grid (the middle of the voxel centres). */
export function gridCenter(g: Grid): Vec3 {
  return indexToLps(g, [(g.dims[0] - 1) / 2, (g.dims[1] - 1) / 2, (g.dims[2] - 1) / 2]);
}

/**
 * Column-major 4×4 (vtk.js / gl-matrix layout) mapping scaled index coordinates (i·si, j·sj, k·sk) to LPS:
 * the rotation/shear part of the grid plus its origin. Surfaces extracted on an axis-aligned grid with the
 * voxel spacing become LPS surfaces through it (vtk.js marching cubes ignores image directions).
 */
export function scaledIndexToLpsMatrix(g: Pick<Grid, 'origin' | 'direction'>): number[] {
  const d = g.direction;
  return [d[0], d[1], d[2], 0, d[3], d[4], d[5], 0, d[6], d[7], d[8], 0, g.origin[0], g.origin[1], g.origin[2], 1];
}

// ---------------------------------------------------------------------------------------------------------------
// NIfTI header → LPS grid (nibabel's choice of affine: sform when sform_code > 0, else qform, else pixdim only)
// ---------------------------------------------------------------------------------------------------------------

/** The header fields the geometry needs (nifti-reader-js names), plus the raw sform rows. */
export interface NiftiGeometryFields {
  dims: readonly number[];
  pixDims: readonly number[];
  sform_code: number;
  qform_code: number;
  quatern_b: number;
  quatern_c: number;
  quatern_d: number;
  qoffset_x: number;
  qoffset_y: number;
  qoffset_z: number;
  /** srow_x, srow_y, srow_z (12 numbers) as stored in the header bytes. */
  srow: readonly number[];
}

export type GeometrySource = 'sform' | 'qform' | 'pixdim';

/**
 * The qform affine (RAS, row-major 3×4) from the quaternion, as nifti1_io's quatern_to_mat44 computes it;
 * qfac is pixdim[0] when that is −1, else 1 (nibabel resets other values).
 */
export function qformAffine(h: NiftiGeometryFields): number[] {
  const b = h.quatern_b;
  const c = h.quatern_c;
  const d = h.quatern_d;
  let a = 1 - (b * b + c * c + d * d);
  // nifti1_io: a quaternion of norm > 1 is treated as a 180° rotation (a = 0) after renormalising b, c, d.
  let [bb, cc, dd] = [b, c, d];
  if (a < 1e-7) {
    const s = 1 / Math.sqrt(b * b + c * c + d * d);
    bb *= s;
    cc *= s;
    dd *= s;
    a = 0;
  } else a = Math.sqrt(a);
  const qfac = h.pixDims[0] === -1 ? -1 : 1;
  const xd = h.pixDims[1]! > 0 ? h.pixDims[1]! : 1;
  const yd = h.pixDims[2]! > 0 ? h.pixDims[2]! : 1;
  const zd = (h.pixDims[3]! > 0 ? h.pixDims[3]! : 1) * qfac;
  return [
    (a * a + bb * bb - cc * cc - dd * dd) * xd, 2 * (bb * cc - a * dd) * yd, 2 * (bb * dd + a * cc) * zd, h.qoffset_x,
    2 * (bb * cc + a * dd) * xd, (a * a + cc * cc - bb * bb - dd * dd) * yd, 2 * (cc * dd - a * bb) * zd, h.qoffset_y,
    2 * (bb * dd - a * cc) * xd, 2 * (cc * dd + a * bb) * yd, (a * a + dd * dd - cc * cc - bb * bb) * zd, h.qoffset_z,
  ];
}

/** nibabel's base affine for a header without sform/qform: radiological x flip, origin at the volume centre. */
export function pixdimAffine(dims: Vec3i, pixDims: readonly number[]): number[] {
  const z = [-(pixDims[1] || 1), pixDims[2] || 1, pixDims[3] || 1];
  const o = [0, 1, 2].map((c) => (dims[c]! - 1) / 2);
  return [z[0]!, 0, 0, -o[0]! * z[0]!, 0, z[1]!, 0, -o[1]! * z[1]!, 0, 0, z[2]!, -o[2]! * z[2]!];
}

/**
 * Splits a NIfTI (RAS, row-major 3×4) affine into an LPS grid: spacing = column norms, direction = normalised
 * columns with x and y negated (only the world frame flips; voxels stay where they are).
 * @throws RangeError for a zero column (an axis without length).
 */
export function niftiAffineToGrid(a: readonly number[], dims: Vec3i): Grid {
  const flip = [-1, -1, 1];
  const spacing = [0, 1, 2].map((c) => Math.hypot(a[c]!, a[4 + c]!, a[8 + c]!)) as unknown as Vec3;
  spacing.forEach((s, c) => {
    if (!(s > 0) || !Number.isFinite(s)) throw new RangeError(`NIfTI affine column ${c} has length ${s}: axis ${'ijk'[c]} has no spacing`);
  });
  const direction = [0, 1, 2].flatMap((c) => [0, 1, 2].map((r) => (flip[r]! * a[4 * r + c]!) / spacing[c]!)) as unknown as Mat3;
  return { dims, spacing, origin: [-a[3]!, -a[7]!, a[11]!], direction };
}

/** The LPS grid of a NIfTI header and which fields it came from. */
export function niftiGrid(h: NiftiGeometryFields): { grid: Grid; source: GeometrySource } {
  const dims = [1, 2, 3].map((d) => (d <= (h.dims[0] ?? 0) ? (h.dims[d] ?? 1) : 1)) as unknown as Vec3i;
  if (h.sform_code > 0) return { grid: niftiAffineToGrid(h.srow, dims), source: 'sform' };
  if (h.qform_code > 0) return { grid: niftiAffineToGrid(qformAffine(h), dims), source: 'qform' };
  return { grid: niftiAffineToGrid(pixdimAffine(dims, h.pixDims), dims), source: 'pixdim' };
}

// ---------------------------------------------------------------------------------------------------------------
// Views: which voxel axis each orthogonal view slices, and its camera
// ---------------------------------------------------------------------------------------------------------------

/**
 * Screen axes of each view in LPS (the cornerstone3D / OHIF MPR camera conventions):
 * - axial: radiological, seen from the feet: patient left on screen right (+x), anterior up (−y);
 * - coronal: seen from the front: patient left on screen right (+x), superior up (+z);
 * - sagittal: seen from the patient's left: anterior on screen left, posterior right (+y), superior up (+z).
 */
export const VIEW_AXES: Readonly<Record<ViewName, { right: Vec3; up: Vec3 }>> = {
  axial: { right: [1, 0, 0], up: [0, -1, 0] },
  coronal: { right: [1, 0, 0], up: [0, 0, 1] },
  sagittal: { right: [0, 1, 0], up: [0, 0, 1] },
};

/** A parallel-projection camera: what the view shows and how the screen axes lie in LPS. */
export interface ViewCamera {
  /** Voxel axis the view steps through (its slices are planes of constant index along it). */
  sliceAxis: Axis;
  /** Unit LPS vector from the camera into the scene (perpendicular to the slice planes). */
  directionOfProjection: Vec3;
  /** Unit LPS vectors of the screen's right and up directions (in the slice plane). */
  right: Vec3;
  up: Vec3;
}

/**
 * The camera of an orthogonal view of a grid. The view steps through the voxel axis whose slice planes are closest
 * to the view's world plane, and looks perpendicular to those planes, so a slice is always shown flat and whole.
 * For a non-oblique grid that is exactly the world view of VIEW_AXES; for an oblique grid the view is rotated into
 * the grid's plane (3D Slicer's "rotate to volume plane"), keeping the screen axes as close as possible to the
 * world ones.
 */
export function viewCamera(direction: Mat3, view: ViewName): ViewCamera {
  const { right: worldRight, up: worldUp } = VIEW_AXES[view];
  const worldDop = cross(worldUp, worldRight);
  // Slice-plane normals: for axis c, the normal of the plane spanned by the other two axes (exact for sheared grids).
  const normals = ([0, 1, 2] as Axis[]).map((c) => normalize(cross(axisVector(direction, ((c + 1) % 3) as Axis), axisVector(direction, ((c + 2) % 3) as Axis))));
  let sliceAxis: Axis = 0;
  for (const c of [1, 2] as Axis[]) if (Math.abs(dot(normals[c]!, worldDop)) > Math.abs(dot(normals[sliceAxis]!, worldDop))) sliceAxis = c;
  const n = normals[sliceAxis]!;
  const dop = dot(n, worldDop) >= 0 ? n : scale(n, -1);
  const up = normalize(sub(worldUp, scale(dop, dot(worldUp, dop))));
  const right = cross(dop, up);
  return { sliceAxis, directionOfProjection: dop, right, up };
}

/** Patient-direction letters of LPS vectors, for the labels at the edges of a view (e.g. "R" for −x). */
export function directionLetters(v: Vec3): string {
  const letters: [string, string][] = [
    ['L', 'R'],
    ['P', 'A'],
    ['S', 'I'],
  ];
  // The dominant component first, then any other component above 0.3 (an oblique view reads e.g. "LA").
  return [0, 1, 2]
    .filter((c) => Math.abs(v[c]!) > 0.3)
    .sort((a, b) => Math.abs(v[b]!) - Math.abs(v[a]!))
    .map((c) => letters[c]![v[c]! >= 0 ? 0 : 1])
    .join('');
}

/** The letters at the four edges of a view. */
export function edgeLetters(cam: Pick<ViewCamera, 'right' | 'up'>): { left: string; right: string; top: string; bottom: string } {
  return { left: directionLetters(scale(cam.right, -1)), right: directionLetters(cam.right), top: directionLetters(cam.up), bottom: directionLetters(scale(cam.up, -1)) };
}

/** Slice index of a view's axis that contains (or is nearest to) an LPS point. */
export function sliceIndexAt(g: Grid, axis: Axis, p: Vec3): number {
  return nearestVoxel(g, p)[axis];
}

/** The LPS point moved onto the centre plane of slice `index` along `axis` (other index coordinates kept). */
export function pointOnSlice(g: Grid, axis: Axis, index: number, p: Vec3): Vec3 {
  const f = [...lpsToIndex(g, p)] as [number, number, number];
  f[axis] = Math.min(g.dims[axis] - 1, Math.max(0, index));
  return indexToLps(g, f);
}

// ---------------------------------------------------------------------------------------------------------------
// Parallel-camera pixel mapping, pan and zoom
// ---------------------------------------------------------------------------------------------------------------

/** What a slice view shows: the camera axes, the LPS point at the viewport centre and the zoom. */
export interface ViewState extends ViewCamera {
  /** LPS point shown at the centre of the viewport. */
  focalPoint: Vec3;
  /** Half the viewport height in mm (vtk.js parallelScale). */
  parallelScale: number;
}

/** CSS pixel position (from the viewport's top-left corner) of an LPS point in a view of `width`×`height` px. */
export function lpsToViewPixel(v: ViewState, p: Vec3, width: number, height: number): [number, number] {
  const pxPerMm = height / (2 * v.parallelScale);
  const d = sub(p, v.focalPoint);
  return [width / 2 + dot(d, v.right) * pxPerMm, height / 2 - dot(d, v.up) * pxPerMm];
}

/** The LPS point under a CSS pixel of a view, on the plane through the focal point. */
export function viewPixelToLps(v: ViewState, x: number, y: number, width: number, height: number): Vec3 {
  const mmPerPx = (2 * v.parallelScale) / height;
  return add(v.focalPoint, add(scale(v.right, (x - width / 2) * mmPerPx), scale(v.up, (height / 2 - y) * mmPerPx)));
}

/** The focal point after dragging the image by (dx, dy) CSS pixels (the content follows the pointer). */
export function panFocalPoint(v: ViewState, dx: number, dy: number, height: number): Vec3 {
  const mmPerPx = (2 * v.parallelScale) / height;
  return add(v.focalPoint, add(scale(v.right, -dx * mmPerPx), scale(v.up, dy * mmPerPx)));
}

/**
 * Zoom by `factor` (> 1 magnifies) about a fixed CSS pixel: the LPS point under that pixel stays under it.
 * Returns the new focal point and parallel scale; the scale is clamped to [minScale, maxScale] mm.
 */
export function zoomAbout(v: ViewState, factor: number, x: number, y: number, width: number, height: number, limits: { minScale: number; maxScale: number }): { focalPoint: Vec3; parallelScale: number } {
  const parallelScale = Math.min(limits.maxScale, Math.max(limits.minScale, v.parallelScale / factor));
  const anchor = viewPixelToLps(v, x, y, width, height);
  const ratio = parallelScale / v.parallelScale;
  // The anchor keeps its pixel: focal' = anchor + (focal − anchor)·ratio, in the view plane.
  const focalPoint = add(anchor, scale(sub(v.focalPoint, anchor), ratio));
  return { focalPoint, parallelScale };
}

/**
 * The parallel scale that fits the grid's extent in a view of the given aspect (width / height), with a margin:
 * the larger of the half-extent along `up` and the half-extent along `right` divided by the aspect.
 */
export function fitParallelScale(g: Grid, cam: Pick<ViewCamera, 'right' | 'up'>, aspect: number, margin = 1.05): number {
  let minR = Infinity;
  let maxR = -Infinity;
  let minU = Infinity;
  let maxU = -Infinity;
  for (const i of [-0.5, g.dims[0] - 0.5]) {
    for (const j of [-0.5, g.dims[1] - 0.5]) {
      for (const k of [-0.5, g.dims[2] - 0.5]) {
        const p = indexToLps(g, [i, j, k]);
        minR = Math.min(minR, dot(p, cam.right));
        maxR = Math.max(maxR, dot(p, cam.right));
        minU = Math.min(minU, dot(p, cam.up));
        maxU = Math.max(maxU, dot(p, cam.up));
      }
    }
  }
  return (Math.max((maxU - minU) / 2, (maxR - minR) / 2 / Math.max(aspect, 1e-6)) * margin);
}

/** Whether two grids have the same dims and their corner voxels lie within `tolMm` of each other. */
export function sameGrid(a: Grid, b: Grid, tolMm: number): boolean {
  if (a.dims.some((d, c) => d !== b.dims[c])) return false;
  const last = [a.dims[0] - 1, a.dims[1] - 1, a.dims[2] - 1];
  for (const i of [0, last[0]!]) for (const j of [0, last[1]!]) for (const k of [0, last[2]!]) if (norm(sub(indexToLps(a, [i, j, k]), indexToLps(b, [i, j, k]))) > tolMm) return false;
  return true;
}
