/** `medseg info`: what a file or folder holds, one entry per series/volume. */
import { basename } from 'node:path';
import { SegError } from '../errors.js';
import { loadSeriesVolume } from '../io/dicom/load-volume.js';
import { scanDicom } from '../io/dicom/scan.js';
import type { DicomSeries } from '../io/dicom/series.js';
import { detectFormat } from '../io/load.js';
import { readNifti } from '../io/nifti/read.js';
import { obliquityDegrees, orientationCode } from '../volume/geometry.js';
import { minMax } from '../volume/scale.js';
import type { Volume } from '../volume/types.js';
import { voxelTypeOf } from '../volume/voxel-types.js';

export interface VolumeSummary {
  dims: number[];
  spacing: number[];
  origin: number[];
  direction: number[];
  orientation: string;
  obliqueDegrees: number;
  dataType: string;
  valueRange: [number, number];
}

export interface InfoEntry extends Partial<VolumeSummary> {
  id: string;
  format: 'nifti1' | 'nifti2' | 'analyze' | 'dicom';
  files: number;
  modality?: string;
  description?: string;
  seriesNumber?: number;
  seriesInstanceUid?: string;
  studyInstanceUid?: string;
  frameOfReferenceUid?: string;
  isLocalizer?: boolean;
  volumes?: number;
  geometrySource?: string;
  warnings: string[];
  error?: { code: string; message: string };
}

export interface InfoReport {
  input: string[];
  entries: InfoEntry[];
  skipped: { file: string; code?: string; reason: string }[];
}

const round = (v: number, d = 6) => Math.round(v * 10 ** d) / 10 ** d + 0;

export function summarizeVolume(v: Volume): VolumeSummary {
  const [lo, hi] = minMax(v.data);
  return {
    dims: [...v.dims],
    spacing: v.spacing.map((s) => round(s)),
    origin: v.origin.map((o) => round(o)),
    direction: v.direction.map((d) => round(d)),
    orientation: orientationCode(v.direction),
    obliqueDegrees: round(obliquityDegrees(v.direction), 3),
    dataType: voxelTypeOf(v.data),
    valueRange: [lo, hi],
  };
}

async function dicomEntry(s: DicomSeries): Promise<InfoEntry> {
  const base: InfoEntry = {
    id: s.id,
    format: 'dicom',
    files: s.files.length,
    modality: s.modality,
    description: s.seriesDescription,
    seriesNumber: s.seriesNumber,
    seriesInstanceUid: s.seriesInstanceUid,
    studyInstanceUid: s.studyInstanceUid,
    frameOfReferenceUid: s.frameOfReferenceUid,
    isLocalizer: s.isLocalizer,
    warnings: [],
  };
  try {
    const loaded = await loadSeriesVolume(s);
    return { ...base, ...summarizeVolume(loaded.volume), warnings: loaded.warnings };
  } catch (e) {
    if (!(e instanceof SegError)) throw e;
    return { ...base, dims: [s.columns, s.rows, s.slices.length], error: { code: e.code, message: e.message } };
  }
}

/** Builds the info report; per-series problems are reported in the entry, not thrown. */
export async function buildInfo(inputs: string[]): Promise<InfoReport> {
  const format = await detectFormat(inputs);
  if (format === 'nifti') {
    const n = await readNifti(inputs[0]!);
    return {
      input: inputs,
      entries: [
        {
          id: basename(inputs[0]!),
          format: n.header.format,
          files: n.header.pair ? 2 : 1,
          volumes: n.volumeCount,
          geometrySource: n.header.geometrySource,
          description: n.header.description || undefined,
          ...summarizeVolume(n.volume),
          warnings: n.warnings,
        },
      ],
      skipped: [],
    };
  }
  const scan = await scanDicom(inputs);
  const entries: InfoEntry[] = [];
  for (const s of scan.series) entries.push(await dicomEntry(s));
  return { input: inputs, entries, skipped: scan.skipped };
}

const fmt = (v: readonly number[], d = 3) => v.map((x) => +x.toFixed(d)).join(' × ');

/** Human-readable rendering of the report. */
export function renderInfo(r: InfoReport): string {
  const lines: string[] = [];
  for (const e of r.entries) {
    const head = e.format === 'dicom' ? `${e.modality ?? '??'} series ${e.id}` : `${e.format.toUpperCase()} ${e.id}`;
    lines.push(`${head}${e.description ? `  "${e.description}"` : ''}${e.isLocalizer ? '  [localizer]' : ''}`);
    if (e.seriesNumber !== undefined) lines.push(`  series number   ${e.seriesNumber}`);
    lines.push(`  files           ${e.files}${e.volumes && e.volumes > 1 ? `   (4D: ${e.volumes} volumes; volume 0 shown)` : ''}`);
    if (e.dims) lines.push(`  dims            ${e.dims.join(' × ')} voxels`);
    if (e.spacing) lines.push(`  spacing         ${fmt(e.spacing, 4)} mm`);
    if (e.orientation) lines.push(`  orientation     ${e.orientation}${e.obliqueDegrees ? ` (oblique, up to ${e.obliqueDegrees.toFixed(1)}°)` : ''}${e.geometrySource ? `  from ${e.geometrySource}` : ''}`);
    if (e.origin) lines.push(`  origin (LPS)    ${e.origin.map((o) => o.toFixed(2)).join(', ')} mm`);
    if (e.valueRange) lines.push(`  values          ${e.dataType}, ${e.valueRange[0]} … ${e.valueRange[1]}`);
    for (const w of e.warnings) lines.push(`  note: ${w}`);
    if (e.error) lines.push(`  error [${e.error.code}]: ${e.error.message}`);
    lines.push('');
  }
  if (r.skipped.length) {
    lines.push(`skipped ${r.skipped.length} file(s):`);
    for (const s of r.skipped) lines.push(`  ${s.file}: ${s.reason}`);
  }
  if (r.entries.length === 0) lines.push('no image series found');
  return lines.join('\n').trimEnd();
}
