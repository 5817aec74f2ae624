/** Messages between the server and a job process (child_process.fork, JSON over IPC). */
import type { SegmentProgress } from '../../inference/pipeline.js';
import type { JobOptions } from './types.js';

export type ChildTask =
  /** Segment `inputs` with the card into `out` (a fresh folder): labels.nii.gz, stats.json/csv, provenance.json. */
  | { type: 'segment'; inputs: string[]; cardFile: string; out: string; options: JobOptions }
  /** Convert the scan to NIfTI at `output` (the viewer's copy of the image). */
  | { type: 'convert'; inputs: string[]; output: string };

export type ParentMessage = { type: 'run'; task: ChildTask } | { type: 'cancel' };

export type ChildMessage =
  | { type: 'progress'; progress: SegmentProgress }
  /** The pipeline is done; statistics and files are being written. */
  | { type: 'writing' }
  | { type: 'done' }
  | { type: 'error'; code?: string | undefined; message: string };
