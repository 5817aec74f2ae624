/** Request bodies, validated with zod (the OpenAPI description is generated from the same schemas). */
import { z } from 'zod';
import { ID_PATTERN } from './ids.js';
import { jobOptionsSchema } from './jobs/types.js';
import { MODEL_NAME_PATTERN } from './models.js';

export const jobRequestSchema = z.strictObject({
  study: z.string().regex(ID_PATTERN.study, 'must be a study id ("st_" and 32 hex digits) as returned by POST /api/studies'),
  model: z.string().regex(MODEL_NAME_PATTERN, 'must be a model name as listed by GET /api/models'),
  options: jobOptionsSchema.default({}),
});

/** "options.tta: expected boolean, received string; model: …" */
export function describeIssues(error: z.ZodError): string {
  return error.issues.map((i) => `${i.path.length ? i.path.join('.') : '(body)'}: ${i.message}`).join('; ');
}

