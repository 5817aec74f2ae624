/**
 * Volume geometry of a stack of DICOM slices. Everything here is LPS, mm.
 * anchor: dcmjs ImageNormalizer (sort by the projection of ImagePositionPatient on the slice normal), plus the
 * gap checks dcmjs never implemented; DOMAIN.md §1. Spacing between slices always comes from positions, never from
 * SliceThickness or InstanceNumber.
 */
import { InputFileError, NonUniformSpacingError, SegError } from '../../errors.js';
import { cross, dot, norm, normalize, sub } from '../../volume/geometry.js';
import type { Mat3, Vec3 } from '../../volume/types.js';
import type { DicomSeries, SliceRef } from './series.js';

export interface StackGeometry {
  /** Slices sorted along the k axis (ascending projection on the normal). */
  sorted: SliceRef[];
  origin: Vec3;
  spacing: Vec3;
  direction: Mat3;
  /** Gaps (mm along the normal) between consecutive sorted slices. */
  gapsMm: number[];
  /** Angle between the slice stacking direction and the slice normal (gantry tilt), degrees. */
  tiltDegrees: number;
  /** Positions (mm along the normal) of each sorted slice relative to the first. */
  positionsMm: number[];
  /** Set when gaps are not uniform and the caller allowed it: the volume must be resampled onto `spacing[2]`. */
  nonUniform: boolean;
  warnings: string[];
}

export interface StackGeometryOptions {
  /** Accept missing slices/variable gaps; the loader then resamples onto a uniform grid. */
  allowNonUniform?: boolean;
  /** Gap tolerance: max(absMm, rel × median gap). Defaults 0.01 mm and 1%. */
  gapToleranceMm?: number;
  gapToleranceRel?: number;
}

