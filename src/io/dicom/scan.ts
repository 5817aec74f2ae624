/**
 * Finding DICOM images in files and folders (recursively), skipping what is not an image with a reason, and
 * choosing the series to load.
 */
import { promises as fsp } from 'node:fs';
import { join } from 'node:path';
import { SegError } from '../../errors.js';
import { statInput } from '../file-errors.js';
import { readDicomInstance, type DicomInstance } from './instance.js';
import { describeSeries, groupIntoSeries, type DicomSeries } from './series.js';

export interface SkippedFile {
  file: string;
  reason: string;
  /** The error code when the file could not be read (NOT_DICOM, EMPTY_FILE, TRUNCATED_FILE, …). */
  code?: string;
}

export interface DicomScan {
  series: DicomSeries[];
  /** Files that are not DICOM images: unreadable, not DICOM, or DICOM without pixel data (SR, RT plan…). */
  skipped: SkippedFile[];
}

/** Files indexed between two yields to the event loop (~64 × 50 µs: a few ms of blocking at most). */
const YIELD_EVERY = 64;

async function listFiles(inputs: readonly string[]): Promise<{ files: string[]; explicit: Set<string> }> {
  const files: string[] = [];
  const explicit = new Set<string>();
  for (const input of inputs) {
    const st = await statInput(input);
    if (st.isDirectory()) {
      const entries = await fsp.readdir(input, { recursive: true, withFileTypes: true });
      const found = entries
        .filter((e) => e.isFile())
        .map((e) => join(e.parentPath ?? (e as unknown as { path: string }).path, e.name))
        .sort();
      files.push(...found);
    } else {
      files.push(input);
      explicit.add(input);
    }
  }
  return { files, explicit };
}

/**
 * Reads the headers of every file under `inputs` and groups the images into series. A file named explicitly that
 * is not a readable DICOM image is an error; inside folders, such files are listed in `skipped`.
 * @throws InputFileError for unreadable explicitly named files; FILE_NOT_FOUND for missing inputs.
 */
export async function scanDicom(inputs: string | readonly string[]): Promise<DicomScan> {
  const list = typeof inputs === 'string' ? [inputs] : inputs;
  const { files, explicit } = await listFiles(list);
  const instances: DicomInstance[] = [];
  const skipped: SkippedFile[] = [];
  // One file at a time: readDicomInstance's I/O is synchronous (a header is one pread from the page cache, cheaper
  // than an async round trip), so concurrency would buy nothing; yielding every YIELD_EVERY files keeps the event
  // loop responsive while a big folder is indexed.
  for (let n = 0; n < files.length; n++) {
    if (n > 0 && n % YIELD_EVERY === 0) await new Promise<void>((resolve) => setImmediate(resolve));
    const file = files[n]!;
    try {
      const inst = await readDicomInstance(file);
      if (inst.pixelData.kind === 'none' || inst.rows === 0 || inst.columns === 0) {
        const what = inst.modality ? `a ${inst.modality} object` : 'a DICOM object';
        if (explicit.has(file) && list.length === 1) {
          throw new SegError('MISSING_PIXEL_DATA', `${file}: is ${what} without Pixel Data (SOP class ${inst.sopClassUid ?? 'unknown'}), not an image`);
        }
        skipped.push({ file, reason: `${what} without pixel data (SOP class ${inst.sopClassUid ?? 'unknown'})`, code: 'MISSING_PIXEL_DATA' });
        continue;
      }
      instances.push(inst);
    } catch (e) {
      if (!(e instanceof SegError) || explicit.has(file)) throw e;
      skipped.push({ file, reason: e.message.startsWith(`${file}: `) ? e.message.slice(file.length + 2) : e.message, code: e.code });
    }
  }
  instances.sort((a, b) => a.file.localeCompare(b.file));
  skipped.sort((a, b) => a.file.localeCompare(b.file));
  return { series: groupIntoSeries(instances), skipped };
}

/**
 * Picks the series to load: the one named by `seriesId` (a series id or SeriesInstanceUID), else the only
 * non-localizer series.
 * @throws SegError NO_SERIES or AMBIGUOUS_SERIES listing the choices.
 */
export function selectSeries(scan: DicomScan, where: string, seriesId?: string): DicomSeries {
  if (seriesId !== undefined) {
    const hit = scan.series.find((s) => s.id === seriesId) ?? scan.series.find((s) => s.seriesInstanceUid === seriesId);
    if (!hit) {
      throw new SegError('NO_SERIES', `${where}: no series "${seriesId}"; found: ${scan.series.map(describeSeries).join('; ') || 'none'}`);
    }
    return hit;
  }
  const candidates = scan.series.filter((s) => !s.isLocalizer);
  if (candidates.length === 1) return candidates[0]!;
  if (candidates.length === 0) {
    const why = scan.skipped.length ? ` (${scan.skipped.length} file(s) skipped, e.g. ${scan.skipped[0]!.file}: ${scan.skipped[0]!.reason})` : '';
    const loc = scan.series.length ? `; only localizer(s): ${scan.series.map(describeSeries).join('; ')}` : '';
    throw new SegError('NO_SERIES', `${where}: no DICOM image series found${why}${loc}`);
  }
  throw new SegError(
    'AMBIGUOUS_SERIES',
    `${where}: ${candidates.length} image series found; choose one with --series <id>: ${candidates.map(describeSeries).join('; ')}`,
  );
}
