/** Construction and validation of Volumes. LPS, millimetres. */
import { directionProblem, voxelCount } from './geometry.js';
import type { Geometry, Vec3i, Volume, VoxelArray } from './types.js';

export interface VolumeInit<T extends VoxelArray> extends Geometry {
  data: T;
  dims: Vec3i;
}

/**
 * Builds a Volume after checking it: positive integer dims matching the data length, positive finite spacing,
 * finite origin and a direction with unit axes. Nothing is defaulted.
 * @throws RangeError naming the bad field.
 */
export function makeVolume<T extends VoxelArray>(init: VolumeInit<T>, options: { requireOrthogonal?: boolean } = {}): Volume<T> {
  const { data, dims, spacing, origin, direction } = init;
  if (dims.length !== 3 || dims.some((d) => !Number.isInteger(d) || d < 1)) {
    throw new RangeError(`dims must be three positive integers, got [${dims.join(', ')}]`);
  }
  if (data.length !== voxelCount(dims)) {
    throw new RangeError(`data has ${data.length} voxels but dims [${dims.join(', ')}] need ${voxelCount(dims)}`);
  }
  if (spacing.length !== 3 || spacing.some((s) => !(s > 0) || !Number.isFinite(s))) {
    throw new RangeError(`spacing must be three positive finite numbers (mm), got [${spacing.join(', ')}]`);
  }
  if (origin.length !== 3 || origin.some((o) => !Number.isFinite(o))) {
    throw new RangeError(`origin must be three finite numbers (mm), got [${origin.join(', ')}]`);
  }
  if (direction.length !== 9 || direction.some((v) => !Number.isFinite(v))) {
    throw new RangeError(`direction must be 9 finite numbers, got [${direction.join(', ')}]`);
  }
  const problem = directionProblem(direction);
  if (problem && (options.requireOrthogonal ?? false)) throw new RangeError(`direction is not orthonormal: ${problem}`);
  for (let c = 0; c < 3; c++) {
    const n = Math.hypot(direction[3 * c]!, direction[3 * c + 1]!, direction[3 * c + 2]!);
    if (!(Math.abs(n - 1) < 1e-3)) throw new RangeError(`direction axis ${'ijk'[c]} must be a unit vector, has length ${n}`);
  }
  return {
    data,
    dims: [dims[0], dims[1], dims[2]],
    spacing: [spacing[0], spacing[1], spacing[2]],
    origin: [origin[0], origin[1], origin[2]],
    direction: [...direction] as unknown as Volume['direction'],
  };
}
