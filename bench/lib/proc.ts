/** Child-process helpers for benchmarks: every measurement runs in a fresh process so its peak RSS is its own. */
import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const TSX_LOADER = import.meta.resolve('tsx');

export interface ProcResult {
  code: number | null;
  stdout: string;
  stderr: string;
  /** Wall-clock ms from spawn to exit, as seen by the parent (includes interpreter start-up). */
  wallMs: number;
}

export function runProcess(cmd: string, args: readonly string[], options: { cwd?: string; env?: NodeJS.ProcessEnv; timeoutMs?: number } = {}): Promise<ProcResult> {
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    const child = spawn(cmd, args, { cwd: options.cwd, env: options.env ?? process.env, stdio: ['ignore', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (b: Buffer) => out.push(b));
    child.stderr.on('data', (b: Buffer) => err.push(b));
    const timer = options.timeoutMs ? setTimeout(() => child.kill('SIGKILL'), options.timeoutMs) : undefined;
    child.on('error', (e) => {
      if (timer) clearTimeout(timer);
      reject(e);
    });
    child.on('close', (code) => {
      if (timer) clearTimeout(timer);
      resolve({ code, stdout: Buffer.concat(out).toString('utf8'), stderr: Buffer.concat(err).toString('utf8'), wallMs: performance.now() - t0 });
    });
  });
}

/** The last line of stdout parsed as JSON, or a descriptive error. */
export function lastJsonLine<T>(r: ProcResult, what: string): T {
  const line = r.stdout.trim().split('\n').pop() ?? '';
  if (r.code !== 0 || !line.startsWith('{')) {
    throw new Error(`${what} failed (exit ${r.code}):\n${r.stderr.slice(-3000)}\n${r.stdout.slice(-1000)}`);
  }
  return JSON.parse(line) as T;
}

/**
 * Runs a TypeScript file in a fresh node process through tsx's loader (`node --import tsx`), so the child pays the
 * same start-up and imports as the parent's children, whatever started the parent.
 */
export function runTsChild(script: string | URL, args: readonly string[], nodeFlags: readonly string[] = []): Promise<ProcResult> {
  const path = script instanceof URL ? fileURLToPath(script) : script;
  // Resolved here (not by the child from its cwd), so benchmarks run from any directory.
  return runProcess(process.execPath, [...nodeFlags, '--import', TSX_LOADER, path, ...args]);
}

/** Finds an executable on PATH. */
export function which(cmd: string): string | undefined {
  for (const dir of (process.env.PATH ?? '').split(':')) {
    if (!dir) continue;
    const p = `${dir}/${cmd}`;
    if (existsSync(p)) return p;
  }
  return undefined;
}

/**
 * Runs a command under GNU time (when /usr/bin/time exists) to get its peak RSS; returns the result and the
 * peak RSS in KiB (undefined without GNU time).
 */
export async function runWithPeakRss(cmd: string, args: readonly string[], options: { cwd?: string } = {}): Promise<ProcResult & { maxRssKiB?: number }> {
  if (!existsSync('/usr/bin/time')) return runProcess(cmd, args, options);
  const r = await runProcess('/usr/bin/time', ['-f', 'MEDSEG_BENCH_MAXRSS_KIB=%M', cmd, ...args], options);
  const m = /MEDSEG_BENCH_MAXRSS_KIB=(\d+)/.exec(r.stderr);
  return { ...r, maxRssKiB: m ? Number(m[1]) : undefined };
}

/** This process's peak resident set (VmHWM, KiB) from /proc, or undefined where /proc is unavailable. */
export function vmHwmKiB(): number | undefined {
  try {
    const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync('/proc/self/status', 'utf8'));
    return m ? Number(m[1]) : undefined;
  } catch {
    return undefined;
  }
}
