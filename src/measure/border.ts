/**
 * Structures cut by the scan border. TotalSegmentator reports no volume for a mask within 3 voxels of the scan border
 * (the organ continues outside the scan); medseg reports the measured volume as a lower bound and says which faces of
 * the scan cut it, by voxel axis and by the patient direction (LPS letters) that face looks towards.
 */
import type { Mat3, Vec3i } from '../volume/types.js';

export interface BorderSide {
  /** Voxel axis of the scan face. */
  axis: 'i' | 'j' | 'k';
  /** The face at index 0 ('min') or at the last index ('max'). */
  side: 'min' | 'max';
  /** Patient direction the face looks towards (outward): L, R, P, A, S or I. */
  patient: 'L' | 'R' | 'P' | 'A' | 'S' | 'I';
}

const AXES = ['i', 'j', 'k'] as const;

/**
 * The scan faces that a bounding box [lo, hi] (voxel indices, inclusive) comes within `marginVoxels` of: a voxel
 * with index < margin or > n − 1 − margin along an axis. Margin 3 flags the first and last three planes.
 */
export function borderSides(lo: Vec3i, hi: Vec3i, dims: Vec3i, direction: Mat3, marginVoxels: number): BorderSide[] {
  if (!(marginVoxels >= 0)) throw new RangeError(`borderMarginVoxels must be ≥ 0, got ${marginVoxels}`);
  const out: BorderSide[] = [];
  for (const a of [0, 1, 2] as const) {
    if (lo[a] < marginVoxels) out.push({ axis: AXES[a], side: 'min', patient: patientLetter(direction, a, -1) });
    if (hi[a] > dims[a] - 1 - marginVoxels) out.push({ axis: AXES[a], side: 'max', patient: patientLetter(direction, a, 1) });
  }
  return out;
}

/** LPS letter of the dominant component of ±(axis a of the direction). */
export function patientLetter(direction: Mat3, a: 0 | 1 | 2, sign: 1 | -1): BorderSide['patient'] {
  const v = [sign * direction[3 * a]!, sign * direction[3 * a + 1]!, sign * direction[3 * a + 2]!];
  const abs = v.map(Math.abs);
  const w = abs.indexOf(Math.max(...abs));
  const letters = [['L', 'R'], ['P', 'A'], ['S', 'I']] as const;
  return letters[w]![v[w]! >= 0 ? 0 : 1];
}
