/**
 * The OpenAPI 3.1 description of the whole API, in one place. Request bodies come from the zod schemas the routes
 * validate with (z.toJSONSchema, JSON Schema 2020-12 as OpenAPI 3.1 uses), so the two cannot drift; a test checks
 * that every route express serves is described here.
 */
import { z } from 'zod';
import { ID_PATTERN_SOURCE } from './ids.js';
import { JOB_STAGES, JOB_STATUSES, jobOptionsSchema } from './jobs/types.js';
import { jobRequestSchema } from './schemas.js';
import { RESULT_FILES } from './views.js';

const ref = (name: string) => ({ $ref: `#/components/schemas/${name}` });
const json = (schema: object, description: string) => ({ description, content: { 'application/json': { schema } } });
const error = (description: string) => json(ref('Error'), description);
const idParam = (kind: 'study' | 'job') => ({ name: 'id', in: 'path', required: true, description: `${kind} id`, schema: { type: 'string', pattern: ID_PATTERN_SOURCE[kind] } });
const AUTH = { '401': error('missing or wrong bearer token (when the server has one)') };
const BAD_ID = { '400': error('malformed id (INVALID_ID)') };
const PUBLIC = { security: [] };

const jobSchema = {
  type: 'object',
  required: ['id', 'study', 'model', 'options', 'status', 'stage', 'progress', 'etaSeconds', 'error', 'attempts', 'createdAt', 'startedAt', 'finishedAt', 'links'],
  properties: {
    id: { type: 'string', pattern: ID_PATTERN_SOURCE.job },
    study: { type: 'string', pattern: ID_PATTERN_SOURCE.study },
    model: { type: 'string' },
    options: ref('JobOptions'),
    status: { enum: [...JOB_STATUSES] },
    stage: { enum: [...JOB_STAGES, null], description: 'starting (loading scan and model), the pipeline stages, writing (statistics and files), done' },
    progress: { type: 'number', minimum: 0, maximum: 1 },
    etaSeconds: { type: ['number', 'null'], description: 'seconds left, extrapolated; null until there is enough progress' },
    error: { oneOf: [{ type: 'null' }, ref('JobError')], description: 'why the job failed: a medseg error code and message' },
    attempts: { type: 'integer', description: 'times the job was started (a server restart during a job starts it again)' },
    createdAt: { type: 'string', format: 'date-time' },
    startedAt: { type: ['string', 'null'], format: 'date-time' },
    finishedAt: { type: ['string', 'null'], format: 'date-time' },
    worker: { type: ['string', 'null'], description: 'with the Redis queue (`medseg serve --redis`): the `medseg worker` running or last running the job, as host:pid; absent with the local queue' },
    links: { type: 'object', description: 'self, events, study, and results (file → URL) once succeeded', additionalProperties: true },
  },
};

