/** Messages between the page and the surface worker (structured-cloned; the typed arrays are transferred). */
import type { Vec3, Vec3i } from '../core/geometry.js';

export interface SurfaceRequest {
  value: number;
  /** Grid points along i, j, k. */
  dims: Vec3i;
  /** Position of grid point (0, 0, 0) in scaled index space (voxel index × spacing), mm. */
  origin: Vec3;
  /** Grid step in scaled index space (block edge × spacing), mm. */
  spacing: Vec3;
  counts: Uint8Array;
  isoValue: number;
}

export interface SurfaceReply {
  value: number;
  /** xyz triples in scaled index space. */
  points: Float32Array;
  /** vtk cell array: 3, a, b, c, 3, … */
  polys: Uint32Array;
  normals: Float32Array;
  ms: number;
}

export interface SurfaceFailure {
  value: number;
  error: string;
}
