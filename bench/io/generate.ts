/**
 * Test data for the IO benchmark, generated once into a cache folder outside git: a synthetic 512×512×300 int16
 * CT-like volume (smooth body with fat, soft tissue, organs, lungs, spine, ribs, aorta, table; Gaussian-like noise;
 * −1024 outside the circular field of view) written as .nii, .nii.gz (medseg's writeNifti) and as a DICOM series of
 * 300 CT Image Storage files (explicit VR little endian, uint16 with BitsStored 12 and RescaleIntercept −1024, as
 * many scanners store CT). The generator is deterministic; meta.json records the parameters and voxel checksum, and
 * the data is regenerated when they change.
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { readDicomVolume } from '../../src/io/dicom/index.js';
import { readNifti } from '../../src/io/nifti/read.js';
import { writeNifti } from '../../src/io/nifti/write.js';
import type { Volume } from '../../src/volume/types.js';
import { makeVolume } from '../../src/volume/volume.js';
import { CT_IMAGE_STORAGE, ds, encodeDicomFile, type Element } from './dicom-encoder.js';

/** Bump when the generated data changes, so caches are rebuilt. */
const GENERATOR_VERSION = 3;

export interface IoDataParams {
  nx: number;
  ny: number;
  nz: number;
  spacing: [number, number, number];
  seed: number;
}

export interface IoData {
  version: number;
  params: IoDataParams;
  dir: string;
  nii: string;
  niiGz: string;
  dicomDir: string;
  dicomFiles: number;
  /** Bytes of the int16 voxel array (nx·ny·nz·2). */
  volumeBytes: number;
  /** Sum of all voxel values (HU), to check every load. */
  voxelSum: number;
  minHu: number;
  maxHu: number;
  fileBytes: { nii: number; niiGz: number; dicomTotal: number };
  generatedAt: string;
  generationMs: number;
}

export const DEFAULT_PARAMS: IoDataParams = { nx: 512, ny: 512, nz: 300, spacing: [0.7, 0.7, 1.0], seed: 20261120 };

/** LPS geometry shared by the NIfTI files and the DICOM series: identity direction, centred in x/y, k = +z. */
function geometryOf(p: IoDataParams): Pick<Volume, 'spacing' | 'origin' | 'direction'> {
  return {
    spacing: p.spacing,
    origin: [-((p.nx - 1) * p.spacing[0]) / 2, -((p.ny - 1) * p.spacing[1]) / 2, -(p.nz - 1) * p.spacing[2]],
    direction: [1, 0, 0, 0, 1, 0, 0, 0, 1],
  };
}

/** Deterministic 2.25 UID (a UUID-derived integer) from a label. */
function uid(label: string): string {
  const h = createHash('sha256').update(`medseg-bench:${label}`).digest();
  return `2.25.${BigInt(`0x${h.subarray(0, 16).toString('hex')}`).toString()}`;
}

/** Inside the ellipse centred at (cx, cy) with semi-axes (a, b)? */
function inEllipse(x: number, y: number, cx: number, cy: number, a: number, b: number): boolean {
  const u = (x - cx) / a;
  const v = (y - cy) / b;
  return u * u + v * v <= 1;
}

