/**
 * The measure benchmark section (`npm run bench -- measure`), and its child process
 * (`node --import tsx bench/measure.ts <mode> '<json>'`): every measurement runs in a fresh process, so its peak RSS
 * is its own.
 *
 * Data: a deterministic 512×512×600 uint8 label map at 0.7×0.7×1.0 mm (358×358×600 mm, 157 MB) with 14 labels painted
 * from geometric shapes in patient mm: liver (a lumpy ellipsoid with 40 small cavities), spleen, kidneys, aorta and
 * IVC (cylinders; the aorta runs through the whole scan, so it is cut by the border), 20 vertebrae (discs), lungs (cut
 * at the top), stomach, pancreas (tilted), gallbladder, bladder, 6 liver lesions (label 14, 5–20 mm radius), plus
 * 3000 scattered single-voxel specks of random labels (islands). `MEDSEG_BENCH_MEASURE=quick` uses 256×256×300 at
 * 1.4×1.4×2 mm (the same anatomy).
 *
 * Measured, in one child, after a warm-up: (a) the baseline, one plain counting loop over the voxels
 * (`counts[data[n]]++`); (b) postprocessing + statistics as `medseg segment` will run them: keepLargestComponent
 * (the 12 single-structure labels: not the vertebrae or lesions; 26-connectivity), removeSmallIslands
 * (200 mm³, all labels, 26-connectivity), fillHoles (all labels), labelStatistics (all labels, lesion label 14, no
 * image), each on a fresh copy of the map (the copy is not timed); (c) the same statistics with an int16 image on
 * the grid (intensity statistics), and the building blocks alone (run-length pass, surface areas). Baseline and
 * pipeline reps alternate so that drift hits both. Ratio = median pipeline time / median counting loop; target ≤ 10.
 * Peak memory: a separate child runs the pipeline once in place and reports its peak RSS minus the peak with the
 * label map generated (the pipeline's own memory).
 *
 * Then (bench/segment-stages.ts) the share of the whole `medseg segment` command each stage takes on the demo study
 * (DICOM and NIfTI inputs, bundled default model, a fresh process per rep), against the same run's session.run time
 * and start-up baselines.
 */
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { labelStatistics } from '../src/measure/stats.js';
import { surfaceAreasFromRuns } from '../src/measure/surface.js';
import { fillHoles } from '../src/postprocess/holes.js';
import { keepLargestComponent } from '../src/postprocess/components.js';
import { removeSmallIslands } from '../src/postprocess/islands.js';
import { labelRuns } from '../src/postprocess/runs.js';
import type { LabelVolume, Mat3, Vec3, Vec3i, Volume } from '../src/volume/types.js';
import { lastJsonLine, runTsChild, vmHwmKiB } from './lib/proc.js';
import { fmt, markdownTable, median } from './lib/stats.js';
import { runSegmentStages } from './segment-stages.js';

const SELF = fileURLToPath(import.meta.url);
const MB = 1e6;
export const MEASURE_NAMES = ['liver', 'spleen', 'kidney_right', 'kidney_left', 'aorta', 'ivc', 'vertebrae', 'lung_right', 'lung_left', 'stomach', 'pancreas', 'gallbladder', 'bladder', 'liver_lesion'];
const LESION = 14;

interface GridSpec {
  dims: Vec3i;
  spacing: Vec3;
}

export function benchGrid(quick: boolean): GridSpec {
  return quick ? { dims: [256, 256, 300], spacing: [1.4, 1.4, 2] } : { dims: [512, 512, 600], spacing: [0.7, 0.7, 1] };
}

const IDENTITY: Mat3 = [1, 0, 0, 0, 1, 0, 0, 0, 1];

/**
 * The benchmark label map: shapes in LPS mm centred on the scan centre, painted in order (later ones win). Each shape
 * is evaluated only inside its bounding box.
 */
