/**
 * Worker-thread entry of the phantom pool (pool.ts): rebuilds the context from the options (deterministic, so it
 * equals the main thread's) and runs the tasks it is sent, posting each result back (slab buffers transferred).
 */
import { parentPort, workerData } from 'node:worker_threads';
import { buildContext, labelVolume, lesionVolume, renderSlab, type ContextOptions } from './context.js';
import type { PhantomTask, PhantomTaskResult } from './pool.js';

const port = parentPort!;
try {
  const ctx = buildContext(workerData as ContextOptions);
  port.on('message', (task: PhantomTask) => {
    try {
      if (task.kind === 'render') {
        const { ct, labels, stats } = renderSlab(ctx, task.k0, task.k1);
        const result: PhantomTaskResult = { kind: 'render', k0: task.k0, k1: task.k1, ct, labels, stats };
        port.postMessage(result, [ct.buffer as ArrayBuffer, labels.buffer as ArrayBuffer]);
      } else if (task.kind === 'label') {
        port.postMessage({ kind: 'label', name: task.name, estimate: labelVolume(ctx, task.name) } satisfies PhantomTaskResult);
      } else {
        port.postMessage({ kind: 'lesion', index: task.index, estimate: lesionVolume(ctx, task.index) } satisfies PhantomTaskResult);
      }
    } catch (e) {
      port.postMessage({ kind: 'error', message: (e as Error).message, stack: (e as Error).stack } satisfies PhantomTaskResult);
    }
  });
} catch (e) {
  port.postMessage({ kind: 'error', message: (e as Error).message, stack: (e as Error).stack } satisfies PhantomTaskResult);
}
