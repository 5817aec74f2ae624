/**
 * segmentVolume in a worker thread, with progress events and cancellation (an AbortSignal). The scan's voxels are
 * copied to the worker once; the label map comes back without a copy (transferred).
 */
import { Worker } from 'node:worker_threads';
import { workerEntry } from '../worker-entry.js';
import { SegError, type SegErrorCode } from '../errors.js';
import type { Volume } from '../volume/types.js';
import type { SegmentOptions, SegmentResult } from './pipeline.js';
import type { WorkerMessage, WorkerRequest } from './worker.js';

export interface WorkerSegmentOptions extends Omit<SegmentOptions, 'cancel'> {
  signal?: AbortSignal | undefined;
  /** After cancelling, how long to wait for the current session run before terminating the worker (ms). */
  terminateAfterMs?: number | undefined;
  /**
   * Move the images' voxel buffers to the worker instead of copying them (saves one copy of the scan; the caller's
   * arrays become empty). Only for buffers the caller no longer needs.
   */
  transferImages?: boolean | undefined;
}

export function segmentInWorker(images: Volume | readonly Volume[], cardFile: string, options: WorkerSegmentOptions = {}): Promise<SegmentResult> {
  const list = Array.isArray(images) ? [...(images as readonly Volume[])] : [images as Volume];
  const { signal, onProgress, terminateAfterMs = 2000, transferImages = false, ...rest } = options;
  const cancelFlag = new SharedArrayBuffer(4);
  const request: WorkerRequest = { cardFile, images: list, options: rest, cancelFlag };
  const entry = workerEntry(import.meta.url, 'worker');
  return new Promise<SegmentResult>((resolve, reject) => {
    if (signal?.aborted) return reject(new SegError('CANCELLED', 'segmentation cancelled before it started'));
    // Only buffers the arrays own entirely (not a slice of a pooled or shared buffer).
    const transferList = transferImages ? [...new Set(list.filter((v) => v.data.byteOffset === 0 && v.data.byteLength === v.data.buffer.byteLength && !(v.data.buffer instanceof SharedArrayBuffer)).map((v) => v.data.buffer as ArrayBuffer))] : [];
    const worker = new Worker(entry.script, { workerData: request, eval: entry.eval, transferList });
    let settled = false;
    let killTimer: NodeJS.Timeout | undefined;
    const finish = (fn: () => void) => {
      if (settled) return;
      settled = true;
      signal?.removeEventListener('abort', onAbort);
      if (killTimer) clearTimeout(killTimer);
      fn();
      void worker.terminate();
    };
    const onAbort = () => {
      Atomics.store(new Int32Array(cancelFlag), 0, 1);
      // The flag is read between session runs; a long single run (whole-volume models) is cut short.
      killTimer = setTimeout(() => finish(() => reject(new SegError('CANCELLED', 'segmentation cancelled'))), terminateAfterMs);
    };
    signal?.addEventListener('abort', onAbort, { once: true });
    worker.on('message', (msg: WorkerMessage) => {
      if (msg.type === 'progress') onProgress?.(msg.progress);
      else if (msg.type === 'result') finish(() => resolve(msg.result));
      else {
        const e = msg.error;
        const error = e.code ? new SegError(e.code as SegErrorCode, e.message) : new Error(`inference worker: ${e.message}`);
        if (e.stack) error.stack = e.stack;
        finish(() => reject(error));
      }
    });
    worker.on('error', (err) => finish(() => reject(err)));
    worker.on('exit', (code) => finish(() => reject(new Error(`the inference worker exited (code ${code}) without a result`))));
  });
}
