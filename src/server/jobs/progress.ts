/** Job progress 0–1 from the pipeline's per-stage counters, and a time-left estimate. */
import type { JobStage } from './types.js';

/**
 * Share of the whole job per stage, [start, end). Inference dominates (tiles × mirrors); the others are weighted
 * by their typical share of `medseg segment` timings (loading and statistics are a few percent each).
 */
export const STAGE_SPAN: Record<JobStage, readonly [number, number]> = {
  starting: [0, 0.05],
  preprocess: [0.05, 0.1],
  inference: [0.1, 0.9],
  postprocess: [0.9, 0.93],
  writing: [0.93, 1],
  done: [1, 1],
};

/** Example: inference with 50 of 200 tiles done → 0.1 + 0.8 × 0.25 = 0.3. */
export function overallProgress(stage: JobStage, done: number, total: number): number {
  const [lo, hi] = STAGE_SPAN[stage];
  const f = total > 0 ? Math.min(Math.max(done / total, 0), 1) : 0;
  return lo + (hi - lo) * f;
}

/**
 * Seconds left by linear extrapolation of the progress so far; null below 2 % progress or 0.5 s of running, where
 * the rate is mostly start-up cost. Example: 0.25 done after 10 s → 10 × 0.75 / 0.25 = 30 s.
 */
export function etaSeconds(progress: number, elapsedMs: number): number | null {
  if (progress >= 1) return 0;
  if (!(progress >= 0.02) || !(elapsedMs >= 500)) return null;
  return Math.round(((elapsedMs / 1000) * (1 - progress)) / progress * 10) / 10;
}
