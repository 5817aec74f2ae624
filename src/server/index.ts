/** medseg's service: `import { startServer } from 'medseg/server'` (see README.md in this folder). */
export { createApp, startServer, pathSanitizer } from './app.js';
export type { MedsegApp, MedsegServer } from './app.js';
export { resolveServerOptions, defaultServerOptions, isLoopbackHost, ServerConfigError, DEFAULT_LIMITS, jsonLineLogger } from './options.js';
export type { ServerOptions, UploadLimits, Logger } from './options.js';
export { LocalJobQueue } from './jobs/local-queue.js';
export { runInChild } from './jobs/run-in-child.js';
export type { JobQueue, JobRecord, JobSpec, JobStatus, JobStage, JobOptions, JobListener } from './jobs/types.js';
export type { ChildTask } from './jobs/child-protocol.js';
export { buildOpenApi } from './openapi.js';
