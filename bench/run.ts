/**
 * medseg benchmarks: `npm run bench [-- <section>… ] [--reps N] [--regenerate] [--profile]`.
 *
 * Sections (default: all):
 *   io          load time and peak memory of the DICOM and NIfTI readers against baselines measured in the same run.
 *   inference   engine overhead against the summed session.run time (U-Net, 256×256×200 CT) and peak memory of a
 *               512×512×300/600 CT (MEDSEG_BENCH_INFERENCE=quick: smaller volumes); see bench/inference.ts.
 *   measure     postprocessing (islands, holes) + statistics (volumes, surfaces, lesions) of a 512×512×600 label map
 *               with 14 labels against a plain counting loop, and its peak memory (MEDSEG_BENCH_MEASURE=quick:
 *               256×256×300); the share of the whole `medseg segment` command each stage takes on the demo study
 *               (DICOM and NIfTI, default model; MEDSEG_BENCH_SEGMENT=skip leaves it out); see bench/measure.ts and
 *               bench/segment-stages.ts.
 *   pacs        SEG encode/decode time, peak memory and file size of a 512×512×300 CT with 14 segments against raw reads
 *               and medseg's DICOM load of the source series; the demo study's round trip through a real Orthanc
 *               (retrieve → segment → store) by stage against a bare WADO-RS retrieve and STOW-RS; see bench/pacs.ts.
 *   server      N simultaneous uploads + jobs on a real `medseg serve`: throughput against one job alone, API latency
 *               while jobs run, no job lost; with redis-server, one and two `medseg worker`s; see bench/server.ts.
 *   viewer      the browser viewer in Chromium on a 512×512×300 CT with 14 labels: time to first image, labels and
 *               3D surfaces against a bare fetch + gunzip of the same files in the page, JS heap and browser RSS;
 *               see bench/viewer.ts.
 * Each section returns a result object that is
 * written to .cache/bench/<section>-results.json, plus a Markdown table printed to stdout.
 *
 * Performance is reported as ratios against baselines measured in the same run, never as timed test assertions.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, release, totalmem, type } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { runInferenceSection } from './inference.js';
import { runMeasureSection } from './measure.js';
import { segmentStagesSummary } from './segment-stages.js';
import { runPacsSection } from './pacs.js';
import { runServerSection } from './server.js';
import { runViewerSection } from './viewer.js';
import { runIoSection } from './io/section.js';

const REPO = fileURLToPath(new URL('..', import.meta.url));
const CACHE = join(REPO, '.cache', 'bench');

interface Args {
  sections: string[];
  reps: number;
  regenerate: boolean;
  profile: boolean;
}

interface SectionContext {
  cacheDir: string;
  reps: number;
  regenerate: boolean;
  profile: boolean;
  log: (line: string) => void;
}

interface SectionReport {
  /** Written as JSON to .cache/bench/<name>-results.json */
  result: object;
  /** Markdown printed at the end */
  summary: string;
}