export function makeLabels(g: GridSpec): LabelVolume & { data: Uint8Array } {
  const [nx, ny, nz] = g.dims;
  const [sx, sy, sz] = g.spacing;
  const origin: Vec3 = [(-(nx - 1) * sx) / 2, (-(ny - 1) * sy) / 2, (-(nz - 1) * sz) / 2];
  const data = new Uint8Array(nx * ny * nz);
  // Make every page resident, as a map read from a file is (untouched zero pages would flatter every pass).
  for (let n = 0; n < data.length; n += 4096) data[n] = 0;
  const paint = (value: number, lo: Vec3, hi: Vec3, inside: (x: number, y: number, z: number) => boolean) => {
    const i0 = Math.max(0, Math.floor((lo[0] - origin[0]) / sx));
    const i1 = Math.min(nx - 1, Math.ceil((hi[0] - origin[0]) / sx));
    const j0 = Math.max(0, Math.floor((lo[1] - origin[1]) / sy));
    const j1 = Math.min(ny - 1, Math.ceil((hi[1] - origin[1]) / sy));
    const k0 = Math.max(0, Math.floor((lo[2] - origin[2]) / sz));
    const k1 = Math.min(nz - 1, Math.ceil((hi[2] - origin[2]) / sz));
    for (let k = k0; k <= k1; k++) {
      const z = origin[2] + k * sz;
      for (let j = j0; j <= j1; j++) {
        const y = origin[1] + j * sy;
        let n = i0 + j * nx + k * nx * ny;
        for (let i = i0; i <= i1; i++, n++) if (inside(origin[0] + i * sx, y, z)) data[n] = value;
      }
    }
  };
  const ellipsoid = (value: number, c: Vec3, r: Vec3, lumpy = 0) =>
    paint(value, [c[0] - r[0] * (1 + lumpy), c[1] - r[1] * (1 + lumpy), c[2] - r[2] * (1 + lumpy)], [c[0] + r[0] * (1 + lumpy), c[1] + r[1] * (1 + lumpy), c[2] + r[2] * (1 + lumpy)], (x, y, z) => {
      const q = ((x - c[0]) / r[0]) ** 2 + ((y - c[1]) / r[1]) ** 2 + ((z - c[2]) / r[2]) ** 2;
      return q <= (1 + lumpy * Math.sin(x / 17) * Math.cos(y / 23) * Math.sin(z / 19 + 1)) ** 2;
    });
  const cylinder = (value: number, cx: number, cy: number, r: number, z0: number, z1: number) =>
    paint(value, [cx - r, cy - r, z0], [cx + r, cy + r, z1], (x, y, z) => (x - cx) ** 2 + (y - cy) ** 2 <= r * r && z >= z0 && z <= z1);
  ellipsoid(1, [-60, 0, 40], [95, 75, 85], 0.08);
  ellipsoid(2, [85, 40, 60], [45, 30, 55], 0.05);
  ellipsoid(3, [-65, 55, -40], [30, 25, 55]);
  ellipsoid(4, [65, 55, -30], [30, 25, 55]);
  cylinder(5, 10, 40, 11, -400, 400);
  cylinder(6, -25, 35, 12, -300, 150);
  for (let v = 0; v < 20; v++) cylinder(7, 0, 80, 20, -290 + v * 30, -290 + v * 30 + 22);
  ellipsoid(8, [-80, 10, 230], [75, 90, 150]);
  ellipsoid(9, [80, 10, 230], [75, 90, 150]);
  ellipsoid(10, [50, -30, 70], [55, 40, 50], 0.05);
  // Pancreas: an ellipsoid tilted 25° about z.
  const ca = Math.cos((25 * Math.PI) / 180);
  const sa = Math.sin((25 * Math.PI) / 180);
  paint(11, [-75, -40, -12], [95, 80, 32], (x, y, z) => {
    const u = (x - 10) * ca + (y - 20) * sa;
    const w = -(x - 10) * sa + (y - 20) * ca;
    return (u / 80) ** 2 + (w / 15) ** 2 + ((z - 10) / 20) ** 2 <= 1;
  });
  ellipsoid(12, [-45, -50, 10], [15, 15, 35]);
  ellipsoid(13, [0, -20, -230], [45, 40, 35]);
  let s = 20261121;
  const rnd = () => (s = (s * 48271) % 2147483647) / 2147483647;
  // 40 cavities (holes) of 2–3 mm radius inside the liver, then 6 lesions.
  for (let h = 0; h < 40; h++) {
    const c: Vec3 = [-60 + (rnd() - 0.5) * 100, (rnd() - 0.5) * 80, 40 + (rnd() - 0.5) * 90];
    const r = 2 + rnd();
    paint(0, [c[0] - r, c[1] - r, c[2] - r], [c[0] + r, c[1] + r, c[2] + r], (x, y, z) => (x - c[0]) ** 2 + (y - c[1]) ** 2 + (z - c[2]) ** 2 <= r * r);
  }
  for (let l = 0; l < 6; l++) {
    const c: Vec3 = [-60 + (rnd() - 0.5) * 90, (rnd() - 0.5) * 70, 40 + (rnd() - 0.5) * 80];
    const r = 5 + 15 * rnd();
    paint(LESION, [c[0] - r, c[1] - r, c[2] - r], [c[0] + r, c[1] + r, c[2] + r], (x, y, z) => (x - c[0]) ** 2 + (y - c[1]) ** 2 + (z - c[2]) ** 2 <= r * r);
  }
  for (let n = 0; n < 3000; n++) data[Math.floor(rnd() * data.length)] = 1 + Math.floor(rnd() * 13);
  return { data, dims: g.dims, spacing: g.spacing, origin, direction: IDENTITY };
}

