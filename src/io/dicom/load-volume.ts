/**
 * Building a Volume (LPS, mm) from a DICOM stack: stored values are read frame by frame straight into the output
 * buffer (or through one reused frame-sized scratch buffer when values are converted), so peak memory is the
 * volume plus one frame.
 */
import { InputFileError, MAX_VOXELS } from '../../errors.js';
import type { Volume, VoxelArray, VoxelType } from '../../volume/types.js';
import { makeVolume } from '../../volume/volume.js';
import { allocateVoxels, smallestExactType, VOXEL_CONSTRUCTORS } from '../../volume/voxel-types.js';
import type { DicomInstance } from './instance.js';
import { FrameReader, frameBytes, storedVoxelType } from './pixels.js';
import type { DicomSeries, SliceRef } from './series.js';
import { simd16Scratch } from './simd.js';
import { stackGeometry, type StackGeometry, type StackGeometryOptions } from './series-geometry.js';

export interface LoadSeriesOptions extends StackGeometryOptions {
  /**
   * MONOCHROME1 stores inverted grey levels. 'invert' (default) maps stored values to MONOCHROME2 sense before
   * rescaling, as GDCM/ITK do; 'keep' leaves them as stored.
   */
  monochrome1?: 'invert' | 'keep';
  /** Apply RescaleSlope/Intercept (default true): CT in Hounsfield units. */
  applyRescale?: boolean;
}

export interface DicomVolume {
  volume: Volume;
  series: DicomSeries;
  geometry: StackGeometry;
  /** The source instance (SOPInstanceUID) and frame (0-based) of each k plane, for SEG references. */
  planes: { sopInstanceUid?: string; sopClassUid?: string; file: string; frame: number }[];
  warnings: string[];
}

type IntArray = Int8Array | Uint8Array | Int16Array | Uint16Array | Int32Array | Uint32Array;

const READS_IN_FLIGHT = 4;

/** Integer voxel types by byte width: [signed, unsigned]. */
const SAME_WIDTH: Record<number, [VoxelType, VoxelType]> = { 1: ['int8', 'uint8'], 2: ['int16', 'uint16'], 4: ['int32', 'uint32'] };
const TYPE_RANGE: Partial<Record<VoxelType, [number, number]>> = {
  int8: [-128, 127],
  uint8: [0, 255],
  int16: [-32768, 32767],
  uint16: [0, 65535],
  int32: [-(2 ** 31), 2 ** 31 - 1],
  uint32: [0, 2 ** 32 - 1],
};

interface FrameConversion {
  /** BitsStored < BitsAllocated: mask unused high bits, or sign-extend from bit BitsStored−1 (PS3.5 §8). */
  mask?: { bits: number; signed: boolean };
  /** MONOCHROME1 → MONOCHROME2 sense: v ↦ (storedMin + storedMax) − v. */
  invertSum?: number;
  /** Write v·slope + intercept to `out`; otherwise cleaned stored values stay in `view`. */
  rescale: boolean;
}

/**
 * One pass over a frame of stored values: mask/sign-extend, invert, then rescale into `out` (which may alias
 * `view` with another element type of the same width: each index is read before it is written). Returns the min
 * and max cleaned stored value when `track` is set (else [NaN, NaN]).
 * The common cases get their own branch-free loops: this pass is the loader's hot path (78 M voxels for a
 * 512×512×300 CT), and a general loop with per-voxel branches measured 3× slower.
 */
function convertFrame(view: IntArray, out: VoxelArray, { slope, inter }: { slope: number; inter: number }, c: FrameConversion, track: boolean): [number, number] {
  const n = view.length;
  if (!track && c.invertSum === undefined) {
    if (c.rescale && !c.mask) {
      for (let i = 0; i < n; i++) out[i] = view[i]! * slope + inter;
      return [NaN, NaN];
    }
    if (c.rescale && c.mask && !c.mask.signed) {
      const m = 2 ** c.mask.bits - 1;
      for (let i = 0; i < n; i++) out[i] = (view[i]! & m) * slope + inter;
      return [NaN, NaN];
    }
    if (c.rescale && c.mask && c.mask.signed) {
      const sh = 32 - c.mask.bits;
      for (let i = 0; i < n; i++) out[i] = ((view[i]! << sh) >> sh) * slope + inter;
      return [NaN, NaN];
    }
  }
  if (track && c.rescale && !c.mask && c.invertSum === undefined) {
    // The optimistic in-place rescale (signed 16-bit CT with an intercept): rescale and range in one pass.
    let lo = Infinity;
    let hi = -Infinity;
    for (let i = 0; i < n; i++) {
      const v = view[i]!;
      if (v < lo) lo = v;
      if (v > hi) hi = v;
      out[i] = v * slope + inter;
    }
    return [lo, hi];
  }
  const shift = c.mask ? 32 - c.mask.bits : 0;
  const andMask = c.mask && !c.mask.signed ? 2 ** c.mask.bits - 1 : -1;
  const signExtend = c.mask?.signed ?? false;
  const invertSum = c.invertSum;
  let lo = Infinity;
  let hi = -Infinity;
  for (let i = 0; i < n; i++) {
    let v = view[i]!;
    if (signExtend) v = (v << shift) >> shift;
    else if (andMask !== -1) v &= andMask;
    if (invertSum !== undefined) v = invertSum - v;
    if (track) {
      if (v < lo) lo = v;
      if (v > hi) hi = v;
    }
    if (c.rescale) out[i] = v * slope + inter;
    else view[i] = v;
  }
  return track ? [lo, hi] : [NaN, NaN];
}

