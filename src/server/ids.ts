/**
 * Opaque random ids for studies and jobs. Every id that arrives in a URL is checked against its strict pattern
 * before it is used anywhere (a file path, a database query), so no id can name a path ("../", "%2e%2e", "/").
 */
import { randomBytes } from 'node:crypto';
import { HttpError } from './http-error.js';

export type IdKind = 'study' | 'job';

const PREFIX: Record<IdKind, string> = { study: 'st_', job: 'job_' };

/** 128 random bits as 32 lowercase hex digits after a kind prefix: unguessable, and safe as a file name. */
export const ID_PATTERN: Record<IdKind, RegExp> = {
  study: /^st_[0-9a-f]{32}$/,
  job: /^job_[0-9a-f]{32}$/,
};

/** The same patterns as strings (for the OpenAPI description). */
export const ID_PATTERN_SOURCE: Record<IdKind, string> = { study: ID_PATTERN.study.source, job: ID_PATTERN.job.source };

export function newId(kind: IdKind): string {
  return PREFIX[kind] + randomBytes(16).toString('hex');
}

export function isId(kind: IdKind, value: unknown): value is string {
  return typeof value === 'string' && ID_PATTERN[kind].test(value);
}

/**
 * Returns `value` when it is a well-formed id of `kind`.
 * @throws HttpError 400 INVALID_ID naming the expected form (the offending value is not echoed: it is user input).
 */
export function parseId(kind: IdKind, value: unknown): string {
  if (isId(kind, value)) return value;
  throw new HttpError(400, 'INVALID_ID', `the ${kind} id is malformed: expected "${PREFIX[kind]}" followed by 32 lowercase hex digits, as returned when the ${kind} was created`);
}