/** An int16 "CT" on the label grid: 10 × label + 40 HU plus deterministic noise in ±8 HU. */
function makeImage(labels: LabelVolume): Volume<Int16Array> {
  const out = new Int16Array(labels.data.length);
  let s = 12345;
  for (let n = 0; n < out.length; n++) {
    s = (s * 1103515245 + 12345) >>> 0;
    out[n] = (labels.data[n]! === 0 ? -100 : 40 + 10 * labels.data[n]!) + ((s >>> 28) - 8);
  }
  return { ...labels, data: out };
}

function countingLoop(data: Uint8Array): number {
  const counts = new Uint32Array(256);
  for (let n = 0; n < data.length; n++) counts[data[n]!]!++;
  return counts[1]!;
}

const names = new Map(MEASURE_NAMES.map((n, i) => [i + 1, n]));
const ORGAN_LABELS = MEASURE_NAMES.map((_, i) => i + 1).filter((l) => l !== LESION && l !== 7); // 7: 20 separate vertebrae

/** The pipeline under test, in place. Returns per-step ms. */
function pipeline(labels: LabelVolume, image?: Volume): { largestMs: number; islandsMs: number; holesMs: number; statsMs: number; totalMs: number; removedVoxels: number; filledVoxels: number; structures: number; lesions: number } {
  const tl = performance.now();
  // Organs are single structures (the default model's card keeps their largest component); lesions are many.
  const largest = keepLargestComponent(labels.data, labels.dims, { labels: ORGAN_LABELS });
  const t0 = performance.now();
  const islands = removeSmallIslands(labels, { minVolumeMm3: 200 });
  const t1 = performance.now();
  const holes = fillHoles(labels);
  const t2 = performance.now();
  const stats = labelStatistics(labels, { names, lesionLabels: [LESION], image });
  const t3 = performance.now();
  return {
    largestMs: t0 - tl,
    islandsMs: t1 - t0,
    holesMs: t2 - t1,
    statsMs: t3 - t2,
    totalMs: t3 - tl,
    removedVoxels: islands.reduce((a, b) => a + b.removedVoxels, 0) + [...largest.values()].reduce((a, b) => a + b, 0),
    filledVoxels: holes.reduce((a, b) => a + b.filledVoxels, 0),
    structures: stats.structures.length,
    lesions: stats.lesions.length,
  };
}

// ---------------------------------------------------------------------------------------------------------------
// Child

