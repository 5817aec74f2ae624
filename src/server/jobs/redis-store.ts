/**
 * The job records of the scale-out queue in Redis: one hash per job (the JobRecord the API shows), a sorted set of
 * ids in creation order (for listing), one set of ids per status (counts, and re-enqueueing at start-up). Every
 * status change is one Lua script, so two nodes never both take, finish or cancel the same job, and each change
 * is published (the job id) on the events channel for the API nodes' event streams.
 *
 * BullMQ only schedules: its job (id = the medseg job id, no data) says "someone should run this"; what the job is
 * and where it stands is here. A worker's writes are fenced by the attempt number it took the job with, so a worker
 * that lost the job (its lock expired and another worker took it) can no longer change it.
 */
import { createHash } from 'node:crypto';
import type { Redis } from 'ioredis';
import { JOB_STAGES, JOB_STATUSES, type JobError, type JobOptions, type JobRecord, type JobSpec, type JobStage, type JobStatus } from './types.js';

/** Key and channel names under one prefix (`medseg` unless configured). */
export class RedisKeys {
  constructor(readonly prefix: string) {}
  record(id: string): string {
    return `${this.prefix}:job:${id}`;
  }
  get index(): string {
    return `${this.prefix}:job-index`;
  }
  status(s: JobStatus): string {
    return `${this.prefix}:job-status:${s}`;
  }
  /** The record and the five status sets, in the order the scripts expect them. */
  scriptKeys(id: string): string[] {
    return [this.record(id), ...JOB_STATUSES.map((s) => this.status(s))];
  }
  /** Publishes the id of each job that changed. */
  get events(): string {
    return `${this.prefix}:job-events`;
  }
  /** Publishes the id of each running job a client asked to cancel. */
  get cancels(): string {
    return `${this.prefix}:job-cancel`;
  }
  /** BullMQ's queue name (its keys are `<prefix>:segment:…`). */
  static readonly QUEUE = 'segment';
}

/** Shared by the scripts: KEYS[1] the record, KEYS[2..6] the status sets; moves the job between them. */
const LUA_HEADER = `
local SETS = {${JOB_STATUSES.map((s, i) => `${s} = ${i + 2}`).join(', ')}}
local function move(id, from, to)
  redis.call('SREM', KEYS[SETS[from]], id)
  redis.call('SADD', KEYS[SETS[to]], id)
  redis.call('HSET', KEYS[1], 'status', to)
end
local function finish(id, from, to, code, message, now)
  move(id, from, to)
  if to == 'succeeded' then
    redis.call('HSET', KEYS[1], 'stage', 'done', 'progress', '1', 'etaSeconds', '0')
  else
    redis.call('HSET', KEYS[1], 'etaSeconds', '')
  end
  redis.call('HSET', KEYS[1], 'errorCode', code, 'errorMessage', message, 'finishedAt', now)
end
`;

/**
 * ARGV: id, channel, status, field, value, … KEYS[7]: the index, KEYS[8]: its counter (the index is ordered by
 * insertion, which timestamps of the same millisecond would not give). → 1 inserted, 0 the id exists.
 */
const INSERT = `${LUA_HEADER}
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
redis.call('HSET', KEYS[1], unpack(ARGV, 4))
redis.call('HSET', KEYS[1], 'status', ARGV[3])
redis.call('SADD', KEYS[SETS[ARGV[3]]], ARGV[1])
redis.call('ZADD', KEYS[7], redis.call('INCR', KEYS[8]), ARGV[1])
redis.call('PUBLISH', ARGV[2], ARGV[1])
return 1`;

/**
 * A worker takes the job. ARGV: id, channel, worker, now, maxAttempts. A job found `running` was being run by a
 * worker that died (BullMQ saw its lock expire and handed the job out again): it runs again unless a cancel was
 * asked or it has already been started maxAttempts times. → {outcome, attempts}.
 */