/** Synthesises the CT-like volume in HU (int16), k = 0 the most inferior slice. */
export function synthesizeCt(p: IoDataParams): Int16Array {
  const { nx, ny, nz, spacing } = p;
  const out = new Int16Array(nx * ny * nz);
  const g = geometryOf(p);
  let state = p.seed >>> 0 || 1;
  const fov = Math.min(nx * spacing[0], ny * spacing[1]) / 2 - 1;
  for (let k = 0; k < nz; k++) {
    const t = nz > 1 ? k / (nz - 1) : 0;
    const ax = 150 + 20 * Math.sin(Math.PI * t);
    const ay = 105 + 10 * Math.sin(2.3 * Math.PI * t + 0.5);
    const cyBody = 10;
    const fat = 12;
    const lung = t < 0.55 ? 0 : Math.min(1, (t - 0.55) / 0.15);
    const liver = t > 0.2 && t < 0.6;
    const ribSlice = t > 0.45 && k % 25 < 9;
    const tableY = cyBody + ay + 20;
    for (let j = 0; j < ny; j++) {
      const y = g.origin[1] + j * spacing[1];
      const rowBase = k * nx * ny + j * nx;
      for (let i = 0; i < nx; i++) {
        const x = g.origin[0] + i * spacing[0];
        // xorshift32; three 10-bit uniforms summed ≈ Gaussian (Irwin–Hall), unit variance after scaling.
        state ^= state << 13;
        state ^= state >>> 17;
        state ^= state << 5;
        const r = state >>> 0;
        const gauss = (((r & 1023) + ((r >>> 10) & 1023) + ((r >>> 20) & 1023)) / 1023 - 1.5) * 2;
        let hu: number;
        let sigma: number;
        if (x * x + y * y > fov * fov) {
          hu = -1024;
          sigma = 0;
        } else if (!inEllipse(x, y, 0, cyBody, ax, ay)) {
          const onTable = y > tableY && y < tableY + 4 && Math.abs(x) < 170;
          hu = onTable ? 250 : -1000;
          sigma = onTable ? 10 : 6;
        } else if (!inEllipse(x, y, 0, cyBody, ax - fat, ay - fat)) {
          hu = -100 + 10 * Math.sin(x / 17 + t * 4);
          sigma = 12;
        } else {
          // Soft tissue with smooth variation, then organs and bone drawn over it.
          hu = 42 + 12 * Math.sin(x / 31 + 3 * t) * Math.cos(y / 23 - 2 * t);
          sigma = 14;
          if (liver && inEllipse(x, y, -65, -5, 62, 52)) hu = 62 + 6 * Math.sin(y / 13);
          if (t < 0.45 && (inEllipse(x, y, 55, 45, 22, 30) || inEllipse(x, y, -55, 45, 22, 30))) hu = 150;
          if (lung > 0 && (inEllipse(x, y, 70, 0, 55 * lung, 72 * lung) || inEllipse(x, y, -70, 0, 55 * lung, 72 * lung))) {
            hu = -850 + 60 * Math.sin(x / 9) * Math.sin(y / 11 + t * 7);
            sigma = 25;
          }
          if (inEllipse(x, y, 18, 42, 12, 12)) hu = 190; // contrast-filled aorta
          if (inEllipse(x, y, 0, 78, 18, 16)) {
            hu = inEllipse(x, y, 0, 78, 16, 14) ? 260 : 1450; // vertebral body: cancellous inside a cortical rim
            sigma = 30;
          }
          if (inEllipse(x, y, 0, 101, 7, 7)) hu = 25; // spinal canal
          if (inEllipse(x, y, 21, 45, 2.2, 2.2)) hu = 1950; // a calcification in the aortic wall
          if (ribSlice) {
            for (let a = 25; a <= 155; a += 26) {
              const th = (a * Math.PI) / 180;
              const rx = (ax - fat - 6) * Math.cos(th);
              const ry = cyBody + (ay - fat - 6) * Math.sin(th) * 0.9;
              if (inEllipse(x, y, rx, ry, 5, 5) || inEllipse(x, y, -rx, ry, 5, 5)) {
                hu = 1100;
                sigma = 40;
              }
            }
          }
        }
        const v = Math.round(hu + sigma * gauss);
        out[rowBase + i] = v < -1024 ? -1024 : v > 3071 ? 3071 : v;
      }
    }
  }
  return out;
}

function checksum(data: Int16Array): { sum: number; min: number; max: number } {
  let sum = 0;
  let min = Infinity;
  let max = -Infinity;
  for (let n = 0; n < data.length; n++) {
    const v = data[n]!;
    sum += v;
    if (v < min) min = v;
    if (v > max) max = v;
  }
  return { sum, min, max };
}

/** File name of the DICOM slice holding plane k: instance 1 is the most superior slice, as CT consoles export. */
export function dicomFileName(k: number, nz: number): string {
  return `IM${String(nz - k).padStart(6, '0')}.dcm`;
}