interface ChildArgs {
  quick: boolean;
  reps: number;
}

export interface TimeChildResult {
  mode: 'time';
  dims: Vec3i;
  spacing: Vec3;
  generateMs: number;
  runs: number;
  countingMs: number[];
  pipeline: ReturnType<typeof pipeline>[];
  withImageMs: number[];
  runsMs: number[];
  surfaceMs: number[];
  result: { removedVoxels: number; filledVoxels: number; structures: number; lesions: number };
}

export interface MemoryChildResult {
  mode: 'memory';
  rssIdleKiB: number;
  rssWithLabelsKiB: number;
  rssPeakKiB: number;
  vmHwmKiB?: number | undefined;
  labelBytes: number;
}

function maxRssKiB(): number {
  return process.resourceUsage().maxRSS;
}

async function childMain(mode: 'time' | 'memory', a: ChildArgs): Promise<void> {
  const g = benchGrid(a.quick);
  if (mode === 'memory') {
    const rssIdleKiB = maxRssKiB();
    const labels = makeLabels(g);
    const rssWithLabelsKiB = maxRssKiB();
    pipeline(labels);
    const out: MemoryChildResult = { mode, rssIdleKiB, rssWithLabelsKiB, rssPeakKiB: maxRssKiB(), vmHwmKiB: vmHwmKiB(), labelBytes: labels.data.byteLength };
    process.stdout.write(`${JSON.stringify(out)}\n`);
    return;
  }
  let t = performance.now();
  const labels = makeLabels(g);
  const generateMs = performance.now() - t;
  const work: LabelVolume & { data: Uint8Array } = { ...labels, data: labels.data.slice() };
  // Warm-up (JIT) of both, unrecorded.
  countingLoop(labels.data);
  pipeline(work);
  const countingMs: number[] = [];
  const runs: ReturnType<typeof pipeline>[] = [];
  for (let r = 0; r < a.reps; r++) {
    t = performance.now();
    countingLoop(labels.data);
    countingMs.push(performance.now() - t);
    work.data.set(labels.data);
    runs.push(pipeline(work));
  }
  // The statistics with an image, and the building blocks, on the postprocessed map.
  const image = makeImage(work);
  const withImageMs: number[] = [];
  const runsMs: number[] = [];
  const surfaceMs: number[] = [];
  const slotOf = new Int32Array(65536).fill(-1);
  for (let l = 1; l <= 14; l++) slotOf[l] = l - 1;
  for (let r = 0; r < a.reps; r++) {
    t = performance.now();
    labelStatistics(work, { names, lesionLabels: [LESION], image });
    withImageMs.push(performance.now() - t);
    t = performance.now();
    const rl = labelRuns(work.data, work.dims);
    runsMs.push(performance.now() - t);
    t = performance.now();
    surfaceAreasFromRuns(rl, work.data, work, slotOf, 14);
    surfaceMs.push(performance.now() - t);
  }
  const last = runs[runs.length - 1]!;
  const out: TimeChildResult = {
    mode,
    dims: g.dims,
    spacing: g.spacing,
    generateMs,
    runs: labelRuns(work.data, work.dims).count,
    countingMs,
    pipeline: runs,
    withImageMs,
    runsMs,
    surfaceMs,
    result: { removedVoxels: last.removedVoxels, filledVoxels: last.filledVoxels, structures: last.structures, lesions: last.lesions },
  };
  process.stdout.write(`${JSON.stringify(out)}\n`);
}

// ---------------------------------------------------------------------------------------------------------------
// Parent

interface SectionContext {
  reps: number;
  log: (line: string) => void;
}

