/** How a job becomes the task its process runs: the study's input files and the model's card, resolved to paths. */
import type { ModelCatalog } from '../models.js';
import type { StudyStore } from '../studies.js';
import type { ChildTask } from './child-protocol.js';
import type { JobRecord } from './types.js';

/**
 * The `prepare` of a queue: the same for the local queue and for `medseg worker` (which resolves the study in the
 * shared data folder and the card in its own models folder).
 * @throws HttpError 404 when the study or model is missing here, 409 when the model's ONNX file is not installed.
 */
export function segmentTaskPreparer(studies: StudyStore, models: ModelCatalog): (job: JobRecord, out: string) => Promise<ChildTask> {
  return async (job, out) => {
    const study = await studies.get(job.study);
    const { cardFile } = await models.resolve(job.model);
    return { type: 'segment', inputs: studies.inputs(study), cardFile, out, options: job.options };
  };
}
