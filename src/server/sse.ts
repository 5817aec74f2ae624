/** Server-sent events of one job: its state now, then every change, until it is finished (then the stream ends). */
import type { Request, Response } from 'express';
import type { JobQueue, JobRecord } from './jobs/types.js';
import { TERMINAL } from './jobs/types.js';

/** A comment line this often keeps proxies from closing an idle stream. */
const HEARTBEAT_MS = 15_000;

export function formatEvent(event: string, id: number, data: unknown): string {
  return `id: ${id}\nevent: ${event}\ndata: ${JSON.stringify(data)}\n\n`;
}

/**
 * Streams `job` events to `res`. `open` tracks the stream so a shutdown can end it (an open stream would keep
 * the HTTP server from closing).
 */
export async function streamJobEvents(req: Request, res: Response, options: { queue: JobQueue; id: string; view: (job: JobRecord) => unknown; open: Set<Response> }): Promise<void> {
  const { queue, id, view, open } = options;
  let seq = 0;
  let ended = false;
  let ready = false;
  const end = () => {
    if (ended) return;
    ended = true;
    unsubscribe();
    clearInterval(heartbeat);
    open.delete(res);
    res.end();
  };
  const send = (job: JobRecord) => {
    if (ended) return;
    res.write(formatEvent('job', ++seq, view(job)));
    if (TERMINAL.has(job.status)) end();
  };
  // Subscribe before reading the current state, so no change after that read is missed; changes before it are
  // already in what the read returns.
  const unsubscribe = queue.subscribe(id, (job) => ready && send(job));
  const heartbeat = setInterval(() => res.write(': keep-alive\n\n'), HEARTBEAT_MS);
  req.on('close', end);
  const current = await queue.get(id);
  if (ended) return;
  res.status(200).set({ 'Content-Type': 'text/event-stream; charset=utf-8', 'Cache-Control': 'no-cache, no-transform', Connection: 'keep-alive', 'X-Accel-Buffering': 'no' });
  res.flushHeaders();
  open.add(res);
  res.write('retry: 2000\n\n');
  if (current) send(current);
  ready = true;
}
