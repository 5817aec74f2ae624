// src/ type-checks dcmjs through this ambient declaration; bench/tsconfig.json includes only bench/, so name it here.
/// <reference path="../src/phantom/dcmjs.d.ts" />
/**
 * The PACS benchmark section (`npm run bench -- pacs`, issue 6):
 *
 * 1. SEG at scale: a 512×512×300 CT series (DICOM, 300 files) and a 14-label map on its grid (bench/pacs/data.ts,
 *    generated once into .cache/bench/pacs-data). Measured in fresh child processes (bench/pacs/child.ts), reps
 *    interleaved round-robin after one unrecorded warm-up pass: (a) fs.readFile of every source file, (b) medseg's
 *    readDicomVolume of the source — the baselines —, (c) encodeSeg (source and map already loaded), (d) fs.readFile
 *    of the SEG, (e) readSeg(SEG, { source }) (source already loaded; its label map must equal the generated one).
 *    Times are inside the child around the call; peak memory as in child.ts; the size ratio is SEG / source series.
 * 2. Round trip on the demo study against a real Orthanc (bench/pacs/roundtrip.ts): segmentStudyOnPacs's stage
 *    times (query, retrieve, segment, encode, store) and their shares of the total, against a bare WADO-RS retrieve
 *    and a bare STOW-RS of the same series in the same run. Skipped with a note without Orthanc.
 */
import { existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { lastJsonLine, runTsChild } from './lib/proc.js';
import { fmt, markdownTable, max, median, min } from './lib/stats.js';
import type { PacsChildArgs, PacsChildMode, PacsChildResult } from './pacs/child.js';
import { cachedPacsData, PACS_LABEL_NAMES, removePacsData, type PacsData } from './pacs/data.js';
import { runRoundTrip, STAGES, type RoundTripResult } from './pacs/roundtrip.js';

const CHILD = fileURLToPath(new URL('./pacs/child.ts', import.meta.url));
const DATA = fileURLToPath(new URL('./pacs/data.ts', import.meta.url));
const MB = 1e6;

interface SectionContext {
  cacheDir: string;
  reps: number;
  regenerate: boolean;
  log: (line: string) => void;
}

type MeasureId = 'raw' | 'load' | 'encode' | 'raw-seg' | 'decode';
const ORDER: MeasureId[] = ['raw', 'load', 'encode', 'raw-seg', 'decode'];

interface SegMeasurement {
  id: MeasureId;
  label: string;
  samplesMs: number[];
  /** Peak RSS above the idle child (raw, load, raw-seg) or the call's own peak (encode, decode), KiB. */
  extraKiB: number[];
  medianMs: number;
  medianExtraMB: number;
}

async function child(mode: PacsChildMode, args: PacsChildArgs): Promise<PacsChildResult> {
  return lastJsonLine<PacsChildResult>(await runTsChild(CHILD, [mode, JSON.stringify(args)], ['--expose-gc']), `pacs child ${mode}`);
}

async function ensureData(ctx: SectionContext): Promise<PacsData> {
  if (ctx.regenerate) removePacsData(ctx.cacheDir);
  const cached = cachedPacsData(ctx.cacheDir);
  if (cached) return cached;
  ctx.log('pacs: generating the 512×512×300 CT series and 14-label map (once)…');
  const d = lastJsonLine<PacsData>(await runTsChild(DATA, [ctx.cacheDir]), 'pacs data generator');
  ctx.log(`pacs: generated in ${(d.generationMs / 1000).toFixed(1)} s`);
  return d;
}

async function runSegPart(ctx: SectionContext) {
  const d = await ensureData(ctx);
  const segFile = join(d.dir, 'bench.seg.dcm');
  const args: PacsChildArgs = { dicomDir: d.dicomDir, labelsFile: d.labelsFile, dims: d.dims, spacing: d.spacing, origin: d.origin, direction: d.direction, labelNames: PACS_LABEL_NAMES, segFile };
  const idle: number[] = [];
  const samples = new Map<MeasureId, PacsChildResult[]>(ORDER.map((id) => [id, []]));
  const check = (r: PacsChildResult) => {
    if (r.mode === 'raw' && r.check !== d.sourceBytes) throw new Error(`raw read: ${r.check} bytes, expected ${d.sourceBytes}`);
    if (r.mode === 'load' && r.check !== d.voxelSum) throw new Error(`readDicomVolume: voxel sum ${r.check}, expected ${d.voxelSum}`);
    if (r.mode === 'encode' && r.frames !== d.nonEmptyPairs) throw new Error(`encodeSeg: ${r.frames} frames, expected ${d.nonEmptyPairs} non-empty (segment, slice) pairs`);
    if (r.mode === 'decode' && r.check !== 0) throw new Error(`readSeg: ${r.check} voxels differ from the encoded label map`);
    if (r.mode === 'decode' && r.frames !== d.nonEmptyPairs) throw new Error(`readSeg: ${r.frames} frames, expected ${d.nonEmptyPairs}`);
  };
  // Warm-up pass (unrecorded; the encode child writes the SEG file the others read).
  ctx.log('pacs: SEG warm-up pass…');
  for (const id of ORDER) check(await child(id, { ...args, write: id === 'encode' }));
  for (let r = 0; r < ctx.reps; r++) {
    ctx.log(`pacs: SEG rep ${r + 1}/${ctx.reps}…`);
    idle.push((await child('idle', args)).maxRssKiB);
    for (const id of ORDER) {
      const res = await child(id, args);
      check(res);
      samples.get(id)!.push(res);
    }
  }
  const idleKiB = median(idle);
  const segBytes = statSync(segFile).size;
  const labels: Record<MeasureId, string> = {
    raw: `(a) source raw: fs.readFile ×${d.files} (${fmt(d.sourceBytes / MB)} MB)`,
    load: '(b) readDicomVolume(source)',
    encode: `(c) encodeSeg: 14 segments, ${d.nonEmptyPairs} frames (source + map loaded)`,
    'raw-seg': `(d) SEG raw: fs.readFile (${fmt(segBytes / MB, 1)} MB)`,
    decode: '(e) readSeg(SEG, { source }) (source loaded)',
  };
  const measurements: SegMeasurement[] = ORDER.map((id) => {
    const rs = samples.get(id)!;
    const extraKiB = rs.map((r) => (r.extraPeakKiB !== undefined ? r.extraPeakKiB : Math.max(0, r.maxRssKiB - idleKiB)));
    return { id, label: labels[id], samplesMs: rs.map((r) => r.ms), extraKiB, medianMs: median(rs.map((r) => r.ms)), medianExtraMB: (median(extraKiB) * 1024) / MB };
  });
  const by = new Map(measurements.map((m) => [m.id, m]));
  const rawMs = by.get('raw')!.medianMs;
  const loadMs = by.get('load')!.medianMs;
  const table = markdownTable(
    ['measurement', 'median ms', 'min–max ms', '× (a) raw read', '× (b) DICOM load', 'peak extra RSS MB', '× source voxels'],
    measurements.map((m) => [
      m.label,
      fmt(m.medianMs),
      `${fmt(min(m.samplesMs))}–${fmt(max(m.samplesMs))}`,
      m.id === 'raw' ? '1.00' : `${fmt(m.medianMs / rawMs, 2)}×`,
      m.id === 'raw' ? '' : m.id === 'load' ? '1.00' : `${fmt(m.medianMs / loadMs, 2)}×`,
      fmt(m.medianExtraMB),
      fmt((m.medianExtraMB * MB) / d.volumeBytes, 2),
    ]),
    ['l', 'r', 'r', 'r', 'r', 'r', 'r'],
  );
  const [nx, ny, nz] = d.dims;
  const pixelBytes = Math.ceil((d.nonEmptyPairs * nx * ny) / 8);
  const sizeTable = markdownTable(
    ['object', 'MB', '× source series'],
    [
      [`source series: ${d.files} CT files, uncompressed 16-bit`, fmt(d.sourceBytes / MB, 1), '1.00'],
      ['SEG (BINARY, explicit VR LE)', fmt(segBytes / MB, 1), `${fmt(segBytes / d.sourceBytes, 3)}×`],
      [`  of which Pixel Data (${d.nonEmptyPairs} frames × ${nx}×${ny} bits)`, fmt(pixelBytes / MB, 1), `${fmt(pixelBytes / d.sourceBytes, 3)}×`],
      [`  of which header + per-frame functional groups (${fmt((segBytes - pixelBytes) / d.nonEmptyPairs)} B/frame)`, fmt((segBytes - pixelBytes) / MB, 2), `${fmt((segBytes - pixelBytes) / d.sourceBytes, 4)}×`],
      ['label map (uint8, for comparison)', fmt((nx * ny * nz) / MB, 1), `${fmt((nx * ny * nz) / d.sourceBytes, 3)}×`],
    ],
    ['l', 'r', 'r'],
  );
  const encode = samples.get('encode')![0]!;
  return {
    data: d,
    segBytes,
    idleRssKiB: idleKiB,
    peakReset: encode.peakReset,
    encodeNotes: encode.notes,
    framesPossible: 14 * nz,
    measurements,
    ratios: { segToSourceBytes: segBytes / d.sourceBytes, encodeToLoad: by.get('encode')!.medianMs / loadMs, decodeToLoad: by.get('decode')!.medianMs / loadMs, encodeToRaw: by.get('encode')!.medianMs / rawMs, decodeToRaw: by.get('decode')!.medianMs / rawMs },
    table,
    sizeTable,
  };
}

function roundTripTables(rt: RoundTripResult): { stageTables: { label: string; table: string }[]; baselineTable: string } {
  const stowMed = median(rt.baseline.stowMs);
  const retrieveMed = median(rt.baseline.retrieveMs);
  const stageTables = rt.models.map((m) => {
    const col = (s: (typeof STAGES)[number]) => m.reps.map((t) => t[s] ?? NaN);
    const total = median(col('total'));
    const rows = STAGES.map((s) => {
      const v = col(s);
      return [s, fmt(median(v)), `${fmt(min(v))}–${fmt(max(v))}`, s === 'total' ? '100%' : `${fmt((100 * median(v)) / total, 1)}%`, fmt(v[0])];
    });
    const other = m.reps.map((t) => t.total - (t.query + (t.retrieve ?? 0) + (t.segment ?? 0) + (t.encode ?? 0) + (t.store ?? 0)));
    rows.splice(5, 0, ['rest: total − stages (each rounded to 1 ms)', fmt(median(other)), `${fmt(min(other))}–${fmt(max(other))}`, `${fmt((100 * median(other)) / total, 1)}%`, fmt(other[0])]);
    return { label: m.label, table: markdownTable(['stage', 'median ms', 'min–max ms', 'share of total', 'rep 1 ms'], rows, ['l', 'r', 'r', 'r', 'r']) };
  });
  const rows: string[][] = [
    [`bare STOW-RS of the series (${rt.demo.files} files, ${fmt(rt.demo.bytes / MB, 1)} MB)`, fmt(stowMed), `${fmt(min(rt.baseline.stowMs))}–${fmt(max(rt.baseline.stowMs))}`, ''],
    [`bare WADO-RS retrieve of the series (${rt.demo.files} files)`, fmt(retrieveMed), `${fmt(min(rt.baseline.retrieveMs))}–${fmt(max(rt.baseline.retrieveMs))}`, ''],
  ];
  for (const m of rt.models) {
    const id = /^\(\w\)/.exec(m.label)?.[0] ?? m.id;
    const v = (s: (typeof STAGES)[number]) => median(m.reps.map((t) => t[s] ?? NaN));
    rows.push([`${id} retrieve stage ÷ bare retrieve`, fmt(v('retrieve')), '', `${fmt(v('retrieve') / retrieveMed, 2)}×`]);
    rows.push([`${id} store stage (SEG ${fmt((m.seg?.bytes ?? NaN) / 1024)} KiB + SR ${fmt((m.srBytes ?? NaN) / 1024)} KiB) ÷ bare STOW`, fmt(v('store')), '', `${fmt(v('store') / stowMed, 2)}×`]);
    rows.push([`${id} round trip total ÷ (bare retrieve + bare STOW)`, fmt(v('total')), '', `${fmt(v('total') / (retrieveMed + stowMed), 2)}×`]);
    if (m.noop) rows.push([`${id} re-run with the result present (query only, nothing done)`, fmt(m.noop.total), '', `${fmt(m.noop.total / v('total'), 3)}× round trip`]);
  }
  return { stageTables, baselineTable: markdownTable(['measurement', 'median ms', 'min–max ms', 'ratio'], rows, ['l', 'r', 'r', 'r']) };
}

export async function runPacsSection(ctx: SectionContext) {
  const seg = await runSegPart(ctx);
  ctx.log('pacs: round trip on the demo study…');
  const roundTrip = await runRoundTrip(ctx.reps, ctx.log);
  const rt = roundTrip.skipped ? undefined : roundTripTables(roundTrip);
  const defaultOnnx = existsSync(fileURLToPath(new URL('../models/default/default.onnx', import.meta.url)));
  return { section: 'pacs', reps: ctx.reps, seg, roundTrip, defaultOnnx, ...(rt ?? {}) };
}