const CLAIM = `${LUA_HEADER}
local id, now, max = ARGV[1], ARGV[4], tonumber(ARGV[5])
local s = redis.call('HGET', KEYS[1], 'status')
if not s then return {'missing', 0} end
local attempts = tonumber(redis.call('HGET', KEYS[1], 'attempts'))
if s ~= 'queued' and s ~= 'running' then return {'finished', attempts} end
if redis.call('HGET', KEYS[1], 'cancelRequested') == '1' then
  finish(id, s, 'cancelled', '', '', now)
  redis.call('PUBLISH', ARGV[2], id)
  return {'cancelled', attempts}
end
if s == 'running' and attempts >= max then
  finish(id, s, 'failed', 'INTERRUPTED', 'the worker running this job stopped ' .. attempts .. ' times; it is not run again (maxAttempts ' .. max .. '). Submit it again, or check the workers\\' memory and logs', now)
  redis.call('PUBLISH', ARGV[2], id)
  return {'interrupted', attempts}
end
move(id, s, 'running')
attempts = redis.call('HINCRBY', KEYS[1], 'attempts', 1)
redis.call('HSET', KEYS[1], 'stage', 'starting', 'progress', '0', 'etaSeconds', '', 'errorCode', '', 'errorMessage', '', 'startedAt', now, 'finishedAt', '', 'worker', ARGV[3])
redis.call('PUBLISH', ARGV[2], id)
return {'run', attempts}`;

/** ARGV: id, channel, attempt, stage, progress, eta. → -1 the attempt no longer owns the job, 1 cancel asked, 0 go on. */
const PROGRESS = `
local h = redis.call('HMGET', KEYS[1], 'status', 'attempts', 'cancelRequested')
if h[1] ~= 'running' or h[2] ~= ARGV[3] then return -1 end
redis.call('HSET', KEYS[1], 'stage', ARGV[4], 'progress', ARGV[5], 'etaSeconds', ARGV[6])
redis.call('PUBLISH', ARGV[2], ARGV[1])
if h[3] == '1' then return 1 end
return 0`;

/**
 * Ends a queued or running job. ARGV: id, channel, attempt ('' = whichever), status, errorCode, errorMessage, now.
 * With an attempt, only a running job started by that attempt. → 1 ended, 0 unchanged.
 */
const FINISH = `${LUA_HEADER}
local h = redis.call('HMGET', KEYS[1], 'status', 'attempts')
local s = h[1]
if s ~= 'queued' and s ~= 'running' then return 0 end
if ARGV[3] ~= '' and (s ~= 'running' or h[2] ~= ARGV[3]) then return 0 end
finish(ARGV[1], s, ARGV[4], ARGV[5], ARGV[6], ARGV[7])
redis.call('PUBLISH', ARGV[2], ARGV[1])
return 1`;

/**
 * A worker shutting down hands its running job back: queued again, the attempt not counted (it was not the job's
 * fault). A cancel asked meanwhile wins. ARGV: id, channel, attempt, now. → 'queued', 'cancelled' or 'lost'.
 */
const REQUEUE = `${LUA_HEADER}
local h = redis.call('HMGET', KEYS[1], 'status', 'attempts', 'cancelRequested')
if h[1] ~= 'running' or h[2] ~= ARGV[3] then return 'lost' end
if h[3] == '1' then
  finish(ARGV[1], 'running', 'cancelled', '', '', ARGV[4])
  redis.call('PUBLISH', ARGV[2], ARGV[1])
  return 'cancelled'
end
move(ARGV[1], 'running', 'queued')
redis.call('HINCRBY', KEYS[1], 'attempts', -1)
redis.call('HSET', KEYS[1], 'stage', '', 'progress', '0', 'etaSeconds', '', 'startedAt', '', 'worker', '')
redis.call('PUBLISH', ARGV[2], ARGV[1])
return 'queued'`;

/**
 * A client cancels. ARGV: id, channel, cancel channel, now. A queued job ends here; a running one is marked (so a
 * worker that takes it after a crash ends it too) and its worker told. → 'cancelled', 'running', 'missing' or the
 * finished status.
 */
