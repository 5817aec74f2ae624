/**
 * Geometry of a Volume. Everything here is DICOM patient LPS, millimetres, unless a name says RAS.
 * anchors: vtk.js ImageData.computeTransforms (index ↔ world), cornerstone nifti-volume-loader (RAS ↔ LPS flip).
 */
import type { Geometry, Mat3, Mat4RowMajor, Vec3, Vec3i } from './types.js';

export const IDENTITY3: Mat3 = [1, 0, 0, 0, 1, 0, 0, 0, 1];

export function dot(a: Vec3, b: Vec3): number {
  return a[0] * b[0] + a[1] * b[1] + a[2] * b[2];
}

export function cross(a: Vec3, b: Vec3): Vec3 {
  return [a[1] * b[2] - a[2] * b[1], a[2] * b[0] - a[0] * b[2], a[0] * b[1] - a[1] * b[0]];
}

export function norm(a: Vec3): number {
  return Math.hypot(a[0], a[1], a[2]);
}

export function normalize(a: Vec3): Vec3 {
  const n = norm(a);
  if (!(n > 0)) throw new RangeError(`cannot normalise a zero or non-finite vector [${a.join(', ')}]`);
  return [a[0] / n, a[1] / n, a[2] / n];
}

/** Column c (the c-th axis vector) of a direction matrix. */
export function axis(d: Mat3, c: 0 | 1 | 2): Vec3 {
  return [d[3 * c]!, d[3 * c + 1]!, d[3 * c + 2]!];
}

export function determinant(d: Mat3): number {
  return dot(axis(d, 0), cross(axis(d, 1), axis(d, 2)));
}

export function toMat3(values: readonly number[]): Mat3 {
  if (values.length !== 9 || values.some((v) => !Number.isFinite(v))) {
    throw new RangeError(`a direction matrix needs 9 finite numbers, got [${values.join(', ')}]`);
  }
  return values as unknown as Mat3;
}

/**
 * Checks that a direction matrix is orthonormal within `tol` (unit axes, pairwise orthogonal).
 * Returns the problem in words, or undefined when it is fine.
 */
export function directionProblem(d: Mat3, tol = 1e-4): string | undefined {
  const axes = [axis(d, 0), axis(d, 1), axis(d, 2)] as const;
  for (let c = 0; c < 3; c++) {
    const n = norm(axes[c]!);
    if (!(Math.abs(n - 1) <= tol)) return `axis ${'ijk'[c]} has length ${n} (expected 1)`;
  }
  for (const [a, b] of [
    [0, 1],
    [0, 2],
    [1, 2],
  ] as const) {
    const p = dot(axes[a]!, axes[b]!);
    if (!(Math.abs(p) <= tol)) return `axes ${'ijk'[a]} and ${'ijk'[b]} are not orthogonal (dot ${p.toExponential(3)})`;
  }
  return undefined;
}

/** LPS position (mm) of the centre of voxel (i, j, k); fractional indices allowed. */
export function indexToLps({ origin: o, spacing: s, direction: d }: Geometry, [i, j, k]: Vec3): Vec3 {
  return [
    o[0] + d[0] * s[0] * i + d[3] * s[1] * j + d[6] * s[2] * k,
    o[1] + d[1] * s[0] * i + d[4] * s[1] * j + d[7] * s[2] * k,
    o[2] + d[2] * s[0] * i + d[5] * s[1] * j + d[8] * s[2] * k,
  ];
}

/**
 * Continuous voxel index of an LPS point. Uses the inverse of (direction · diag(spacing)), so it is exact for
 * non-orthogonal (sheared, e.g. gantry-tilted) grids as well.
 */
export function lpsToIndex(g: Geometry, p: Vec3): Vec3 {
  const m = indexToLpsMatrix(g);
  const inv = invert3(m);
  const q: Vec3 = [p[0] - g.origin[0], p[1] - g.origin[1], p[2] - g.origin[2]];
  return [
    inv[0]! * q[0] + inv[1]! * q[1] + inv[2]! * q[2],
    inv[3]! * q[0] + inv[4]! * q[1] + inv[5]! * q[2],
    inv[6]! * q[0] + inv[7]! * q[1] + inv[8]! * q[2],
  ];
}

