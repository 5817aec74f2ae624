/**
 * DICOM SEG writer and reader: voxel-for-voxel round trips on the source grid (demo phantom, oblique, enhanced
 * multi-frame, odd rows × columns, a label map on another grid, FRACTIONAL), pydicom's decoding of the same bytes
 * (fixtures/golden/seg/seg.json, from scripts/golden/seg.py), dciodvfy on every SEG written here, colour and bit
 * packing against hand-derived values, and bad input.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import dicomParser from 'dicom-parser';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readDicomVolume } from '../../src/io/dicom/index.js';
import type { DicomVolume } from '../../src/io/dicom/load-volume.js';
import { readNifti } from '../../src/io/nifti/read.js';
import { bitAt, packedLength, packFrameInto } from '../../src/pacs/seg/bits.js';
import { dicomLabToSrgb, srgbToDicomLab } from '../../src/pacs/seg/colour.js';
import { readSeg } from '../../src/pacs/seg/read-seg.js';
import { encodeSeg, writeSeg, type SegLabel } from '../../src/pacs/seg/write-seg.js';
import { indexToLps, lpsToIndex } from '../../src/volume/geometry.js';
import { indexMap } from '../../src/volume/index-map.js';
import { resampleScalar } from '../../src/volume/resample.js';
import type { Volume } from '../../src/volume/types.js';
import { makeVolume } from '../../src/volume/volume.js';
import { encodeGoldenCase, GOLDEN_CASES, GOLDEN_LABELS, goldenLabelMap, goldenProbabilities, loadGoldenSource, writeOddSeries } from '../../scripts/golden/seg-cases.js';
import { fixture, ROOT, sha256, systemFile } from '../helpers.js';

const run = promisify(execFile);
const card = JSON.parse(readFileSync(join(ROOT, 'models', 'default', 'default.card.json'), 'utf8')) as { name: string; version: string; labels: SegLabel[] };
const ALGORITHM = { name: card.name, version: card.version };

/**
 * dciodvfy warnings accepted on medseg's SEGs: none. (The one it gave during development, "Retired Person Name
 * form" for a ContentCreatorName without "^", is why the default is "medseg^".)
 */
const ACCEPTED_DCIODVFY_WARNINGS: readonly RegExp[] = [];

async function expectDciodvfyClean(file: string): Promise<void> {
  if (!systemFile('/usr/bin/dciodvfy', 'Debian package dicom3tools validates the Segmentation IOD')) return;
  const out = await run('/usr/bin/dciodvfy', [file]).catch((e: { stdout: string; stderr: string }) => e);
  const lines = `${out.stdout}\n${out.stderr}`.split('\n');
  expect(lines.filter((l) => l.startsWith('Error')), lines.join('\n')).toEqual([]);
  expect(lines.filter((l) => l.startsWith('Warning') && !ACCEPTED_DCIODVFY_WARNINGS.some((w) => w.test(l))), lines.join('\n')).toEqual([]);
  expect(lines.some((l) => l.trim() === 'Segmentation')).toBe(true);
}

function countMismatches(a: ArrayLike<number>, b: ArrayLike<number>): number {
  expect(a.length).toBe(b.length);
  let bad = 0;
  for (let n = 0; n < a.length; n++) if (a[n] !== b[n]) bad++;
  return bad;
}

let tmp: string;
let oddDir: string;
beforeAll(async () => {
  tmp = mkdtempSync(join(tmpdir(), 'medseg-seg-'));
  oddDir = join(tmp, 'odd-ct');
  await writeOddSeries(oddDir);
});
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

describe('srgbToDicomLab', () => {
  it('matches the CIELab (D65) of the sRGB primaries, white and black, scaled as PS3.3 C.10.7.1.1 says', () => {
    // Reference CIELab from Bruce Lindbloom's calculator (sRGB, D65): red (53.2408, 80.0925, 67.2032),
    // green (87.7347, −86.1827, 83.1793), blue (32.2970, 79.1875, −107.8602).
    // Scaled: L' = L·65535/100, a' = (a + 128)·257, b' = (b + 128)·257, rounded. Red: 53.2408·655.35 = 34891.4,
    // 208.0925·257 = 53479.8, 195.2032·257 = 50167.2.
    expect(srgbToDicomLab([255, 0, 0])).toEqual([34891, 53480, 50167]);
    expect(srgbToDicomLab([0, 255, 0])).toEqual([57497, 10747, 54273]);
    expect(srgbToDicomLab([0, 0, 255])).toEqual([21166, 53247, 5176]);
    // White: L* 100, a* = b* = 0 → 65535, 128·257 = 32896; black: L* 0.
    expect(srgbToDicomLab([255, 255, 255])).toEqual([65535, 32896, 32896]);
    expect(srgbToDicomLab([0, 0, 0])).toEqual([0, 32896, 32896]);
  });

  it('round-trips every colour of the default model card through dicomLabToSrgb', () => {
    for (const l of card.labels) expect(dicomLabToSrgb(srgbToDicomLab(l.color!))).toEqual(l.color);
  });

  it('refuses components outside 0…255', () => {
    expect(() => srgbToDicomLab([256, 0, 0])).toThrow('sRGB components must be integers 0…255, got [256, 0, 0]');
  });
});

