/**
 * The medseg HTTP API as the page uses it (same origin; see src/server/README.md). Every call carries the bearer
 * token when one has been entered; a 401 asks the user for the token (once per failing call) and retries.
 * Job progress is read from GET /api/jobs/:id/events through fetch() and a stream reader, because EventSource
 * cannot send the Authorization header; when the stream breaks, it falls back to polling once a second.
 */
import type { ApiErrorJson, JobJson, ModelJson, StatsJson, StudyJson } from './core/api-types.js';
import { SseParser } from './core/sse.js';

export class ApiError extends Error {
  override name = 'ApiError';
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

export interface TokenStore {
  get(): string | undefined;
  /** Asks the user for a token after a 401; resolves true once one was entered, false when they cancelled. */
  ask(reason: string): Promise<boolean>;
}

const TERMINAL = new Set(['succeeded', 'failed', 'cancelled']);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function errorFrom(res: Response): Promise<ApiError> {
  let code = `HTTP_${res.status}`;
  let message = `${res.status} ${res.statusText}`.trim();
  try {
    const body = (await res.json()) as Partial<ApiErrorJson>;
    if (body.error) {
      code = body.error.code;
      message = body.error.message;
    }
  } catch {
    // Not JSON (a proxy's error page): keep the status line.
  }
  return new ApiError(res.status, code, message);
}

export class Api {
  constructor(
    private readonly tokens: TokenStore,
    private readonly base = '',
  ) {}

  private headers(extra?: HeadersInit): Headers {
    const h = new Headers(extra);
    const token = this.tokens.get();
    if (token) h.set('authorization', `Bearer ${token}`);
    return h;
  }

  /** fetch with the token; on 401 asks for a token and retries (until the user cancels). */
  async request(path: string, init: RequestInit = {}): Promise<Response> {
    for (;;) {
      const res = await fetch(this.base + path, { ...init, headers: this.headers(init.headers) });
      if (res.ok) return res;
      const err = await errorFrom(res);
      if (res.status === 401 && (await this.tokens.ask(err.message))) continue;
      throw err;
    }
  }

  async json<T>(path: string, init?: RequestInit): Promise<T> {
    return (await (await this.request(path, init)).json()) as T;
  }

  models(): Promise<ModelJson[]> {
    return this.json<{ models: ModelJson[] }>('/api/models').then((b) => b.models);
  }

  job(id: string): Promise<JobJson> {
    return this.json<JobJson>(`/api/jobs/${encodeURIComponent(id)}`);
  }

  /** Recent jobs, newest first. */
  jobs(limit: number): Promise<JobJson[]> {
    return this.json<{ jobs: JobJson[] }>(`/api/jobs?limit=${limit}`).then((b) => b.jobs);
  }

  stats(jobId: string): Promise<StatsJson> {
    return this.json<StatsJson>(`/api/jobs/${encodeURIComponent(jobId)}/results/stats.json`);
  }

  createJob(study: string, model: string): Promise<JobJson> {
    return this.json<JobJson>('/api/jobs', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ study, model, options: {} }) });
  }

  /** A file's bytes as a stream, with its length when the server sent one (for download progress). */
  async stream(path: string): Promise<{ body: ReadableStream<Uint8Array>; bytes: number | undefined }> {
    const res = await this.request(path);
    if (!res.body) throw new ApiError(res.status, 'EMPTY_BODY', `${path} answered without a body`);
    const length = Number(res.headers.get('content-length'));
    return { body: res.body, bytes: Number.isFinite(length) && length > 0 ? length : undefined };
  }

  /**
   * Uploads scan files as one study (multipart). XMLHttpRequest rather than fetch: only it reports upload progress.
   */
  uploadStudy(files: readonly File[], onProgress: (loaded: number, total: number) => void): Promise<StudyJson> {
    const attempt = () =>
      new Promise<StudyJson>((resolve, reject) => {
        const form = new FormData();
        for (const f of files) form.append('file', f, f.name);
        const xhr = new XMLHttpRequest();
        xhr.open('POST', `${this.base}/api/studies`);
        const token = this.tokens.get();
        if (token) xhr.setRequestHeader('authorization', `Bearer ${token}`);
        xhr.upload.onprogress = (e) => onProgress(e.loaded, e.lengthComputable ? e.total : files.reduce((a, f) => a + f.size, 0));
        xhr.onerror = () => reject(new ApiError(0, 'NETWORK_ERROR', 'the upload was interrupted (network error or the server went away)'));
        xhr.onload = () => {
          let body: unknown;
          try {
            body = JSON.parse(xhr.responseText);
          } catch {
            body = undefined;
          }
          if (xhr.status === 201) return resolve(body as StudyJson);
          const e = (body as Partial<ApiErrorJson> | undefined)?.error;
          reject(new ApiError(xhr.status, e?.code ?? `HTTP_${xhr.status}`, e?.message ?? `upload failed: ${xhr.status} ${xhr.statusText}`));
        };
        xhr.send(form);
      });
    const run = async (): Promise<StudyJson> => {
      try {
        return await attempt();
      } catch (e) {
        if (e instanceof ApiError && e.status === 401 && (await this.tokens.ask(e.message))) return run();
        throw e;
      }
    };
    return run();
  }

  /**
   * Follows a job until it is finished, calling `onJob` with every update; resolves with the finished job.
   * Server-sent events first; a broken stream (server restart, proxy timeout) is followed by polling.
   */
  async followJob(id: string, onJob: (job: JobJson) => void, signal?: AbortSignal): Promise<JobJson> {
    for (;;) {
      try {
        const res = await this.request(`/api/jobs/${encodeURIComponent(id)}/events`, { headers: { accept: 'text/event-stream' }, ...(signal ? { signal } : {}) });
        const reader = res.body!.getReader();
        const parser = new SseParser();
        for (;;) {
          const { done, value } = await reader.read();
          if (done) break;
          for (const ev of parser.push(value)) {
            if (ev.event !== 'job') continue;
            const job = JSON.parse(ev.data) as JobJson;
            onJob(job);
            if (TERMINAL.has(job.status)) {
              await reader.cancel();
              return job;
            }
          }
        }
      } catch (e) {
        if (signal?.aborted) throw e;
        if (e instanceof ApiError && e.status >= 400 && e.status < 500) throw e;
      }
      const job = await this.job(id);
      onJob(job);
      if (TERMINAL.has(job.status)) return job;
      await sleep(1000);
    }
  }
}