/** Row-major 3×3 matrix M with lps − origin = M · ijk. */
function indexToLpsMatrix({ spacing: s, direction: d }: Geometry): number[] {
  return [
    d[0] * s[0], d[3] * s[1], d[6] * s[2],
    d[1] * s[0], d[4] * s[1], d[7] * s[2],
    d[2] * s[0], d[5] * s[1], d[8] * s[2],
  ];
}

/** Inverse of a row-major 3×3 matrix. */
export function invert3(m: readonly number[]): number[] {
  const [a, b, c, d, e, f, g, h, i] = m as [number, number, number, number, number, number, number, number, number];
  const A = e * i - f * h;
  const B = -(d * i - f * g);
  const C = d * h - e * g;
  const det = a * A + b * B + c * C;
  if (!(Math.abs(det) > 1e-300)) throw new RangeError('singular geometry matrix (zero spacing or degenerate axes)');
  return [
    A / det, -(b * i - c * h) / det, (b * f - c * e) / det,
    B / det, (a * i - c * g) / det, -(a * f - c * d) / det,
    C / det, -(a * h - b * g) / det, (a * e - b * d) / det,
  ];
}

/**
 * The NIfTI (RAS) voxel-to-world affine of a geometry, row-major 4×4. Only the world frame flips between LPS and
 * RAS (x and y negate); voxel indices are untouched.
 */
export function geometryToNiftiAffine(g: Geometry): number[] {
  const m = indexToLpsMatrix(g);
  const flip = [-1, -1, 1];
  const out: number[] = [];
  for (let r = 0; r < 3; r++) {
    out.push(flip[r]! * m[3 * r]!, flip[r]! * m[3 * r + 1]!, flip[r]! * m[3 * r + 2]!, flip[r]! * g.origin[r]!);
  }
  out.push(0, 0, 0, 1);
  return out;
}

/**
 * Splits a NIfTI (RAS) affine into LPS geometry: spacing = column norms, direction = normalised columns in LPS.
 * A sheared affine keeps its (non-orthogonal) unit columns; a zero column is an error (no silent default).
 */
export function niftiAffineToGeometry(a: Mat4RowMajor): Geometry {
  if (a.length < 12 || a.slice(0, 12).some((v) => !Number.isFinite(v))) {
    throw new RangeError(`a NIfTI affine needs 12 finite numbers, got [${a.slice(0, 12).join(', ')}]`);
  }
  const flip = [-1, -1, 1] as const;
  const col = (c: number): Vec3 => [a[c]!, a[4 + c]!, a[8 + c]!];
  const spacing: Vec3 = [norm(col(0)), norm(col(1)), norm(col(2))];
  for (let c = 0; c < 3; c++) {
    if (!(spacing[c]! > 0)) throw new RangeError(`NIfTI affine column ${c} is zero: axis ${'ijk'[c]} has no length`);
  }
  const direction = toMat3(
    [0, 1, 2].flatMap((c) => [0, 1, 2].map((r) => (flip[r]! * a[4 * r + c]!) / spacing[c]!)),
  );
  const origin: Vec3 = [-a[3]!, -a[7]!, a[11]!];
  return { spacing, origin, direction };
}

const LPS_LETTERS: readonly (readonly [string, string])[] = [
  ['L', 'R'],
  ['P', 'A'],
  ['S', 'I'],
];

/**
 * Orientation code: for each voxel axis i, j, k, the LPS letter it points towards most (e.g. "LPS" for a
 * standard axial DICOM series, "RAS" for a canonical NIfTI). Oblique axes get their dominant direction.
 */
export function orientationCode(direction: Mat3): string {
  let code = '';
  for (let c = 0 as 0 | 1 | 2; c < 3; c = (c + 1) as 0 | 1 | 2) {
    const v = axis(direction, c);
    const abs = v.map(Math.abs);
    const w = abs.indexOf(Math.max(...abs));
    code += LPS_LETTERS[w]![v[w]! >= 0 ? 0 : 1];
    if (c === 2) break;
  }
  return code;
}

/** The largest angle (degrees) between any voxel axis and its nearest LPS axis: 0 for a non-oblique volume. */
export function obliquityDegrees(direction: Mat3): number {
  let worst = 0;
  for (const c of [0, 1, 2] as const) {
    const v = normalize(axis(direction, c));
    const m = Math.max(...v.map(Math.abs));
    worst = Math.max(worst, (Math.acos(Math.min(1, m)) * 180) / Math.PI);
  }
  return worst;
}