function checkFormat(slices: readonly SliceRef[], label: string): DicomInstance {
  const a = slices[0]!.instance;
  for (const s of slices) {
    const b = s.instance;
    if (b.samplesPerPixel !== 1) {
      throw new InputFileError('UNSUPPORTED_FORMAT', b.file, `has ${b.samplesPerPixel} samples per pixel (${b.photometricInterpretation}): colour images are not medical volumes medseg can segment`);
    }
    if (b.bitsAllocated !== a.bitsAllocated || b.pixelRepresentation !== a.pixelRepresentation || b.rows !== a.rows || b.columns !== a.columns) {
      throw new InputFileError('INCONSISTENT_SERIES', b.file, `${label}: pixel format ${b.columns}×${b.rows}, ${b.bitsAllocated} bits, representation ${b.pixelRepresentation} differs from ${a.file} (${a.columns}×${a.rows}, ${a.bitsAllocated} bits, representation ${a.pixelRepresentation})`);
    }
  }
  storedVoxelType(a);
  return a;
}

/**
 * Loads one series/stack as a Volume.
 * @throws SegError subclasses naming the offending file (geometry, format, truncation, decoding).
 */
export async function loadSeriesVolume(series: DicomSeries, options: LoadSeriesOptions = {}): Promise<DicomVolume> {
  const label = `series ${series.id}`;
  const geo = stackGeometry(series, options);
  const first = checkFormat(geo.sorted, label);
  const storedType = storedVoxelType(first) as Exclude<VoxelType, 'float32' | 'float64'>;
  const nx = first.columns;
  const ny = first.rows;
  const nz = geo.sorted.length;
  const plane = nx * ny;
  const planeBytes = frameBytes(first);
  if (plane * nz > MAX_VOXELS) {
    throw new InputFileError('TOO_LARGE', first.file, `${label} would have ${nx}×${ny}×${nz} voxels; at most ${MAX_VOXELS} are supported`);
  }
  // Check every native frame is present before allocating: a header can claim any size.
  for (const s of geo.sorted) {
    const loc = s.instance.pixelData;
    if (loc.kind === 'native' && loc.length < planeBytes * s.instance.numberOfFrames) {
      throw new InputFileError('TRUNCATED_FILE', s.instance.file, `Pixel Data has ${loc.length} bytes but ${s.instance.numberOfFrames} frame(s) of ${nx}×${ny}×${first.bitsAllocated} bits need ${planeBytes * s.instance.numberOfFrames}`);
    }
  }
  const signed = first.pixelRepresentation === 1;
  const rescale = options.applyRescale ?? true;
  const params = geo.sorted.map((s) => ({ slope: rescale ? s.geometry.rescaleSlope : 1, inter: rescale ? s.geometry.rescaleIntercept : 0 }));
  const identity = params.every((p) => p.slope === 1 && p.inter === 0);
  const integral = params.every((p) => Number.isInteger(p.slope) && Number.isInteger(p.inter));
  const invert = first.photometricInterpretation === 'MONOCHROME1' && (options.monochrome1 ?? 'invert') === 'invert';
  const storedMin = signed ? -(2 ** (first.bitsStored - 1)) : 0;
  const storedMax = signed ? 2 ** (first.bitsStored - 1) - 1 : 2 ** first.bitsStored - 1;

  // Plan the output so that each frame is converted in ONE pass right after it is read (mask BitsStored, invert
  // MONOCHROME1, rescale), in place when the output type has the stored width:
  //  - integer rescale whose worst-case range (BitsStored range × slope + intercept) fits a type of the stored width
  //    (e.g. uint16/12-bit with intercept −1024 → int16): converted in place;
  //  - other integer rescales: stored values kept, the actual range tracked, then one more pass into the smallest
  //    exact type;
  //  - fractional rescales: converted per frame into float32 (float64 for 32-bit data).
  const floatType: VoxelType = first.bitsAllocated === 32 ? 'float64' : 'float32';
  let direct: VoxelType | undefined;
  if (identity) direct = storedType;
  else if (integral) {
    const ends = params.flatMap(({ slope, inter }) => [storedMin * slope + inter, storedMax * slope + inter]);
    const t = smallestExactType(Math.min(...ends), Math.max(...ends), true);
    if (VOXEL_CONSTRUCTORS[t].BYTES_PER_ELEMENT === VOXEL_CONSTRUCTORS[storedType].BYTES_PER_ELEMENT) direct = t;
  }
  // Slope-1 integer rescales whose worst case does not fit the stored width (signed 16-bit CT with intercept −1024,
  // as many scanners write it) are converted in place anyway, optimistically: v + intercept wraps modulo 2^bits into
  // a view of the stored width while the same pass tracks the actual range. Real scans almost always fit; when one
  // does not, the wrap is undone exactly and the values are widened (one pass instead of a range scan and a rescale).
  let wrap: VoxelType | undefined;
  if (integral && !identity && direct === undefined && params.every((p) => p.slope === 1)) {
    const worstMin = Math.min(...params.map((p) => storedMin + p.inter));
    wrap = SAME_WIDTH[VOXEL_CONSTRUCTORS[storedType].BYTES_PER_ELEMENT]![worstMin < 0 ? 0 : 1];
  }
  const integerOut = identity || integral;
  const stored = integerOut ? (allocateVoxels(storedType, plane * nz) as IntArray) : undefined;
  const inPlace = direct ?? wrap;
  const out: VoxelArray = stored ? (inPlace ? new VOXEL_CONSTRUCTORS[inPlace](stored.buffer as ArrayBuffer, 0, stored.length) : stored) : allocateVoxels(floatType, plane * nz);
  const convert: FrameConversion = {
    mask: first.bitsStored < first.bitsAllocated ? { bits: first.bitsStored, signed } : undefined,
    invertSum: invert ? storedMax + storedMin : undefined,
    rescale: !identity && (inPlace !== undefined || !integerOut),
  };
  const needsPass = convert.mask !== undefined || convert.invertSum !== undefined || convert.rescale || (integerOut && !direct);
  let lo = Infinity;
  let hi = -Infinity;
  // 16-bit values converted in place by (v & mask) + intercept, slope 1 (e.g. uint16 with BitsStored 12 and intercept
  // −1024 → int16, most CT; or just the BitsStored mask): a WASM SIMD kernel, ~15× faster than convertFrame's loop.
  // The optimistic wrap path without a mask gets the kernel that also tracks the range (signed 16-bit CT).
  const simdCandidate = planeBytes === 2 * plane && convert.invertSum === undefined && params.every((p) => p.slope === 1);
  const simd = needsPass && direct && simdCandidate && !convert.mask?.signed ? simd16Scratch(planeBytes) : undefined;
  const simdRange = wrap && simdCandidate && !convert.mask ? simd16Scratch(planeBytes) : undefined;
  const mask = convert.mask ? 2 ** convert.mask.bits - 1 : 0xffff;
  // Several frames in flight: native frames are read straight into the volume in libuv's thread pool (which also
  // takes the page faults of the fresh volume memory, ~2/3 of a load's time on the benchmark VM) while the main
  // thread converts the frames already read, each while it is still in the CPU cache.
  let next = 0;
  const worker = async () => {
    const reader = new FrameReader();
    const scratch = stored ? undefined : (allocateVoxels(storedType, plane) as IntArray);
    try {
      while (next < nz) {
        const k = next++;
        const s = geo.sorted[k]!;
        const view: IntArray = stored ? (stored.subarray(k * plane, (k + 1) * plane) as IntArray) : scratch!;
        const bytes = new Uint8Array(view.buffer, view.byteOffset, planeBytes);
        await reader.readFrame(s.instance, s.frame, bytes);
        if (simd) {
          simd.bytes.set(bytes); // synchronous from here to the next await: the workers share the one scratch
          simd.maskAdd(mask, params[k]!.inter);
          bytes.set(simd.bytes);
          continue;
        }
        if (simdRange) {
          simdRange.bytes.set(bytes);
          const inter = params[k]!.inter;
          const [a, b] = simdRange.rangeAdd(inter, signed);
          bytes.set(simdRange.bytes);
          lo = Math.min(lo, a + inter);
          hi = Math.max(hi, b + inter);
          continue;
        }
        if (!needsPass) continue;
        const [a, b] = convertFrame(view, out.subarray(k * plane, (k + 1) * plane), params[k]!, convert, integerOut && !direct);
        if (integerOut && !direct) {
          const { slope, inter } = params[k]!;
          lo = Math.min(lo, a * slope + inter, b * slope + inter);
          hi = Math.max(hi, a * slope + inter, b * slope + inter);
        }
      }
    } catch (e) {
      next = nz; // the other workers stop after their current frame
      throw e;
    } finally {
      reader.close();
    }
  };
  await Promise.all(Array.from({ length: Math.min(READS_IN_FLIGHT, nz) }, worker));

  let data: VoxelArray = out;
  if (wrap) {
    const [min, max] = TYPE_RANGE[wrap]!;
    if (lo < min || hi > max) {
      // Undo the wrapped add: stored ≡ out − intercept (mod 2^bits), and the stored type holds every cleaned value.
      for (let k = 0; k < nz; k++) {
        const inter = params[k]!.inter;
        for (let n = k * plane; n < (k + 1) * plane; n++) stored![n] = out[n]! - inter;
      }
      data = rescaleIntegers(stored!, params, plane, lo, hi);
    }
  } else if (integerOut && !direct && !identity) data = rescaleIntegers(stored!, params, plane, lo, hi);
  if (geo.nonUniform) data = resampleAlongK(data, plane, geo.positionsMm, geo.spacing[2]);
  const dims = [nx, ny, data.length / plane] as const;
  let volume: Volume;
  try {
    volume = makeVolume({ data, dims, spacing: geo.spacing, origin: geo.origin, direction: geo.direction });
  } catch (e) {
    throw new InputFileError('INVALID_GEOMETRY', first.file, `${label}: ${(e as Error).message}`, { cause: e });
  }
  const warnings = [...series.notes, ...geo.warnings];
  if (invert) warnings.push('MONOCHROME1: stored values were inverted to MONOCHROME2 sense before rescaling');
  return {
    volume,
    series,
    geometry: geo,
    planes: geo.sorted.map((s) => ({ sopInstanceUid: s.instance.sopInstanceUid, sopClassUid: s.instance.sopClassUid, file: s.instance.file, frame: s.frame })),
    warnings,
  };
}

