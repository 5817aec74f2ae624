/**
 * Part of the measure section (`npm run bench -- measure`, issue 5): the share of the whole `medseg segment` command
 * each stage takes on the bundled demo study, as users run it.
 *
 * Per rep and input (fixtures/demo/dicom, 76 files, and fixtures/demo/ct.nii.gz), a fresh process
 * `node dist-bench/cli/main.js segment <input> --out <tmp> --json` with the bundled default model (no --model).
 * dist-bench/ is medseg compiled from the current src/ by tsc (the same compiler options as `npm run build`, no
 * declarations or source maps; rebuilt when a file under src/ or tsconfig.json is newer), so the run measures the
 * code in the working tree without touching dist/, which tests use. Read per rep:
 *   - the command's own stage timings (its --json summary; checked equal to provenance.json's timingsMs):
 *     load (card + ONNX SHA-256 + reading the scan), preprocess, inference (of which session.run), postprocess,
 *     stats, write; totalMs = segmentCommand's start → outputs described (before provenance.json);
 *   - start-up = provenance.json's startedAt − the parent's clock at spawn (node, imports, argument parsing);
 *   - worker + session = totalMs − the named stages (worker thread start, its imports incl. onnxruntime-node,
 *     the card read again, ONNX Runtime session creation, copying the scan to the worker and the result back);
 *   - after total = process wall − start-up − totalMs (software versions, provenance.json, printing, exit);
 *   - process wall = spawn → exit as seen by the parent; peak RSS and CPU time of the child from GNU time
 *     (`/usr/bin/time -f`), else peak RSS by polling /proc/<pid>/status VmHWM every 10 ms (no CPU time).
 * The stage rows add up to the process wall exactly (up to the command's rounding to whole ms).
 * Every rep's output is checked: exit 0, labels.nii.gz present and non-empty, the scan's dims, stats.json's liver
 * volume within 10 % of fixtures/demo/truth.json's true liver volume, provenance.json complete with the same timings.
 *
 * Baselines measured in the same run, each in a fresh process, interleaved with the reps: (a) `node -e 0` (bare node
 * start-up and exit), (b) `node dist-bench/cli/main.js --help` (the CLI's start-up with all its imports, no work),
 * (c) a child that times `import('onnxruntime-node')` and medseg's openModelSession on default.onnx (session creation
 * alone). One unrecorded warm-up run of the DICOM input comes first (page cache, model file).
 *
 * Reps: min(--reps, 3) (a rep of both inputs is ~25–80 s), MEDSEG_BENCH_SEGMENT_REPS=N overrides;
 * MEDSEG_BENCH_SEGMENT=skip leaves the part out. Skipped with a note when models/default/default.onnx is missing.
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, utimesSync } from 'node:fs';
import { createRequire } from 'node:module';
import { loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { lastJsonLine, runTsChild } from './lib/proc.js';
import { fmt, markdownTable, max, median, min } from './lib/stats.js';

const SELF = fileURLToPath(import.meta.url);
const REPO = fileURLToPath(new URL('..', import.meta.url));
const OUT_DIR = 'dist-bench';
const CLI = join(REPO, OUT_DIR, 'cli', 'main.js');
const CARD = join(REPO, 'models', 'default', 'default.card.json');
const ONNX = join(REPO, 'models', 'default', 'default.onnx');
const DEMO = join(REPO, 'fixtures', 'demo');
const TRUTH = join(DEMO, 'truth.json');
const GNU_TIME = '/usr/bin/time';
const MB = 1e6;
const LIVER_TOLERANCE = 0.1;

type Timings = { loadMs: number; preprocessMs: number; inferenceMs: number; sessionRunMs: number; postprocessMs: number; statsMs: number; writeMs: number; totalMs: number };

export interface SegmentSample {
  rep: number;
  wallMs: number;
  /** provenance startedAt − spawn (epoch ms). */
  startupMs: number;
  /** totalMs − the named stages. */
  workerSessionMs: number;
  /** wall − start-up − totalMs. */
  afterTotalMs: number;
  /** inference − session.run. */
  engineOwnMs: number;
  timings: Timings;
  tiles: number;
  peakRssKiB?: number | undefined;
  cpuUserS?: number | undefined;
  cpuSysS?: number | undefined;
  liverMl: number;
  liverErrorPct: number;
  loadavg1: number;
}

export interface SegmentInputResult {
  id: 'dicom' | 'nifti';
  label: string;
  path: string;
  files: number;
  bytes: number;
  dims: number[];
  samples: SegmentSample[];
  medians: Record<string, number>;
  table: string;
}

