/**
 * One entry point for "a scan": a NIfTI/Analyze file, or DICOM files/folders. Returns the Volume (LPS, mm) and
 * what it came from.
 */
import { promises as fsp } from 'node:fs';
import { InputFileError } from '../errors.js';
import type { Volume } from '../volume/types.js';
import { readDicomVolume, type ReadDicomOptions } from './dicom/index.js';
import type { DicomVolume } from './dicom/load-volume.js';
import type { DicomScan } from './dicom/scan.js';
import { statInput } from './file-errors.js';
import { readNifti, type NiftiImage, type ReadNiftiOptions } from './nifti/read.js';

export type ScanFormat = 'nifti' | 'dicom';

export type LoadedScan =
  | { format: 'nifti'; volume: Volume; nifti: NiftiImage; warnings: string[] }
  | { format: 'dicom'; volume: Volume; dicom: DicomVolume & { scan: DicomScan }; warnings: string[] };

export interface LoadScanOptions extends ReadDicomOptions, ReadNiftiOptions {}

const NIFTI_NAME = /\.(nii|nii\.gz|hdr|hdr\.gz|img|img\.gz)$/i;

/** Decides from names and the first bytes whether `inputs` are NIfTI or DICOM. */
export async function detectFormat(inputs: readonly string[]): Promise<ScanFormat> {
  if (inputs.length !== 1) return 'dicom';
  const input = inputs[0]!;
  const st = await statInput(input);
  if (st.isDirectory()) return 'dicom';
  if (NIFTI_NAME.test(input)) return 'nifti';
  const fh = await fsp.open(input, 'r');
  try {
    const head = Buffer.alloc(132);
    const { bytesRead } = await fh.read(head, 0, 132, 0);
    if (bytesRead >= 2 && head[0] === 0x1f && head[1] === 0x8b) return 'nifti';
    if (bytesRead >= 4) {
      const size = head.readInt32LE(0);
      const sizeBE = head.readInt32BE(0);
      if ([348, 540].includes(size) || [348, 540].includes(sizeBE)) return 'nifti';
    }
    return 'dicom';
  } finally {
    await fh.close();
  }
}

/**
 * Loads a scan as a Volume.
 * @throws SegError subclasses naming the file and the problem.
 */
export async function loadScan(inputs: string | readonly string[], options: LoadScanOptions = {}): Promise<LoadedScan> {
  const list = typeof inputs === 'string' ? [inputs] : [...inputs];
  if (list.length === 0) throw new InputFileError('FILE_NOT_FOUND', '(no input)', 'no input file or folder given');
  const format = await detectFormat(list);
  if (format === 'nifti') {
    const nifti = await readNifti(list[0]!, options);
    return { format, volume: nifti.volume, nifti, warnings: nifti.warnings };
  }
  const dicom = await readDicomVolume(list, options);
  return { format, volume: dicom.volume, dicom, warnings: dicom.warnings };
}
