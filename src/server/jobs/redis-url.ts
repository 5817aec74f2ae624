/** Redis URLs and key prefixes: checks with messages that never repeat a password, and redaction for logs. */

/** The key prefix when none is configured (BullMQ's keys are then `medseg:segment:…`, the records `medseg:job:…`). */
export const DEFAULT_REDIS_PREFIX = 'medseg';

/** `redis://user:secret@host:6379/0` → `redis://user:***@host:6379/0`; a URL that does not parse → the fixed text "(unparsable Redis URL)", so nothing of it can leak. */
export function redactRedisUrl(url: string): string {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    return '(unparsable Redis URL)';
  }
  if (u.password) u.password = '***';
  return u.toString();
}

/** Why `url` cannot name a Redis server, or undefined when it can. The message never repeats a password. */
export function redisUrlProblem(url: string): string | undefined {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    return `the Redis URL "${redactRedisUrl(url)}" is not a URL; expected redis://[:password@]host[:port][/db] (or rediss:// for TLS)`;
  }
  if (u.protocol !== 'redis:' && u.protocol !== 'rediss:') return `the Redis URL ${redactRedisUrl(url)} must start with redis:// or rediss:// (TLS), got ${u.protocol}//`;
  if (!u.hostname) return `the Redis URL ${redactRedisUrl(url)} names no host; expected redis://host:6379`;
  const db = u.pathname.replace(/^\//, '');
  if (db !== '' && !/^\d{1,2}$/.test(db)) return `the Redis URL ${redactRedisUrl(url)} names database "${db}"; a database is a number 0…15`;
  return undefined;
}

/** Key prefixes (BullMQ's `prefix` and ours) are short names: they are part of every key. */
export function redisPrefixProblem(prefix: string): string | undefined {
  return /^[A-Za-z0-9_.-]{1,64}$/.test(prefix) ? undefined : `the Redis key prefix must be 1–64 letters, digits, "_", "." or "-", got "${prefix.slice(0, 80)}"`;
}
