/**
 * The deterministic SEG cases shared by scripts/golden/seg.py (which has pydicom decode them once) and
 * tests/pacs/seg.test.ts (which checks that medseg still writes exactly what pydicom decoded): three sources
 * (an oblique classic series, an enhanced multi-frame CT, and a generated 37×29×5 series whose rows × columns =
 * 1073 is not a multiple of 8), closed-form label maps and probability maps, fixed UIDs and dates.
 */
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { readDicomVolume } from '../../src/io/dicom/index.js';
import type { DicomVolume } from '../../src/io/dicom/load-volume.js';
import { encodeSeg, type EncodedSeg, type SegLabel } from '../../src/pacs/seg/write-seg.js';
import { nameBasedUid, writeCtSeries } from '../../src/phantom/dicom-series.js';
import { indexToLps } from '../../src/volume/geometry.js';
import type { Mat3, Volume } from '../../src/volume/types.js';
import { makeVolume } from '../../src/volume/volume.js';

export const ROOT = join(fileURLToPath(new URL('.', import.meta.url)), '..', '..');

const ANATOMY = { scheme: 'SCT', value: '123037004', meaning: 'Anatomical Structure' } as const;
export const GOLDEN_LABELS: readonly SegLabel[] = [
  { value: 1, name: 'sphere', color: [221, 130, 101], category: ANATOMY, type: { scheme: 'SCT', value: '10200004', meaning: 'Liver' } },
  { value: 2, name: 'lattice', color: [157, 108, 162], category: ANATOMY, type: { scheme: 'SCT', value: '78961009', meaning: 'Spleen' } },
  // Never present: an empty segment, described without frames.
  { value: 3, name: 'empty', color: [185, 102, 83], category: ANATOMY, type: { scheme: 'SCT', value: '9846003', meaning: 'Right kidney' } },
];

/** A CT of 37 columns × 29 rows × 5 slices (1073 pixels per frame: bit-packed frames start mid-byte), oblique. */
export function oddCt(): Volume<Int16Array> {
  const dims = [37, 29, 5] as const;
  const [a, b] = [(12 * Math.PI) / 180, (20 * Math.PI) / 180];
  // columns of Rz(a)·Rx(b): the i, j, k axes in LPS
  const direction: Mat3 = [Math.cos(a), Math.sin(a), 0, -Math.sin(a) * Math.cos(b), Math.cos(a) * Math.cos(b), Math.sin(b), Math.sin(a) * Math.sin(b), -Math.cos(a) * Math.sin(b), Math.cos(b)];
  const data = new Int16Array(dims[0] * dims[1] * dims[2]);
  for (let n = 0; n < data.length; n++) data[n] = ((n * 37) % 2000) - 1000;
  return makeVolume({ data, dims, spacing: [0.9, 1.1, 2.5], origin: [-20.5, -15.25, 30], direction });
}

/** Writes the odd-sized source series into `dir` (name-based UIDs: the same files every time). */
export async function writeOddSeries(dir: string): Promise<string[]> {
  return writeCtSeries(dir, oddCt(), {
    uidKey: 'golden-seg/odd-ct',
    patientName: 'SEG^ODD',
    patientId: 'SEGODD',
    studyDate: '20240102',
    studyDescription: 'SEG golden odd-sized source',
    seriesDescription: 'odd 37x29x5',
    sliceThicknessMm: 2.5,
  });
}

