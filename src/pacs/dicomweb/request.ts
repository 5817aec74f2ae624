/**
 * One DICOMweb HTTP exchange with timeouts, retries and typed errors.
 *
 * Why node:http/https and not the global fetch: a custom CA for fetch needs an undici `Agent({ connect: { ca } })`
 * as its dispatcher, and Node does not expose its bundled undici as an importable module, so that would mean
 * adding the `undici` npm package (a second copy of the HTTP stack, whose version must match Node's fetch for the
 * dispatcher to be accepted). node:https takes `ca` directly, streams request bodies from disk with backpressure
 * (fetch needs `duplex: 'half'` and web streams for that), and gives the response as a Node Readable whose socket
 * timeout also covers stalls in the middle of a large body.
 */
import http from 'node:http';
import https from 'node:https';
import type { Readable } from 'node:stream';
import { SegError } from '../../errors.js';
import { MultipartError } from './multipart.js';
import { isRetryableStatus, isTransientErrorCode, parseRetryAfterMs, retryDelayMs, sleep, type RetryOptions } from './retry.js';

export type DicomWebAuth = { type: 'basic'; username: string; password: string } | { type: 'bearer'; token: string };

/** Everything a request needs from the client; built once per client. */
export interface Connection {
  /** Idle timeout: no connection, no response headers, or no body bytes for this long fails the attempt. */
  timeoutMs: number;
  retry: Required<{ [K in keyof RetryOptions]-?: NonNullable<RetryOptions[K]> }>;
  httpAgent: http.Agent;
  httpsAgent: https.Agent;
  auth?: DicomWebAuth | undefined;
  signal?: AbortSignal | undefined;
  headers?: Readonly<Record<string, string>> | undefined;
  /** For tests: the jitter source. */
  random?: (() => number) | undefined;
}

export interface RequestSpec {
  method: 'GET' | 'POST';
  url: URL;
  headers?: Readonly<Record<string, string>>;
  /** Request body, created afresh for each attempt (so a retry re-reads the files). */
  body?: () => { stream: Readable; length: number };
  /** Non-2xx statuses whose body `consume` handles itself (STOW-RS reports failures in a 400/409 body). */
  acceptStatus?: (status: number, contentType: string | undefined) => boolean;
}

/** Why one attempt failed; decides retrying and the final message. */
type AttemptFailure =
  | { kind: 'status'; status: number; statusText: string; explanation: string; retryAfterMs?: number | undefined }
  | { kind: 'timeout'; ms: number }
  | { kind: 'transport'; code: string; message: string }
  | { kind: 'truncated'; message: string };

class AttemptTimeout extends Error {
  override name = 'AttemptTimeout';
}

/** Statuses for which the remote error code is REMOTE_AUTH. */
const AUTH_STATUSES = new Set([401, 403, 407]);

/**
 * Sends `spec`, handing a successful response to `consume`, which must read it to the end. Retries transient
 * failures (see retry.ts), including a body that breaks off or stalls while `consume` reads it.
 * @throws SegError REMOTE_REJECTED (4xx), REMOTE_AUTH (401/403), REMOTE_UNAVAILABLE (network, timeouts, 5xx after
 *   retries, TLS trust), CANCELLED (signal), or whatever `consume` throws that is not a transport failure.
 */
export async function requestWithRetries<T>(
  conn: Connection,
  spec: RequestSpec,
  consume: (res: http.IncomingMessage) => Promise<T>,
): Promise<T> {
  const started = Date.now();
  const maxAttempts = conn.retry.retries + 1;
  for (let attempt = 1; ; attempt++) {
    const failure = await attemptOnce(conn, spec, consume);
    if (failure.ok) return failure.value;
    const f = failure.failure;
    const retryable = f.kind !== 'status' || isRetryableStatus(f.status);
    if (!retryable || attempt >= maxAttempts) {
      throw remoteError(spec, f, { attempts: attempt, elapsedMs: Date.now() - started, retryable });
    }
    const wait = retryDelayMs(attempt, conn.retry, f.kind === 'status' ? f.retryAfterMs : undefined, conn.random);
    try {
      await sleep(wait, conn.signal);
    } catch (cause) {
      throw cancelled(spec, cause);
    }
  }
}

