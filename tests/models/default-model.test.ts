/**
 * The shipped models (models/default: the slice-wise 2-D default and the sliding-window 3-D model) run through
 * medseg's own pipeline on phantoms generated here, which the models never saw (training seeds 1000–1089, report seeds
 * 5000–5019, these 5100+). Each floor sits about 0.05 below what the model measured on these two seeds (listed per
 * model below), so a real regression in any stage (IO, grid, normalisation, tiling or slicing, blending, resampling,
 * postprocessing, the model file) fails them. They are regression guards, not the quality bar
 * (models/default/REPORT.md says where each model stands against it).
 */
import { describe, expect, it } from 'vitest';
import { loadModelCard } from '../../src/inference/card.js';
import { evaluateCase, summarize, type CaseResult } from '../../models/default/recipe/evaluate.js';
import { ROOT } from '../helpers.js';
import { join } from 'node:path';

interface Guard {
  title: string;
  card: string;
  /** Dice floors per structure (measured on seeds 5100 and 5103 minus about 0.05). */
  diceFloor: Record<string, number>;
  /** What the liver volume error measured on seed 5100 (the floor is 10 %). */
  liverErrorMeasured: string;
}

const MODELS: Guard[] = [
  {
    // Floors measured on 0.9.0 (0.10.0, trained on from it, is better on the held-out set and passes them unchanged):
    // 5100: liver 0.935, spleen 0.868, kidney_right 0.886, kidney_left 0.811, aorta 0.800, vertebrae 0.946,
    // lung 0.981; 5103: 0.957, 0.840, 0.952, 0.941, 0.895, 0.951, 0.957.
    title: 'sliding-window 3-D model',
    card: 'models/default/sliding-3d.card.json',
    diceFloor: { liver: 0.88, spleen: 0.78, kidney_right: 0.83, kidney_left: 0.75, aorta: 0.75, vertebrae: 0.89, lung: 0.9 },
    liverErrorMeasured: '8.1 %',
  },
  {
    // Floors 0.05 below what 0.4.0 measured, rounded down (5100: liver 0.982, spleen 0.960, kidney_right 0.958,
    // kidney_left 0.961, aorta 0.921, vertebrae 0.973, lung 0.992; 5103: 0.974, 0.947, 0.981, 0.976, 0.954, 0.968, 0.994).
    title: 'default (slice-wise 2-D) model',
    card: 'models/default/default.card.json',
    diceFloor: { liver: 0.92, spleen: 0.89, kidney_right: 0.9, kidney_left: 0.91, aorta: 0.87, vertebrae: 0.91, lung: 0.94 },
    liverErrorMeasured: '1.4 %',
  },
];

describe.each(MODELS)('$title on held-out phantoms', ({ card: cardPath, diceFloor, liverErrorMeasured }) => {
  const results: CaseResult[] = [];

  // 5100: straight acquisition; 5103: oblique (every 4th seed, as in training).
  it.each([5100, 5103])(`seed %i: Dice above the floors, liver volume within 10 % of the truth (measured ${liverErrorMeasured} on 5100)`, async (seed) => {
    const card = await loadModelCard(join(ROOT, cardPath));
    const r = await evaluateCase(card, seed, 4, 2);
    results.push(r);
    for (const s of r.structures) {
      const floor = diceFloor[s.name];
      if (floor === undefined) continue;
      expect(s.dice, `${s.name} Dice (seed ${seed})`).toBeGreaterThanOrEqual(floor);
      if (s.name === 'liver') {
        expect(Math.abs(s.volumeErrorPercent!), `${s.name} volume error % (seed ${seed})`).toBeLessThanOrEqual(10);
      }
    }
  }, 240_000);

  it('finds most lesions of 10 mm or more', () => {
    const s = summarize(results);
    expect(s.lesionsAtLeast10mm).toBeGreaterThan(0);
    expect(s.lesionSensitivity10mm).toBeGreaterThanOrEqual(0.5);
  });
});