const SECTIONS: Record<string, (ctx: SectionContext) => Promise<SectionReport>> = {
  io: async (ctx) => {
    const r = await runIoSection(ctx);
    const d = r.data;
    const summary = [
      `## IO: ${d.params.nx}×${d.params.ny}×${d.params.nz} int16 (${(d.volumeBytes / 1e6).toFixed(1)} MB), ${r.reps} reps, medians`,
      '',
      `Files: .nii ${(d.fileBytes.nii / 1e6).toFixed(1)} MB, .nii.gz ${(d.fileBytes.niiGz / 1e6).toFixed(1)} MB (gzip ratio ${(d.fileBytes.nii / d.fileBytes.niiGz).toFixed(2)}), DICOM ${d.dicomFiles} files ${(d.fileBytes.dicomTotal / 1e6).toFixed(1)} MB.`,
      `Times are inside the process (start-up and imports excluded; "wall" includes them). Peak extra RSS = the child's peak RSS minus an idle child's with the same imports (node ${(r.idleRssKiB.node / 1024).toFixed(0)} MiB${r.idleRssKiB.python ? `, python ${(r.idleRssKiB.python / 1024).toFixed(0)} MiB` : ''}); dcm2niix: whole-process peak.`,
      '',
      r.table,
      '',
      r.targetTable,
      ...(r.skipped.length ? ['', `Skipped: ${r.skipped.join('; ')}`] : []),
    ].join('\n');
    return { result: r, summary };
  },
  inference: async (ctx) => {
    const r = await runInferenceSection(ctx);
    const o = r.overhead[0]!.volume.dims;
    const summary = [
      `## Inference: engine overhead, ${o.join('×')} int16 CT, unet3d-small, 64³ patches, step 0.5, 14 classes${r.quick ? ' (quick mode)' : ''}`,
      '',
      'ratio = segmentWithRunner wall / its own summed session.run time (timings.sessionRunMs). "plain run" = a loop of bare session.run calls on random tensors in the same process and session (half before the engine, half after).',
      '',
      r.overheadTable,
      '',
      `## Inference: peak memory (pointwise-3d-14, 64³ tiles, batch 1; whole-process peak RSS)`,
      '',
      r.memoryTable,
      '',
      'Per-patch ONNX Runtime memory (peak RSS after the run minus the peak before it):',
      '',
      r.patchTable,
      '',
      r.targetTable,
      ...(r.profileTable ? ['', `CPU profile of the engine (pointwise-3d-14 on the same volume; self time):`, '', r.profileTable] : []),
    ].join('\n');
    return { result: r, summary };
  },
  measure: async (ctx) => {
    const r = await runMeasureSection(ctx);
    const t = r.time;
    const summary = [
      `## Measure: postprocessing + statistics, ${t.dims.join('×')} uint8 label map, ${t.spacing.join('×')} mm, 14 labels${r.quick ? ' (quick mode)' : ''}, ${r.reps} reps, medians`,
      '',
      `Map: ${t.runs} row runs; pipeline removed ${t.result.removedVoxels} island voxels, filled ${t.result.filledVoxels} hole voxels, reported ${t.result.structures} structures and ${t.result.lesions} lesions.`,
      '',
      r.table,
      '',
      r.memoryTable,
      '',
      r.targetTable,
      '',
      segmentStagesSummary(r.segment),
    ].join('\n');
    return { result: r, summary };
  },
  server: (ctx) => runServerSection(ctx),
  viewer: async (ctx) => {
    const r = await runViewerSection(ctx);
    const summary = r.skipped
      ? `## Viewer: skipped (${r.skipped})`
      : [
          `## Viewer: ${r.dims.join('×')} CT (${r.files.ctGzMB} MB .nii.gz) with ${r.labels} labels (${r.files.labelsGzMB} MB), Chromium headless with SwiftShader WebGL2, ${r.reps.length} reps`,
          '',
          `Bundle: ${r.bundle.map((f) => `${f.file} ${(f.bytes / 1024).toFixed(0)} KiB`).join(', ')}.`,
          '',
          r.table,
        ].join('\n');
    return { result: r, summary };
  },
  pacs: async (ctx) => {
    const r = await runPacsSection(ctx);
    const s = r.seg;
    const d = s.data;
    const rt = r.roundTrip;
    const summary = [
      `## PACS: DICOM SEG of a ${d.dims.join('×')} CT (${d.spacing.join('×')} mm) with 14 segments, ${r.reps} reps, medians`,
      '',
      `Source: ${d.files} CT files, ${(d.sourceBytes / 1e6).toFixed(1)} MB. SEG: ${s.measurements.find((m) => m.id === 'encode')!.label.replace(/^\(c\) encodeSeg: /, '')}, ${(s.segBytes / 1e6).toFixed(1)} MB = ${s.ratios.segToSourceBytes.toFixed(3)}× the source series; ${d.nonEmptyPairs} of ${s.framesPossible} (segment, slice) pairs hold voxels. Times inside fresh child processes around the call; peak extra RSS: (a, b, d) child peak minus an idle child's (${(s.idleRssKiB / 1024).toFixed(0)} MiB), (c, e) the call's own peak above the RSS before it${s.peakReset ? ' (VmHWM reset through /proc/self/clear_refs)' : ' (no VmHWM reset possible: whole-process peak, an upper bound)'}.`,
      '',
      s.table,
      '',
      s.sizeTable,
      '',
      `## PACS: round trip on the demo study (${rt.demo.dims.join('×')}, ${rt.demo.files} files, ${(rt.demo.bytes / 1e6).toFixed(1)} MB)${rt.orthanc ? `, Orthanc ${rt.orthanc.version ?? '?'} + DICOMweb ${rt.orthanc.dicomWebVersion ?? '?'} on loopback` : ''}, ${r.reps} reps, medians`,
      '',
      ...(rt.skipped ? [`Skipped: ${rt.skipped}`] : []),
      ...rt.notes.map((n) => `Note: ${n}`),
      ...(r.stageTables ?? []).flatMap((t) => ['', `segmentStudyOnPacs timingsMs, ${t.label}:`, '', t.table]),
      ...(r.baselineTable ? ['', 'Baselines in the same run (the study is deleted and re-stored before every rep):', '', r.baselineTable] : []),
    ].join('\n');
    return { result: r, summary };
  },
};

