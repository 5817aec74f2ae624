/**
 * Test data for the PACS benchmark's SEG part, generated once into .cache/bench/pacs-data (outside git):
 *
 * - `labels.u8`: a 512×512×300 uint8 label map at 0.7×0.7×2 mm (358×358×600 mm) with 14 labels — the anatomy of the
 *   measure section (bench/measure.ts `makeLabels`: liver with lesions, spleen, kidneys, aorta through the whole scan,
 *   IVC, 20 vertebrae, lungs cut at the top, stomach, pancreas, gallbladder, bladder), then postprocessed as
 *   `medseg segment` would (islands < 200 mm³ removed, holes filled), so its specks are gone and each segment covers
 *   only its organ's slice range: most (segment, slice) pairs are empty, as in a real result.
 * - `dicom/IM0001.dcm … IM0300.dcm`: a CT series on the same grid written by medseg's writeCtSeries (uncompressed,
 *   12-bit stored), HU from the labels (organ-typical values, air outside an elliptical body, fat/soft tissue inside)
 *   plus deterministic noise: what the SEG is encoded against.
 * - `meta.json`: parameters, generator version, file sizes, the CT's voxel sum (every DICOM load is checked
 *   against it), voxels per label. Regenerated when the generator version changes or with --regenerate.
 *
 * Run as a child (`node --import tsx bench/pacs/data.ts <cacheDir>`) so that the parent stays small.
 */
import { existsSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync, mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { fillHoles } from '../../src/postprocess/holes.js';
import { removeSmallIslands } from '../../src/postprocess/islands.js';
import { writeCtSeries } from '../../src/phantom/dicom-series.js';
import type { Mat3, Vec3, Vec3i } from '../../src/volume/types.js';
import { makeLabels, MEASURE_NAMES } from '../measure.js';

/** Bump when the generated data changes. */
export const PACS_DATA_VERSION = 1;
export const PACS_GRID = { dims: [512, 512, 300] as Vec3i, spacing: [0.7, 0.7, 2] as Vec3 };
export const PACS_LABEL_NAMES = MEASURE_NAMES;

export interface PacsData {
  version: number;
  dir: string;
  dicomDir: string;
  labelsFile: string;
  dims: Vec3i;
  spacing: Vec3;
  origin: Vec3;
  direction: Mat3;
  files: number;
  /** Sum of the source files' sizes. */
  sourceBytes: number;
  /** nx·ny·nz·2: the int16 voxels of the source. */
  volumeBytes: number;
  /** Sum of the CT's HU values (the loader's result must match). */
  voxelSum: number;
  /** Voxels per label value 1…14 after postprocessing. */
  labelVoxels: number[];
  /** (label, slice) pairs holding any voxel: the BINARY SEG's frame count. */
  nonEmptyPairs: number;
  generationMs: number;
}

const HU: Record<number, number> = { 1: 60, 2: 50, 3: 150, 4: 150, 5: 200, 6: 120, 7: 450, 8: -850, 9: -850, 10: 15, 11: 45, 12: 5, 13: 0, 14: 25 };

async function generate(cacheDir: string): Promise<PacsData> {
  const t0 = performance.now();
  const dir = join(cacheDir, 'pacs-data');
  mkdirSync(dir, { recursive: true });
  const labels = makeLabels(PACS_GRID);
  removeSmallIslands(labels, { minVolumeMm3: 200 });
  fillHoles(labels);
  const [nx, ny, nz] = labels.dims;
  const plane = nx * ny;
  const ct = new Int16Array(labels.data.length);
  let s = 987654321;
  let voxelSum = 0;
  for (let k = 0; k < nz; k++) {
    for (let j = 0; j < ny; j++) {
      const y = labels.origin[1] + j * labels.spacing[1];
      for (let i = 0; i < nx; i++) {
        const x = labels.origin[0] + i * labels.spacing[0];
        const n = i + j * nx + k * plane;
        s = (s * 1103515245 + 12345) >>> 0;
        const noise = (s >>> 27) - 16; // −16 … 15 HU
        const l = labels.data[n]!;
        const body = (x / 170) ** 2 + (y / 125) ** 2;
        let v = l ? HU[l]! : body <= 1 ? (body > 0.8 ? -100 : 30) : -1000;
        v = Math.max(-1024, Math.min(3071, v + noise));
        ct[n] = v;
        voxelSum += v;
      }
    }
  }
  const labelVoxels = new Array<number>(14).fill(0);
  const present = new Uint8Array(15 * nz);
  for (let k = 0; k < nz; k++) {
    for (let n = k * plane; n < (k + 1) * plane; n++) {
      const l = labels.data[n]!;
      if (l) {
        labelVoxels[l - 1]!++;
        present[l * nz + k] = 1;
      }
    }
  }
  const nonEmptyPairs = present.reduce((a, b) => a + b, 0);
  const dicomDir = join(dir, 'dicom');
  await writeCtSeries(dicomDir, { data: ct, dims: labels.dims, spacing: labels.spacing, origin: labels.origin, direction: labels.direction }, {
    uidKey: 'bench/pacs/ct-512x512x300',
    patientName: 'Bench^Pacs',
    patientId: 'BENCH-PACS',
    studyDate: '20261121',
    studyDescription: 'medseg bench: synthetic CT',
    seriesDescription: 'synthetic CT 512x512x300 2 mm',
    sliceThicknessMm: PACS_GRID.spacing[2],
  });
  const labelsFile = join(dir, 'labels.u8');
  writeFileSync(labelsFile, labels.data);
  const names = readdirSync(dicomDir).filter((f) => f.endsWith('.dcm'));
  const data: PacsData = {
    version: PACS_DATA_VERSION,
    dir,
    dicomDir,
    labelsFile,
    dims: labels.dims,
    spacing: labels.spacing,
    origin: labels.origin,
    direction: labels.direction,
    files: names.length,
    sourceBytes: names.reduce((a, f) => a + statSync(join(dicomDir, f)).size, 0),
    volumeBytes: ct.length * 2,
    voxelSum,
    labelVoxels,
    nonEmptyPairs,
    generationMs: Math.round(performance.now() - t0),
  };
  writeFileSync(join(dir, 'meta.json'), `${JSON.stringify(data, null, 2)}\n`);
  return data;
}

/** The cached data's description, or undefined when it must be (re)generated. */
export function cachedPacsData(cacheDir: string): PacsData | undefined {
  const meta = join(cacheDir, 'pacs-data', 'meta.json');
  if (!existsSync(meta)) return undefined;
  try {
    const d = JSON.parse(readFileSync(meta, 'utf8')) as PacsData;
    if (d.version !== PACS_DATA_VERSION || d.dims.join() !== PACS_GRID.dims.join() || d.spacing.join() !== PACS_GRID.spacing.join()) return undefined;
    if (!existsSync(d.labelsFile) || !existsSync(d.dicomDir) || readdirSync(d.dicomDir).length !== d.files) return undefined;
    return d;
  } catch {
    return undefined;
  }
}

export function removePacsData(cacheDir: string): void {
  rmSync(join(cacheDir, 'pacs-data'), { recursive: true, force: true });
}

const SELF = fileURLToPath(import.meta.url);
if (process.argv[1] && resolve(process.argv[1]) === SELF) {
  const d = await generate(process.argv[2]!);
  process.stdout.write(`${JSON.stringify(d)}\n`);
}
