/**
 * `medseg segment --batch <list.txt | folder> --out <dir>`: segments many studies with one model, each into
 * <dir>/<study>/ exactly as `medseg segment` would, carries on past a failed study, and writes <dir>/summary.csv and
 * <dir>/summary.json (rewritten after every study, so they show progress too).
 *
 * Studies: a list file holds one path per line (a NIfTI file, a DICOM file or folder; blank lines and lines starting
 * with # are ignored; relative paths are relative to the list file's folder). A folder means each immediate subfolder
 * (a DICOM study) and each .nii/.nii.gz file in it, in name order; hidden entries and the output folder are left out.
 * Study names are the file or folder names (without .nii/.nii.gz), made filesystem-safe and unique (case-insensitively:
 * "-2", "-3"… in list order), so a re-run with the same list maps each study to the same folder.
 *
 * Re-runs: a study whose <dir>/<study>/provenance.json exists with the same card and ONNX SHA-256 is skipped (its
 * volumes are read back from its stats.json) unless `force`. provenance.json is written last, so an interrupted study
 * has none and runs again.
 *
 * Exit code: 0 when every study succeeded or was skipped; 130 when cancelled; otherwise the exit code of the class of
 * the first failed study in list order (e.g. 3 for a truncated file), as `medseg segment` would exit on it alone.
 *
 * Each study opens its own ONNX Runtime session: segmentInWorker starts one worker per call and the worker takes a
 * single request, so the session cannot outlive a study without a persistent-worker protocol in inference/.
 */
import { promises as fsp } from 'node:fs';
import * as path from 'node:path';
import { SegError } from '../errors.js';
import { writeFileAtomic } from '../io/atomic-write.js';
import { statInput } from '../io/file-errors.js';
import { EXIT, exitCodeFor } from './exit-codes.js';
import { readProvenance } from '../workflows/provenance.js';
import { prepareSegmentModel, segmentCommand, type SegmentCommandOptions } from '../workflows/segment.js';

export interface BatchStudy {
  /** Folder name under the output folder: unique, filesystem-safe. */
  name: string;
  /** What `medseg segment` is given for this study (absolute paths). */
  inputs: string[];
}

export interface BatchOptions extends Omit<SegmentCommandOptions, 'out' | 'prepared' | 'seriesId'> {
  out: string;
  /** Recompute studies that already have a provenance.json with the same model. */
  force?: boolean | undefined;
  /** One line per study as it finishes (the CLI writes them to stderr). */
  log?: ((line: string) => void) | undefined;
}

export interface BatchRow {
  study: string;
  inputs: string[];
  /** The study's output folder. */
  out: string;
  status: 'ok' | 'failed' | 'skipped';
  error: { code: string; exitCode: number; message: string } | null;
  /** Wall time of this run for the study (0 when skipped). */
  seconds: number;
  /** Volume (mL) by card label name; null when unknown (failed, or a skipped study without a readable stats.json). */
  volumesMl: Record<string, number | null>;
}

export interface BatchSummary {
  source: string;
  out: string;
  model: { name: string; version: string; card: string; cardSha256: string; onnxSha256: string };
  startedAt: string;
  finishedAt: string;
  /** What the CLI exits with: 0, 130 (cancelled), or the first failure's exit code. */
  exitCode: number;
  counts: { ok: number; failed: number; skipped: number };
  /** The per-structure columns of summary.csv. */
  structures: { value: number; name: string; column: string }[];
  studies: BatchRow[];
  files: string[];
  notes: string[];
}

const NIFTI = /\.nii(\.gz)?$/i;
const RESERVED = new Set(['summary.csv', 'summary.json']);

/** A filesystem-safe study name: letters, digits, ".", "_" and "-", no leading dot, at most 100 characters. */
export function studyName(input: string): string {
  const base = path.basename(path.resolve(input)).replace(NIFTI, '');
  const safe = base.replace(/[^A-Za-z0-9._-]+/g, '_').replace(/^\.+/, '_').slice(0, 100);
  return safe || 'study';
}

/** Gives each name a unique spelling (case-insensitively, for macOS/Windows filesystems) by appending -2, -3… */
function uniqueNames(names: readonly string[]): string[] {
  const taken = new Set<string>(RESERVED);
  return names.map((name) => {
    let candidate = name;
    for (let n = 2; taken.has(candidate.toLowerCase()); n++) candidate = `${name}-${n}`;
    taken.add(candidate.toLowerCase());
    return candidate;
  });
}

/**
 * The studies of a list file or folder (see the module comment).
 * @throws SegError FILE_NOT_FOUND when the source is missing or holds no study.
 */