async function attemptOnce<T>(
  conn: Connection,
  spec: RequestSpec,
  consume: (res: http.IncomingMessage) => Promise<T>,
): Promise<{ ok: true; value: T } | { ok: false; failure: AttemptFailure }> {
  let res: http.IncomingMessage;
  const state = { timedOut: false };
  try {
    res = await send(conn, spec, state);
  } catch (e) {
    return { ok: false, failure: classifyTransport(e, spec, conn, state.timedOut) };
  }
  const status = res.statusCode ?? 0;
  const contentType = res.headers['content-type'];
  if ((status < 200 || status > 299) && !spec.acceptStatus?.(status, contentType)) {
    let explanation = '';
    try {
      explanation = explain(await readText(res, 16 * 1024), contentType);
    } catch {
      // The explanation is best effort: the status alone decides.
    }
    const retryAfterMs = parseRetryAfterMs(header(res.headers['retry-after']));
    return { ok: false, failure: { kind: 'status', status, statusText: res.statusMessage ?? '', explanation, retryAfterMs } };
  }
  try {
    return { ok: true, value: await consume(res) };
  } catch (e) {
    if (e instanceof MultipartError && e.truncated) return { ok: false, failure: { kind: 'truncated', message: e.message } };
    if (e instanceof SegError) throw e;
    return { ok: false, failure: classifyTransport(e, spec, conn, state.timedOut) };
  } finally {
    res.destroy();
  }
}

/** Starts the request and resolves when the response headers arrive. */
function send(conn: Connection, spec: RequestSpec, state: { timedOut: boolean }): Promise<http.IncomingMessage> {
  const isHttps = spec.url.protocol === 'https:';
  const body = spec.body?.();
  const headers: Record<string, string> = { ...conn.headers, ...spec.headers };
  if (conn.auth) headers['authorization'] = authorizationHeader(conn.auth);
  if (body) headers['content-length'] = String(body.length);
  const options: https.RequestOptions = {
    method: spec.method,
    headers,
    agent: isHttps ? conn.httpsAgent : conn.httpAgent,
    ...(conn.signal ? { signal: conn.signal } : {}),
  };
  return new Promise((resolve, reject) => {
    const req = (isHttps ? https : http).request(spec.url, options, resolve);
    req.setTimeout(conn.timeoutMs, () => {
      state.timedOut = true;
      req.destroy(new AttemptTimeout(`no activity for ${conn.timeoutMs} ms`));
    });
    req.on('error', (e) => {
      body?.stream.destroy();
      reject(e);
    });
    if (body) {
      body.stream.on('error', (e) => req.destroy(e));
      body.stream.pipe(req);
    } else req.end();
  });
}

function classifyTransport(e: unknown, spec: RequestSpec, conn: Connection, timedOut: boolean): AttemptFailure {
  if (conn.signal?.aborted) throw cancelled(spec, e);
  if (e instanceof SegError) throw e; // e.g. a file that could not be read while sending it
  if (timedOut || e instanceof AttemptTimeout) return { kind: 'timeout', ms: conn.timeoutMs };
  const err = e as NodeJS.ErrnoException;
  const code = err.code ?? '';
  if (isTransientErrorCode(code) || err.message === 'aborted' || code === 'ERR_STREAM_PREMATURE_CLOSE') {
    return { kind: 'transport', code: code || 'ECONNRESET', message: err.message };
  }
  // Not transient (TLS trust, unknown host, bad URL, a local file error in the body): fail now, with the reason.
  throw transportError(spec, code, err.message, e);
}

export function authorizationHeader(auth: DicomWebAuth): string {
  if (auth.type === 'bearer') return `Bearer ${auth.token}`;
  return `Basic ${Buffer.from(`${auth.username}:${auth.password}`, 'utf8').toString('base64')}`;
}

function header(v: string | string[] | undefined): string | undefined {
  return Array.isArray(v) ? v[0] : v;
}

/** Reads at most `limit` bytes of a response as UTF-8 and discards the rest. */
export async function readText(res: Readable, limit: number): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of res) {
    const b = chunk as Buffer;
    if (size < limit) chunks.push(b.subarray(0, limit - size));
    size += b.length;
  }
  return Buffer.concat(chunks).toString('utf8');
}

/** The server's own words from an error body: Orthanc's JSON {Message, Details}, or a text/HTML body condensed. */
export function explain(body: string, contentType: string | undefined): string {
  const text = body.trim();
  if (text === '') return '';
  if (/json/i.test(contentType ?? '') || text.startsWith('{')) {
    try {
      const j = JSON.parse(text) as Record<string, unknown>;
      const parts = [j['Message'], j['Details'], j['message'], j['error'], j['detail']].filter(
        (v): v is string => typeof v === 'string' && v !== '',
      );
      if (parts.length > 0) return [...new Set(parts)].join(': ');
    } catch {
      // not JSON after all: fall through to the text
    }
  }
  const plain = /html/i.test(contentType ?? '') ? text.replace(/<[^>]*>/g, ' ') : text;
  const condensed = plain.replace(/\s+/g, ' ').trim();
  return condensed.length > 300 ? `${condensed.slice(0, 300)}…` : condensed;
}

/** Query parameter names whose values are secrets and never appear in messages. */
const SECRET_PARAM = /token|key|pass|secret|auth|sig/i;

