/** Seed lists of the default-model recipe (config.json): "1000-1089,2000" → numbers; which seeds are oblique scans. */
export function parseSeeds(text: string): number[] {
  const seeds: number[] = [];
  for (const part of text.split(',')) {
    const m = /^(\d+)(?:-(\d+))?$/.exec(part.trim());
    if (!m) throw new Error(`seeds: expected a list like 1000-1079,2000, got "${text}"`);
    const a = Number(m[1]);
    const b = m[2] === undefined ? a : Number(m[2]);
    for (let s = a; s <= b; s++) seeds.push(s);
  }
  return seeds;
}

/** Whether a seed's phantom is acquired obliquely (every n-th seed). */
export const isOblique = (seed: number, every: number) => every > 0 && seed % every === every - 1;