describe('1-bit packing', () => {
  it('packs frames contiguously, not padded per frame (3×3 frames start at bits 0 and 9)', () => {
    // Frame 0: all 9 pixels set → bits 0…8; frame 1: only pixel 0 → bit 9. Bytes: 0xFF, 0b11 = 0x03, then an
    // even-length pad: ⌈18/8⌉ = 3 bytes → 4.
    expect(packedLength(2, 9)).toBe(4);
    const out = new Uint8Array(packedLength(2, 9));
    packFrameInto(out, 0, 9, () => true);
    packFrameInto(out, 1, 9, (n) => n === 0);
    expect([...out]).toEqual([0xff, 0x03, 0x00, 0x00]);
    expect(bitAt(out, 1, 9, 0)).toBe(true);
    expect(bitAt(out, 1, 9, 1)).toBe(false);
  });
});

describe('writeSeg / readSeg on the demo study (256×256×76)', () => {
  let source: DicomVolume;
  let labels: Volume;
  let file: string;
  beforeAll(async () => {
    source = await readDicomVolume(fixture('demo', 'dicom'));
    labels = (await readNifti(fixture('demo', 'labels.nii.gz'))).volume;
    file = join(tmp, 'demo.seg.dcm');
  });

  it('writes one frame per non-empty (segment, plane) and reads back the label map voxel for voxel', async () => {
    // Timing and size are measured by `npm run bench -- pacs`, not here.
    const seg = await writeSeg(file, { source, labels: card.labels, labelMap: labels, algorithm: ALGORITHM });
    expect(seg.notes).toEqual([]);
    expect(seg.emptySegments).toEqual([]);
    // Frames = Σ over labels of the planes holding that label.
    const [nx, ny, nz] = labels.dims;
    let expectedFrames = 0;
    for (const l of card.labels) {
      for (let k = 0; k < nz; k++) {
        const planeData = labels.data.subarray(k * nx * ny, (k + 1) * nx * ny);
        if (planeData.some((v) => v === l.value)) expectedFrames++;
      }
    }
    expect(seg.frames).toBe(expectedFrames);

    const back = await readSeg(file, { source });
    expect(countMismatches(back.labelMap.data, labels.data)).toBe(0);
    expect(back.labelMap.dims).toEqual(source.volume.dims);
    expect(back.overlapVoxels).toBe(0);
    expect(back.segments.map((s) => [s.number, s.label, s.type?.value, s.color])).toEqual(card.labels.map((l, n) => [n + 1, l.name, l.type!.value, l.color]));
    expect(back.segments.every((s) => s.algorithmType === 'AUTOMATIC' && s.algorithmName === card.name)).toBe(true);
    // Every frame references the exact source instance of its plane.
    for (const f of back.frames) expect(f.referencedSopInstanceUid).toBe(source.planes[f.k]!.sopInstanceUid);
    expect(back.referencedSeriesInstanceUid).toBe(source.series.seriesInstanceUid);
    expect(back.frameOfReferenceUid).toBe(source.series.frameOfReferenceUid);
    expect(back.studyInstanceUid).toBe(source.series.studyInstanceUid);
    expect(back.seriesInstanceUid).not.toBe(source.series.seriesInstanceUid);
    await expectDciodvfyClean(file);
  });

  it('rebuilds the same grid from the frames alone when no source is given', async () => {
    // The aorta has a frame on every plane, so the frames span the whole source stack.
    const back = await readSeg(file);
    expect(back.labelMap.dims).toEqual(source.volume.dims);
    for (const key of ['origin', 'spacing', 'direction'] as const) {
      back.labelMap[key].forEach((v, n) => expect(v).toBeCloseTo(source.volume[key][n]!, 6));
    }
    expect(countMismatches(back.labelMap.data, labels.data)).toBe(0);
  });

  it('copies patient and study identity from the source and makes new series and instance UIDs per result', async () => {
    const parse = (f: string) => dicomParser.parseDicom(readFileSync(f), { untilTag: 'x7fe00010' });
    const seg = parse(file);
    const src = parse(source.planes[0]!.file);
    for (const tag of ['x00100010', 'x00100020', 'x00100030', 'x00100040', 'x0020000d', 'x00080020', 'x00080030', 'x00200010', 'x00080050', 'x00080090']) {
      expect(seg.string(tag) ?? '', tag).toBe(src.string(tag) ?? '');
    }
    expect(seg.string('x00080060')).toBe('SEG');
    expect(seg.string('x00080070')).toBe('medseg');
    const again = await encodeSeg({ source, labels: card.labels, labelMap: labels, algorithm: ALGORITHM });
    const first = await readSeg(file);
    expect(again.seriesInstanceUid).not.toBe(first.seriesInstanceUid);
    expect(again.sopInstanceUid).not.toBe(first.sopInstanceUid);
    expect(again.sopInstanceUid).toMatch(/^2\.25\.\d+$/);
  });

  it('resamples a label map on another grid (2 mm) onto the source grid by nearest neighbour, and says so', async () => {
    // The demo labels on a 2 mm grid over the same extent (nearest neighbour), then written against the 1.48×1.48×4 mm source.
    const extent = labels.dims.map((d, c) => (d - 1) * labels.spacing[c]!);
    const dims2 = extent.map((e) => Math.floor(e / 2) + 1) as unknown as [number, number, number];
    const grid2 = { dims: dims2, spacing: [2, 2, 2] as const, origin: labels.origin, direction: labels.direction };
    const data2 = Uint8Array.from(resampleScalar(labels.data, labels.dims, dims2, indexMap(grid2, labels), { interpolation: 'nearest', fill: 0 }));
    const coarse = makeVolume({ ...grid2, data: data2 });
    const out = join(tmp, 'demo-2mm.seg.dcm');
    const seg = await writeSeg(out, { source, labels: card.labels, labelMap: coarse, algorithm: ALGORITHM });
    expect(seg.notes).toHaveLength(1);
    expect(seg.notes[0]).toMatch(/^the label map was on another grid \(\d+×\d+×\d+ at \[2, 2, 2\] mm.*resampled onto the source series grid \(256×256×76.*nearest-neighbour/);
    // Expected, voxel by voxel: the coarse voxel nearest to each source voxel centre in LPS (0 beyond half a voxel).
    const v = source.volume;
    const expected = new Uint8Array(v.data.length);
    for (let k = 0, n = 0; k < v.dims[2]; k++)
      for (let j = 0; j < v.dims[1]; j++)
        for (let i = 0; i < v.dims[0]; i++, n++) {
          const q = lpsToIndex(coarse, indexToLps(v, [i, j, k]));
          if (q.some((x, c) => x < -0.5 || x > dims2[c]! - 0.5)) continue;
          const [a, b, c] = q.map((x, c2) => Math.min(dims2[c2]! - 1, Math.max(0, Math.round(x))));
          expected[n] = data2[a! + b! * dims2[0] + c! * dims2[0] * dims2[1]]!;
        }
    const back = await readSeg(out, { source });
    expect(countMismatches(back.labelMap.data, expected)).toBe(0);
    await expectDciodvfyClean(out);
  });
});

interface GoldenFrame {
  segment: number;
  position: string[];
  referencedSOPInstanceUID: string;
  referencedFrameNumber: number | null;
  dimensionIndexValues: number[];
  setPixels: number;
}
interface GoldenCase {
  case: string;
  segmentationType: string;
  numberOfFrames: number;
  rows: number;
  columns: number;
  referencedInstances: string[];
  pixelDataSha256: string;
  unpackedSha256: string;
  segments: { number: number; label: string; cielab: number[]; category: { value: string }; type: { value: string } }[];
  frames: GoldenFrame[];
  dciodvfyErrors: string[];
}
const golden = JSON.parse(readFileSync(fixture('golden', 'seg', 'seg.json'), 'utf8')) as { cases: GoldenCase[] };

describe('golden SEGs decoded by pydicom (scripts/golden/seg.py)', () => {
  for (const c of GOLDEN_CASES) {
    it(`${c.name} (${c.type}): medseg writes what pydicom decoded, and reads it back voxel for voxel`, async () => {
      const g = golden.cases.find((x) => x.case === c.name)!;
      expect(g.dciodvfyErrors).toEqual([]);
      const source = await loadGoldenSource(c, oddDir);
      const seg = await encodeGoldenCase(c, source);
      const file = join(tmp, `${c.name}.seg.dcm`);
      writeFileSync(file, seg.bytes);
      await expectDciodvfyClean(file);

      // pydicom's view of the same bytes: pixel data, unpacked frames, per-frame functional groups.
      const ds = dicomParser.parseDicom(seg.bytes);
      const el = ds.elements.x7fe00010!;
      const pixelData = seg.bytes.subarray(el.dataOffset, el.dataOffset + el.length);
      expect(sha256(pixelData)).toBe(g.pixelDataSha256);
      const plane = g.rows * g.columns;
      const unpacked = new Uint8Array(g.numberOfFrames * plane);
      for (let f = 0; f < g.numberOfFrames; f++) {
        for (let n = 0; n < plane; n++) unpacked[f * plane + n] = c.type === 'BINARY' ? (bitAt(pixelData, f, plane, n) ? 1 : 0) : pixelData[f * plane + n]!;
      }
      expect(sha256(unpacked)).toBe(g.unpackedSha256);
      expect(seg.frames).toBe(g.numberOfFrames);
      const perFrame = ds.elements.x52009230!.items!;
      perFrame.forEach((item, f) => {
        const dims = item.dataSet!.elements.x00209111!.items![0]!.dataSet!;
        expect([dims.uint32('x00209157', 0), dims.uint32('x00209157', 1)]).toEqual(g.frames[f]!.dimensionIndexValues);
      });

      const back = await readSeg(file, { source });
      expect(back.frames.map((f) => [f.segment, f.referencedSopInstanceUid, f.referencedFrameNumber ?? null, f.setPixels])).toEqual(
        g.frames.map((f) => [f.segment, f.referencedSOPInstanceUID, f.referencedFrameNumber, f.setPixels]),
      );
      back.frames.forEach((f, n) => {
        expect([...f.positionLps]).toEqual(g.frames[n]!.position.map(Number));
        // PlanePosition is the source plane's ImagePositionPatient as stored.
        expect(f.positionLps).toEqual(source.geometry.sorted[f.k]!.geometry.ippLps);
      });
      expect(back.segments.map((s) => [s.number, s.label, s.cielab && [...s.cielab], s.category?.value, s.type?.value])).toEqual(
        g.segments.map((s) => [s.number, s.label, s.cielab, s.category.value, s.type.value]),
      );
      // Label 3 never occurs: described in SegmentSequence, no frames.
      expect(seg.emptySegments).toEqual([3]);
      expect(back.segments.find((s) => s.number === 3)!.frames).toBe(0);

      // Round trip on the source grid.
      if (c.type === 'BINARY') {
        expect(countMismatches(back.labelMap.data, goldenLabelMap(source.volume).data)).toBe(0);
        // Multi-frame sources are referenced frame by frame.
        for (const f of back.frames) {
          const p = source.planes[f.k]!;
          expect(f.referencedSopInstanceUid).toBe(p.sopInstanceUid);
          expect(f.referencedFrameNumber).toBe(c.name === 'enhanced-ct' ? p.frame + 1 : undefined);
        }
      } else {
        // FRACTIONAL: within half a step of 1/255; the label map marks fractions > 0.5, the higher segment winning.
        const probabilities = goldenProbabilities(source.volume);
        let worst = 0;
        for (const [value, p] of probabilities) {
          const q = back.fractions!.get(value)!.data;
          for (let n = 0; n < q.length; n++) worst = Math.max(worst, Math.abs(q[n]! - p.data[n]!));
        }
        expect(worst).toBeLessThanOrEqual(0.5 / 255 + 1e-6);
        const expected = new Uint8Array(source.volume.data.length);
        let overlaps = 0;
        for (const [value, p] of probabilities) {
          for (let n = 0; n < expected.length; n++) {
            if (!(2 * Math.round(p.data[n]! * 255) > 255)) continue;
            if (expected[n] !== 0) overlaps++;
            expected[n] = value;
          }
        }
        expect(countMismatches(back.labelMap.data, expected)).toBe(0);
        expect(overlaps).toBeGreaterThan(0);
        expect(back.overlapVoxels).toBe(overlaps);
        expect(back.notes).toEqual([`${overlaps} voxels belong to more than one segment; the label map keeps the highest segment number`]);
        expect(back.maxFractionalValue).toBe(255);
        expect(back.fractionalType).toBe('PROBABILITY');
        return;
      }
      expect(back.notes).toEqual([]);
    });
  }
});

describe('edge cases and bad input', () => {
  it('round-trips a gantry-tilted (sheared) source, with and without the source', async () => {
    const source = await readDicomVolume(fixture('dicom', 'tilted-ct'));
    const labelMap = goldenLabelMap(source.volume);
    const file = join(tmp, 'tilted.seg.dcm');
    await writeSeg(file, { source, labels: GOLDEN_LABELS, labelMap, algorithm: ALGORITHM });
    await expectDciodvfyClean(file);
    expect(countMismatches((await readSeg(file, { source })).labelMap.data, labelMap.data)).toBe(0);
    // Without the source: the lattice has frames on planes 0 and 7, so the frames span the whole sheared stack.
    const alone = (await readSeg(file)).labelMap;
    expect(alone.dims).toEqual(source.volume.dims);
    for (const p of [[0, 0, 0], [31, 31, 7], [5, 9, 3]] as const) {
      indexToLps(alone, p).forEach((v, c) => expect(v).toBeCloseTo(indexToLps(source.volume, p)[c]!, 5));
    }
    expect(countMismatches(alone.data, labelMap.data)).toBe(0);
  });

  it('writes one all-zero frame when every segment is empty, and dciodvfy accepts it', async () => {
    const source = await loadGoldenSource(GOLDEN_CASES[0]!, oddDir);
    const empty = { ...source.volume, data: new Uint8Array(source.volume.data.length) };
    const file = join(tmp, 'empty.seg.dcm');
    const seg = await writeSeg(file, { source, labels: GOLDEN_LABELS, labelMap: empty, algorithm: ALGORITHM });
    expect(seg.frames).toBe(1);
    expect(seg.emptySegments).toEqual([1, 2, 3]);
    expect(seg.notes).toEqual(['every segment is empty: the SEG holds one all-zero frame (segment 1, first plane), since a SEG needs at least one frame']);
    expect((await readSeg(file, { source })).labelMap.data.every((v) => v === 0)).toBe(true);
    await expectDciodvfyClean(file);
  });

  it('refuses label values that are not among the labels', async () => {
    const source = await loadGoldenSource(GOLDEN_CASES[0]!, oddDir);
    const data = new Uint8Array(source.volume.data.length);
    data[5] = 9;
    await expect(encodeSeg({ source, labels: GOLDEN_LABELS, labelMap: { ...source.volume, data }, algorithm: ALGORITHM })).rejects.toThrow(
      "the label map holds values that are not among the labels [1, 2, 3]: 9 (1 voxels); pass the labels of the model that produced it (its card's labels)",
    );
  });

  it('says INVALID_SEG, naming the file, for a DICOM file that is not a SEG', async () => {
    const ct = join(ROOT, 'fixtures', 'demo', 'dicom', 'IM0001.dcm');
    await expect(readSeg(ct)).rejects.toMatchObject({
      code: 'INVALID_SEG',
      message: `${ct}: is not a DICOM Segmentation: SOP Class 1.2.840.10008.5.1.4.1.1.2, modality CT (expected 1.2.840.10008.5.1.4.1.1.66.4 Segmentation Storage)`,
    });
  });

  it('says TRUNCATED_FILE, naming the file, for a SEG cut short', async () => {
    const seg = await encodeGoldenCase(GOLDEN_CASES[2]!, await loadGoldenSource(GOLDEN_CASES[2]!, oddDir));
    for (const keep of [seg.bytes.length - 100, Math.floor(seg.bytes.length / 2)]) {
      const file = join(tmp, `truncated-${keep}.seg.dcm`);
      writeFileSync(file, seg.bytes.subarray(0, keep));
      const err = await readSeg(file).catch((e: unknown) => e);
      expect(err).toMatchObject({ code: 'TRUNCATED_FILE' });
      expect((err as Error).message.startsWith(`${file}: `)).toBe(true);
    }
  });

  it('says INVALID_SEG when the SEG does not lie on the given source series', async () => {
    const seg = await encodeGoldenCase(GOLDEN_CASES[0]!, await loadGoldenSource(GOLDEN_CASES[0]!, oddDir));
    const file = join(tmp, 'other-source.seg.dcm');
    writeFileSync(file, seg.bytes);
    const other = await loadGoldenSource(GOLDEN_CASES[2]!, oddDir);
    await expect(readSeg(file, { source: other })).rejects.toMatchObject({ code: 'INVALID_SEG', message: expect.stringContaining(`${file}: frames of 40×48 pixels do not fit source series`) });
  });
});