const CANCEL = `${LUA_HEADER}
local s = redis.call('HGET', KEYS[1], 'status')
if not s then return 'missing' end
if s == 'queued' then
  finish(ARGV[1], s, 'cancelled', '', '', ARGV[4])
  redis.call('PUBLISH', ARGV[2], ARGV[1])
  return 'cancelled'
end
if s == 'running' then
  redis.call('HSET', KEYS[1], 'cancelRequested', '1')
  redis.call('PUBLISH', ARGV[3], ARGV[1])
  return 'running'
end
return s`;

/** A Lua script run by its SHA-1 (EVALSHA), sent in full only when the server does not know it yet. */
class LuaScript {
  private readonly sha: string;
  constructor(private readonly lua: string) {
    this.sha = createHash('sha1').update(lua).digest('hex');
  }
  async run(redis: Redis, keys: readonly string[], args: readonly (string | number)[]): Promise<unknown> {
    try {
      return await redis.evalsha(this.sha, keys.length, ...keys, ...args);
    } catch (e) {
      if (!(e instanceof Error && e.message.startsWith('NOSCRIPT'))) throw e;
      return redis.eval(this.lua, keys.length, ...keys, ...args);
    }
  }
}

const SCRIPTS = {
  insert: new LuaScript(INSERT),
  claim: new LuaScript(CLAIM),
  progress: new LuaScript(PROGRESS),
  finish: new LuaScript(FINISH),
  requeue: new LuaScript(REQUEUE),
  cancel: new LuaScript(CANCEL),
};

export type ClaimOutcome = 'run' | 'missing' | 'finished' | 'cancelled' | 'interrupted';

/** The record as Redis holds it: every field a string, '' for null. */
function toRecord(h: Record<string, string>): JobRecord | undefined {
  const get = (k: string) => h[k] ?? '';
  if (!get('id') || !(JOB_STATUSES as readonly string[]).includes(get('status'))) return undefined;
  const stage = get('stage');
  const eta = get('etaSeconds');
  const worker = get('worker');
  return {
    id: get('id'),
    study: get('study'),
    model: get('model'),
    options: JSON.parse(get('options') || '{}') as JobOptions,
    status: get('status') as JobStatus,
    stage: (JOB_STAGES as readonly string[]).includes(stage) ? (stage as JobStage) : null,
    progress: Number(get('progress')) || 0,
    etaSeconds: eta === '' ? null : Number(eta),
    error: get('errorCode') ? { code: get('errorCode'), message: get('errorMessage') } : null,
    attempts: Number(get('attempts')) || 0,
    createdAt: get('createdAt'),
    startedAt: get('startedAt') || null,
    finishedAt: get('finishedAt') || null,
    worker: worker || null,
  };
}

export class RedisJobStore {
  readonly keys: RedisKeys;

  constructor(
    private readonly redis: Redis,
    prefix: string,
  ) {
    this.keys = new RedisKeys(prefix);
  }

  /** Stores a new job (queued, or succeeded for an import). → the record as stored, or undefined when `id` exists. */
  async insert(id: string, spec: JobSpec, status: 'queued' | 'succeeded', now = new Date()): Promise<JobRecord | undefined> {
    const at = now.toISOString();
    const done = status === 'succeeded';
    const fields: Record<string, string> = {
      id,
      study: spec.study,
      model: spec.model,
      options: JSON.stringify(spec.options),
      stage: done ? 'done' : '',
      progress: done ? '1' : '0',
      etaSeconds: done ? '0' : '',
      errorCode: '',
      errorMessage: '',
      attempts: '0',
      cancelRequested: '0',
      createdAt: at,
      startedAt: done ? at : '',
      finishedAt: done ? at : '',
      worker: '',
    };
    const r = await SCRIPTS.insert.run(this.redis, [...this.keys.scriptKeys(id), this.keys.index, `${this.keys.index}-seq`], [id, this.keys.events, status, ...Object.entries(fields).flat()]);
    return r === 1 ? toRecord({ ...fields, status }) : undefined;
  }

