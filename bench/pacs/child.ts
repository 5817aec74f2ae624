/**
 * One SEG measurement in a fresh process: `node --expose-gc --import tsx bench/pacs/child.ts <mode> '<json>'`.
 * Prints one JSON line. Every mode performs the same (static) imports, so `idle` gives the RSS baseline.
 *
 * Modes: idle; raw (fs.readFile of every source file, sequentially); load (readDicomVolume of the source);
 * encode (source and label map loaded untimed, then encodeSeg timed; with `segFile` the bytes are also written
 * there for the decode children); raw-seg (fs.readFile of the SEG); decode (source loaded untimed, then
 * readSeg(file, { source }) timed; afterwards its label map is compared with the generated one voxel by voxel).
 *
 * Peak memory of encode/decode: the peak RSS high-water mark is reset (Linux: `5` into /proc/self/clear_refs) after
 * the inputs are loaded and a full GC, so "extra" = VmHWM after the call − RSS before it: the call's own peak,
 * not the loader's. Where the reset is impossible the whole-process peak minus the RSS before is reported
 * (`peakReset: false`), an upper bound.
 */
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { readDicomVolume } from '../../src/io/dicom/index.js';
import { encodeSeg, readSeg, type SegLabel } from '../../src/pacs/seg/index.js';
import type { Volume } from '../../src/volume/types.js';
import { vmHwmKiB } from '../lib/proc.js';
import type { PacsData } from './data.js';

export type PacsChildMode = 'idle' | 'raw' | 'load' | 'encode' | 'raw-seg' | 'decode';

/** The cached data's files and label-map geometry (see data.ts), and what this child does with them. */
export interface PacsChildArgs extends Pick<PacsData, 'dicomDir' | 'labelsFile' | 'dims' | 'spacing' | 'origin' | 'direction'> {
  labelNames: string[];
  /** encode: write the SEG here; raw-seg/decode: read it. */
  segFile?: string;
  /** encode: write segFile (one child per run does). */
  write?: boolean;
}

export interface PacsChildResult {
  mode: PacsChildMode;
  ms: number;
  /** Whole-process peak RSS (KiB). */
  maxRssKiB: number;
  /** encode/decode: RSS before the call and the call's own peak above it (KiB). */
  rssBeforeKiB?: number;
  extraPeakKiB?: number;
  peakReset?: boolean;
  /** raw: bytes read; load: voxel sum; encode: SEG bytes; decode: mismatching voxels (must be 0). */
  check: number;
  frames?: number;
  segmentsWithFrames?: number;
  emptySegments?: number[];
  notes?: string[];
}

/** The benchmark's segment descriptions: 14 anatomical structures (codes are generic; only the size matters). */
export function benchSegLabels(names: readonly string[]): SegLabel[] {
  return names.map((name, i) => ({
    value: i + 1,
    name,
    color: [(37 * (i + 1)) % 256, (91 * (i + 1)) % 256, (173 * (i + 1)) % 256] as [number, number, number],
    category: { scheme: 'SCT', value: '123037004', meaning: 'Anatomical Structure' },
    type: { scheme: 'SCT', value: '85756007', meaning: 'Tissue' },
  }));
}

function resetPeak(): boolean {
  try {
    writeFileSync('/proc/self/clear_refs', '5');
    return true;
  } catch {
    return false;
  }
}

function gc(): void {
  (globalThis as { gc?: () => void }).gc?.();
}

function rssKiB(): number {
  return Math.round(process.memoryUsage.rss() / 1024);
}

function loadLabels(a: PacsChildArgs): Volume<Uint8Array> {
  const bytes = readFileSync(a.labelsFile);
  const data = new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  return { data, dims: a.dims, spacing: a.spacing, origin: a.origin, direction: a.direction };
}

async function main(): Promise<void> {
  const [mode, json] = process.argv.slice(2) as [PacsChildMode, string];
  const a = JSON.parse(json) as PacsChildArgs;
  const out: PacsChildResult = { mode, ms: 0, maxRssKiB: 0, check: 0 };
  switch (mode) {
    case 'idle':
      break;
    case 'raw': {
      const t0 = performance.now();
      let bytes = 0;
      for (const f of readdirSync(a.dicomDir).sort()) bytes += (await readFile(join(a.dicomDir, f))).byteLength;
      out.ms = performance.now() - t0;
      out.check = bytes;
      break;
    }
    case 'load': {
      const t0 = performance.now();
      const { volume } = await readDicomVolume(a.dicomDir);
      out.ms = performance.now() - t0;
      let s = 0;
      for (let n = 0; n < volume.data.length; n++) s += volume.data[n]!;
      out.check = s;
      break;
    }
    case 'raw-seg': {
      const t0 = performance.now();
      out.check = (await readFile(a.segFile!)).byteLength;
      out.ms = performance.now() - t0;
      break;
    }
    case 'encode': {
      const source = await readDicomVolume(a.dicomDir);
      const labelMap = loadLabels(a);
      gc();
      const before = rssKiB();
      out.peakReset = resetPeak();
      const t0 = performance.now();
      const seg = await encodeSeg({
        source,
        labelMap,
        labels: benchSegLabels(a.labelNames),
        algorithm: { name: 'medseg-bench', version: '1' },
        uids: { series: '2.25.1001', instance: '2.25.1002', dimensionOrganization: '2.25.1003' },
        now: new Date(Date.UTC(2026, 10, 21, 12)),
      });
      out.ms = performance.now() - t0;
      out.rssBeforeKiB = before;
      out.extraPeakKiB = Math.max(0, (vmHwmKiB() ?? process.resourceUsage().maxRSS) - before);
      out.check = seg.bytes.byteLength;
      out.frames = seg.frames;
      out.segmentsWithFrames = seg.segments.filter((s) => s.frames > 0).length;
      out.emptySegments = seg.emptySegments;
      out.notes = seg.notes;
      if (a.write) writeFileSync(a.segFile!, seg.bytes);
      break;
    }
    case 'decode': {
      const source = await readDicomVolume(a.dicomDir);
      gc();
      const before = rssKiB();
      out.peakReset = resetPeak();
      const t0 = performance.now();
      const back = await readSeg(a.segFile!, { source });
      out.ms = performance.now() - t0;
      out.rssBeforeKiB = before;
      out.extraPeakKiB = Math.max(0, (vmHwmKiB() ?? process.resourceUsage().maxRSS) - before);
      out.frames = back.frames.length;
      out.segmentsWithFrames = back.segments.filter((s) => s.frames > 0).length;
      // Check (untimed): segment n is label n, so the decoded map must equal the generated one.
      const want = loadLabels(a).data;
      const got = back.labelMap.data;
      let bad = want.length === got.length ? 0 : Math.abs(want.length - got.length);
      for (let n = 0; n < Math.min(want.length, got.length); n++) if (got[n] !== want[n]) bad++;
      out.check = bad;
      break;
    }
    default:
      throw new Error(`unknown mode ${String(mode)}`);
  }
  out.maxRssKiB = process.resourceUsage().maxRSS;
  process.stdout.write(`${JSON.stringify(out)}\n`);
}

await main();