function median(values: number[]): number {
  const s = [...values].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

/**
 * Sorts the slices of a series and derives its grid.
 * @throws SegError INVALID_GEOMETRY (missing/inconsistent geometry tags), INCONSISTENT_SERIES (duplicate
 *   positions), NonUniformSpacingError (missing slices or variable gaps, unless allowed).
 */
export function stackGeometry(series: DicomSeries, options: StackGeometryOptions = {}): StackGeometry {
  const label = `series ${series.id}`;
  const first = series.slices[0];
  if (!first) throw new SegError('NO_SERIES', `${label} has no images`);
  const g0 = first.geometry;
  if (!g0.rowCosines || !g0.colCosines || !g0.ippLps || !g0.pixelSpacing) {
    const missing = [!g0.ippLps && 'ImagePositionPatient', !(g0.rowCosines && g0.colCosines) && 'ImageOrientationPatient', !g0.pixelSpacing && 'PixelSpacing'].filter(Boolean);
    throw new InputFileError('INVALID_GEOMETRY', first.instance.file, `${label} has no ${missing.join(', ')}: its patient geometry is unknown, so it cannot be a 3D volume (projection and secondary-capture images have no slice geometry)`);
  }
  const warnings: string[] = [];
  const row = normalize(g0.rowCosines);
  const col = normalize(g0.colCosines);
  const orth = dot(row, col);
  if (Math.abs(orth) > 1e-3) warnings.push(`ImageOrientationPatient row and column cosines are not orthogonal (dot ${orth.toExponential(2)})`);
  const normal = normalize(cross(row, col));
  const [rowSpacing, colSpacing] = g0.pixelSpacing;
  if (!(rowSpacing > 0 && colSpacing > 0)) {
    throw new InputFileError('INVALID_GEOMETRY', first.instance.file, `PixelSpacing [${rowSpacing}, ${colSpacing}] must be positive`);
  }
  for (const s of series.slices) {
    if (!s.geometry.ippLps) throw new InputFileError('INVALID_GEOMETRY', s.instance.file, `frame ${s.frame + 1} of ${label} has no ImagePositionPatient`);
    const ps = s.geometry.pixelSpacing;
    if (!ps || Math.abs(ps[0] - rowSpacing) > 1e-4 * rowSpacing || Math.abs(ps[1] - colSpacing) > 1e-4 * colSpacing) {
      throw new InputFileError('INCONSISTENT_SERIES', s.instance.file, `PixelSpacing ${ps ? `[${ps.join(', ')}]` : 'missing'} differs from the series' [${rowSpacing}, ${colSpacing}]`);
    }
  }
  const proj = (s: SliceRef) => dot(s.geometry.ippLps!, normal);
  const sorted = [...series.slices].sort((a, b) => proj(a) - proj(b) || (a.instance.instanceNumber ?? 0) - (b.instance.instanceNumber ?? 0) || a.frame - b.frame);
  const positions = sorted.map(proj);
  const gapsMm = positions.slice(1).map((p, n) => p - positions[n]!);

  const dupes = gapsMm.flatMap((g, n) => (Math.abs(g) < 1e-3 ? [n] : []));
  if (dupes.length > 0) {
    const shown = dupes.slice(0, 4).map((n) => `${sorted[n]!.instance.file} and ${sorted[n + 1]!.instance.file} at ${positions[n]!.toFixed(3)} mm`);
    const hints = [] as string[];
    const echoes = new Set(sorted.map((s) => s.instance.echoNumber));
    const times = new Set(sorted.map((s) => s.instance.temporalPosition));
    const acqs = new Set(sorted.map((s) => s.instance.acquisitionNumber));
    if (echoes.size > 1) hints.push(`it holds ${echoes.size} echoes`);
    if (times.size > 1) hints.push(`${times.size} temporal positions`);
    if (acqs.size > 1) hints.push(`${acqs.size} acquisitions`);
    throw new SegError(
      'INCONSISTENT_SERIES',
      `${label}: ${dupes.length} slice position(s) occur more than once (${shown.join('; ')}${dupes.length > 4 ? '; …' : ''})` +
        `${hints.length ? ` — ${hints.join(', ')}` : ''}. Split the series (one echo/phase/acquisition per folder) or remove the duplicate files.`,
    );
  }

  let spacingK: number;
  let kAxis: Vec3 = normal;
  let tiltDegrees = 0;
  let nonUniform = false;
  if (sorted.length === 1) {
    const t = g0.sliceThickness;
    if (t && t > 0) {
      spacingK = t;
      warnings.push(`single slice: the k spacing is SliceThickness (${t} mm)`);
    } else {
      spacingK = 1;
      warnings.push('single slice without SliceThickness: the k spacing is set to 1 mm (it affects voxel volumes only)');
    }
  } else {
    const med = median(gapsMm);
    const tol = Math.max(options.gapToleranceMm ?? 0.01, (options.gapToleranceRel ?? 0.01) * med);
    const offending = gapsMm.flatMap((g, n) => (Math.abs(g - med) > tol ? [{ afterSlice: n + 1, gapMm: g }] : []));
    if (offending.length > 0) {
      if (!options.allowNonUniform) throw new NonUniformSpacingError(label, gapsMm, offending, med);
      nonUniform = true;
      warnings.push(`non-uniform slice gaps (${offending.length} differ from ${med.toFixed(3)} mm): resampled linearly onto a uniform ${med.toFixed(3)} mm grid`);
      spacingK = med;
    } else {
      // Mean gap over the whole stack: exact for uniform stacks, and robust to per-gap string rounding.
      spacingK = (positions[positions.length - 1]! - positions[0]!) / (sorted.length - 1);
    }
    // Gantry tilt: the positions move along a line that is not the normal. Keep the exact (sheared) grid.
    const travel = sub(sorted[sorted.length - 1]!.geometry.ippLps!, sorted[0]!.geometry.ippLps!);
    const along = dot(travel, normal);
    const perp = norm(sub(travel, [along * normal[0], along * normal[1], along * normal[2]]));
    tiltDegrees = (Math.atan2(perp, along) * 180) / Math.PI;
    if (perp > 0.01 * Math.max(1, sorted.length - 1) && Math.abs(tiltDegrees) > 0.01) {
      if (nonUniform) {
        throw new SegError('INVALID_GEOMETRY', `${label}: gantry tilt of ${tiltDegrees.toFixed(2)}° together with non-uniform slice gaps is not supported; re-export the series without tilt or with uniform spacing`);
      }
      kAxis = normalize(travel);
      spacingK = norm(travel) / (sorted.length - 1);
      warnings.push(`gantry tilt ${tiltDegrees.toFixed(2)}°: the volume keeps the exact sheared grid (k axis along the slice positions, not the slice normal)`);
    } else {
      tiltDegrees = 0;
    }
  }
  return {
    sorted,
    origin: sorted[0]!.geometry.ippLps!,
    spacing: [colSpacing, rowSpacing, spacingK],
    direction: [...row, ...col, ...kAxis] as unknown as Mat3,
    gapsMm,
    tiltDegrees,
    positionsMm: positions.map((p) => p - positions[0]!),
    nonUniform,
    warnings,
  };
}