function parseArgs(argv: string[]): Args {
  const a: Args = { sections: [], reps: 7, regenerate: false, profile: false };
  for (let n = 0; n < argv.length; n++) {
    const v = argv[n]!;
    if (v === '--reps') a.reps = Number(argv[++n]);
    else if (v.startsWith('--reps=')) a.reps = Number(v.slice(7));
    else if (v === '--quick') a.reps = 3;
    else if (v === '--regenerate') a.regenerate = true;
    else if (v === '--profile') a.profile = true;
    else if (v === '--help' || v === '-h') {
      process.stdout.write('usage: npm run bench -- [io] [inference] [measure] [pacs] [server] [viewer] [--reps N (default 7)] [--quick (3 reps)] [--regenerate] [--profile]\n');
      process.exit(0);
    } else if (v in SECTIONS) a.sections.push(v);
    else throw new Error(`unknown argument ${v}; sections: ${Object.keys(SECTIONS).join(', ')}`);
  }
  if (!Number.isInteger(a.reps) || a.reps < 1) throw new Error('--reps must be a positive integer');
  if (a.sections.length === 0) a.sections = Object.keys(SECTIONS);
  return a;
}

function machine() {
  const c = cpus();
  return {
    cpu: c[0]?.model.trim(),
    cores: c.length,
    memGiB: Math.round((totalmem() / 2 ** 30) * 10) / 10,
    os: `${type()} ${release()}`,
    node: process.version,
    loadavgAtStart: loadavg().map((v) => Math.round(v * 100) / 100),
  };
}

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  mkdirSync(CACHE, { recursive: true });
  const log = (line: string) => process.stdout.write(`${line}\n`);
  const m = machine();
  log(`medseg bench — ${new Date().toISOString()} — ${m.cpu}, ${m.cores} cores, ${m.memGiB} GiB, ${m.os}, node ${m.node}, load ${m.loadavgAtStart.join(' ')}`);
  const summaries: string[] = [];
  for (const name of args.sections) {
    log(`\n# section ${name}`);
    const t0 = performance.now();
    const report = await SECTIONS[name]!({ cacheDir: CACHE, reps: args.reps, regenerate: args.regenerate, profile: args.profile, log });
    const out = join(CACHE, `${name}-results.json`);
    const durationS = Math.round((performance.now() - t0) / 100) / 10;
    writeFileSync(out, `${JSON.stringify({ date: new Date().toISOString(), machine: { ...m, loadavgAtEnd: loadavg().map((v) => Math.round(v * 100) / 100) }, durationS, ...report.result }, null, 2)}\n`);
    log(`section ${name}: ${durationS} s; results in ${out}`);
    summaries.push(report.summary);
  }
  log(`\n${summaries.join('\n\n')}`);
}

main().catch((e: unknown) => {
  process.stderr.write(`${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
  process.exit(1);
});
