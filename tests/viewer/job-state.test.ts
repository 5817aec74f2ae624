/** The upload-and-job progress state machine and its texts. */
import { describe, expect, it } from 'vitest';
import type { JobJson } from '../../viewer/src/core/api-types.js';
import { describeJobView, formatDuration, isFinished, reduceJobView, type JobEvent, type JobView } from '../../viewer/src/core/job-state.js';

function job(over: Partial<JobJson> = {}): JobJson {
  return {
    id: 'job_1',
    study: 'st_1',
    model: 'pointwise-4mm',
    options: {},
    status: 'running',
    stage: 'inference',
    progress: 0.4,
    etaSeconds: 75,
    error: null,
    attempts: 1,
    createdAt: '2026-11-21T00:00:00.000Z',
    startedAt: '2026-11-21T00:00:01.000Z',
    finishedAt: null,
    links: { self: '/api/jobs/job_1', events: '/api/jobs/job_1/events', study: '/api/studies/st_1' },
    ...over,
  };
}

const run = (events: JobEvent[], from: JobView = { phase: 'idle' }) => events.reduce(reduceJobView, from);

describe('job progress', () => {
  it('goes from the upload through the job to success', () => {
    const views: JobView['phase'][] = [];
    let v: JobView = { phase: 'idle' };
    for (const e of [
      { type: 'upload-started', totalBytes: 1000 },
      { type: 'upload-progress', loadedBytes: 500, totalBytes: 1000 },
      { type: 'upload-done', studyId: 'st_1' },
      { type: 'job', job: job({ status: 'queued', stage: null, progress: 0 }) },
      { type: 'job', job: job() },
      { type: 'job', job: job({ status: 'succeeded', stage: 'done', progress: 1 }) },
    ] satisfies JobEvent[]) {
      v = reduceJobView(v, e);
      views.push(v.phase);
    }
    expect(views).toEqual(['uploading', 'uploading', 'submitting', 'queued', 'running', 'succeeded']);
    expect(isFinished(v)).toBe(true);
  });

  it('ignores stale updates: no progress backwards within an attempt, nothing after the end', () => {
    const running = run([{ type: 'job', job: job({ progress: 0.6 }) }, { type: 'job', job: job({ progress: 0.5 }) }]);
    expect(running.phase === 'running' && running.job.progress).toBe(0.6);
    // A rerun after a server crash starts again from 0: a new attempt may go back.
    const rerun = run([{ type: 'job', job: job({ progress: 0.05, attempts: 2 }) }], running);
    expect(rerun.phase === 'running' && rerun.job.progress).toBe(0.05);
    const done = run([{ type: 'job', job: job({ status: 'succeeded', progress: 1 }) }, { type: 'job', job: job({ progress: 0.9 }) }], running);
    expect(done.phase).toBe('succeeded');
    const uploading = run([{ type: 'upload-started', totalBytes: 10 }, { type: 'upload-progress', loadedBytes: 8, totalBytes: 10 }, { type: 'upload-progress', loadedBytes: 4, totalBytes: 10 }]);
    expect(uploading).toEqual({ phase: 'uploading', loadedBytes: 8, totalBytes: 10 });
  });

  it('shows a failed job with its own error code and message', () => {
    const v = run([{ type: 'job', job: job({ status: 'failed', error: { code: 'MODEL_OUTPUT', message: 'the model output has 3 channels, the card says 9' } }) }]);
    expect(describeJobView(v)).toEqual({ text: 'The job failed (MODEL_OUTPUT): the model output has 3 channels, the card says 9', progress: undefined });
  });

  it('describes each phase in a line, with the stage, percentage and time left', () => {
    expect(describeJobView(run([{ type: 'upload-started', totalBytes: 4 * 1024 * 1024 }, { type: 'upload-progress', loadedBytes: 1024 * 1024, totalBytes: 4 * 1024 * 1024 }])).text).toBe('Uploading: 25 % (1.0 MB of 4.0 MB)');
    expect(describeJobView(run([{ type: 'job', job: job() }]))).toEqual({ text: 'Running: running the model, 40 % — about 1 min left', progress: 0.4 });
    expect(describeJobView(run([{ type: 'job', job: job({ stage: 'starting', progress: 0.01, etaSeconds: null, attempts: 2 }) }])).text).toBe('Running: loading the scan and model, 1 % (attempt 2)');
    expect(describeJobView(run([{ type: 'error', code: 'UNSUPPORTED_MEDIA_TYPE', message: 'not a scan' }])).text).toBe('not a scan (UNSUPPORTED_MEDIA_TYPE)');
  });

  it('formats durations', () => {
    expect([formatDuration(44.6), formatDuration(75), formatDuration(3900)]).toEqual(['45 s', '1 min', '1 h 5 min']);
  });
});
