/**
 * The shipped default model (models/default) run through medseg's own pipeline on phantoms generated here, which the
 * model never saw (training seeds 1000–1089, report seeds 5000–5019, these 5100+). The floors sit about 0.05 below
 * what model 0.9.0 measured on these two seeds (0.10.0, trained on from it, is better on the held-out set and passes
 * them unchanged) (5100: liver 0.935, spleen 0.868, kidney_right 0.886, kidney_left
 * 0.811, aorta 0.800, vertebrae 0.946, lung 0.981; 5103: 0.957, 0.840, 0.952, 0.941, 0.895, 0.951, 0.957), so a real
 * regression in any stage (IO, grid, normalisation, tiling, blending, resampling, postprocessing, the model file)
 * fails them. They are regression guards, not the quality bar, which this model does not yet reach for
 * spleen, left kidney and aorta (models/default/REPORT.md).
 */
import { describe, expect, it } from 'vitest';
import { loadModelCard } from '../../src/inference/card.js';
import { evaluateCase, summarize, type CaseResult } from '../../models/default/recipe/evaluate.js';
import { ROOT } from '../helpers.js';
import { join } from 'node:path';

/** Dice floors per structure (measured on these seeds minus about 0.05). */
const DICE_FLOOR: Record<string, number> = {
  liver: 0.88,
  spleen: 0.78,
  kidney_right: 0.83,
  kidney_left: 0.75,
  aorta: 0.75,
  vertebrae: 0.89,
  lung: 0.9,
};

describe('default 3-D model on held-out phantoms', () => {
  const results: CaseResult[] = [];

  // 5100: straight acquisition; 5103: oblique (every 4th seed, as in training).
  it.each([5100, 5103])('seed %i: Dice above the floors, liver volume within 10 % of the truth (measured 8.1 % on 5100)', async (seed) => {
    const card = await loadModelCard(join(ROOT, 'models/default/default.card.json'));
    const r = await evaluateCase(card, seed, 4, 2);
    results.push(r);
    for (const s of r.structures) {
      const floor = DICE_FLOOR[s.name];
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