/** Label 1 inside a sphere around the grid centre (world radius 0.3 × the smallest extent); label 2 on a lattice. */
export function goldenLabelMap(g: Volume): Volume<Uint8Array> {
  const [nx, ny, nz] = g.dims;
  const centre = indexToLps(g, [(nx - 1) / 2, (ny - 1) / 2, (nz - 1) / 2]);
  const radius = 0.3 * Math.min(nx * g.spacing[0], ny * g.spacing[1], nz * g.spacing[2]);
  const data = new Uint8Array(nx * ny * nz);
  for (let k = 0, n = 0; k < nz; k++)
    for (let j = 0; j < ny; j++)
      for (let i = 0; i < nx; i++, n++) {
        const p = indexToLps(g, [i, j, k]);
        if (Math.hypot(p[0] - centre[0], p[1] - centre[1], p[2] - centre[2]) < radius) data[n] = 1;
        else if ((i + 2 * j + 3 * k) % 5 === 0 && i < nx / 2 && k !== 1) data[n] = 2;
      }
  return makeVolume({ data, dims: g.dims, spacing: g.spacing, origin: g.origin, direction: g.direction });
}

/** Probabilities for FRACTIONAL: label 1 falls off linearly from the centre, label 2 a lattice of steps, label 3 none. */
export function goldenProbabilities(g: Volume): Map<number, Volume<Float32Array>> {
  const [nx, ny, nz] = g.dims;
  const centre = indexToLps(g, [(nx - 1) / 2, (ny - 1) / 2, (nz - 1) / 2]);
  const radius = 0.4 * Math.min(nx * g.spacing[0], ny * g.spacing[1], nz * g.spacing[2]);
  const p1 = new Float32Array(nx * ny * nz);
  const p2 = new Float32Array(nx * ny * nz);
  for (let k = 0, n = 0; k < nz; k++)
    for (let j = 0; j < ny; j++)
      for (let i = 0; i < nx; i++, n++) {
        const p = indexToLps(g, [i, j, k]);
        p1[n] = Math.max(0, 1 - Math.hypot(p[0] - centre[0], p[1] - centre[1], p[2] - centre[2]) / radius);
        p2[n] = k === 0 ? 0 : ((i * j + k) % 11) / 10;
      }
  const vol = (data: Float32Array) => makeVolume({ data, dims: g.dims, spacing: g.spacing, origin: g.origin, direction: g.direction });
  return new Map([
    [1, vol(p1)],
    [2, vol(p2)],
    [3, vol(new Float32Array(nx * ny * nz))],
  ]);
}

export interface GoldenCase {
  name: string;
  /** Source folder or file, relative to the repository root; 'odd-ct' is written by writeOddSeries. */
  source: string;
  type: 'BINARY' | 'FRACTIONAL';
}

export const GOLDEN_CASES: readonly GoldenCase[] = [
  { name: 'oblique-ct', source: 'fixtures/dicom/oblique-ct', type: 'BINARY' },
  { name: 'enhanced-ct', source: 'fixtures/dicom/enhanced-ct', type: 'BINARY' },
  { name: 'odd-ct', source: 'odd-ct', type: 'BINARY' },
  { name: 'odd-ct-fractional', source: 'odd-ct', type: 'FRACTIONAL' },
];

/** The source of a case; `oddDir` is where writeOddSeries put the generated series. */
export async function loadGoldenSource(c: GoldenCase, oddDir: string): Promise<DicomVolume> {
  return readDicomVolume(c.source === 'odd-ct' ? oddDir : join(ROOT, c.source));
}

/** Encodes a case with fixed UIDs, date and software version, so the bytes never change. */
export async function encodeGoldenCase(c: GoldenCase, source: DicomVolume): Promise<EncodedSeg> {
  const common = {
    source,
    labels: GOLDEN_LABELS,
    algorithm: { name: 'golden-model', version: '1.0.0' },
    uids: { series: nameBasedUid(`golden-seg/${c.name}/series`), instance: nameBasedUid(`golden-seg/${c.name}/instance`), dimensionOrganization: nameBasedUid(`golden-seg/${c.name}/dimensions`) },
    now: new Date('2024-01-02T03:04:05Z'),
    softwareVersions: 'medseg golden',
  };
  return c.type === 'BINARY'
    ? encodeSeg({ ...common, labelMap: goldenLabelMap(source.volume) })
    : encodeSeg({ ...common, type: 'FRACTIONAL', probabilities: goldenProbabilities(source.volume) });
}
