/**
 * Integer rescales whose worst case does not fit the stored width (e.g. signed 16-bit CT with RescaleIntercept −1024):
 * the loader converts them in place optimistically and widens exactly when the actual values do not fit. Checked on
 * small series written here, against values computed by hand from the stored ones.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { decimalString, part10Bytes } from '../../../src/io/dicom/encoding.js';
import { readDicomVolume } from '../../../src/io/dicom/index.js';

const CT = '1.2.840.10008.5.1.4.1.1.2';
const NX = 5;
const NY = 3;
const dirs: string[] = [];
afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

/** Writes one axial slice per entry: stored values (row-major NX×NY), PixelRepresentation, BitsStored, intercept. */
function writeSeries(slices: { stored: number[]; intercept: number }[], signed: boolean, bitsStored = 16): string {
  const dir = mkdtempSync(join(tmpdir(), 'medseg-rescale-'));
  dirs.push(dir);
  slices.forEach(({ stored, intercept }, k) => {
    const pixels = signed ? Int16Array.from(stored) : Uint16Array.from(stored);
    const sop = `1.2.826.0.1.3680043.10.1234.9.${k + 1}`;
    const dataset = {
      SOPClassUID: CT,
      SOPInstanceUID: sop,
      Modality: 'CT',
      PatientID: 'RESCALE',
      StudyInstanceUID: '1.2.826.0.1.3680043.10.1234.1',
      SeriesInstanceUID: '1.2.826.0.1.3680043.10.1234.2',
      FrameOfReferenceUID: '1.2.826.0.1.3680043.10.1234.3',
      InstanceNumber: String(k + 1),
      ImagePositionPatient: [0, 0, 2.5 * k].map(decimalString),
      ImageOrientationPatient: ['1', '0', '0', '0', '1', '0'],
      PixelSpacing: ['0.5', '0.5'],
      SamplesPerPixel: 1,
      PhotometricInterpretation: 'MONOCHROME2',
      Rows: NY,
      Columns: NX,
      BitsAllocated: 16,
      BitsStored: bitsStored,
      HighBit: bitsStored - 1,
      PixelRepresentation: signed ? 1 : 0,
      RescaleIntercept: String(intercept),
      RescaleSlope: '1',
      PixelData: [pixels.buffer],
      _vrMap: { PixelData: 'OW' },
    };
    writeFileSync(join(dir, `IM${k + 1}.dcm`), part10Bytes(CT, sop, dataset));
  });
  return dir;
}

const plane = (f: (n: number) => number) => Array.from({ length: NX * NY }, (_, n) => f(n));

describe('integer rescale beyond the stored width', () => {
  it('signed 16-bit CT with intercept −1024 whose values fit: int16, exact', async () => {
    const slices = [0, 1, 2].map((k) => ({ stored: plane((n) => -1000 + 337 * n + k), intercept: -1024 }));
    const { volume } = await readDicomVolume(writeSeries(slices, true));
    expect(volume.data).toBeInstanceOf(Int16Array);
    expect([...volume.data]).toEqual(slices.flatMap((s) => s.stored.map((v) => v - 1024)));
  });

  it('signed 16-bit values that overflow int16 after the intercept are widened exactly (mixed intercepts)', async () => {
    const slices = [
      { stored: plane((n) => 32000 + n), intercept: 1000 }, // 33000…33014: beyond int16
      { stored: plane((n) => -32768 + n), intercept: -1024 }, // −33792…: beyond int16 the other way
      { stored: plane((n) => 100 * n), intercept: 0 },
    ];
    const { volume } = await readDicomVolume(writeSeries(slices, true));
    expect(volume.data).toBeInstanceOf(Int32Array);
    expect([...volume.data]).toEqual(slices.flatMap((s) => s.stored.map((v) => v + s.intercept)));
  });

  it('unsigned 16-bit with intercept −1024: int16 when the values fit', async () => {
    const slices = [0, 1].map((k) => ({ stored: plane((n) => 4095 - 200 * n - k), intercept: -1024 }));
    const { volume } = await readDicomVolume(writeSeries(slices, false));
    expect(volume.data).toBeInstanceOf(Int16Array);
    expect([...volume.data]).toEqual(slices.flatMap((s) => s.stored.map((v) => v - 1024)));
  });

  it('unsigned 16-bit values pushed past 65535 by a positive intercept are widened exactly', async () => {
    const slices = [0, 1].map((k) => ({ stored: plane((n) => 65535 - 1000 * n - k), intercept: 100 }));
    const { volume } = await readDicomVolume(writeSeries(slices, false));
    expect(volume.data.BYTES_PER_ELEMENT).toBe(4);
    expect([...volume.data]).toEqual(slices.flatMap((s) => s.stored.map((v) => v + 100)));
  });

  it('unsigned 16-bit with a negative intercept whose values pass 32767: undone and stored as uint16, exact', async () => {
    // Planned int16 (the intercept can make values negative); 38976…38990 do not fit it but fit uint16.
    const slices = [{ stored: plane((n) => 40000 + n), intercept: -1024 }];
    const { volume } = await readDicomVolume(writeSeries(slices, false));
    expect(volume.data).toBeInstanceOf(Uint16Array);
    expect([...volume.data]).toEqual(slices[0]!.stored.map((v) => v - 1024));
  });
});
