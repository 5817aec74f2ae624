/**
 * Where a worker thread's script is: the built `.js` next to the calling module, or — when medseg runs from its
 * TypeScript sources (tests, tsx) — the `.ts` source, loaded through tsx's loader registered inside the worker
 * (Node 20 workers do not inherit `--import tsx`).
 */
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

export interface WorkerEntry {
  script: string | URL;
  /** Pass as the Worker's `eval` option. */
  eval: boolean;
}

/** @param moduleUrl the caller's `import.meta.url`; @param name the worker module's base name, e.g. "worker". */
export function workerEntry(moduleUrl: string, name: string): WorkerEntry {
  const js = new URL(`./${name}.js`, moduleUrl);
  if (existsSync(fileURLToPath(js))) return { script: js, eval: false };
  const ts = new URL(`./${name}.ts`, moduleUrl);
  if (existsSync(fileURLToPath(ts))) {
    const bootstrap = `import('tsx/esm/api').then((tsx) => { tsx.register(); return import(${JSON.stringify(ts.href)}); })`;
    return { script: bootstrap, eval: true };
  }
  throw new Error(`the worker script ${name}.js is missing next to ${fileURLToPath(moduleUrl)}; rebuild medseg (npm run build)`);
}
