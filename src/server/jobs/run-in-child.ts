/** Runs one ChildTask in a forked job process, with progress, cancellation and a hard kill as the last resort. */
import { fork } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { SegmentProgress } from '../../inference/pipeline.js';
import { SegError, type SegErrorCode } from '../../errors.js';
import type { ChildMessage, ChildTask, ParentMessage } from './child-protocol.js';

export interface RunInChildOptions {
  onProgress?: ((p: SegmentProgress) => void) | undefined;
  onWriting?: (() => void) | undefined;
  /** Aborting asks the process to stop (it cancels between session runs) and kills it after `killAfterMs`. */
  signal?: AbortSignal | undefined;
  killAfterMs?: number | undefined;
}

/** A job failed in a way that is not a SegError (a crash, an unexpected exception). */
export class JobProcessError extends Error {
  override name = 'JobProcessError';
}

/**
 * The job process script and how to start it: the built `.js` next to this module, or from the TypeScript sources
 * (tests, tsx) the `.ts` file through tsx's loader (a forked process does not inherit the parent's loaders).
 */
export function jobProcessEntry(): { script: string; execArgv: string[] } {
  const js = fileURLToPath(new URL('./job-process.js', import.meta.url));
  if (existsSync(js)) return { script: js, execArgv: [] };
  const ts = fileURLToPath(new URL('./job-process.ts', import.meta.url));
  const tsx = pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href;
  return { script: ts, execArgv: ['--import', tsx] };
}

/**
 * @throws SegError as the job raised it (CANCELLED when cancelled), JobProcessError when the process died.
 */
export function runInChild(task: ChildTask, options: RunInChildOptions = {}): Promise<void> {
  const { signal, onProgress, onWriting, killAfterMs = 5000 } = options;
  if (signal?.aborted) return Promise.reject(new SegError('CANCELLED', 'the job was cancelled before it started'));
  const entry = jobProcessEntry();
  // stdout is ignored (a JPEG 2000 decoder prints [INFO] lines there); stderr goes to the server's, for crashes.
  const child = fork(entry.script, [], { execArgv: entry.execArgv, stdio: ['ignore', 'ignore', 'inherit', 'ipc'], serialization: 'json' });
  return new Promise<void>((resolve, reject) => {
    let outcome: { ok: true } | { ok: false; error: Error } | undefined;
    let killTimer: NodeJS.Timeout | undefined;
    const onAbort = () => {
      if (child.connected) child.send({ type: 'cancel' } satisfies ParentMessage);
      killTimer = setTimeout(() => {
        outcome ??= { ok: false, error: new SegError('CANCELLED', 'the job was cancelled (its process was stopped)') };
        child.kill('SIGKILL');
      }, killAfterMs);
    };
    signal?.addEventListener('abort', onAbort, { once: true });
    child.on('message', (msg: ChildMessage) => {
      if (msg.type === 'progress') onProgress?.(msg.progress);
      else if (msg.type === 'writing') onWriting?.();
      else if (msg.type === 'done') outcome ??= { ok: true };
      else outcome ??= { ok: false, error: msg.code ? new SegError(msg.code as SegErrorCode, msg.message) : new JobProcessError(msg.message) };
    });
    child.on('error', (e) => {
      outcome ??= { ok: false, error: new JobProcessError(`the job process could not be started: ${e.message}`) };
    });
    child.on('exit', (code, sig) => {
      signal?.removeEventListener('abort', onAbort);
      if (killTimer) clearTimeout(killTimer);
      const result = outcome ?? { ok: false, error: signal?.aborted ? new SegError('CANCELLED', 'the job was cancelled') : new JobProcessError(`the job process exited (${sig ?? `code ${code}`}) without a result; it may have run out of memory`) };
      if (result.ok) resolve();
      else reject(result.error);
    });
    child.send({ type: 'run', task } satisfies ParentMessage);
  });
}
