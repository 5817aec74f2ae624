/** The JSON the API returns for jobs (the queue's record plus links), and the fixed list of result files. */
import type { JobRecord } from './jobs/types.js';

/** The only files served from a job's results folder: nothing else there is reachable by any name. */
export const RESULT_FILES = {
  'labels.nii.gz': 'application/gzip',
  'stats.json': 'application/json',
  'stats.csv': 'text/csv; charset=utf-8',
  'provenance.json': 'application/json',
  /** Only for DICOM studies: the label map as DICOM SEG referencing the source series. */
  'seg.dcm': 'application/dicom',
} as const;
export type ResultFile = keyof typeof RESULT_FILES;

export function isResultFile(name: string): name is ResultFile {
  return Object.hasOwn(RESULT_FILES, name);
}

export function publicJob(job: JobRecord) {
  return {
    ...job,
    links: {
      self: `/api/jobs/${job.id}`,
      events: `/api/jobs/${job.id}/events`,
      study: `/api/studies/${job.study}`,
      ...(job.status === 'succeeded' ? { results: Object.fromEntries(Object.keys(RESULT_FILES).map((f) => [f, `/api/jobs/${job.id}/results/${f}`])) } : {}),
    },
  };
}
