/** `medseg convert`: a scan (DICOM or NIfTI) to NIfTI-1, values exact. */
import { promises as fsp } from 'node:fs';
import * as path from 'node:path';
import { loadScan, type LoadedScan, type LoadScanOptions } from '../io/load.js';
import { writeNifti } from '../io/nifti/write.js';
import type { Volume } from '../volume/types.js';
import { applyRescale, minMax, scaledVoxelType } from '../volume/scale.js';
import { voxelTypeOf } from '../volume/voxel-types.js';
import { summarizeVolume, type VolumeSummary } from './info.js';

export interface ConvertResult extends VolumeSummary {
  output: string;
  sclSlope: number;
  sclInter: number;
  warnings: string[];
}

/**
 * Writes the scan to `output` so that every value is exact: stored integers plus the single scl_slope/scl_inter
 * when the whole input has one linear rescale (as dcm2niix does), otherwise the rescaled values themselves in the
 * smallest exact type (integers for integer rescales) or float32/float64.
 * The stored values are read once; only an input whose slices rescale differently is read a second time, rescaled.
 */
export async function convertScan(inputs: string[], output: string, options: LoadScanOptions = {}): Promise<ConvertResult> {
  const raw = await loadScan(inputs, { ...options, applyRescale: false, applyScaling: false });
  const rescale = singleRescale(raw);
  let volume: Volume;
  let summary: VolumeSummary;
  let slope = 1;
  let inter = 0;
  if (rescale === undefined) {
    const scaled = await loadScan(inputs, options);
    volume = scaled.volume;
    summary = summarizeVolume(scaled.volume);
  } else {
    const rawType = voxelTypeOf(raw.volume.data);
    const [lo, hi] = minMax(raw.volume.data);
    const outType = scaledVoxelType(rawType, lo, hi, rescale.slope, rescale.inter);
    const identity = rescale.slope === 1 && rescale.inter === 0;
    const exactInteger = outType !== 'float32' && outType !== 'float64';
    const floatRaw = rawType === 'float32' || rawType === 'float64';
    if (identity) volume = raw.volume;
    else if (exactInteger || floatRaw) volume = { ...raw.volume, data: applyRescale(raw.volume.data, rescale.slope, rescale.inter, outType) };
    else {
      // Fractional rescale of stored integers: keep them, and the rescale in the header.
      volume = raw.volume;
      slope = rescale.slope;
      inter = rescale.inter;
    }
    const a = lo * rescale.slope + rescale.inter;
    const b = hi * rescale.slope + rescale.inter;
    summary = { ...summarizeVolume(volume), dataType: outType, valueRange: outType === 'float32' ? [Math.fround(Math.min(a, b)), Math.fround(Math.max(a, b))] : [Math.min(a, b), Math.max(a, b)] };
  }
  await fsp.mkdir(path.dirname(path.resolve(output)), { recursive: true });
  await writeNifti(output, volume, { sclSlope: slope, sclInter: inter, description: 'medseg convert' });
  return { output, ...summary, sclSlope: slope, sclInter: inter, warnings: raw.warnings };
}

/** The one linear rescale the whole input has (identity when none), or undefined when slices differ. */
function singleRescale(raw: LoadedScan): { slope: number; inter: number } | undefined {
  if (raw.format === 'nifti') {
    const h = raw.nifti.header;
    return h.sclSlope !== 0 && Number.isFinite(h.sclSlope) && Number.isFinite(h.sclInter) ? { slope: h.sclSlope, inter: h.sclInter } : { slope: 1, inter: 0 };
  }
  const g = raw.dicom.geometry;
  const p = g.sorted.map((s) => [s.geometry.rescaleSlope, s.geometry.rescaleIntercept] as const);
  const uniform = p.every(([s, i]) => s === p[0]![0] && i === p[0]![1]);
  // Resampled (non-uniform) series and 32-bit stored data are rescaled by the loader itself.
  if (!uniform || g.nonUniform || raw.dicom.series.slices[0]!.instance.bitsAllocated > 16) return undefined;
  return { slope: p[0]![0], inter: p[0]![1] };
}
