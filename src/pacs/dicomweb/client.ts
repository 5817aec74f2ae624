/**
 * DICOMweb client: QIDO-RS search, WADO-RS retrieval (instances streamed to disk) and metadata, STOW-RS storage.
 * Every request has an idle timeout, retries transient failures with backoff, and fails with a SegError whose message
 * names the method, the URL (never credentials), the status and the server's explanation.
 */
import { readFileSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import http from 'node:http';
import https from 'node:https';
import { InputFileError, SegError } from '../../errors.js';
import { isDicomJsonDataset, type DicomJsonDataset } from './dicom-json.js';
import { isDicomUid } from './part10-meta.js';
import { explain, readText, redactUrl, requestWithRetries, type Connection, type DicomWebAuth } from './request.js';
import { DEFAULT_RETRY, type RetryOptions } from './retry.js';
import { saveMultipartParts, type RetrievedFile } from './save-parts.js';
import {
  StowError,
  describeStowFailures,
  describeStowFiles,
  newBoundary,
  parseStowResponse,
  stowBatches,
  stowBody,
  stowBodyLength,
  stowResponseDataset,
  type StowResult,
} from './stow.js';

/** How to talk to a server: everything but its URL (shared with the Orthanc REST client of `pacs watch`). */
export interface ConnectionOptions {
  auth?: DicomWebAuth | undefined;
  /** PEM file of the CA (or CAs) that signed an https server's certificate; the system CAs are not used then. */
  caFile?: string | undefined;
  /** Idle timeout per attempt: connecting, waiting for the response, and any pause inside a body (default 30 000). */
  timeoutMs?: number | undefined;
  retry?: RetryOptions | undefined;
  /** Extra headers sent with every request. */
  headers?: Readonly<Record<string, string>> | undefined;
  /** Cancels requests and backoff waits (then SegError CANCELLED). */
  signal?: AbortSignal | undefined;
  /** Jitter source for retries (tests). */
  random?: (() => number) | undefined;
}

export interface DicomWebClientOptions extends ConnectionOptions {
  /** The DICOMweb root, e.g. `http://127.0.0.1:8042/dicom-web` (Orthanc). `user:password@` in it becomes basic auth. */
  url: string;
}

/** QIDO-RS query: attribute keywords or tags to values; arrays repeat the parameter (e.g. includefield). */
export type QidoQuery = Readonly<Record<string, string | number | boolean | readonly (string | number)[] | undefined>>;

/** What to retrieve: a study, one of its series, or one instance. */
export interface WadoTarget {
  study: string;
  series?: string | undefined;
  instance?: string | undefined;
}

export interface RetrieveOptions {
  /**
   * Transfer syntax asked for (`transfer-syntax` parameter of the Accept header). Default `*`: as stored, so the
   * server does not transcode (and cannot fail to) and compressed series stay small; medseg decodes every common
   * syntax. Pass e.g. `1.2.840.10008.1.2.1` for explicit VR little endian.
   */
  transferSyntax?: string | undefined;
}

export interface StoreOptions {
  /** Store under `/studies/{study}` (the server then refuses instances of other studies). */
  study?: string | undefined;
  /** Files are sent in requests of at most this many bytes of DICOM data (default 256 MiB; a larger file goes alone). */
  maxRequestBytes?: number | undefined;
}

const DEFAULT_TIMEOUT_MS = 30_000;
const MAX_JSON_BYTES = 256 * 1024 * 1024;

export class DicomWebClient {
  /** The root without credentials, as used in messages. */
  readonly root: string;
  private readonly base: URL;
  private readonly conn: Connection;

  /**
   * @throws TypeError for a URL that is not http(s) or credentials given twice; RangeError for bad timeouts or retry
   *   counts; InputFileError for an unreadable caFile.
   */
  constructor(options: DicomWebClientOptions) {
    const { base, root, conn } = createConnection(options);
    this.base = base;
    this.root = root;
    this.conn = conn;
  }

  /** QIDO-RS `GET {root}/studies?…`. */
  searchStudies(query: QidoQuery = {}): Promise<DicomJsonDataset[]> {
    return this.qido(['studies'], query);
  }

  /** QIDO-RS `GET {root}/studies/{study}/series?…`, or `{root}/series?…` across studies when `study` is undefined. */
  searchSeries(study?: string, query: QidoQuery = {}): Promise<DicomJsonDataset[]> {
    return this.qido(study === undefined ? ['series'] : ['studies', uid(study), 'series'], query);
  }

  /** QIDO-RS instances of a series (`/studies/{s}/series/{se}/instances`) or of a study (`/studies/{s}/instances`). */
  searchInstances(study: string, series?: string, query: QidoQuery = {}): Promise<DicomJsonDataset[]> {
    const path = ['studies', uid(study), ...(series === undefined ? [] : ['series', uid(series)]), 'instances'];
    return this.qido(path, query);
  }

  /**
   * WADO-RS: retrieves the study, series or instance as `multipart/related; type="application/dicom"` and writes each
   * instance to `outDir` (created if missing) as it arrives, named `<SOPInstanceUID>.dcm`.
   * A retry after a broken transfer rewrites the same names, so no instance is duplicated.
   * @throws SegError REMOTE_* (see requestWithRetries), WRITE_FAILED.
   */
  async retrieve(target: WadoTarget, outDir: string, options: RetrieveOptions = {}): Promise<RetrievedFile[]> {
    try {
      await mkdir(outDir, { recursive: true });
    } catch (cause) {
      throw new SegError('WRITE_FAILED', `${outDir}: output folder could not be created (${(cause as Error).message})`, { cause });
    }
    const ts = options.transferSyntax ?? '*';
    const url = this.url(targetPath(target));
    return requestWithRetries(
      this.conn,
      { method: 'GET', url, headers: { accept: `multipart/related; type="application/dicom"; transfer-syntax=${ts}` } },
      async (res) => {
        if (res.statusCode === 204) return [];
        try {
          return await saveMultipartParts(res, res.headers['content-type'], outDir);
        } catch (e) {
          if (e instanceof SegError && e.code === 'REMOTE_UNAVAILABLE') {
            throw new SegError('REMOTE_UNAVAILABLE', `GET ${redactUrl(url)}: ${e.message}`, { cause: e });
          }
          throw e;
        }
      },
    );
  }

  /** WADO-RS metadata (DICOM JSON, bulk data as BulkDataURI) of a study, series or instance. */
  retrieveMetadata(target: WadoTarget): Promise<DicomJsonDataset[]> {
    return this.getJson([...targetPath(target), 'metadata'], {});
  }

  /**
   * STOW-RS: stores the files, streamed from disk, in requests of at most maxRequestBytes. All requests are made
   * even when one reports failures; then a StowError lists what was and what was not stored.
   * Storing an instance the server already holds is harmless, so STOW requests are retried like the others.
   * @throws StowError (REMOTE_REJECTED) when any instance was not stored; SegError REMOTE_* for request failures;
   *   InputFileError for unreadable files.
   */
  async store(files: readonly string[], options: StoreOptions = {}): Promise<StowResult> {
    const described = await describeStowFiles(files);
    const maxBytes = options.maxRequestBytes ?? 256 * 1024 * 1024;
    const url = this.url(options.study === undefined ? ['studies'] : ['studies', uid(options.study)]);
    const result: StowResult = { stored: [], failed: [] };
    for (const batch of stowBatches(described, maxBytes)) {
      const boundary = newBoundary();
      const part = await requestWithRetries(
        this.conn,
        {
          method: 'POST',
          url,
          headers: {
            'content-type': `multipart/related; type="application/dicom"; boundary=${boundary}`,
            accept: 'application/dicom+json',
          },
          body: () => ({ stream: stowBody(batch, boundary), length: stowBodyLength(batch, boundary) }),
          // 400/409 (and 202) may carry the per-instance outcome in a Store Instances Response (Orthanc 1.10 sends
          // its 400 without a Content-Type, so the body decides).
          acceptStatus: (status) => status === 400 || status === 409,
        },
        async (res) => {
          const body = await readText(res, MAX_JSON_BYTES);
          const ds = stowResponseDataset(body);
          const status = res.statusCode ?? 0;
          if (ds === undefined && (status < 200 || status > 299)) {
            const said = explain(body, res.headers['content-type']);
            throw new SegError(
              'REMOTE_REJECTED',
              `POST ${redactUrl(url)}: HTTP ${status} ${res.statusMessage ?? ''}${said ? ` (server: "${said}")` : ''}: the server rejected the request.`,
            );
          }
          // A 2xx without a response data set: everything was stored, the server just did not say so in detail.
          if (ds === undefined) {
            return { stored: batch.map((f) => ({ sopInstanceUid: f.meta?.sopInstanceUid ?? '', file: f.path })), failed: [] };
          }
          return parseStowResponse(ds, batch);
        },
      );
      result.stored.push(...part.stored);
      result.failed.push(...part.failed);
    }
    if (result.failed.length > 0) {
      throw new StowError(`POST ${redactUrl(url)}: ${describeStowFailures(result, described.length)}.`, result);
    }
    return result;
  }

  /** Releases the client's sockets. */
  close(): void {
    this.conn.httpAgent.destroy();
    this.conn.httpsAgent.destroy();
  }

  private qido(path: readonly string[], query: QidoQuery): Promise<DicomJsonDataset[]> {
    return this.getJson(path, query);
  }

  private getJson(path: readonly string[], query: QidoQuery): Promise<DicomJsonDataset[]> {
    const url = this.url(path, query);
    return requestWithRetries(this.conn, { method: 'GET', url, headers: { accept: 'application/dicom+json' } }, async (res) => {
      const body = await readText(res, MAX_JSON_BYTES);
      if (res.statusCode === 204 || body.trim() === '') return [];
      let json: unknown;
      try {
        json = JSON.parse(body);
      } catch {
        throw new SegError('REMOTE_UNAVAILABLE', `GET ${redactUrl(url)}: expected DICOM JSON, got ${JSON.stringify(body.slice(0, 120))}`);
      }
      if (!Array.isArray(json) || !json.every(isDicomJsonDataset)) {
        throw new SegError('REMOTE_UNAVAILABLE', `GET ${redactUrl(url)}: expected a DICOM JSON array of data sets, got ${body.slice(0, 120)}`);
      }
      return json;
    });
  }

  private url(path: readonly string[], query: QidoQuery = {}): URL {
    const url = new URL(this.base.toString());
    url.pathname = `${url.pathname}/${path.map(encodeURIComponent).join('/')}`;
    for (const [key, value] of Object.entries(query)) {
      if (value === undefined) continue;
      for (const v of Array.isArray(value) ? value : [value]) url.searchParams.append(key, String(v));
    }
    return url;
  }
}

/**
 * The root URL (credentials moved out of it, trailing slashes removed) and the connection settings a DICOMweb or
 * Orthanc REST client needs: agents (TLS trust), authentication, timeout, retry policy.
 * @throws TypeError for a URL that is not http(s) or credentials given twice; RangeError for bad timeouts or retry
 *   counts; InputFileError for an unreadable caFile.
 */
export function createConnection(options: ConnectionOptions & { url: string }): { base: URL; root: string; conn: Connection } {
  const url = new URL(options.url);
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new TypeError(`server URL must be http:// or https://, got ${redactUrl(url)}`);
  }
  let auth = options.auth;
  if (url.username || url.password) {
    if (auth) throw new TypeError(`credentials given both in the URL and as auth for ${redactUrl(url)}: give them once`);
    auth = { type: 'basic', username: decodeURIComponent(url.username), password: decodeURIComponent(url.password) };
    url.username = '';
    url.password = '';
  }
  url.pathname = url.pathname.replace(/\/+$/, '');
  url.search = '';
  url.hash = '';
  const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  if (!(timeoutMs > 0)) throw new RangeError(`timeoutMs must be > 0, got ${timeoutMs}`);
  const retry = {
    retries: options.retry?.retries ?? DEFAULT_RETRY.retries,
    baseDelayMs: options.retry?.baseDelayMs ?? DEFAULT_RETRY.baseDelayMs,
    maxDelayMs: options.retry?.maxDelayMs ?? DEFAULT_RETRY.maxDelayMs,
  };
  if (!(Number.isInteger(retry.retries) && retry.retries >= 0)) throw new RangeError(`retry.retries must be an integer ≥ 0, got ${retry.retries}`);
  // No keep-alive: DICOMweb exchanges are few and large, and a pooled socket that the server closed in the meantime
  // (Orthanc's keep-alive is 1 s) would fail the next request with ECONNRESET and cost a retry.
  const conn: Connection = {
    timeoutMs,
    retry,
    httpAgent: new http.Agent({ keepAlive: false }),
    httpsAgent: new https.Agent({ keepAlive: false, ...(options.caFile ? { ca: readCa(options.caFile) } : {}) }),
    auth,
    signal: options.signal,
    headers: { 'user-agent': 'medseg-dicomweb', ...options.headers },
    random: options.random,
  };
  return { base: url, root: redactUrl(url), conn };
}

/** URL path segments of a WADO-RS target. @throws RangeError for a malformed UID or a missing series. */
export function targetPath(target: WadoTarget): string[] {
  if (target.instance !== undefined && target.series === undefined) {
    throw new RangeError(`an instance (${target.instance}) can only be retrieved with its series UID`);
  }
  return [
    'studies',
    uid(target.study),
    ...(target.series === undefined ? [] : ['series', uid(target.series)]),
    ...(target.instance === undefined ? [] : ['instances', uid(target.instance)]),
  ];
}

function uid(value: string): string {
  if (!isDicomUid(value)) throw new RangeError(`not a DICOM UID (digits and dots, at most 64 characters): ${JSON.stringify(value)}`);
  return value;
}

function readCa(file: string): Buffer {
  try {
    return readFileSync(file);
  } catch (cause) {
    throw new InputFileError('FILE_NOT_FOUND', file, `CA certificate file cannot be read (${(cause as Error).message})`, { cause });
  }
}