function writeDicomSeries(dir: string, hu: Int16Array, p: IoDataParams): number {
  const { nx, ny, nz, spacing } = p;
  const g = geometryOf(p);
  const study = uid('study');
  const series = uid('series');
  const frame = uid('frame-of-reference');
  const plane = nx * ny;
  let total = 0;
  for (let k = 0; k < nz; k++) {
    const instanceNumber = nz - k;
    const sop = uid(`instance-${instanceNumber}`);
    const pixels = new Uint16Array(plane);
    for (let n = 0; n < plane; n++) pixels[n] = hu[k * plane + n]! + 1024; // stored = HU − intercept
    const z = g.origin[2] + k * spacing[2];
    const dataset: Element[] = [
      { group: 0x0008, element: 0x0005, vr: 'CS', value: 'ISO_IR 100' },
      { group: 0x0008, element: 0x0008, vr: 'CS', value: ['ORIGINAL', 'PRIMARY', 'AXIAL'] },
      { group: 0x0008, element: 0x0016, vr: 'UI', value: CT_IMAGE_STORAGE },
      { group: 0x0008, element: 0x0018, vr: 'UI', value: sop },
      { group: 0x0008, element: 0x0020, vr: 'DA', value: '20261120' },
      { group: 0x0008, element: 0x0030, vr: 'TM', value: '120000' },
      { group: 0x0008, element: 0x0050, vr: 'SH', value: 'BENCH0001' },
      { group: 0x0008, element: 0x0060, vr: 'CS', value: 'CT' },
      { group: 0x0008, element: 0x0070, vr: 'LO', value: 'medseg bench synthetic' },
      { group: 0x0008, element: 0x1030, vr: 'LO', value: 'IO benchmark' },
      { group: 0x0008, element: 0x103e, vr: 'LO', value: 'Synthetic CT 512x512x300' },
      { group: 0x0010, element: 0x0010, vr: 'PN', value: 'Bench^Synthetic' },
      { group: 0x0010, element: 0x0020, vr: 'LO', value: 'BENCH-001' },
      { group: 0x0010, element: 0x0030, vr: 'DA', value: '19700101' },
      { group: 0x0010, element: 0x0040, vr: 'CS', value: 'O' },
      { group: 0x0018, element: 0x0050, vr: 'DS', value: ds(spacing[2]) },
      { group: 0x0018, element: 0x0060, vr: 'DS', value: '120' },
      { group: 0x0018, element: 0x5100, vr: 'CS', value: 'FFS' },
      { group: 0x0020, element: 0x000d, vr: 'UI', value: study },
      { group: 0x0020, element: 0x000e, vr: 'UI', value: series },
      { group: 0x0020, element: 0x0010, vr: 'SH', value: '1' },
      { group: 0x0020, element: 0x0011, vr: 'IS', value: '2' },
      { group: 0x0020, element: 0x0012, vr: 'IS', value: '1' },
      { group: 0x0020, element: 0x0013, vr: 'IS', value: String(instanceNumber) },
      { group: 0x0020, element: 0x0032, vr: 'DS', value: [ds(g.origin[0]), ds(g.origin[1]), ds(z)] },
      { group: 0x0020, element: 0x0037, vr: 'DS', value: ['1', '0', '0', '0', '1', '0'] },
      { group: 0x0020, element: 0x0052, vr: 'UI', value: frame },
      { group: 0x0020, element: 0x1041, vr: 'DS', value: ds(z) },
      { group: 0x0028, element: 0x0002, vr: 'US', value: 1 },
      { group: 0x0028, element: 0x0004, vr: 'CS', value: 'MONOCHROME2' },
      { group: 0x0028, element: 0x0010, vr: 'US', value: ny },
      { group: 0x0028, element: 0x0011, vr: 'US', value: nx },
      { group: 0x0028, element: 0x0030, vr: 'DS', value: [ds(spacing[1]), ds(spacing[0])] },
      { group: 0x0028, element: 0x0100, vr: 'US', value: 16 },
      { group: 0x0028, element: 0x0101, vr: 'US', value: 12 },
      { group: 0x0028, element: 0x0102, vr: 'US', value: 11 },
      { group: 0x0028, element: 0x0103, vr: 'US', value: 0 },
      { group: 0x0028, element: 0x1050, vr: 'DS', value: '40' },
      { group: 0x0028, element: 0x1051, vr: 'DS', value: '400' },
      { group: 0x0028, element: 0x1052, vr: 'DS', value: '-1024' },
      { group: 0x0028, element: 0x1053, vr: 'DS', value: '1' },
      { group: 0x0028, element: 0x1054, vr: 'LO', value: 'HU' },
      { group: 0x7fe0, element: 0x0010, vr: 'OW', value: new Uint8Array(pixels.buffer) },
    ];
    const bytes = encodeDicomFile(CT_IMAGE_STORAGE, sop, dataset);
    writeFileSync(join(dir, dicomFileName(k, nz)), bytes);
    total += bytes.length;
  }
  return total;
}

function sameVoxels(a: ArrayLike<number>, b: Int16Array): number {
  if (a.length !== b.length) return -1;
  for (let n = 0; n < b.length; n++) if (a[n] !== b[n]) return n;
  return b.length;
}

function close(a: readonly number[], b: readonly number[], tol: number): boolean {
  return a.length === b.length && a.every((v, n) => Math.abs(v - b[n]!) <= tol);
}

/**
 * Checks that the DICOM series and both NIfTI files load (with medseg's readers) to the generated voxels and the
 * same geometry. Throws on any difference.
 */
