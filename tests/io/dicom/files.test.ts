import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { readDicomVolume } from '../../../src/io/dicom/index.js';
import { expectAllClose, fixture, ROOT, sha256, stats } from '../../helpers.js';

interface FileGolden {
  file: string;
  skip?: string;
  transferSyntaxUid: string;
  rows: number;
  columns: number;
  frames: number;
  samplesPerPixel: number;
  bitsAllocated: number;
  imagePositionPatient: number[] | null;
  pixelSpacing: number[] | null;
  rescaleSlope: number | null;
  rescaleIntercept: number | null;
  pixelSha256: string;
  pixelSum: number;
}

const LOSSY = new Set(['1.2.840.10008.1.2.4.50', '1.2.840.10008.1.2.4.51', '1.2.840.10008.1.2.4.81', '1.2.840.10008.1.2.4.91']);
const golden = (JSON.parse(readFileSync(fixture('golden', 'dicom-files.json'), 'utf8')) as { files: FileGolden[] }).files;
const volumes = golden.filter((g) => !g.skip && g.samplesPerPixel === 1 && g.bitsAllocated > 1 && g.imagePositionPatient && g.pixelSpacing);

describe('single DICOM files as volumes, against pydicom 2.3.1 + GDCM (fixtures/golden/dicom-files.json)', () => {
  it('covers every transfer syntax medseg claims', () => {
    const syntaxes = new Set(volumes.map((g) => g.transferSyntaxUid));
    for (const uid of ['1.2.840.10008.1.2', '1.2.840.10008.1.2.1', '1.2.840.10008.1.2.1.99', '1.2.840.10008.1.2.2', '1.2.840.10008.1.2.5', '1.2.840.10008.1.2.4.70', '1.2.840.10008.1.2.4.80', '1.2.840.10008.1.2.4.90', '1.2.840.10008.1.2.4.91']) {
      expect(syntaxes.has(uid), uid).toBe(true);
    }
  });

  for (const g of volumes) {
    const lossy = LOSSY.has(g.transferSyntaxUid);
    it(`${g.file} (${g.transferSyntaxUid}): stored values ${lossy ? 'close to' : 'bit-identical to'} pydicom, geometry from its tags`, async () => {
      const { volume } = await readDicomVolume(`${ROOT}/${g.file}`, { applyRescale: false });
      expect([...volume.dims]).toEqual([g.columns, g.rows, g.frames]);
      // PixelSpacing is (row, column): i spacing is the column spacing
      expectAllClose(volume.spacing.slice(0, 2), [g.pixelSpacing![1]!, g.pixelSpacing![0]!], { atol: 1e-9, rtol: 0 });
      expectAllClose(volume.origin, g.imagePositionPatient!, { atol: 1e-6, rtol: 0 });
      if (lossy) {
        const s = stats(volume.data);
        expect(Math.abs(s.sum - g.pixelSum) / (g.rows * g.columns * g.frames)).toBeLessThan(1);
      } else if (g.frames === 1) {
        expect(sha256(volume.data)).toBe(g.pixelSha256);
      } else {
        expect(stats(volume.data).sum).toBe(g.pixelSum);
      }
      const rescaled = await readDicomVolume(`${ROOT}/${g.file}`);
      const slope = g.rescaleSlope ?? 1;
      const inter = g.rescaleIntercept ?? 0;
      expect(rescaled.volume.data[0]).toBeCloseTo(volume.data[0]! * slope + inter, 4);
    });
  }
});
