import { describe, expect, it } from 'vitest';
import { SegError } from '../../src/errors.js';
import { orientationOf, selectSeries, seriesOrientation, type SeriesCandidate } from '../../src/pacs/select.js';

const series = (uid: string, over: Partial<SeriesCandidate> = {}): SeriesCandidate => ({
  seriesInstanceUid: uid,
  modality: 'CT',
  slices: 100,
  imageTypes: ['ORIGINAL', 'PRIMARY', 'AXIAL'],
  orientation: 'axial',
  ...over,
});

describe('orientationOf', () => {
  it('names the plane from the slice normal', () => {
    expect(orientationOf([1, 0, 0, 0, 1, 0])).toBe('axial');
    expect(orientationOf([1, 0, 0, 0, 0, -1])).toBe('coronal');
    expect(orientationOf([0, 1, 0, 0, 0, -1])).toBe('sagittal');
  });
  it('keeps a 25° gantry tilt axial and calls a 45° plane oblique', () => {
    const t = (25 * Math.PI) / 180;
    expect(orientationOf([1, 0, 0, 0, Math.cos(t), Math.sin(t)])).toBe('axial');
    const h = Math.SQRT1_2;
    expect(orientationOf([1, 0, 0, 0, h, h])).toBe('oblique');
  });
  it('says unknown for missing or degenerate orientations', () => {
    expect(orientationOf(undefined)).toBe('unknown');
    expect(orientationOf([1, 0, 0, 1, 0, 0])).toBe('unknown');
    expect(orientationOf([1, 0, 0])).toBe('unknown');
  });
  it('combines instance orientations', () => {
    expect(seriesOrientation(['axial', 'unknown', 'axial'])).toBe('axial');
    expect(seriesOrientation(['axial', 'coronal'])).toBe('mixed');
    expect(seriesOrientation([])).toBe('unknown');
  });
});

describe('selectSeries', () => {
  it('takes the axial CT with the most slices and explains every other series', () => {
    const study = [
      series('1.1', { slices: 3, imageTypes: ['ORIGINAL', 'PRIMARY', 'LOCALIZER'], orientation: 'mixed' }),
      series('1.2', { slices: 120, sliceThicknessMm: 5 }),
      series('1.3', { slices: 300, sliceThicknessMm: 1 }),
      series('1.4', { slices: 300, orientation: 'coronal' }),
      series('1.5', { modality: 'SEG', slices: 40 }),
      series('1.6', { modality: 'MR', slices: 400 }),
    ];
    const s = selectSeries('9.9', study);
    expect(s.chosen.seriesInstanceUid).toBe('1.3');
    expect(s.verdicts.map((v) => v.seriesInstanceUid)).toEqual(['1.3', '1.2', '1.1', '1.4', '1.5', '1.6']);
    expect(s.verdicts[0]!.rejected).toEqual([]);
    expect(s.verdicts.find((v) => v.seriesInstanceUid === '1.1')!.rejected).toEqual([
      'ImageType says LOCALIZER',
      '3 slices (fewer than 8: a localizer or single image)',
      'orientation mixed is not axial',
    ]);
    expect(s.verdicts.find((v) => v.seriesInstanceUid === '1.5')!.rejected).toEqual(['modality SEG is not an image series']);
    expect(s.verdicts.find((v) => v.seriesInstanceUid === '1.6')!.rejected).toEqual(['modality MR is not CT']);
  });

  it('breaks ties by slice thickness, then SeriesNumber, then UID', () => {
    expect(selectSeries('s', [series('2.1', { sliceThicknessMm: 3 }), series('2.2', { sliceThicknessMm: 1.5 })]).chosen.seriesInstanceUid).toBe('2.2');
    expect(selectSeries('s', [series('2.1', { seriesNumber: 4 }), series('2.2', { seriesNumber: 2 })]).chosen.seriesInstanceUid).toBe('2.2');
    expect(selectSeries('s', [series('2.9'), series('2.10')]).chosen.seriesInstanceUid).toBe('2.10');
  });

  it('follows overridden rules: modality order, any orientation, fewer slices, an explicit series', () => {
    const study = [series('3.1', { modality: 'MR', slices: 50, orientation: 'sagittal' }), series('3.2', { slices: 6, orientation: 'oblique' })];
    expect(selectSeries('s', study, { modalities: ['MR', 'CT'], orientations: ['any'] }).chosen.seriesInstanceUid).toBe('3.1');
    expect(selectSeries('s', study, { orientations: ['oblique'], minSlices: 5 }).chosen.seriesInstanceUid).toBe('3.2');
    const explicit = selectSeries('s', study, { seriesInstanceUid: '3.2' });
    expect(explicit.chosen.seriesInstanceUid).toBe('3.2');
    expect(explicit.verdicts[1]!.rejected).toEqual(['another series was asked for (--series)']);
  });

  it('refuses with every reason and the overriding options when nothing qualifies', () => {
    const study = [series('4.1', { orientation: 'oblique' }), series('4.2', { modality: 'SR', slices: 1 })];
    let error: unknown;
    try {
      selectSeries('7.7', study);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(SegError);
    expect((error as SegError).code).toBe('NO_SERIES');
    expect((error as Error).message).toContain('4.1 (CT 100 slices oblique): orientation oblique is not axial');
    expect((error as Error).message).toContain('orientation oblique is not axial');
    expect((error as Error).message).toContain('modality SR is not an image series');
    expect((error as Error).message).toContain('--orientation any');
    expect(() => selectSeries('7.7', [])).toThrow(/lists no series/);
    expect(() => selectSeries('7.7', study, { seriesInstanceUid: '5.5' })).toThrow(/series 5.5 is not in it/);
  });
});
