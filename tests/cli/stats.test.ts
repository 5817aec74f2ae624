/** `medseg stats` through the built binary: JSON, table, files, model card names and lesions, postprocessing, errors. */
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { readNifti } from '../../src/io/nifti/read.js';
import { writeNifti } from '../../src/io/nifti/write.js';
import type { Volume } from '../../src/volume/types.js';
import { medseg } from '../helpers.js';

const tmp = mkdtempSync(join(tmpdir(), 'medseg-stats-'));
const file = (name: string) => join(tmp, name);
const N = 20;
const geometry = { dims: [N, N, N] as const, spacing: [1, 1, 2] as const, origin: [0, 0, 0] as const, direction: [1, 0, 0, 0, 1, 0, 0, 0, 1] as const };
const at = (i: number, j: number, k: number) => i + N * j + N * N * k;

/**
 * Label 1 ("liver"): block 4…15 in i, j, k (1728 voxels) holding three label-8 lesion voxels: (10,10,10) alone and
 * (6,6,6)–(7,6,6); plus a one-voxel island at (1,18,1). Label 2 ("spleen"): block i, j 8…11, k 16…19 (touches the
 * superior face k = 19). Voxels are 1 × 1 × 2 mm = 2 mm³.
 * CT: 50 HU in label 1, 20 HU in the lesions, −100 HU elsewhere.
 */
beforeAll(async () => {
  const labels = new Uint8Array(N ** 3);
  const ct = new Int16Array(N ** 3).fill(-100);
  for (let k = 4; k <= 15; k++) for (let j = 4; j <= 15; j++) for (let i = 4; i <= 15; i++) {
    labels[at(i, j, k)] = 1;
    ct[at(i, j, k)] = 50;
  }
  for (const [i, j, k] of [[10, 10, 10], [6, 6, 6], [7, 6, 6]] as const) {
    labels[at(i, j, k)] = 8;
    ct[at(i, j, k)] = 20;
  }
  labels[at(1, 18, 1)] = 1;
  for (let k = 16; k <= 19; k++) for (let j = 8; j <= 11; j++) for (let i = 8; i <= 11; i++) labels[at(i, j, k)] = 2;
  await writeNifti(file('labels.nii.gz'), { ...geometry, data: labels } as Volume);
  await writeNifti(file('ct.nii.gz'), { ...geometry, data: ct } as Volume);
  await writeNifti(file('ct-elsewhere.nii.gz'), { ...geometry, origin: [0, 0, 900], data: ct } as Volume);
  await writeNifti(file('probabilities.nii.gz'), { ...geometry, data: new Float32Array(N ** 3).fill(0.25) } as Volume);
  const morph = { scheme: 'SCT', value: '49755003', meaning: 'Morphologically Altered Structure' };
  writeFileSync(
    file('card.json'),
    JSON.stringify({
      name: 'toy',
      version: '1.2',
      mode: 'whole',
      output: { channels: 4, activation: 'softmax', channelLabels: [0, 1, 2, 8] },
      labels: [{ value: 1, name: 'liver' }, { value: 2, name: 'spleen' }, { value: 8, name: 'liver_lesion', category: morph }],
    }),
  );
  writeFileSync(file('bad-card.json'), JSON.stringify({ name: 'toy', mode: 'sideways', labels: [] }));
});