export interface BaselineResult {
  id: 'node' | 'help' | 'session';
  label: string;
  wallMs: number[];
  /** session: import('onnxruntime-node') and openModelSession, ms inside the child. */
  importOrtMs?: number[];
  createMs?: number[];
  peakRssKiB: number[];
}

export interface SegmentStagesResult {
  skipped?: string;
  reps: number;
  build?: { outDir: string; rebuilt: boolean; ms: number };
  peakRssMethod?: string;
  model?: { card: string; onnx: string; onnxBytes: number };
  truthLiverMl?: number;
  inputs: SegmentInputResult[];
  baselines: BaselineResult[];
  ratioTable?: string;
  baselineTable?: string;
  notes: string[];
}

interface SectionContext {
  reps: number;
  log: (line: string) => void;
}

// ---------------------------------------------------------------------------------------------------------------
// Processes

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
  wallMs: number;
  spawnEpochMs: number;
  peakRssKiB?: number | undefined;
  cpuUserS?: number | undefined;
  cpuSysS?: number | undefined;
}

function vmHwmOf(pid: number): number | undefined {
  try {
    const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Runs `node <args>` in a fresh process from the repository root: wall time spawn → exit, peak RSS and CPU time
 * from GNU time when present, else peak RSS by polling VmHWM.
 */
function runNode(args: readonly string[]): Promise<Run> {
  const gnuTime = existsSync(GNU_TIME);
  const cmd = gnuTime ? GNU_TIME : process.execPath;
  const argv = gnuTime ? ['-f', 'MEDSEG_BENCH_TIME %M %U %S', process.execPath, ...args] : [...args];
  return new Promise((resolvePromise, reject) => {
    const spawnEpochMs = Date.now();
    const t0 = performance.now();
    const child = spawn(cmd, argv, { cwd: REPO, env: process.env, stdio: ['ignore', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (b: Buffer) => out.push(b));
    child.stderr.on('data', (b: Buffer) => err.push(b));
    let polled: number | undefined;
    const poll = !gnuTime && child.pid !== undefined ? setInterval(() => {
      const v = vmHwmOf(child.pid!);
      if (v !== undefined) polled = Math.max(polled ?? 0, v);
    }, 10) : undefined;
    child.on('error', (e) => {
      if (poll) clearInterval(poll);
      reject(e);
    });
    child.on('close', (code) => {
      const wallMs = performance.now() - t0;
      if (poll) clearInterval(poll);
      let stderr = Buffer.concat(err).toString('utf8');
      const r: Run = { code, stdout: Buffer.concat(out).toString('utf8'), stderr, wallMs, spawnEpochMs, peakRssKiB: polled };
      if (gnuTime) {
        const m = /MEDSEG_BENCH_TIME (\d+) ([\d.]+) ([\d.]+)/.exec(stderr);
        if (m) {
          r.peakRssKiB = Number(m[1]);
          r.cpuUserS = Number(m[2]);
          r.cpuSysS = Number(m[3]);
          stderr = stderr.replace(m[0], '');
        }
        r.stderr = stderr;
      }
      resolvePromise(r);
    });
  });
}

/** Newest modification time (ms) of the files under dir with one of the extensions. */
function newestMtime(dir: string, exts: readonly string[]): number {
  let newest = 0;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) newest = Math.max(newest, newestMtime(p, exts));
    else if (exts.some((x) => e.name.endsWith(x))) newest = Math.max(newest, statSync(p).mtimeMs);
  }
  return newest;
}

/** Compiles src/ into dist-bench/ unless it is newer than every source file. */
function ensureBuild(log: (line: string) => void): { outDir: string; rebuilt: boolean; ms: number } {
  const sourcesMs = Math.max(newestMtime(join(REPO, 'src'), ['.ts', '.json']), statSync(join(REPO, 'tsconfig.json')).mtimeMs);
  if (existsSync(CLI) && statSync(CLI).mtimeMs > sourcesMs) return { outDir: OUT_DIR, rebuilt: false, ms: 0 };
  log(`measure: compiling src/ into ${OUT_DIR}/ (tsc)…`);
  const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
  const t0 = performance.now();
  const startedAt = new Date();
  const r = spawnSync(process.execPath, [tsc, '-p', join(REPO, 'tsconfig.json'), '--outDir', join(REPO, OUT_DIR), '--declaration', 'false', '--sourceMap', 'false'], { cwd: REPO, encoding: 'utf8' });
  const ms = performance.now() - t0;
  if (r.status !== 0 || !existsSync(CLI)) {
    // tsc still writes its output on type errors: remove it, so that a later run does not take it as up to date.
    rmSync(join(REPO, OUT_DIR), { recursive: true, force: true });
    throw new Error(`measure: tsc -p tsconfig.json --outDir ${OUT_DIR} failed (exit ${r.status}); \`medseg segment\` not measured:\n${(r.stdout + r.stderr).slice(-3000)}`);
  }
  // Dated to the compile's start: a source edited during the compile makes the next run rebuild.
  utimesSync(CLI, startedAt, startedAt);
  return { outDir: OUT_DIR, rebuilt: true, ms };
}

// ---------------------------------------------------------------------------------------------------------------
// One `medseg segment`

interface SegmentJson {
  labelsFile: string;
  dims: number[];
  tiles: number;
  structures: { value: number; name: string; voxels: number; volumeMl: number }[];
  timings: Timings;
}

async function segmentOnce(input: string, rep: number, truthLiverMl: number, dims: readonly number[]): Promise<SegmentSample> {
  const out = mkdtempSync(join(tmpdir(), 'medseg-bench-segment-'));
  try {
    const load1 = loadavg()[0]!;
    const r = await runNode([CLI, 'segment', input, '--out', out, '--json']);
    const what = `medseg segment ${input} (rep ${rep})`;
    if (r.code !== 0) throw new Error(`${what} failed (exit ${r.code}):\n${r.stderr.slice(-3000)}\n${r.stdout.slice(-1000)}`);
    let s: SegmentJson;
    try {
      s = JSON.parse(r.stdout) as SegmentJson;
    } catch {
      throw new Error(`${what}: stdout is not the --json summary:\n${r.stdout.slice(-1000)}`);
    }
    // Output checks: a fast but wrong run fails the bench.
    const labels = join(out, 'labels.nii.gz');
    if (!existsSync(labels) || statSync(labels).size === 0) throw new Error(`${what}: ${labels} is missing or empty`);
    if (s.dims.join('×') !== dims.join('×')) throw new Error(`${what}: label map ${s.dims.join('×')}, expected the scan's ${dims.join('×')}`);
    const stats = JSON.parse(readFileSync(join(out, 'stats.json'), 'utf8')) as { structures: { label: number; volumeMl: number }[] };
    const liver = stats.structures.find((x) => x.label === 1);
    if (!liver) throw new Error(`${what}: stats.json has no liver (label 1)`);
    const liverErrorPct = ((liver.volumeMl - truthLiverMl) / truthLiverMl) * 100;
    if (Math.abs(liverErrorPct) > LIVER_TOLERANCE * 100) throw new Error(`${what}: liver ${liver.volumeMl.toFixed(1)} mL, true ${truthLiverMl.toFixed(1)} mL (${liverErrorPct.toFixed(1)} %, more than ${LIVER_TOLERANCE * 100} %)`);
    const prov = JSON.parse(readFileSync(join(out, 'provenance.json'), 'utf8')) as { status: string; startedAt: string; timingsMs: Record<string, number> };
    if (prov.status !== 'complete') throw new Error(`${what}: provenance.json status ${prov.status}`);
    const t = s.timings;
    const expected = { load: t.loadMs, preprocess: t.preprocessMs, inference: t.inferenceMs, sessionRun: t.sessionRunMs, postprocess: t.postprocessMs, stats: t.statsMs, write: t.writeMs, total: t.totalMs };
    if (JSON.stringify(prov.timingsMs) !== JSON.stringify(expected)) throw new Error(`${what}: provenance.json timingsMs ${JSON.stringify(prov.timingsMs)} differ from the summary's ${JSON.stringify(t)}`);
    const startupMs = Date.parse(prov.startedAt) - r.spawnEpochMs;
    const named = t.loadMs + t.preprocessMs + t.inferenceMs + t.postprocessMs + t.statsMs + t.writeMs;
    return {
      rep,
      wallMs: r.wallMs,
      startupMs,
      workerSessionMs: t.totalMs - named,
      afterTotalMs: r.wallMs - startupMs - t.totalMs,
      engineOwnMs: t.inferenceMs - t.sessionRunMs,
      timings: t,
      tiles: s.tiles,
      peakRssKiB: r.peakRssKiB,
      cpuUserS: r.cpuUserS,
      cpuSysS: r.cpuSysS,
      liverMl: liver.volumeMl,
      liverErrorPct,
      loadavg1: Math.round(load1 * 100) / 100,
    };
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Baselines

interface SessionChildResult {
  importOrtMs: number;
  createMs: number;
}

async function baselineOnce(id: BaselineResult['id']): Promise<{ wallMs: number; peakRssKiB?: number | undefined; session?: SessionChildResult }> {
  if (id === 'session') {
    const r = await runTsChild(SELF, ['session', ONNX]);
    const s = lastJsonLine<SessionChildResult & { peakRssKiB: number }>(r, 'session-creation child');
    return { wallMs: r.wallMs, peakRssKiB: s.peakRssKiB, session: s };
  }
  const r = await runNode(id === 'node' ? ['-e', '0'] : [CLI, '--help']);
  if (r.code !== 0) throw new Error(`baseline ${id} failed (exit ${r.code}): ${r.stderr.slice(-1000)}`);
  return { wallMs: r.wallMs, peakRssKiB: r.peakRssKiB };
}

/** Child: times import('onnxruntime-node') and medseg's openModelSession on the model, in a fresh process. */
async function sessionChild(onnx: string): Promise<void> {
  const t0 = performance.now();
  await import('onnxruntime-node');
  const t1 = performance.now();
  const { openModelSession } = await import('../src/inference/session.js');
  const t2 = performance.now();
  const session = await openModelSession(onnx, {});
  const t3 = performance.now();
  await session.release();
  process.stdout.write(`${JSON.stringify({ importOrtMs: t1 - t0, createMs: t3 - t2, peakRssKiB: process.resourceUsage().maxRSS })}\n`);
}

// ---------------------------------------------------------------------------------------------------------------
// Section part

function countFiles(p: string): { files: number; bytes: number } {
  const st = statSync(p);
  if (!st.isDirectory()) return { files: 1, bytes: st.size };
  let files = 0;
  let bytes = 0;
  for (const e of readdirSync(p, { withFileTypes: true })) {
    const c = countFiles(join(p, e.name));
    files += c.files;
    bytes += c.bytes;
  }
  return { files, bytes };
}

const range = (v: readonly number[], digits = 0) => (v.length ? `${fmt(min(v), digits)}–${fmt(max(v), digits)}` : '—');
const pct = (part: number, whole: number) => `${fmt((100 * part) / whole, 1)}%`;

function stageTable(samples: readonly SegmentSample[]): { table: string; medians: Record<string, number> } {
  const rows: [string, (s: SegmentSample) => number, boolean][] = [
    ['start-up: node, imports, arguments (spawn → segmentCommand)', (s) => s.startupMs, true],
    ['load: card, ONNX SHA-256, scan (loadMs)', (s) => s.timings.loadMs, true],
    ['worker + ORT session: worker start and imports, session creation, copies (total − stages)', (s) => s.workerSessionMs, true],
    ['preprocess: resample to 2 mm, normalise, crop (preprocessMs)', (s) => s.timings.preprocessMs, true],
    ['inference: tiling engine (inferenceMs)', (s) => s.timings.inferenceMs, true],
    ['  of which session.run (sessionRunMs)', (s) => s.timings.sessionRunMs, false],
    ['  of which the engine’s own work (inference − session.run)', (s) => s.engineOwnMs, false],
    ['postprocess: largest component (postprocessMs)', (s) => s.timings.postprocessMs, true],
    ['statistics (statsMs)', (s) => s.timings.statsMs, true],
    ['write: labels.nii.gz, stats, input SHA-256 (writeMs)', (s) => s.timings.writeMs, true],
    ['after total: versions, provenance.json, print, exit', (s) => s.afterTotalMs, true],
    ['command total (totalMs, in the process)', (s) => s.timings.totalMs, false],
    ['process wall (spawn → exit)', (s) => s.wallMs, false],
  ];
  const wall = median(samples.map((s) => s.wallMs));
  const medians: Record<string, number> = {};
  const keys = ['startup', 'load', 'workerSession', 'preprocess', 'inference', 'sessionRun', 'engineOwn', 'postprocess', 'stats', 'write', 'afterTotal', 'total', 'wall'];
  const table = markdownTable(
    ['stage', 'median ms', 'min–max ms', 'share of wall'],
    rows.map(([label, get], n) => {
      const v = samples.map(get);
      const m = median(v);
      medians[keys[n]!] = m;
      return [label, fmt(m), range(v), pct(m, wall)];
    }),
    ['l', 'r', 'r', 'r'],
  );
  return { table, medians };
}

export async function runSegmentStages(ctx: SectionContext): Promise<SegmentStagesResult> {
  const envReps = Number(process.env.MEDSEG_BENCH_SEGMENT_REPS);
  const reps = Number.isInteger(envReps) && envReps > 0 ? envReps : Math.min(ctx.reps, 3);
  const result: SegmentStagesResult = { reps, inputs: [], baselines: [], notes: [] };
  if (process.env.MEDSEG_BENCH_SEGMENT === 'skip') {
    result.skipped = 'MEDSEG_BENCH_SEGMENT=skip';
    return result;
  }
  if (!existsSync(ONNX)) {
    result.skipped = `${ONNX} is missing (the bundled default model is not trained into this checkout; models/default/recipe/README.md); \`medseg segment\` stage shares not measured`;
    return result;
  }
  result.build = ensureBuild(ctx.log);
  const truth = JSON.parse(readFileSync(TRUTH, 'utf8')) as { dims: number[]; labels: { value: number; trueVolumeMl: number }[] };
  const truthLiverMl = truth.labels.find((l) => l.value === 1)!.trueVolumeMl;
  result.truthLiverMl = truthLiverMl;
  result.model = { card: CARD, onnx: ONNX, onnxBytes: statSync(ONNX).size };
  result.peakRssMethod = existsSync(GNU_TIME) ? 'GNU time %M (whole child process)' : '/proc/<pid>/status VmHWM polled every 10 ms';
  const inputs: { id: SegmentInputResult['id']; label: string; path: string }[] = [
    { id: 'dicom', label: 'DICOM series fixtures/demo/dicom', path: join(DEMO, 'dicom') },
    { id: 'nifti', label: 'NIfTI fixtures/demo/ct.nii.gz', path: join(DEMO, 'ct.nii.gz') },
  ];
  const samples = new Map<SegmentInputResult['id'], SegmentSample[]>(inputs.map((i) => [i.id, []]));
  const baselines: BaselineResult[] = [
    { id: 'node', label: '(a) `node -e 0`: bare node start-up + exit', wallMs: [], peakRssKiB: [] },
    { id: 'help', label: '(b) `medseg --help`: CLI start-up with all imports + exit', wallMs: [], peakRssKiB: [] },
    { id: 'session', label: '(c) ORT session creation alone: a fresh process (through tsx) that imports onnxruntime-node and opens default.onnx', wallMs: [], importOrtMs: [], createMs: [], peakRssKiB: [] },
  ];
  ctx.log(`measure: \`medseg segment\` on the demo study, warm-up run (DICOM)…`);
  await segmentOnce(inputs[0]!.path, 0, truthLiverMl, truth.dims);
  for (let rep = 1; rep <= reps; rep++) {
    for (const b of baselines) {
      const r = await baselineOnce(b.id);
      b.wallMs.push(r.wallMs);
      if (r.peakRssKiB !== undefined) b.peakRssKiB.push(r.peakRssKiB);
      if (r.session) {
        b.importOrtMs!.push(r.session.importOrtMs);
        b.createMs!.push(r.session.createMs);
      }
    }
    for (const input of inputs) {
      ctx.log(`measure: segment ${input.id}, rep ${rep}/${reps}…`);
      const s = await segmentOnce(input.path, rep, truthLiverMl, truth.dims);
      ctx.log(`measure:   wall ${fmt(s.wallMs)} ms, total ${s.timings.totalMs} ms, session.run ${s.timings.sessionRunMs} ms, liver ${s.liverMl.toFixed(1)} mL (${s.liverErrorPct.toFixed(1)} %), load ${s.loadavg1}`);
      samples.get(input.id)!.push(s);
    }
  }
  for (const input of inputs) {
    const ss = samples.get(input.id)!;
    const { table, medians } = stageTable(ss);
    result.inputs.push({ ...input, ...countFiles(input.path), dims: truth.dims, samples: ss, medians, table });
  }
  result.baselines = baselines;

  // Ratios: how much beyond raw ONNX Runtime the whole command costs.
  const ratioRows: string[][] = [];
  for (const i of result.inputs) {
    const m = i.medians;
    const ratioOf = (f: (s: SegmentSample) => number) => median(i.samples.map(f));
    const rss = i.samples.flatMap((s) => (s.peakRssKiB !== undefined ? [(s.peakRssKiB * 1024) / MB] : []));
    const cpu = i.samples.flatMap((s) => (s.cpuUserS !== undefined && s.cpuSysS !== undefined ? [(s.cpuUserS + s.cpuSysS) / (s.wallMs / 1000)] : []));
    ratioRows.push([
      i.id === 'dicom' ? `DICOM (${i.files} files, ${fmt(i.bytes / MB, 1)} MB)` : `NIfTI (${fmt(i.bytes / MB, 1)} MB .nii.gz)`,
      fmt(m.sessionRun),
      `${fmt(ratioOf((s) => s.wallMs / s.timings.sessionRunMs), 2)}×`,
      `${fmt(ratioOf((s) => s.timings.inferenceMs / s.timings.sessionRunMs), 3)}×`,
      fmt(ratioOf((s) => s.wallMs - s.timings.sessionRunMs)),
      String(i.samples[0]!.tiles),
      rss.length ? `${fmt(median(rss))} (${range(rss)})` : '—',
      cpu.length ? fmt(median(cpu), 2) : '—',
      `${fmt(median(i.samples.map((s) => s.liverMl)), 1)} (${fmt(median(i.samples.map((s) => s.liverErrorPct)), 2)} %)`,
    ]);
  }
  result.ratioTable = markdownTable(
    ['input', 'session.run ms', 'wall ÷ session.run', 'inference ÷ session.run', 'wall − session.run ms', 'tiles', 'peak RSS MB (min–max)', 'CPU ÷ wall', `liver mL (vs true ${truthLiverMl.toFixed(1)})`],
    ratioRows,
    ['l', 'r', 'r', 'r', 'r', 'r', 'r', 'r', 'r'],
  );
  const baselineRows: string[][] = [];
  for (const b of baselines) {
    const rss = b.peakRssKiB.map((k) => (k * 1024) / MB);
    baselineRows.push([b.label, fmt(median(b.wallMs)), range(b.wallMs), rss.length ? fmt(median(rss)) : '—']);
    if (b.id === 'session') {
      baselineRows.push(['    inside it: import(\'onnxruntime-node\')', fmt(median(b.importOrtMs!)), range(b.importOrtMs!), '']);
      baselineRows.push(['    inside it: openModelSession(default.onnx), as medseg opens it', fmt(median(b.createMs!)), range(b.createMs!), '']);
    }
  }
  result.baselineTable = markdownTable(['baseline (fresh process each)', 'median wall ms', 'min–max ms', 'peak RSS MB'], baselineRows, ['l', 'r', 'r', 'r']);
  const loads = result.inputs.flatMap((i) => i.samples.map((s) => s.loadavg1));
  result.notes.push(`1-minute load average at the start of the reps: ${fmt(min(loads), 2)}–${fmt(max(loads), 2)}.`);
  if (result.build.rebuilt) result.notes.push(`${OUT_DIR}/ compiled from src/ first (${fmt(result.build.ms / 1000, 1)} s).`);
  return result;
}

/** Markdown for the run summary. */
export function segmentStagesSummary(r: SegmentStagesResult): string {
  if (r.skipped) return `## Measure: \`medseg segment\` stage shares on the demo study: skipped (${r.skipped})`;
  const parts = [
    `## Measure: \`medseg segment\` stage shares on the demo study (${r.inputs[0]?.dims.join('×')}), default model, ${r.reps} reps, medians`,
    '',
    `Each rep a fresh \`node ${OUT_DIR}/cli/main.js segment <input> --out <tmp> --json\` (no --model: ${r.model ? `${(r.model.onnxBytes / MB).toFixed(1)} MB default.onnx` : 'the default model'}); stage times from its --json timings (= provenance.json's timingsMs), start-up = provenance startedAt − spawn, process wall and peak RSS measured from outside (${r.peakRssMethod}). Share = median stage / median process wall. Every rep's labels.nii.gz and liver volume (within 10 % of the true ${r.truthLiverMl?.toFixed(1)} mL) checked.`,
  ];
  for (const i of r.inputs) parts.push('', `${i.label} (${i.files} file${i.files === 1 ? '' : 's'}, ${(i.bytes / MB).toFixed(1)} MB):`, '', i.table);
  parts.push('', r.ratioTable ?? '', '', 'Baselines in the same run:', '', r.baselineTable ?? '');
  for (const n of r.notes) parts.push('', `Note: ${n}`);
  return parts.join('\n');
}

// Child entry point (the session-creation baseline).
if (process.argv[1] && resolve(process.argv[1]) === SELF && process.argv[2] === 'session') {
  await sessionChild(process.argv[3]!);
}