export function buildOpenApi() {
  return {
    openapi: '3.1.0',
    info: {
      title: 'medseg service',
      version: '1',
      description:
        'Upload a study (NIfTI file, DICOM files, or a zip of them), run a segmentation job on it with a model, follow its progress (polling or server-sent events), and fetch the label map, statistics and provenance. Errors are `{"error": {"code", "message"}}`.',
    },
    security: [{ bearer: [] }],
    paths: {
      '/healthz': { get: { summary: 'Liveness: the process answers', ...PUBLIC, responses: { '200': json({ type: 'object' }, 'alive') } } },
      '/readyz': { get: { summary: 'Readiness: the job queue is open (503 while starting or shutting down)', ...PUBLIC, responses: { '200': json({ type: 'object' }, 'ready, with job counts by status'), '503': json({ type: 'object' }, 'not ready') } } },
      '/api/openapi.json': { get: { summary: 'This description', ...PUBLIC, responses: { '200': json({ type: 'object' }, 'OpenAPI 3.1') } } },
      '/api/studies': {
        post: {
          summary: 'Upload a study',
          description: 'multipart/form-data with one or more file parts (any field names): one NIfTI file (.nii/.nii.gz), DICOM files of one series, or zips of them (opened one level deep). Streamed to disk with per-file and total limits; zips are checked for unsafe paths (zip-slip), entry count, expanded size and compression ratio. Client file names are not kept.',
          requestBody: { required: true, content: { 'multipart/form-data': { schema: { type: 'object', additionalProperties: { type: 'string', contentMediaType: 'application/octet-stream' } } } } },
          responses: {
            '201': json(ref('Study'), 'stored (Location: the study)'),
            '400': error('malformed multipart, no file, unsafe or corrupt zip (UNSAFE_ZIP, INVALID_ZIP), several NIfTI files or NIfTI mixed with DICOM (MIXED_UPLOAD)'),
            '413': error('a file, the upload, the file count or a zip over its limits (PAYLOAD_TOO_LARGE, TOO_MANY_FILES, ZIP_BOMB)'),
            '415': error('not multipart, or no NIfTI/DICOM file in it'),
            ...AUTH,
          },
        },
      },
      '/api/studies/{id}': { get: { summary: 'A study', parameters: [idParam('study')], responses: { '200': json(ref('Study'), 'the study'), '404': error('no such study'), ...BAD_ID, ...AUTH } } },
      '/api/studies/{id}/image.nii.gz': {
        get: {
          summary: 'The scan as NIfTI-1 (for a viewer): converted on first request, values exact, then cached',
          parameters: [idParam('study')],
          responses: { '200': { description: 'gzipped NIfTI-1', content: { 'application/gzip': {} } }, '404': error('no such study'), '415': error('unsupported data'), '422': error('the files do not form a readable scan (medseg error code)'), ...BAD_ID, ...AUTH },
        },
      },
      '/api/models': { get: { summary: 'Models on this server (cards in the models folder)', responses: { '200': json({ type: 'object', properties: { models: { type: 'array', items: ref('Model') } } }, 'the models'), ...AUTH } } },
      '/api/jobs': {
        get: {
          summary: 'The most recent jobs, newest first',
          parameters: [{ name: 'limit', in: 'query', required: false, schema: { type: 'integer', minimum: 1, maximum: 200, default: 20 } }],
          responses: { '200': json({ type: 'object', required: ['jobs'], properties: { jobs: { type: 'array', items: ref('Job') } } }, 'the jobs'), '400': error('bad limit (BAD_REQUEST)'), ...AUTH },
        },
        post: {
          summary: 'Segment a study with a model (runs in the background)',
          requestBody: { required: true, content: { 'application/json': { schema: ref('JobRequest') } } },
          responses: { '202': json(ref('Job'), 'accepted and stored durably (Location: the job)'), '400': error('invalid body (BAD_REQUEST, INVALID_JSON)'), '404': error('no such study or model'), '409': error('the model has no ONNX file installed'), '415': error('not JSON'), '503': error('shutting down'), ...AUTH },
        },
      },
      '/api/jobs/{id}': { get: { summary: 'Job status, stage, progress, time left, error', parameters: [idParam('job')], responses: { '200': json(ref('Job'), 'the job'), '404': error('no such job'), ...BAD_ID, ...AUTH } } },
      '/api/jobs/{id}/events': {
        get: {
          summary: 'Server-sent events: `event: job` with the Job as data, now and on every change; the stream ends when the job is finished',
          parameters: [idParam('job')],
          responses: { '200': { description: 'text/event-stream of Job objects', content: { 'text/event-stream': { schema: { type: 'string' } } } }, '404': error('no such job'), ...BAD_ID, ...AUTH },
        },
      },
      '/api/jobs/{id}/cancel': {
        post: {
          summary: 'Cancel a queued or running job (answers once it has stopped)',
          parameters: [idParam('job')],
          responses: { '200': json(ref('Job'), 'the job, now cancelled'), '404': error('no such job'), '409': error('already finished'), ...BAD_ID, ...AUTH },
        },
      },
      '/api/jobs/{id}/results/{file}': {
        get: {
          summary: "A result file of a succeeded job (as `medseg segment` writes them)",
          parameters: [idParam('job'), { name: 'file', in: 'path', required: true, schema: { enum: Object.keys(RESULT_FILES) } }],
          responses: {
            '200': { description: 'the file', content: Object.fromEntries(Object.values(RESULT_FILES).map((t) => [t.split(';')[0]!, {}])) },
            '404': error('no such job or file, or the job failed or was cancelled'),
            '409': error('the job is still queued or running (NOT_READY)'),
            ...BAD_ID,
            ...AUTH,
          },
        },
      },
    },
    components: {
      securitySchemes: { bearer: { type: 'http', scheme: 'bearer', description: 'the token the server was started with (--token or MEDSEG_TOKEN)' } },
      schemas: {
        Error: { type: 'object', required: ['error'], properties: { error: ref('JobError') } },
        JobError: { type: 'object', required: ['code', 'message'], properties: { code: { type: 'string', description: 'stable code: a medseg SegErrorCode or an HTTP-level one' }, message: { type: 'string' } } },
        Study: {
          type: 'object',
          required: ['id', 'createdAt', 'format', 'files', 'bytes', 'image'],
          properties: { id: { type: 'string', pattern: ID_PATTERN_SOURCE.study }, createdAt: { type: 'string', format: 'date-time' }, format: { enum: ['nifti', 'dicom'] }, files: { type: 'integer' }, bytes: { type: 'integer' }, image: { type: 'string', description: 'URL of the scan as NIfTI' } },
        },
        Model: {
          type: 'object',
          required: ['name', 'version', 'mode', 'labels', 'available'],
          properties: {
            name: { type: 'string' },
            version: { type: 'string' },
            description: { type: 'string' },
            mode: { enum: ['slice', 'sliding-window', 'whole'] },
            labels: { type: 'array', items: { type: 'object', required: ['value', 'name'], properties: { value: { type: 'integer' }, name: { type: 'string' }, color: { type: 'array', items: { type: 'integer' } } } } },
            available: { type: 'boolean', description: 'whether the ONNX file is installed' },
          },
        },
        JobRequest: toSchema(jobRequestSchema),
        JobOptions: toSchema(jobOptionsSchema),
        Job: jobSchema,
      },
    },
  };
}

function toSchema(schema: z.ZodType): Record<string, unknown> {
  const { $schema: _drop, ...rest } = z.toJSONSchema(schema, { io: 'input', target: 'draft-2020-12' }) as Record<string, unknown>;
  return rest;
}

/** Express's `/api/jobs/:id` as OpenAPI's `/api/jobs/{id}`. */
export function expressPathToOpenApi(p: string): string {
  return p.replace(/:([A-Za-z0-9_]+)/g, '{$1}');
}
