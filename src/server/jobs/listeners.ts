/** The followers of each job (SSE streams), shared by the queue implementations. */
import type { Logger } from '../options.js';
import type { JobListener, JobRecord } from './types.js';

export class JobListeners {
  private readonly byJob = new Map<string, Set<JobListener>>();

  constructor(private readonly log: Logger) {}

  /** Adds a follower of job `id`; returns the function that removes it. */
  subscribe(id: string, listener: JobListener): () => void {
    let set = this.byJob.get(id);
    if (!set) this.byJob.set(id, (set = new Set()));
    set.add(listener);
    return () => {
      set.delete(listener);
      if (set.size === 0) this.byJob.delete(id);
    };
  }

  has(id: string): boolean {
    return this.byJob.has(id);
  }

  /** The ids of the jobs someone follows. */
  ids(): IterableIterator<string> {
    return this.byJob.keys();
  }

  /** Gives each follower of the job its own copy; a follower that throws is logged and does not stop the others. */
  emit(job: JobRecord): void {
    for (const l of this.byJob.get(job.id) ?? []) {
      try {
        l({ ...job });
      } catch (e) {
        this.log({ event: 'listener_error', job: job.id, error: (e as Error).message });
      }
    }
  }
}