/** The URL as it may appear in messages and logs: no user info, secret query values replaced by "***". */
export function redactUrl(url: URL | string): string {
  const u = new URL(url.toString());
  u.username = '';
  u.password = '';
  for (const name of [...new Set(u.searchParams.keys())]) {
    if (SECRET_PARAM.test(name)) u.searchParams.set(name, '***');
  }
  return u.toString().replace(/%2A%2A%2A/g, '***');
}

function where(spec: RequestSpec): string {
  return `${spec.method} ${redactUrl(spec.url)}`;
}

function tries(ctx: { attempts: number; elapsedMs: number }): string {
  return ctx.attempts > 1 ? ` after ${ctx.attempts} attempts in ${(ctx.elapsedMs / 1000).toFixed(1)} s` : '';
}

function remoteError(
  spec: RequestSpec,
  f: AttemptFailure,
  ctx: { attempts: number; elapsedMs: number; retryable: boolean },
): SegError {
  const w = where(spec);
  switch (f.kind) {
    case 'status': {
      const said = f.explanation ? ` (server: "${f.explanation}")` : '';
      const status = `HTTP ${f.status}${f.statusText ? ` ${f.statusText}` : ''}`;
      if (AUTH_STATUSES.has(f.status)) {
        const hint =
          f.status === 403
            ? 'the credentials were accepted but lack permission for this resource'
            : 'check the user name and password (or bearer token) configured for this server';
        return new SegError('REMOTE_AUTH', `${w}: ${status}${said}: authentication failed; ${hint}.`);
      }
      if (!ctx.retryable) {
        const hint =
          f.status === 404
            ? ' Check the DICOMweb root URL (for Orthanc: http://host:8042/dicom-web) and the UIDs.'
            : f.status === 406 || f.status === 415
              ? ' The server does not offer this media type or transfer syntax.'
              : '';
        return new SegError('REMOTE_REJECTED', `${w}: ${status}${said}: the server rejected the request.${hint}`);
      }
      return new SegError(
        'REMOTE_UNAVAILABLE',
        `${w}: ${status}${said}${tries(ctx)}; the server kept failing: check that it is running and healthy, then retry.`,
      );
    }
    case 'timeout':
      return new SegError(
        'REMOTE_UNAVAILABLE',
        `${w}: no response within ${f.ms} ms (timeoutMs)${tries(ctx)}; the server is unreachable or too slow: check it, or raise timeoutMs.`,
      );
    case 'transport':
      return new SegError(
        'REMOTE_UNAVAILABLE',
        `${w}: ${describeCode(f.code, f.message)}${tries(ctx)}; check that the server is running and that the URL (host, port, http/https) is right.`,
      );
    case 'truncated':
      return new SegError('REMOTE_UNAVAILABLE', `${w}: ${f.message}${tries(ctx)}; the connection broke off during the transfer.`);
  }
}

const TLS_TRUST = /CERT|SELF_SIGNED|UNABLE_TO_VERIFY|UNABLE_TO_GET_ISSUER/;

function transportError(spec: RequestSpec, code: string, message: string, cause: unknown): SegError {
  const w = where(spec);
  if (TLS_TRUST.test(code)) {
    return new SegError(
      'REMOTE_UNAVAILABLE',
      `${w}: the server's TLS certificate is not trusted (${code}: ${message}). Pass caFile (CLI: --ca-file) with the ` +
        `PEM certificate of the CA that signed it, or use the host name the certificate was issued for.`,
      { cause },
    );
  }
  if (code === 'ENOTFOUND') {
    return new SegError('REMOTE_UNAVAILABLE', `${w}: host ${spec.url.hostname} not found (ENOTFOUND); check the URL.`, { cause });
  }
  if (code === 'EPROTO' || /wrong version number|packet length too long/i.test(message)) {
    return new SegError(
      'REMOTE_UNAVAILABLE',
      `${w}: TLS handshake failed (${message}); the server may speak plain http (or https where http was given): check the URL scheme.`,
      { cause },
    );
  }
  return new SegError('REMOTE_UNAVAILABLE', `${w}: ${describeCode(code, message)}.`, { cause });
}

function describeCode(code: string, message: string): string {
  const words: Record<string, string> = {
    ECONNREFUSED: 'connection refused',
    ECONNRESET: 'connection reset',
    EPIPE: 'connection closed while sending',
    ETIMEDOUT: 'connection timed out',
    EHOSTUNREACH: 'host unreachable',
    ENETUNREACH: 'network unreachable',
  };
  const w = words[code];
  return w ? `${w} (${code})` : `${message}${code ? ` (${code})` : ''}`;
}

function cancelled(spec: RequestSpec, cause: unknown): SegError {
  return new SegError('CANCELLED', `${where(spec)}: cancelled`, { cause });
}
