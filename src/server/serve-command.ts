/** `medseg serve`: option strings → ServerOptions, start, and a graceful stop on SIGTERM/SIGINT. */
import { startServer, type MedsegServer } from './app.js';
import { redactRedisUrl, redisPrefixProblem, redisUrlProblem } from './jobs/redis-url.js';
import { DEFAULT_LIMITS, resolveServerOptions, ServerConfigError, type ServerOptions } from './options.js';

export interface ServeArgs {
  port?: string | undefined;
  host?: string | undefined;
  data?: string | undefined;
  models?: string | undefined;
  token?: string | undefined;
  concurrency?: string | undefined;
  corsOrigin?: string | undefined;
  maxUploadMb?: string | undefined;
  maxFileMb?: string | undefined;
  /** Queue jobs in this Redis for `medseg worker`s (default: $MEDSEG_REDIS_URL; none: run jobs here). */
  redis?: string | undefined;
  redisPrefix?: string | undefined;
}

/** The options, or a usage message naming the bad value. */
export function parseServeArgs(args: ServeArgs, env: NodeJS.ProcessEnv = process.env): Partial<ServerOptions> | string {
  const int = (v: string | undefined, name: string, min: number, max: number): number | string | undefined => {
    if (v === undefined) return undefined;
    const n = Number(v);
    return Number.isInteger(n) && n >= min && n <= max ? n : `--${name} must be a whole number ${min}…${max}, got "${v}"`;
  };
  const port = int(args.port, 'port', 0, 65535);
  const concurrency = int(args.concurrency, 'concurrency', 1, 64);
  const maxUploadMb = int(args.maxUploadMb, 'max-upload-mb', 1, 1 << 24);
  const maxFileMb = int(args.maxFileMb, 'max-file-mb', 1, 1 << 24);
  for (const v of [port, concurrency, maxUploadMb, maxFileMb]) if (typeof v === 'string') return v;
  const out: Partial<ServerOptions> = {};
  if (port !== undefined) out.port = port as number;
  if (concurrency !== undefined) out.concurrency = concurrency as number;
  if (args.host !== undefined) out.host = args.host;
  if (args.data !== undefined) out.dataDir = args.data;
  if (args.models !== undefined) out.modelsDir = args.models;
  const token = args.token ?? (env.MEDSEG_TOKEN || undefined);
  if (token !== undefined) out.token = token;
  if (args.corsOrigin !== undefined) out.corsOrigins = args.corsOrigin.split(',').map((s) => s.trim()).filter(Boolean);
  const redisUrl = args.redis ?? (env.MEDSEG_REDIS_URL || undefined);
  if (redisUrl !== undefined) {
    const problem = redisUrlProblem(redisUrl) ?? (args.redisPrefix === undefined ? undefined : redisPrefixProblem(args.redisPrefix));
    if (problem) return problem;
    if (concurrency !== undefined) return '--concurrency is how many jobs this server runs, and with --redis it runs none: give --concurrency to each `medseg worker --redis <url>` instead';
    out.redisUrl = redisUrl;
    if (args.redisPrefix !== undefined) out.redisPrefix = args.redisPrefix;
  } else if (args.redisPrefix !== undefined) return '--redis-prefix needs --redis <url>';
  if (maxUploadMb !== undefined || maxFileMb !== undefined) {
    out.limits = { ...DEFAULT_LIMITS };
    if (maxUploadMb !== undefined) out.limits.maxUploadBytes = (maxUploadMb as number) * 1024 ** 2;
    if (maxFileMb !== undefined) out.limits.maxFileBytes = (maxFileMb as number) * 1024 ** 2;
  }
  return out;
}

/** Runs until SIGTERM or SIGINT; resolves to the exit code, or a usage message for a bad option. */
export async function serveCommand(args: ServeArgs, extra: Partial<ServerOptions> = {}, onListening?: (server: MedsegServer) => void): Promise<number | string> {
  const fromArgs = parseServeArgs(args);
  if (typeof fromArgs === 'string') return fromArgs;
  const parsed = { ...fromArgs, ...extra };
  try {
    resolveServerOptions(parsed);
  } catch (e) {
    if (e instanceof ServerConfigError) return e.message;
    throw e;
  }
  // Handlers before the (slow) start, so a signal during start-up still stops the server gracefully once it is up.
  let signalled: string | undefined;
  let wake: (() => void) | undefined;
  const onSignal = (signal: string) => {
    signalled ??= signal;
    wake?.();
  };
  const onTerm = () => onSignal('SIGTERM');
  const onInt = () => onSignal('SIGINT');
  process.once('SIGTERM', onTerm);
  process.once('SIGINT', onInt);
  try {
    const server = await startServer(parsed);
    process.stderr.write(`medseg serve: listening on ${server.url} (data ${server.options.dataDir}, models ${server.options.modelsDir}, ${server.options.token ? 'bearer token required' : 'no token: loopback only'}${server.options.redisUrl ? `, jobs queued in ${redactRedisUrl(server.options.redisUrl)} for medseg worker` : ''})\n`);
    onListening?.(server);
    if (!signalled) await new Promise<void>((resolve) => (wake = resolve));
    process.stderr.write(`medseg serve: ${signalled}: finishing running jobs (up to ${server.options.shutdownGraceMs / 1000} s), then exiting\n`);
    await server.close();
    return 0;
  } finally {
    process.off('SIGTERM', onTerm);
    process.off('SIGINT', onInt);
  }
}