export function voxelCount(dims: Vec3i): number {
  return dims[0] * dims[1] * dims[2];
}

/** Volume of one voxel in mm³: |det(direction)| × product of spacings. */
export function voxelVolumeMm3(g: Geometry): number {
  return Math.abs(determinant(g.direction)) * g.spacing[0] * g.spacing[1] * g.spacing[2];
}

/** True when two geometries describe the same grid within `tolMm` (positions) and 1e-5 (directions). */
export function sameGrid(a: Geometry & { dims: Vec3i }, b: Geometry & { dims: Vec3i }, tolMm = 1e-3): boolean {
  if (a.dims.some((d, c) => d !== b.dims[c])) return false;
  const corners: Vec3[] = [
    [0, 0, 0],
    [a.dims[0] - 1, a.dims[1] - 1, a.dims[2] - 1],
    [a.dims[0] - 1, 0, 0],
    [0, a.dims[1] - 1, 0],
    [0, 0, a.dims[2] - 1],
  ];
  return corners.every((p) => norm(sub(indexToLps(a, p), indexToLps(b, p))) <= tolMm);
}

export function sub(a: Vec3, b: Vec3): Vec3 {
  return [a[0] - b[0], a[1] - b[1], a[2] - b[2]];
}

/**
 * Quaternion parameters (NIfTI qform) of a RAS voxel-to-world affine, following nifti1_io's
 * nifti_mat44_to_quatern for an orthonormal direction: returns undefined for sheared/non-orthogonal matrices, which
 * a qform cannot represent.
 */
export function affineToQuaternion(affineRas: readonly number[]): { b: number; c: number; d: number; qfac: 1 | -1; pixdim: Vec3; offset: Vec3 } | undefined {
  const col = (c: number): Vec3 => [affineRas[c]!, affineRas[4 + c]!, affineRas[8 + c]!];
  const pixdim: Vec3 = [norm(col(0)), norm(col(1)), norm(col(2))];
  const u = [normalize(col(0)), normalize(col(1)), normalize(col(2))] as [Vec3, Vec3, Vec3];
  if (directionProblem([...u[0], ...u[1], ...u[2]] as unknown as Mat3, 1e-6)) return undefined;
  let qfac: 1 | -1 = 1;
  if (dot(u[0], cross(u[1], u[2])) < 0) {
    qfac = -1;
    u[2] = [-u[2][0], -u[2][1], -u[2][2]];
  }
  // r[row][col] of the proper rotation
  const r = (row: number, c: number) => u[c]![row]!;
  let a = r(0, 0) + r(1, 1) + r(2, 2) + 1;
  let b: number;
  let c: number;
  let d: number;
  if (a > 0.5) {
    a = 0.5 * Math.sqrt(a);
    b = (0.25 * (r(2, 1) - r(1, 2))) / a;
    c = (0.25 * (r(0, 2) - r(2, 0))) / a;
    d = (0.25 * (r(1, 0) - r(0, 1))) / a;
  } else {
    const xd = 1 + r(0, 0) - (r(1, 1) + r(2, 2));
    const yd = 1 + r(1, 1) - (r(0, 0) + r(2, 2));
    const zd = 1 + r(2, 2) - (r(0, 0) + r(1, 1));
    if (xd > 1) {
      b = 0.5 * Math.sqrt(xd);
      c = (0.25 * (r(0, 1) + r(1, 0))) / b;
      d = (0.25 * (r(0, 2) + r(2, 0))) / b;
      a = (0.25 * (r(2, 1) - r(1, 2))) / b;
    } else if (yd > 1) {
      c = 0.5 * Math.sqrt(yd);
      b = (0.25 * (r(0, 1) + r(1, 0))) / c;
      d = (0.25 * (r(1, 2) + r(2, 1))) / c;
      a = (0.25 * (r(0, 2) - r(2, 0))) / c;
    } else {
      d = 0.5 * Math.sqrt(zd);
      b = (0.25 * (r(0, 2) + r(2, 0))) / d;
      c = (0.25 * (r(1, 2) + r(2, 1))) / d;
      a = (0.25 * (r(1, 0) - r(0, 1))) / d;
    }
    if (a < 0) {
      b = -b;
      c = -c;
      d = -d;
    }
  }
  return { b, c, d, qfac, pixdim, offset: [affineRas[3]!, affineRas[7]!, affineRas[11]!] };
}
