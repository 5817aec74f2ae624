/** Test helpers shared by the volume and viewer geometry tests: direction matrices (vtk.js layout: i, j, k axis vectors one after the other). */
import type { Mat3, Vec3 } from '../src/volume/types.js';

/** Rotation by `deg` degrees about an axis (Rodrigues), as a direction matrix (columns = the rotated axes). */
export function rotation(axisV: Vec3, deg: number): Mat3 {
  const len = Math.hypot(...axisV);
  const [x, y, z] = axisV.map((v) => v / len) as unknown as Vec3;
  const t = (deg * Math.PI) / 180;
  const c = Math.cos(t);
  const s = Math.sin(t);
  const C = 1 - c;
  const rows = [
    [c + x * x * C, x * y * C - z * s, x * z * C + y * s],
    [y * x * C + z * s, c + y * y * C, y * z * C - x * s],
    [z * x * C - y * s, z * y * C + x * s, c + z * z * C],
  ];
  return [0, 1, 2].flatMap((col) => [0, 1, 2].map((r) => rows[r]![col]!)) as unknown as Mat3;
}

/** All 48 signed permutations of the identity: every axis order and flip a scanner or converter can write. */
export function signedPermutations(): Mat3[] {
  const perms = [
    [0, 1, 2],
    [0, 2, 1],
    [1, 0, 2],
    [1, 2, 0],
    [2, 0, 1],
    [2, 1, 0],
  ];
  const out: Mat3[] = [];
  for (const p of perms) {
    for (let signs = 0; signs < 8; signs++) {
      const d = new Array<number>(9).fill(0);
      for (let c = 0; c < 3; c++) d[3 * c + p[c]!] = signs & (1 << c) ? -1 : 1;
      out.push(d as unknown as Mat3);
    }
  }
  return out;
}
