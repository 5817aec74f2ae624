/**
 * Retry policy for DICOMweb requests: what is transient, how long to wait. Pure functions; the loop lives in
 * request.ts. Times in milliseconds.
 */

export interface RetryOptions {
  /** Retries after the first attempt (default 3, so at most 4 attempts). 0 disables retrying. */
  retries?: number | undefined;
  /** Backoff before the first retry; doubles per retry (default 500 ms). */
  baseDelayMs?: number | undefined;
  /** Upper bound of any single wait, Retry-After included (default 30 000 ms). */
  maxDelayMs?: number | undefined;
}

export const DEFAULT_RETRY = { retries: 3, baseDelayMs: 500, maxDelayMs: 30_000 } as const;

/** HTTP statuses worth another attempt: request timeout, rate limit, and server-side failures. */
export function isRetryableStatus(status: number): boolean {
  return status === 408 || status === 429 || (status >= 500 && status <= 599 && status !== 501 && status !== 505);
}

/** Socket-level error codes that mean "try again": the server is restarting, overloaded or the path dropped. */
const TRANSIENT_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'EPIPE',
  'ETIMEDOUT',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENETDOWN',
  'ECONNABORTED',
  'UND_ERR_SOCKET',
]);

/** Whether a transport error code (Node's `err.code`) is transient. TLS trust failures and ENOTFOUND are not. */
export function isTransientErrorCode(code: string | undefined): boolean {
  return code !== undefined && TRANSIENT_CODES.has(code);
}

/**
 * Wait before retry number `retry` (1-based): exponential backoff with "equal jitter", i.e. half the exponential
 * delay plus a random share of the other half, so that clients that failed together do not retry together.
 * A server's Retry-After is honoured when longer. Never more than maxDelayMs.
 * Example: base 500, retry 3, random 0.5 → exp = 500·2² = 2000 → 1000 + 0.5·1000 = 1500.
 */
export function retryDelayMs(
  retry: number,
  { baseDelayMs, maxDelayMs }: { baseDelayMs: number; maxDelayMs: number },
  retryAfterMs?: number,
  random: () => number = Math.random,
): number {
  const exp = Math.min(maxDelayMs, baseDelayMs * 2 ** (retry - 1));
  const jittered = exp / 2 + random() * (exp / 2);
  return Math.min(maxDelayMs, Math.max(jittered, retryAfterMs ?? 0));
}

/**
 * A Retry-After header (RFC 9110 §10.2.3: delay-seconds or an HTTP date) as milliseconds from `nowMs`; undefined
 * when absent or unparseable. A date in the past gives 0.
 */
export function parseRetryAfterMs(value: string | undefined, nowMs: number = Date.now()): number | undefined {
  if (value === undefined) return undefined;
  const v = value.trim();
  if (/^\d+$/.test(v)) return Number(v) * 1000;
  const date = Date.parse(v);
  if (Number.isNaN(date)) return undefined;
  return Math.max(0, date - nowMs);
}

/** Resolves after `ms`, or rejects with the signal's reason when aborted first. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal?.reason);
    };
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