export async function verifyIoData(data: IoData, expected?: Int16Array): Promise<string[]> {
  const lines: string[] = [];
  const ref = expected ?? synthesizeCt(data.params);
  const geo = geometryOf(data.params);
  const loads: [string, () => Promise<Volume>][] = [
    ['DICOM series (readDicomVolume)', async () => (await readDicomVolume(data.dicomDir)).volume],
    ['.nii (readNifti)', async () => (await readNifti(data.nii)).volume],
    ['.nii.gz (readNifti)', async () => (await readNifti(data.niiGz)).volume],
  ];
  for (const [label, load] of loads) {
    const v = await load();
    const at = sameVoxels(v.data, ref);
    if (at !== ref.length) throw new Error(`bench data check: ${label} voxels differ from the generated volume${at >= 0 ? ` at index ${at}` : ' in length'}`);
    if (!(v.data instanceof Int16Array)) throw new Error(`bench data check: ${label} loaded as ${v.data.constructor.name}, expected Int16Array`);
    if (!close(v.dims, [data.params.nx, data.params.ny, data.params.nz], 0) || !close(v.spacing, geo.spacing, 1e-4) || !close(v.origin, geo.origin, 1e-3) || !close(v.direction, geo.direction, 1e-6)) {
      throw new Error(`bench data check: ${label} geometry differs: dims ${v.dims} spacing ${v.spacing} origin ${v.origin} direction ${v.direction}`);
    }
    lines.push(`${label}: ${v.dims.join('×')} int16, voxels and geometry identical to the generated volume`);
  }
  return lines;
}

function readMeta(file: string): IoData | undefined {
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as IoData;
  } catch {
    return undefined;
  }
}

/**
 * Returns the cached test data, generating (and verifying) it when missing, stale or `force`d.
 * @param log progress lines
 */
export async function ensureIoData(cacheDir: string, log: (line: string) => void, options: { force?: boolean; params?: IoDataParams } = {}): Promise<IoData> {
  const params = options.params ?? DEFAULT_PARAMS;
  const dir = join(cacheDir, 'io-data');
  const metaFile = join(dir, 'meta.json');
  const meta = readMeta(metaFile);
  const fresh =
    meta &&
    meta.version === GENERATOR_VERSION &&
    JSON.stringify(meta.params) === JSON.stringify(params) &&
    existsSync(meta.nii) &&
    existsSync(meta.niiGz) &&
    existsSync(join(meta.dicomDir, dicomFileName(0, params.nz)));
  if (fresh && !options.force) {
    log(`test data: cached in ${dir} (generated ${meta.generatedAt})`);
    return meta;
  }

  const t0 = performance.now();
  rmSync(dir, { recursive: true, force: true });
  const dicomDir = join(dir, 'dicom');
  mkdirSync(dicomDir, { recursive: true });
  log(`test data: generating ${params.nx}×${params.ny}×${params.nz} int16 CT-like volume into ${dir} …`);
  const hu = synthesizeCt(params);
  const { sum, min, max } = checksum(hu);
  const volume = makeVolume({ data: hu, dims: [params.nx, params.ny, params.nz], ...geometryOf(params) });
  const nii = join(dir, 'ct.nii');
  const niiGz = join(dir, 'ct.nii.gz');
  await writeNifti(nii, volume, { description: 'medseg bench synthetic CT (HU)' });
  await writeNifti(niiGz, volume, { description: 'medseg bench synthetic CT (HU)' });
  const dicomTotal = writeDicomSeries(dicomDir, hu, params);
  const data: IoData = {
    version: GENERATOR_VERSION,
    params,
    dir,
    nii,
    niiGz,
    dicomDir,
    dicomFiles: params.nz,
    volumeBytes: hu.byteLength,
    voxelSum: sum,
    minHu: min,
    maxHu: max,
    fileBytes: { nii: statSync(nii).size, niiGz: statSync(niiGz).size, dicomTotal },
    generatedAt: new Date().toISOString(),
    generationMs: 0,
  };
  for (const line of await verifyIoData(data, hu)) log(`  check: ${line}`);
  data.generationMs = Math.round(performance.now() - t0);
  writeFileSync(metaFile, `${JSON.stringify(data, null, 2)}\n`);
  log(
    `test data: done in ${(data.generationMs / 1000).toFixed(1)} s; HU ${min}..${max}; .nii ${(data.fileBytes.nii / 1e6).toFixed(1)} MB, ` +
      `.nii.gz ${(data.fileBytes.niiGz / 1e6).toFixed(1)} MB (gzip ratio ${(data.fileBytes.nii / data.fileBytes.niiGz).toFixed(2)}), DICOM ${params.nz} files ${(dicomTotal / 1e6).toFixed(1)} MB`,
  );
  return data;
}