export async function runMeasureSection(ctx: SectionContext) {
  const quick = process.env.MEDSEG_BENCH_MEASURE === 'quick';
  const reps = Math.max(3, Math.min(ctx.reps, 7));
  ctx.log(`measure: timing child (${quick ? 'quick, ' : ''}${reps} reps)…`);
  const time = lastJsonLine<TimeChildResult>(await runTsChild(SELF, ['time', JSON.stringify({ quick, reps })]), 'measure time child');
  ctx.log('measure: memory child…');
  const memory = lastJsonLine<MemoryChildResult>(await runTsChild(SELF, ['memory', JSON.stringify({ quick, reps })]), 'measure memory child');
  const base = median(time.countingMs);
  const med = (k: 'largestMs' | 'islandsMs' | 'holesMs' | 'statsMs' | 'totalMs') => median(time.pipeline.map((p) => p[k]));
  const rows: [string, number][] = [
    ['(a) counting loop `counts[data[n]]++` (baseline)', base],
    ['keepLargestComponent (12 organ labels)', med('largestMs')],
    ['removeSmallIslands (200 mm³, all labels)', med('islandsMs')],
    ['fillHoles (all labels)', med('holesMs')],
    ['labelStatistics (14 labels, surfaces, lesions; no image)', med('statsMs')],
    ['(b) postprocessing + statistics', med('totalMs')],
    ['labelStatistics with an int16 image (intensities)', median(time.withImageMs)],
    ['  of which: run-length pass (labelRuns)', median(time.runsMs)],
    ['  of which: surface areas (Crofton, 14 labels)', median(time.surfaceMs)],
  ];
  const table = markdownTable(
    ['measurement', 'median ms', 'min–max ms', '× counting loop'],
    rows.map(([name, ms]) => {
      const all =
        name.startsWith('(a)') ? time.countingMs
        : name.startsWith('keep') ? time.pipeline.map((p) => p.largestMs)
        : name.startsWith('remove') ? time.pipeline.map((p) => p.islandsMs)
        : name.startsWith('fill') ? time.pipeline.map((p) => p.holesMs)
        : name.startsWith('labelStatistics (') ? time.pipeline.map((p) => p.statsMs)
        : name.startsWith('(b)') ? time.pipeline.map((p) => p.totalMs)
        : name.includes('image') ? time.withImageMs
        : name.includes('labelRuns') ? time.runsMs
        : time.surfaceMs;
      return [name, fmt(ms), `${fmt(Math.min(...all))}–${fmt(Math.max(...all))}`, name.startsWith('(a)') ? '1.00' : `${fmt(ms / base, 2)}×`];
    }),
    ['l', 'r', 'r', 'r'],
  );
  const ratio = med('totalMs') / base;
  const pipelineMB = ((memory.rssPeakKiB - memory.rssWithLabelsKiB) * 1024) / MB;
  const targets = [
    { target: 'postprocessing + statistics ≤ 10× a counting loop', measured: `${fmt(med('totalMs'))} / ${fmt(base)} ms = ${fmt(ratio, 2)}×`, pass: ratio <= 10 },
  ];
  const targetTable = markdownTable(['target', 'measured', 'result'], targets.map((t) => [t.target, t.measured, t.pass ? 'PASS' : 'MISS']));
  const memoryTable = markdownTable(
    ['label map', 'peak RSS idle MB', 'peak RSS with map MB', 'peak RSS after pipeline MB', 'pipeline’s own MB', '× label map'],
    [[`${time.dims.join('×')} uint8 (${fmt(memory.labelBytes / MB)} MB)`, fmt((memory.rssIdleKiB * 1024) / MB), fmt((memory.rssWithLabelsKiB * 1024) / MB), fmt((memory.rssPeakKiB * 1024) / MB), fmt(pipelineMB), fmt((pipelineMB * MB) / memory.labelBytes, 2)]],
    ['l', 'r', 'r', 'r', 'r', 'r'],
  );
  const segment = await runSegmentStages(ctx);
  return { section: 'measure', quick, reps, time, memory, ratio, targets, table, targetTable, memoryTable, segment };
}

// Child entry point.
if (process.argv[1] && resolve(process.argv[1]) === SELF) {
  const [mode, json] = process.argv.slice(2) as ['time' | 'memory', string];
  await childMain(mode, JSON.parse(json ?? '{}') as ChildArgs);
}
