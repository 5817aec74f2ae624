/** DICOM reading: scan files/folders, group into series, load one series as a Volume (LPS, mm). */
import { loadSeriesVolume, type DicomVolume, type LoadSeriesOptions } from './load-volume.js';
import { scanDicom, selectSeries, type DicomScan } from './scan.js';

export interface ReadDicomOptions extends LoadSeriesOptions {
  /** Series id (as listed by scanDicom / `medseg info`) or SeriesInstanceUID. */
  seriesId?: string;
}

/**
 * Loads a DICOM series from a file, a list of files or a folder.
 * @throws SegError (NO_SERIES, AMBIGUOUS_SERIES, geometry and file errors naming the file).
 */
export async function readDicomVolume(inputs: string | readonly string[], options: ReadDicomOptions = {}): Promise<DicomVolume & { scan: DicomScan }> {
  const scan = await scanDicom(inputs);
  const where = typeof inputs === 'string' ? inputs : inputs.length === 1 ? inputs[0]! : `${inputs.length} inputs`;
  const series = selectSeries(scan, where, options.seriesId);
  const loaded = await loadSeriesVolume(series, options);
  return { ...loaded, scan };
}

export { scanDicom, selectSeries, loadSeriesVolume };
export type { DicomScan, DicomVolume, LoadSeriesOptions };
