/** Small statistics and table formatting helpers for benchmark reports. */

export function median(values: readonly number[]): number {
  if (values.length === 0) return NaN;
  const s = [...values].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

export function min(values: readonly number[]): number {
  return values.length ? Math.min(...values) : NaN;
}

export function max(values: readonly number[]): number {
  return values.length ? Math.max(...values) : NaN;
}

/** Renders rows as a Markdown table (also readable in a terminal). Numbers must be pre-formatted. */
export function markdownTable(header: readonly string[], rows: readonly (readonly string[])[], align?: readonly ('l' | 'r')[]): string {
  const widths = header.map((h, c) => Math.max(h.length, ...rows.map((r) => (r[c] ?? '').length)));
  const pad = (s: string, c: number) => ((align?.[c] ?? 'l') === 'r' ? s.padStart(widths[c]!) : s.padEnd(widths[c]!));
  const line = (cells: readonly string[]) => `| ${cells.map((s, c) => pad(s, c)).join(' | ')} |`;
  const rule = `|${widths.map((w, c) => ((align?.[c] ?? 'l') === 'r' ? `${'-'.repeat(w + 1)}:` : `:${'-'.repeat(w + 1)}`)).join('|')}|`;
  return [line(header), rule, ...rows.map(line)].join('\n');
}

export function fmt(v: number | undefined, digits = 0): string {
  return v === undefined || !Number.isFinite(v) ? '—' : v.toFixed(digits);
}