/** Integer rescale, in place when the result type has the stored type's width, else into a wider array. */
function rescaleIntegers(stored: IntArray, params: { slope: number; inter: number }[], plane: number, lo: number, hi: number): VoxelArray {
  const outType = smallestExactType(lo, hi, true);
  const ctor = VOXEL_CONSTRUCTORS[outType];
  const out: VoxelArray = ctor.BYTES_PER_ELEMENT === stored.BYTES_PER_ELEMENT ? new ctor(stored.buffer as ArrayBuffer, stored.byteOffset, stored.length) : new ctor(stored.length);
  for (let k = 0; k < params.length; k++) {
    const { slope, inter } = params[k]!;
    const base = k * plane;
    // Reading stored[n] before writing out[n] at the same index makes the in-place reinterpretation safe.
    for (let n = base; n < base + plane; n++) out[n] = stored[n]! * slope + inter;
  }
  return out;
}

/**
 * Linear interpolation along k onto a uniform grid (positionsMm are the sorted slice positions relative to the
 * first): fills missing slices of a series whose caller accepted non-uniform gaps.
 */
function resampleAlongK(data: VoxelArray, plane: number, positionsMm: readonly number[], stepMm: number): VoxelArray {
  const last = positionsMm[positionsMm.length - 1]!;
  const nz = Math.round(last / stepMm) + 1;
  const out = new Float32Array(plane * nz);
  let src = 0;
  for (let k = 0; k < nz; k++) {
    const z = Math.min(k * stepMm, last);
    while (src < positionsMm.length - 2 && positionsMm[src + 1]! < z) src++;
    const z0 = positionsMm[src]!;
    const z1 = positionsMm[src + 1] ?? z0;
    const t = z1 > z0 ? Math.min(1, Math.max(0, (z - z0) / (z1 - z0))) : 0;
    const a = src * plane;
    const b = Math.min(src + 1, positionsMm.length - 1) * plane;
    for (let n = 0; n < plane; n++) out[k * plane + n] = data[a + n]! * (1 - t) + data[b + n]! * t;
  }
  return out;
}

