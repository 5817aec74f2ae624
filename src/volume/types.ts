/**
 * The central Volume type. World space: DICOM patient LPS (x → patient Left, y → Posterior, z → Superior),
 * millimetres. Voxel order: i fastest, index = i + j·nx + k·nx·ny (an ONNX NCDHW tensor with W = i).
 */
export type Vec3 = readonly [number, number, number];
export type Vec3i = readonly [number, number, number];
/** Three consecutive LPS unit vectors: the i axis, the j axis, the k axis (vtk.js layout, column-major). */
export type Mat3 = readonly [number, number, number, number, number, number, number, number, number];
/** A 4×4 matrix stored row-major (NIfTI srow_x, srow_y, srow_z, then 0 0 0 1). */
export type Mat4RowMajor = readonly number[];

export type VoxelArray =
  | Uint8Array
  | Int8Array
  | Uint16Array
  | Int16Array
  | Uint32Array
  | Int32Array
  | Float32Array
  | Float64Array;

export type VoxelType = 'uint8' | 'int8' | 'uint16' | 'int16' | 'uint32' | 'int32' | 'float32' | 'float64';

export interface Geometry {
  /** mm between voxel centres along i, j, k (all > 0). */
  readonly spacing: Vec3;
  /** LPS position (mm) of the centre of voxel (0, 0, 0). */
  readonly origin: Vec3;
  /** Unit LPS vectors of the i, j and k axes, consecutively (vtk.js layout). */
  readonly direction: Mat3;
}

/** Voxel buffer + geometry. */
export interface Volume<T extends VoxelArray = VoxelArray> extends Geometry {
  /** i fastest: index = i + j·nx + k·nx·ny. */
  readonly data: T;
  /** [nx, ny, nz] voxel counts along i, j, k. */
  readonly dims: Vec3i;
}

export type LabelVolume = Volume<Uint8Array | Uint16Array>;
