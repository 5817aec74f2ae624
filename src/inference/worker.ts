/**
 * Worker-thread entry: ONNX Runtime's session.run blocks the thread that calls it for the whole run, so inference
 * runs here and the main thread (a server, a progress bar) stays responsive. Started by run-in-worker.ts.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { SegError } from '../errors.js';
import type { Volume } from '../volume/types.js';
import { loadModelCard } from './card.js';
import { segmentVolume, type SegmentOptions } from './pipeline.js';

export interface WorkerRequest {
  cardFile: string;
  images: Volume[];
  options: Omit<SegmentOptions, 'onProgress' | 'cancel'>;
  /** Int32 flag: nonzero once the caller cancels. */
  cancelFlag: SharedArrayBuffer;
}

export type WorkerMessage =
  | { type: 'progress'; progress: Parameters<NonNullable<SegmentOptions['onProgress']>>[0] }
  | { type: 'result'; result: Awaited<ReturnType<typeof segmentVolume>> }
  | { type: 'error'; error: { name: string; code?: string; message: string; stack?: string | undefined } };

async function run(request: WorkerRequest): Promise<void> {
  const port = parentPort!;
  const flag = new Int32Array(request.cancelFlag);
  try {
    const card = await loadModelCard(request.cardFile);
    let lastPost = 0;
    const result = await segmentVolume(request.images, card, {
      ...request.options,
      cancel: {
        get cancelled() {
          return Atomics.load(flag, 0) !== 0;
        },
      },
      onProgress: (progress) => {
        const now = performance.now();
        if (progress.done === progress.total || progress.done === 0 || now - lastPost > 100) {
          lastPost = now;
          port.postMessage({ type: 'progress', progress } satisfies WorkerMessage);
        }
      },
    });
    const transfer = [result.labels.data.buffer as ArrayBuffer, ...(result.probabilities ?? []).map((p) => p.data.buffer as ArrayBuffer)];
    port.postMessage({ type: 'result', result } satisfies WorkerMessage, transfer);
  } catch (err) {
    const e = err as Error;
    port.postMessage({
      type: 'error',
      error: { name: e.name, ...(err instanceof SegError ? { code: err.code } : {}), message: e.message, stack: e.stack },
    } satisfies WorkerMessage);
  }
}

if (parentPort && workerData) void run(workerData as WorkerRequest);