  async get(id: string): Promise<JobRecord | undefined> {
    return toRecord(await this.redis.hgetall(this.keys.record(id)));
  }

  /** The newest jobs first. */
  async list(limit: number): Promise<JobRecord[]> {
    const ids = await this.redis.zrevrange(this.keys.index, 0, limit - 1);
    const pipeline = this.redis.pipeline();
    for (const id of ids) pipeline.hgetall(this.keys.record(id));
    const rows = (await pipeline.exec()) ?? [];
    return rows.flatMap(([err, h]) => {
      const record = err ? undefined : toRecord(h as Record<string, string>);
      return record ? [record] : [];
    });
  }

  async counts(): Promise<Record<JobStatus, number>> {
    const pipeline = this.redis.pipeline();
    for (const s of JOB_STATUSES) pipeline.scard(this.keys.status(s));
    const rows = (await pipeline.exec()) ?? [];
    return Object.fromEntries(JOB_STATUSES.map((s, i) => {
      const [err, n] = rows[i] ?? [null, 0];
      if (err) throw err;
      return [s, Number(n)];
    })) as Record<JobStatus, number>;
  }

  /** Ids of queued jobs (at start-up the API makes sure each has a BullMQ job). */
  async queuedIds(): Promise<string[]> {
    return this.redis.smembers(this.keys.status('queued'));
  }

  async claim(id: string, worker: string, maxAttempts: number, now = new Date()): Promise<{ outcome: ClaimOutcome; attempt: number }> {
    const r = (await SCRIPTS.claim.run(this.redis, this.keys.scriptKeys(id), [id, this.keys.events, worker, now.toISOString(), maxAttempts])) as [ClaimOutcome, number];
    return { outcome: r[0], attempt: Number(r[1]) };
  }

  /** → 'lost' when `attempt` no longer owns the job, 'cancel' when a client asked to cancel it, else 'ok'. */
  async progress(id: string, attempt: number, stage: JobStage, progress: number, etaSeconds: number | null): Promise<'ok' | 'cancel' | 'lost'> {
    const r = await SCRIPTS.progress.run(this.redis, [this.keys.record(id)], [id, this.keys.events, attempt, stage, progress, etaSeconds === null ? '' : etaSeconds]);
    return r === -1 ? 'lost' : r === 1 ? 'cancel' : 'ok';
  }

  /** Whether `attempt` still owns the running job (checked before its results are renamed into place). */
  async owns(id: string, attempt: number): Promise<boolean> {
    const [status, attempts] = await this.redis.hmget(this.keys.record(id), 'status', 'attempts');
    return status === 'running' && attempts === String(attempt);
  }

  async cancelRequested(id: string): Promise<boolean> {
    return (await this.redis.hget(this.keys.record(id), 'cancelRequested')) === '1';
  }

  /**
   * Ends a queued or running job (`attempt`: only if that attempt still runs it; undefined: whichever). → whether it
   * changed (a finished job stays as it was).
   */
  async finish(id: string, status: 'succeeded' | 'failed' | 'cancelled', error: JobError | null, attempt?: number, now = new Date()): Promise<boolean> {
    const r = await SCRIPTS.finish.run(this.redis, this.keys.scriptKeys(id), [id, this.keys.events, attempt ?? '', status, error?.code ?? '', error?.message ?? '', now.toISOString()]);
    return r === 1;
  }

  async requeue(id: string, attempt: number, now = new Date()): Promise<'queued' | 'cancelled' | 'lost'> {
    return (await SCRIPTS.requeue.run(this.redis, this.keys.scriptKeys(id), [id, this.keys.events, attempt, now.toISOString()])) as 'queued' | 'cancelled' | 'lost';
  }

  async cancel(id: string, now = new Date()): Promise<'cancelled' | 'running' | 'missing' | JobStatus> {
    return (await SCRIPTS.cancel.run(this.redis, this.keys.scriptKeys(id), [id, this.keys.events, this.keys.cancels, now.toISOString()])) as 'cancelled' | 'running' | 'missing' | JobStatus;
  }
}