export async function listBatchStudies(source: string, out: string): Promise<{ studies: BatchStudy[]; notes: string[] }> {
  const st = await statInput(source);
  const notes: string[] = [];
  const inputs: string[] = [];
  if (st.isDirectory()) {
    const outDir = path.resolve(out);
    const entries = (await fsp.readdir(source)).sort();
    for (const entry of entries) {
      if (entry.startsWith('.')) continue;
      const full = path.resolve(source, entry);
      if (full === outDir) continue;
      const s = await fsp.stat(full).catch(() => undefined);
      if (s?.isDirectory()) inputs.push(full);
      else if (s?.isFile() && NIFTI.test(entry)) inputs.push(full);
      else notes.push(`${path.join(source, entry)}: left out (not a folder or a .nii/.nii.gz file)`);
    }
  } else {
    let text: string;
    try {
      text = await fsp.readFile(source, 'utf8');
    } catch (cause) {
      throw new SegError('FILE_NOT_FOUND', `${source}: the study list cannot be read (${(cause as Error).message})`, { cause });
    }
    for (const raw of text.split(/\r?\n/)) {
      const line = raw.trim();
      if (line && !line.startsWith('#')) inputs.push(path.resolve(path.dirname(source), line));
    }
  }
  if (inputs.length === 0) {
    throw new SegError('FILE_NOT_FOUND', `${source}: no studies found (a folder needs subfolders or .nii/.nii.gz files; a list file one study path per line)`);
  }
  const names = uniqueNames(inputs.map(studyName));
  return { studies: inputs.map((input, n) => ({ name: names[n]!, inputs: [input] })), notes };
}

/** CSV column names for the card's labels: "<name>_ml", made unique with the label value where names repeat. */
function structureColumns(labels: readonly { value: number; name: string }[]): BatchSummary['structures'] {
  const taken = new Set<string>();
  return labels.map((l) => {
    let column = `${l.name.replace(/[^A-Za-z0-9_]+/g, '_')}_ml`;
    if (taken.has(column)) column = `${l.name.replace(/[^A-Za-z0-9_]+/g, '_')}_${l.value}_ml`;
    taken.add(column);
    return { value: l.value, name: l.name, column };
  });
}

/** Volumes by label value from a finished study's stats.json; empty when it cannot be read. */
async function volumesFromStats(dir: string): Promise<Map<number, number>> {
  try {
    const report = JSON.parse(await fsp.readFile(path.join(dir, 'stats.json'), 'utf8')) as { structures?: { label: number; volumeMl: number }[] };
    return new Map((report.structures ?? []).map((s) => [s.label, s.volumeMl]));
  } catch {
    return new Map();
  }
}

/**
 * Segments every study, continuing past failures, and writes <out>/summary.csv and <out>/summary.json.
 * @throws SegError only for problems that concern every study: the model card, the study list, the output folder.
 */
