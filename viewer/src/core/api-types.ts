/**
 * The JSON the medseg API sends, as the viewer reads it. Types come from the server's sources (type-only imports:
 * the bundle contains none of src/), widened to what JSON carries (mutable arrays, links).
 */
import type { LabelStatistics, StructureStats } from '../../../src/measure/stats.js';
import type { LesionMeasurement } from '../../../src/measure/lesions.js';
import type { JobRecord, JobStage, JobStatus } from '../../../src/server/jobs/types.js';
import type { Rgb } from './labels.js';

export type { JobStage, JobStatus };

/** GET /api/jobs/:id and each `job` server-sent event. */
export interface JobJson extends JobRecord {
  links: { self: string; events: string; study: string; results?: Record<string, string> };
}

/** POST /api/studies → 201. */
export interface StudyJson {
  id: string;
  createdAt: string;
  format: 'nifti' | 'dicom';
  files: number;
  bytes: number;
  image: string;
}

/** One entry of GET /api/models. */
export interface ModelJson {
  name: string;
  version: string;
  description?: string;
  mode: string;
  labels: { value: number; name: string; color?: Rgb }[];
  available: boolean;
}

/** A lesion as stats.json lists it (the measurement plus the label's name). */
export type LesionJson = LesionMeasurement & { name?: string };

/** GET /api/jobs/:id/results/stats.json (what `medseg stats`/`segment` write). */
export interface StatsJson extends Pick<LabelStatistics, 'axialAxis' | 'borderMarginVoxels' | 'grid' | 'voxelVolumeMm3'> {
  structures: StructureStats[];
  lesions: LesionJson[];
}

export type { StructureStats };

/** The error body of every API failure. */
export interface ApiErrorJson {
  error: { code: string; message: string };
}