describe('medseg stats', () => {
  it('--json reports every label by value without a card, with volumes in mL and the border flag', async () => {
    const r = await medseg('stats', file('labels.nii.gz'), '--json');
    expect(r.code).toBe(0);
    const report = JSON.parse(r.stdout);
    expect(report.structures.map((s: { label: number; name: string }) => [s.label, s.name])).toEqual([
      [1, 'label 1'],
      [2, 'label 2'],
      [8, 'label 8'],
    ]);
    // label 1: 1728 − 3 + 1 = 1726 voxels × 2 mm³ = 3.452 mL, two components (block and island)
    expect(report.structures[0]).toMatchObject({ voxels: 1726, volumeMl: 3.452, components: 2, incomplete: true });
    // spleen: 4 × 4 × 4 = 64 voxels, cut by the superior face
    expect(report.structures[1]).toMatchObject({ voxels: 64, volumeMl: 0.128, incomplete: true, cutBy: [{ axis: 'k', side: 'max', patient: 'S' }] });
    expect(report.lesions).toEqual([]);
    expect(report.grid).toMatchObject({ dims: [20, 20, 20], spacing: [1, 1, 2], voxelVolumeMm3: 2 });
  });

  it('takes names and lesion labels from the card, intensities from the image, and measures each lesion', async () => {
    const r = await medseg('stats', file('labels.nii.gz'), '--model', file('card.json'), '--image', file('ct.nii.gz'), '--json');
    expect(r.code).toBe(0);
    const report = JSON.parse(r.stdout);
    expect(report.model).toMatchObject({ name: 'toy', version: '1.2' });
    expect(report.structures.map((s: { name: string; lesion: boolean }) => [s.name, s.lesion])).toEqual([
      ['liver', false],
      ['spleen', false],
      ['liver_lesion', true],
    ]);
    // liver: 1725 voxels at 50 HU and the island at −100 HU → mean (1725·50 − 100)/1726
    const liver = report.structures[0].intensity;
    expect(liver).toMatchObject({ voxels: 1726, min: -100, max: 50, median: 50 });
    expect(liver.mean).toBeCloseTo((1725 * 50 - 100) / 1726, 5);
    expect(report.lesions.map((l: { index: number; voxels: number; longestDiameterMm: number; organ: { name: string } }) => [l.index, l.voxels, l.longestDiameterMm, l.organ.name])).toEqual([
      [1, 2, 1, 'liver'],
      [2, 1, 0, 'liver'],
    ]);
    expect(report.lesions[0]).toMatchObject({ name: 'liver_lesion', longestAxialDiameterMm: 1, organ: { label: 1, shellFraction: 1 } });
  });

  it('prints a table with lower-bound volumes for structures cut by the scan border, and a lesion table', async () => {
    const r = await medseg('stats', file('labels.nii.gz'), '--model', file('card.json'));
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('≥ 0.13 (cut by scan border: S)');
    expect(r.stdout).toMatch(/liver_lesion\s+1\s+0\.00\s+1\.0\s+1\.0\s+.*liver \(100% of shell\)/);
    expect(r.stdout.split('\n')[0]).toBe(`${file('labels.nii.gz')}: 20×20×20 voxels, spacing 1×1×2 mm, voxel 2 mm³, labels from toy`);
  });

  it('--out writes stats.json and stats.csv; --csv writes the table elsewhere', async () => {
    const out = file('out');
    const csvFile = file('elsewhere/table.csv');
    const r = await medseg('stats', file('labels.nii.gz'), '--model', file('card.json'), '--out', out, '--csv', csvFile);
    expect(r.code).toBe(0);
    const json = JSON.parse(readFileSync(join(out, 'stats.json'), 'utf8'));
    expect(json.structures).toHaveLength(3);
    expect(json.files).toEqual([join(out, 'stats.json'), join(out, 'stats.csv'), csvFile]);
    const csv = readFileSync(join(out, 'stats.csv'), 'utf8').trimEnd().split('\n');
    expect(csv[0]!.split(',').slice(0, 6)).toEqual(['kind', 'label', 'name', 'lesion_index', 'voxels', 'volume_ml']);
    expect(csv.slice(1).map((line) => line.split(',').slice(0, 5).join(','))).toEqual([
      'structure,1,liver,,1726',
      'structure,2,spleen,,64',
      'structure,8,liver_lesion,,3',
      'lesion,8,liver_lesion,1,2',
      'lesion,8,liver_lesion,2,1',
    ]);
    expect(readFileSync(csvFile, 'utf8')).toBe(readFileSync(join(out, 'stats.csv'), 'utf8'));
  });

  it('postprocesses first (islands in mm³, holes) and writes the postprocessed map with --out', async () => {
    const out = file('post');
    const r = await medseg('stats', file('labels.nii.gz'), '--remove-islands', '3', '--fill-holes', '--out', out, '--json');
    expect(r.code).toBe(0);
    const report = JSON.parse(r.stdout);
    // The 2 mm³ liver island and the one-voxel lesion (2 mm³) go (below 3 mm³); the lesion's voxel is then an
    // enclosed hole of the liver and is filled: 1726 − 1 + 1 liver voxels. The two-voxel lesion (4 mm³) stays.
    expect(report.postprocess.removeIslands).toContainEqual({ label: 1, components: 2, removedComponents: 1, removedVoxels: 1, removedVolumeMm3: 2, minVolumeMm3: 3 });
    expect(report.postprocess.removeIslands).toContainEqual({ label: 8, components: 2, removedComponents: 1, removedVoxels: 1, removedVolumeMm3: 2, minVolumeMm3: 3 });
    expect(report.postprocess.fillHoles).toContainEqual({ label: 1, holes: 2, filledVoxels: 1 });
    expect(report.structures[0]).toMatchObject({ voxels: 1726, components: 1 });
    expect(report.structures[2]).toMatchObject({ voxels: 2, components: 1 });
    const written = (await readNifti(join(out, 'labels.nii.gz'))).volume;
    expect([written.data[at(1, 18, 1)], written.data[at(10, 10, 10)], written.data[at(6, 6, 6)]]).toEqual([0, 1, 8]);
  });

  it('fails with usage errors (exit 2) for bad arguments', async () => {
    expect((await medseg('stats')).code).toBe(2);
    expect((await medseg('stats', 'a.nii', 'b.nii')).code).toBe(2);
    const c = await medseg('stats', file('labels.nii.gz'), '--connectivity', '5');
    expect([c.code, c.stderr]).toEqual([2, 'medseg: --connectivity must be 6, 18 or 26, got "5"\n']);
    const l = await medseg('stats', file('labels.nii.gz'), '--lesion-labels', '8,0');
    expect([l.code, l.stderr]).toEqual([2, 'medseg: --lesion-labels must be whole numbers 1…65535 separated by commas, got "8,0"\n']);
    expect((await medseg('stats', file('labels.nii.gz'), '--remove-islands', 'lots')).code).toBe(2);
  });

  it('maps bad inputs to their exit codes: missing file 3, not a label map 4, bad card 7, image elsewhere 3', async () => {
    const missing = await medseg('stats', file('nope.nii.gz'), '--json');
    expect(missing.code).toBe(3);
    expect(JSON.parse(missing.stdout).error.code).toBe('FILE_NOT_FOUND');
    const prob = await medseg('stats', file('probabilities.nii.gz'));
    expect(prob.code).toBe(4);
    expect(prob.stderr).toMatch(/not a label map: voxel \(0, 0, 0\) holds 0\.25; .*probability map/);
    const card = await medseg('stats', file('labels.nii.gz'), '--model', file('bad-card.json'));
    expect(card.code).toBe(7);
    expect(card.stderr).toContain('bad-card.json: invalid model card');
    const far = await medseg('stats', file('labels.nii.gz'), '--image', file('ct-elsewhere.nii.gz'));
    expect(far.code).toBe(3);
    expect(far.stderr).toContain('ct-elsewhere.nii.gz: none of the 1793 labelled voxels lies inside the image');
  });
});