export async function batchCommand(source: string, options: BatchOptions): Promise<BatchSummary> {
  const startedAt = new Date().toISOString();
  const prepared = await prepareSegmentModel(options.model);
  const { card } = prepared;
  const { studies, notes } = await listBatchStudies(source, options.out);
  try {
    await fsp.mkdir(options.out, { recursive: true });
  } catch (cause) {
    throw new SegError('WRITE_FAILED', `${options.out}: cannot create the output folder (${(cause as Error).message})`, { cause });
  }
  const structures = structureColumns(card.labels);
  const summary: BatchSummary = {
    source: path.resolve(source),
    out: path.resolve(options.out),
    model: { name: card.name, version: card.version, card: card.cardFile, cardSha256: prepared.cardSha256, onnxSha256: prepared.onnxSha256 },
    startedAt,
    finishedAt: startedAt,
    exitCode: EXIT.ok,
    counts: { ok: 0, failed: 0, skipped: 0 },
    structures,
    studies: [],
    files: [path.join(options.out, 'summary.csv'), path.join(options.out, 'summary.json')],
    notes,
  };
  const volumes = (byLabel: ReadonlyMap<number, number>) => Object.fromEntries(structures.map((s) => [s.name, byLabel.get(s.value) ?? null]));
  const { force, log, ...segmentOptions } = options;
  let cancelled = false;
  for (const [n, study] of studies.entries()) {
    const dir = path.resolve(options.out, study.name);
    const row: BatchRow = { study: study.name, inputs: study.inputs, out: dir, status: 'ok', error: null, seconds: 0, volumesMl: volumes(new Map()) };
    const t0 = performance.now();
    const previous = force ? undefined : await readProvenance(dir);
    if (cancelled || options.signal?.aborted) {
      cancelled = true;
      row.status = 'failed';
      row.error = { code: 'CANCELLED', exitCode: EXIT.cancelled, message: 'not started: the batch was cancelled' };
    } else if (previous && previous.model.cardSha256 === prepared.cardSha256 && previous.model.onnxSha256 === prepared.onnxSha256) {
      row.status = 'skipped';
      row.volumesMl = volumes(await volumesFromStats(dir));
    } else {
      try {
        const result = await segmentCommand(study.inputs, { ...segmentOptions, out: dir, prepared });
        row.volumesMl = volumes(new Map(result.structures.map((s) => [s.value, s.volumeMl])));
      } catch (e) {
        row.status = 'failed';
        row.error = e instanceof SegError ? { code: e.code, exitCode: exitCodeFor(e), message: e.message } : { code: 'INTERNAL', exitCode: EXIT.internal, message: (e as Error).message ?? String(e) };
        if (e instanceof SegError && e.code === 'CANCELLED') cancelled = true;
      }
      row.seconds = Math.round(performance.now() - t0) / 1000;
    }
    summary.studies.push(row);
    summary.counts[row.status]++;
    log?.(
      `[${n + 1}/${studies.length}] ${study.name}: ` +
        (row.status === 'ok'
          ? `ok (${row.seconds.toFixed(1)} s)`
          : row.status === 'skipped'
            ? 'skipped (finished earlier with the same model; --force recomputes)'
            : `failed (exit ${row.error!.exitCode}, ${row.error!.code}): ${row.error!.message}`),
    );
    const firstFailure = summary.studies.find((r) => r.status === 'failed');
    summary.exitCode = cancelled ? EXIT.cancelled : (firstFailure?.error?.exitCode ?? EXIT.ok);
    summary.finishedAt = new Date().toISOString();
    await writeSummaryFiles(options.out, summary);
  }
  return summary;
}

/** Writes <out>/summary.json (the summary) and <out>/summary.csv (one row per study), atomically. */
async function writeSummaryFiles(out: string, summary: BatchSummary): Promise<void> {
  await writeFileAtomic(path.join(out, 'summary.json'), [Buffer.from(`${JSON.stringify(summary, null, 2)}\n`)]);
  await writeFileAtomic(path.join(out, 'summary.csv'), [Buffer.from(summaryCsv(summary))]);
}

/** summary.csv: study, status, seconds, exit_code, error_code, error, input, then one "<name>_ml" column per card label. */
export function summaryCsv(summary: BatchSummary): string {
  const cell = (v: string | number | null | undefined) => {
    if (v === undefined || v === null) return '';
    const s = String(v);
    return /[",\n\r]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
  };
  const head = ['study', 'status', 'seconds', 'exit_code', 'error_code', 'error', 'input', ...summary.structures.map((s) => s.column)];
  const rows = summary.studies.map((r) =>
    [r.study, r.status, r.seconds, r.error?.exitCode, r.error?.code, r.error?.message, r.inputs.join(';'), ...summary.structures.map((s) => r.volumesMl[s.name])].map(cell).join(','),
  );
  return [head.join(','), ...rows].join('\n') + '\n';
}

/** The printed summary: one line per study with its volumes, then the errors, the files and the exit code. */
export function renderBatchSummary(s: BatchSummary): string {
  const head = ['study', 'status', 'seconds', ...s.structures.map((x) => `${x.name} mL`)];
  const rows = s.studies.map((r) => [r.study, r.status, r.status === 'skipped' ? '–' : r.seconds.toFixed(1), ...s.structures.map((x) => (r.volumesMl[x.name] ?? null) === null ? '–' : r.volumesMl[x.name]!.toFixed(2))]);
  const widths = head.map((h, c) => Math.max(h.length, ...rows.map((r) => r[c]!.length)));
  const line = (cells: string[]) => `  ${cells.map((x, c) => (c < 2 ? x.padEnd(widths[c]!) : x.padStart(widths[c]!))).join('  ')}`.trimEnd();
  const lines = [`medseg segment --batch ${s.source}: ${s.studies.length} studies with ${s.model.name} ${s.model.version}`, line(head), ...rows.map(line)];
  for (const r of s.studies) if (r.error) lines.push(`${r.study}: ${r.error.message} (exit ${r.error.exitCode}, ${r.error.code})`);
  for (const n of s.notes) lines.push(`note: ${n}`);
  for (const f of s.files) lines.push(`wrote ${f}`);
  lines.push(`${s.counts.ok} ok, ${s.counts.failed} failed, ${s.counts.skipped} skipped; exit code ${s.exitCode}`);
  return lines.join('\n');
}
