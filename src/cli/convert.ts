/** `medseg convert`: a scan (DICOM or NIfTI) to NIfTI-1, values exact. */
import { loadScan, type LoadScanOptions } from '../io/load.js';
import { writeNifti } from '../io/nifti/write.js';
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
 * smallest exact type the loader chose (integers) or float32/float64.
 */
export async function convertScan(inputs: string[], output: string, options: LoadScanOptions = {}): Promise<ConvertResult> {
  const scaled = await loadScan(inputs, options);
  let volume = scaled.volume;
  let slope = 1;
  let inter = 0;
  const fractional = !Number.isInteger(volume.data[0] ?? 0) || volume.data instanceof Float32Array || volume.data instanceof Float64Array;
  if (fractional) {
    if (scaled.format === 'nifti' && scaled.nifti.header.sclSlope !== 0) {
      slope = scaled.nifti.header.sclSlope;
      inter = scaled.nifti.header.sclInter;
    } else if (scaled.format === 'dicom') {
      const p = scaled.dicom.geometry.sorted.map((s) => [s.geometry.rescaleSlope, s.geometry.rescaleIntercept] as const);
      const uniform = p.every(([s, i]) => s === p[0]![0] && i === p[0]![1]);
      if (uniform && !scaled.dicom.geometry.nonUniform && scaled.dicom.series.slices[0]!.instance.bitsAllocated <= 16) {
        slope = p[0]![0];
        inter = p[0]![1];
      }
    }
    if (slope !== 1 || inter !== 0) {
      const raw = await loadScan(inputs, { ...options, applyRescale: false, applyScaling: false });
      const rawType = raw.volume.data.constructor;
      if (rawType !== Float32Array && rawType !== Float64Array) volume = raw.volume;
      else {
        slope = 1;
        inter = 0;
      }
    }
  }
  await writeNifti(output, volume, { sclSlope: slope, sclInter: inter, description: 'medseg convert' });
  return { output, ...summarizeVolume(scaled.volume), sclSlope: slope, sclInter: inter, warnings: scaled.warnings };
}
