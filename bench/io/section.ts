/**
 * The IO benchmark section: load times and peak memory of medseg's DICOM and NIfTI readers against baselines
 * measured in the same run (raw reads, node's gunzip, dcm2niix, pydicom, nibabel). Each measurement runs in a fresh
 * process; reps are interleaved round-robin so that drift and other load on the machine hit all of them alike.
 */
import { mkdirSync, readdirSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { summarizeCpuProfile, type ProfileEntry } from '../lib/cpuprofile.js';
import { lastJsonLine, runProcess, runTsChild, runWithPeakRss, which } from '../lib/proc.js';
import { fmt, markdownTable, max, median, min } from '../lib/stats.js';
import type { ChildResult, NodeMode } from './child.js';
import { ensureIoData, type IoData } from './generate.js';

const CHILD = fileURLToPath(new URL('./child.ts', import.meta.url));
const PY_SCRIPT = fileURLToPath(new URL('./py_bench.py', import.meta.url));
const PYTHON = '/usr/bin/python3';

export interface IoSectionOptions {
  cacheDir: string;
  reps: number;
  regenerate: boolean;
  profile: boolean;
  log: (line: string) => void;
}

type Runner = 'node' | 'python' | 'dcm2niix';

interface MeasurementDef {
  id: string;
  label: string;
  runner: Runner;
  /** node child mode or python mode */
  mode?: string;
  args: (d: IoData) => string[];
  /** id of the measurement this one is compared with (ratio of medians). */
  baseline?: string;
  /** Expected check value: the voxel sum, or a byte count. */
  expect?: (d: IoData) => number;
}

export interface MeasurementResult {
  id: string;
  label: string;
  runner: Runner;
  baseline?: string;
  /** Time of the operation inside the process (ms); for dcm2niix the subprocess wall time. */
  samplesMs: number[];
  /** Wall time spawn → exit seen by the parent (ms), including interpreter start-up and imports. */
  wallMs: number[];
  /** Peak RSS minus the idle child's peak (KiB); for dcm2niix the whole process peak. */
  rssExtraKiB: number[];
  medianMs: number;
  minMs: number;
  maxMs: number;
  medianWallMs: number;
  medianRssExtraMB: number;
  maxRssExtraMB: number;
  /** medianRssExtra / volume bytes */
  rssToVolume: number;
  /** medianMs / baseline medianMs */
  ratio?: number;
}

export interface TargetResult {
  target: string;
  measured: string;
  value: number;
  limit: number;
  pass: boolean;
}

export interface IoResults {
  section: 'io';
  data: IoData;
  reps: number;
  tools: { dcm2niix?: string; python?: string; pydicom?: string; nibabel?: string; numpy?: string };
  idleRssKiB: { node: number; python?: number };
  measurements: MeasurementResult[];
  targets: TargetResult[];
  profiles?: Record<string, { totalMs: number; top: ProfileEntry[] }>;
  skipped: string[];
  table: string;
  targetTable: string;
}

const FRAME_BYTES = (d: IoData) => d.params.nx * d.params.ny * 2;

const NODE_MEASUREMENTS: MeasurementDef[] = [
  { id: 'raw-dicom', label: '(a) DICOM raw: readFileSync ×300 + copy pixels into one buffer', runner: 'node', mode: 'raw-dicom', args: (d) => [d.dicomDir, String(FRAME_BYTES(d))], expect: (d) => d.volumeBytes },
  { id: 'pread-dicom', label: "(a') DICOM lower bound: pread ×300 of the pixel bytes into one buffer", runner: 'node', mode: 'pread-dicom', args: (d) => [d.dicomDir, String(FRAME_BYTES(d))], baseline: 'raw-dicom', expect: (d) => d.volumeBytes },
  { id: 'read-dicom', label: '(b) readDicomVolume(folder)', runner: 'node', mode: 'read-dicom', args: (d) => [d.dicomDir], baseline: 'raw-dicom', expect: (d) => d.voxelSum },
  { id: 'readfile-nii', label: '(c) .nii raw: fs.readFileSync', runner: 'node', mode: 'readfile', args: (d) => [d.nii], expect: (d) => d.fileBytes.nii },
  { id: 'read-nii', label: '(d) readNifti(.nii)', runner: 'node', mode: 'read-nifti', args: (d) => [d.nii], baseline: 'readfile-nii', expect: (d) => d.voxelSum },
  { id: 'gunzip', label: '(e) .nii.gz raw: readFileSync + zlib.gunzipSync', runner: 'node', mode: 'gunzip', args: (d) => [d.niiGz], expect: (d) => d.fileBytes.nii },
  { id: 'gunzip-sized', label: "(e') .nii.gz raw: readFileSync + gunzipSync, one output-sized chunk", runner: 'node', mode: 'gunzip-sized', args: (d) => [d.niiGz, String(d.fileBytes.nii + 65536)], baseline: 'gunzip', expect: (d) => d.fileBytes.nii },
  { id: 'read-niigz', label: '(f) readNifti(.nii.gz)', runner: 'node', mode: 'read-nifti', args: (d) => [d.niiGz], baseline: 'gunzip-sized', expect: (d) => d.voxelSum },
];

const DCM2NIIX: MeasurementDef = { id: 'dcm2niix', label: '(g) dcm2niix -z n (subprocess wall, writes .nii)', runner: 'dcm2niix', args: () => [], baseline: 'raw-dicom' };

const PY_MEASUREMENTS: MeasurementDef[] = [
  { id: 'pydicom', label: '(h) pydicom: dcmread ×300, sort, stack ·slope+intercept → int16', runner: 'python', mode: 'pydicom', args: (d) => [d.dicomDir], baseline: 'raw-dicom', expect: (d) => d.voxelSum },
  { id: 'nibabel-dataobj', label: '(i) nibabel .nii.gz: asanyarray(dataobj) (int16)', runner: 'python', mode: 'nibabel-dataobj', args: (d) => [d.niiGz], baseline: 'gunzip-sized', expect: (d) => d.voxelSum },
  { id: 'nibabel-fdata', label: '(j) nibabel .nii.gz: get_fdata() (float64)', runner: 'python', mode: 'nibabel-fdata', args: (d) => [d.niiGz], baseline: 'gunzip-sized', expect: (d) => d.voxelSum },
];

interface Sample {
  ms: number;
  wallMs: number;
  maxRssKiB?: number;
}

async function runNode(mode: NodeMode | string, args: string[], flags: string[] = []): Promise<Sample & { check: number }> {
  const r = await runTsChild(CHILD, [mode, ...args], flags);
  const res = lastJsonLine<ChildResult>(r, `node child ${mode}`);
  return { ms: res.ms, wallMs: r.wallMs, maxRssKiB: res.maxRssKiB, check: res.check };
}

async function runPython(mode: string, args: string[]): Promise<Sample & { check: number; versions?: Record<string, string> }> {
  const r = await runProcess(PYTHON, [PY_SCRIPT, mode, ...args]);
  const res = lastJsonLine<{ ms: number; maxRssKiB: number; check: number; versions: Record<string, string> }>(r, `python ${mode}`);
  return { ms: res.ms, wallMs: r.wallMs, maxRssKiB: res.maxRssKiB, check: res.check, versions: res.versions };
}

async function runDcm2niix(exe: string, d: IoData, outDir: string): Promise<Sample> {
  rmSync(outDir, { recursive: true, force: true });
  mkdirSync(outDir, { recursive: true });
  const r = await runWithPeakRss(exe, ['-z', 'n', '-b', 'n', '-f', 'ct', '-o', outDir, d.dicomDir]);
  if (r.code !== 0) throw new Error(`dcm2niix failed (exit ${r.code}): ${r.stderr.slice(-2000)} ${r.stdout.slice(-2000)}`);
  const niis = readdirSync(outDir).filter((f) => f.endsWith('.nii'));
  const size = niis.length === 1 ? statSync(join(outDir, niis[0]!)).size : 0;
  if (size < d.volumeBytes) throw new Error(`dcm2niix wrote ${niis.join(', ') || 'no .nii'} (${size} bytes), expected one .nii of ≥ ${d.volumeBytes} bytes`);
  rmSync(outDir, { recursive: true, force: true });
  return { ms: r.wallMs, wallMs: r.wallMs, maxRssKiB: r.maxRssKiB };
}

async function pythonHas(modules: string[]): Promise<boolean> {
  try {
    const r = await runProcess(PYTHON, ['-c', `import ${modules.join(', ')}`]);
    return r.code === 0;
  } catch {
    return false;
  }
}

function checkValue(def: MeasurementDef, d: IoData, got: number): void {
  const want = def.expect?.(d);
  if (want !== undefined && got !== want) throw new Error(`${def.label}: check value ${got} ≠ expected ${want} — the load returned different data`);
}

export async function runIoSection(o: IoSectionOptions): Promise<IoResults> {
  const log = o.log;
  const d = await ensureIoData(o.cacheDir, log, { force: o.regenerate });
  const skipped: string[] = [];
  const defs: MeasurementDef[] = [...NODE_MEASUREMENTS];
  const dcm2niix = which('dcm2niix');
  let dcm2niixVersion: string | undefined;
  if (dcm2niix) {
    defs.push(DCM2NIIX);
    const v = await runProcess(dcm2niix, ['-v']);
    dcm2niixVersion = /version (\S+)/.exec(v.stdout + v.stderr)?.[1];
  }
  else skipped.push('dcm2niix: not on PATH');
  const hasPydicom = await pythonHas(['numpy', 'pydicom']);
  const hasNibabel = await pythonHas(['numpy', 'nibabel']);
  const hasBoth = hasPydicom && hasNibabel; // py_bench.py imports both
  if (hasBoth) defs.push(...PY_MEASUREMENTS);
  else skipped.push(`pydicom/nibabel: ${PYTHON} lacks ${[!hasPydicom && 'pydicom', !hasNibabel && 'nibabel'].filter(Boolean).join(' and ')} (or numpy)`);

  const samples = new Map<string, Sample[]>(defs.map((m) => [m.id, []]));
  const idleNode: number[] = [];
  const idlePy: number[] = [];
  let versions: Record<string, string> | undefined;
  const dcmOut = join(o.cacheDir, 'dcm2niix-out');

  const runOne = async (def: MeasurementDef): Promise<Sample> => {
    if (def.runner === 'node') {
      const s = await runNode(def.mode!, def.args(d));
      checkValue(def, d, s.check);
      return s;
    }
    if (def.runner === 'python') {
      const s = await runPython(def.mode!, def.args(d));
      checkValue(def, d, s.check);
      versions ??= s.versions;
      return s;
    }
    return runDcm2niix(dcm2niix!, d, dcmOut);
  };

  // Warm-up (not recorded): page cache for every file, tsx's transform cache, python's bytecode cache.
  log('warm-up: one unrecorded pass of the raw reads and idle children …');
  await runNode('idle', []);
  for (const def of NODE_MEASUREMENTS.filter((m) => m.id === 'raw-dicom' || m.id === 'readfile-nii' || m.id === 'gunzip-sized')) await runOne(def);
  if (hasBoth) await runPython('idle', []);

  const t0 = performance.now();
  for (let rep = 0; rep < o.reps; rep++) {
    idleNode.push((await runNode('idle', [])).maxRssKiB!);
    if (hasBoth) idlePy.push((await runPython('idle', [])).maxRssKiB!);
    const line: string[] = [];
    for (const def of defs) {
      const s = await runOne(def);
      samples.get(def.id)!.push(s);
      line.push(`${def.id} ${s.ms.toFixed(0)}`);
    }
    log(`rep ${rep + 1}/${o.reps} (ms): ${line.join(', ')}`);
  }
  log(`measured in ${((performance.now() - t0) / 1000).toFixed(0)} s`);

  const idleNodeKiB = median(idleNode);
  const idlePyKiB = hasBoth ? median(idlePy) : undefined;
  const volMB = d.volumeBytes / 1e6;
  const measurements: MeasurementResult[] = defs.map((def) => {
    const ss = samples.get(def.id)!;
    const idle = def.runner === 'node' ? idleNodeKiB : def.runner === 'python' ? idlePyKiB ?? 0 : 0;
    const rss = ss.filter((s) => s.maxRssKiB !== undefined).map((s) => s.maxRssKiB! - idle);
    const ms = ss.map((s) => s.ms);
    const medRssMB = rss.length ? (median(rss) * 1024) / 1e6 : NaN;
    return {
      id: def.id,
      label: def.label,
      runner: def.runner,
      baseline: def.baseline,
      samplesMs: ms.map((v) => Math.round(v * 10) / 10),
      wallMs: ss.map((s) => Math.round(s.wallMs)),
      rssExtraKiB: rss,
      medianMs: median(ms),
      minMs: min(ms),
      maxMs: max(ms),
      medianWallMs: median(ss.map((s) => s.wallMs)),
      medianRssExtraMB: medRssMB,
      maxRssExtraMB: rss.length ? (max(rss) * 1024) / 1e6 : NaN,
      rssToVolume: medRssMB / volMB,
    };
  });
  const byId = new Map(measurements.map((m) => [m.id, m]));
  for (const m of measurements) if (m.baseline && byId.has(m.baseline)) m.ratio = m.medianMs / byId.get(m.baseline)!.medianMs;

  const targets: TargetResult[] = [];
  const timeTarget = (target: string, id: string, baseId: string, limit: number, strict = false) => {
    const a = byId.get(id);
    const b = byId.get(baseId);
    if (!a || !b) return;
    const value = a.medianMs / b.medianMs;
    targets.push({ target, measured: `${a.medianMs.toFixed(0)} / ${b.medianMs.toFixed(0)} ms = ${value.toFixed(2)}×`, value, limit, pass: strict ? value < limit : value <= limit });
  };
  timeTarget('DICOM series load ≤ 1.5× raw read+copy (b/a)', 'read-dicom', 'raw-dicom', 1.5);
  timeTarget('DICOM series load faster than pydicom (b/h, both in-process)', 'read-dicom', 'pydicom', 1, true);
  timeTarget(".nii.gz load ≤ 1.2× gunzip (f/e', node's fastest gunzip: inflate into one buffer)", 'read-niigz', 'gunzip-sized', 1.2);
  timeTarget('.nii.gz load ≤ 1.2× gunzip (f/e, plain zlib.gunzipSync; for reference)', 'read-niigz', 'gunzip', 1.2);
  for (const id of ['read-dicom', 'read-nii', 'read-niigz']) {
    const m = byId.get(id)!;
    targets.push({ target: `peak memory ≤ 1.3× volume: ${m.label.replace(/^\(\w\) /, '')}`, measured: `${m.medianRssExtraMB.toFixed(0)} MB = ${m.rssToVolume.toFixed(2)}× ${volMB.toFixed(0)} MB`, value: m.rssToVolume, limit: 1.3, pass: m.rssToVolume <= 1.3 });
  }

  const table = markdownTable(
    ['measurement', 'median ms', 'min–max ms', 'wall ms', 'vs', 'ratio', 'peak extra RSS MB', '× volume'],
    measurements.map((m) => [
      m.label,
      fmt(m.medianMs),
      `${fmt(m.minMs)}–${fmt(m.maxMs)}`,
      fmt(m.medianWallMs),
      m.baseline ? /^\([^)]+\)/.exec(byId.get(m.baseline)!.label)?.[0] ?? m.baseline : '',
      m.ratio === undefined ? '' : `${m.ratio.toFixed(2)}×`,
      fmt(m.medianRssExtraMB),
      fmt(m.rssToVolume, 2),
    ]),
    ['l', 'r', 'r', 'r', 'l', 'r', 'r', 'r'],
  );
  const targetTable = markdownTable(
    ['target', 'measured', 'result'],
    targets.map((t) => [t.target, t.measured, t.pass ? 'PASS' : 'MISS']),
  );

  let profiles: IoResults['profiles'];
  if (o.profile) {
    profiles = {};
    const dir = join(o.cacheDir, 'profiles');
    for (const [id, mode, args] of [
      ['read-dicom', 'read-dicom', [d.dicomDir]],
      ['read-niigz', 'read-nifti', [d.niiGz]],
    ] as const) {
      const pdir = join(dir, id);
      rmSync(pdir, { recursive: true, force: true });
      mkdirSync(pdir, { recursive: true });
      await runNode(mode, [...args], ['--cpu-prof', '--cpu-prof-dir', pdir, '--cpu-prof-interval', '200']);
      const file = readdirSync(pdir).find((f) => f.endsWith('.cpuprofile'));
      if (!file) continue;
      const s = summarizeCpuProfile(join(pdir, file), 15);
      profiles[id] = { totalMs: s.totalMs, top: s.entries };
      log(`\nCPU profile of ${id} (${join(pdir, file)}; self time, whole process incl. start-up):`);
      log(markdownTable(['self ms', 'share', 'function', 'where'], s.entries.map((e) => [e.selfMs.toFixed(0), `${(e.share * 100).toFixed(1)}%`, e.fn, e.where]), ['r', 'r', 'l', 'l']));
    }
  }

  return {
    section: 'io',
    data: d,
    reps: o.reps,
    tools: { dcm2niix: dcm2niix && `${dcm2niix} ${dcm2niixVersion ?? ''}`.trim(), python: versions?.python, pydicom: versions?.pydicom, nibabel: versions?.nibabel, numpy: versions?.numpy },
    idleRssKiB: { node: idleNodeKiB, python: idlePyKiB },
    measurements,
    targets,
    profiles,
    skipped,
    table,
    targetTable,
  };
}
