/** Summarises a V8 .cpuprofile (from `node --cpu-prof`): self time per function, heaviest first. */
import { readFileSync } from 'node:fs';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number; columnNumber: number };
  children?: number[];
}

interface CpuProfile {
  nodes: ProfileNode[];
  startTime: number;
  endTime: number;
  samples: number[];
  timeDeltas: number[];
}

export interface ProfileEntry {
  fn: string;
  where: string;
  selfMs: number;
  share: number;
}

function shortUrl(url: string): string {
  if (!url) return '(native)';
  const m = /\/(src\/.*|bench\/.*|node_modules\/[^/]+\/.*)$/.exec(url);
  if (m) return m[1]!;
  return url.replace(/^file:\/\//, '').replace(/^node:/, 'node:');
}

/** Self time per function (ms), over the whole profile. */
export function summarizeCpuProfile(file: string, top = 15): { totalMs: number; entries: ProfileEntry[] } {
  const p = JSON.parse(readFileSync(file, 'utf8')) as CpuProfile;
  const byId = new Map(p.nodes.map((n) => [n.id, n]));
  const self = new Map<string, { fn: string; where: string; us: number }>();
  let totalUs = 0;
  for (let s = 0; s < p.samples.length; s++) {
    // timeDeltas[s] is the time before sample s; attribute it to sample s's node (close enough for a summary).
    const dt = p.timeDeltas[s] ?? 0;
    const node = byId.get(p.samples[s]!);
    if (!node) continue;
    const cf = node.callFrame;
    const fn = cf.functionName || '(anonymous)';
    const where = cf.url ? `${shortUrl(cf.url)}:${cf.lineNumber + 1}` : shortUrl(cf.url);
    const key = `${fn}@${where}`;
    const e = self.get(key) ?? { fn, where, us: 0 };
    e.us += dt;
    self.set(key, e);
    totalUs += dt;
  }
  const entries = [...self.values()]
    .sort((a, b) => b.us - a.us)
    .slice(0, top)
    .map((e) => ({ fn: e.fn, where: e.where, selfMs: e.us / 1000, share: totalUs ? e.us / totalUs : 0 }));
  return { totalMs: totalUs / 1000, entries };
}
