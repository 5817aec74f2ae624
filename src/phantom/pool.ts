/**
 * Runs phantom tasks (render a slab of planes, measure one structure's true volume) on worker threads, or in this
 * thread when threads = 1. Results do not depend on the number of threads: every task is a pure function of the
 * options and its own arguments.
 */
import { Worker } from 'node:worker_threads';
import { workerEntry } from '../worker-entry.js';
import { labelVolume, lesionVolume, renderSlab, type ContextOptions, type PhantomContext } from './context.js';
import type { PhantomLabelName } from './materials.js';
import type { PlaneStats } from './render.js';
import type { VolumeEstimate } from './truth.js';

export type PhantomTask = { kind: 'render'; k0: number; k1: number } | { kind: 'label'; name: Exclude<PhantomLabelName, 'liver_lesion'> } | { kind: 'lesion'; index: number };

export type PhantomTaskResult =
  | { kind: 'render'; k0: number; k1: number; ct: Int16Array; labels: Uint8Array; stats: PlaneStats }
  | { kind: 'label'; name: Exclude<PhantomLabelName, 'liver_lesion'>; estimate: VolumeEstimate }
  | { kind: 'lesion'; index: number; estimate: VolumeEstimate }
  | { kind: 'error'; message: string; stack?: string | undefined };

/** Runs `tasks` and hands each result to `onResult` (in completion order). */
export async function runTasks(ctx: PhantomContext, options: ContextOptions, tasks: readonly PhantomTask[], threads: number, onResult: (r: PhantomTaskResult) => void): Promise<void> {
  if (threads <= 1 || tasks.length <= 1) {
    for (const task of tasks) {
      onResult(runInThread(ctx, task));
      // Let timers and I/O (a progress bar, a server) run between tasks.
      await new Promise<void>((resolve) => setImmediate(resolve));
    }
    return;
  }
  const entry = workerEntry(import.meta.url, 'worker');
  const queue = [...tasks];
  const workers: Worker[] = [];
  try {
    await new Promise<void>((resolve, reject) => {
      let pending = tasks.length;
      let failed = false;
      const fail = (e: Error) => {
        if (!failed) {
          failed = true;
          reject(e);
        }
      };
      for (let n = 0; n < Math.min(threads, tasks.length); n++) {
        const worker = new Worker(entry.script, { eval: entry.eval, workerData: options });
        workers.push(worker);
        const next = () => {
          const task = queue.shift();
          if (task) worker.postMessage(task);
        };
        worker.on('message', (r: PhantomTaskResult) => {
          if (r.kind === 'error') {
            const e = new Error(`phantom worker: ${r.message}`);
            if (r.stack) e.stack = r.stack;
            return fail(e);
          }
          try {
            onResult(r);
          } catch (e) {
            return fail(e as Error);
          }
          if (--pending === 0) resolve();
          else next();
        });
        worker.on('error', (e) => fail(e));
        worker.on('exit', (code) => {
          if (pending > 0) fail(new Error(`a phantom worker exited (code ${code}) with ${pending} tasks left`));
        });
        next();
      }
    });
  } finally {
    await Promise.all(workers.map((w) => w.terminate()));
  }
}

function runInThread(ctx: PhantomContext, task: PhantomTask): PhantomTaskResult {
  if (task.kind === 'render') return { kind: 'render', k0: task.k0, k1: task.k1, ...renderSlab(ctx, task.k0, task.k1) };
  if (task.kind === 'label') return { kind: 'label', name: task.name, estimate: labelVolume(ctx, task.name) };
  return { kind: 'lesion', index: task.index, estimate: lesionVolume(ctx, task.index) };
}
