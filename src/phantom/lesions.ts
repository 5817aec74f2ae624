/**
 * Hypodense liver lesions (patient LPS, mm): 0–5 per case, nearly spherical, 5–40 mm across, each placed so that a
 * sphere 2 mm larger than the lesion lies entirely in the liver as the scene labels it (not in the gallbladder,
 * the IVC or outside the liver's clipped dome), and apart from the other lesions.
 */
import type { Anatomy } from './anatomy.js';
import { drawLesionHu, LESION_BASE, MAT, MAX_LESIONS, type ContrastPhase, type LesionKind } from './materials.js';
import { Rng } from './random.js';
import { Blob, randomRipples } from './shapes.js';
import type { Vec3 } from '../volume/types.js';

export interface Lesion {
  /** 1-based. */
  index: number;
  kind: LesionKind;
  centerLps: Vec3;
  /** Nominal diameter (mm); the surface deviates from it by at most ±6%. */
  diameterMm: number;
  hu: number;
  material: number;
  blob: Blob;
}

/** Smallest and largest nominal lesion diameters (mm): with the ±6% deformation every lesion stays within 5–40 mm. */
export const LESION_DIAMETER_RANGE_MM = [5.5, 37] as const;
const RIPPLE = 0.06;
const MARGIN_MM = 2;

/** Unit directions spread evenly over the sphere (Fibonacci lattice). */
function sphereDirections(n: number): Vec3[] {
  const out: Vec3[] = [];
  const golden = Math.PI * (3 - Math.sqrt(5));
  for (let q = 0; q < n; q++) {
    const z = 1 - (2 * (q + 0.5)) / n;
    const r = Math.sqrt(1 - z * z);
    out.push([r * Math.cos(golden * q), r * Math.sin(golden * q), z]);
  }
  return out;
}

const DIRECTIONS = sphereDirections(96);

/** Draws and places the lesions of `seed` and attaches them to the anatomy's liver. */
export function placeLesions(seed: number, anatomy: Anatomy, phase: ContrastPhase, liverHu: number): Lesion[] {
  const rng = new Rng(seed, 'anatomy/lesions');
  const count = rng.int(0, MAX_LESIONS);
  const { scene, liver } = anatomy;
  const box = liver.box;
  const placed: Lesion[] = [];
  for (let n = 0; n < count; n++) {
    const kind: LesionKind = rng.chance(0.2) ? 'cyst' : 'metastasis';
    let radius = rng.logUniform(LESION_DIAMETER_RANGE_MM[0], LESION_DIAMETER_RANGE_MM[1]) / 2;
    const ripples = randomRipples(rng, 3, RIPPLE);
    const hu = drawLesionHu(rng, phase, liverHu, kind);
    let center: Vec3 | undefined;
    for (let attempt = 0; attempt < 400 && !center; attempt++) {
      // Every 100 failed attempts the lesion shrinks (a small liver has no room for a 37 mm lesion).
      if (attempt > 0 && attempt % 100 === 0) radius = Math.max(LESION_DIAMETER_RANGE_MM[0] / 2, radius * 0.8);
      const c: Vec3 = [rng.uniform(box.min[0], box.max[0]), rng.uniform(box.min[1], box.max[1]), rng.uniform(box.min[2], box.max[2])];
      const reach = radius * (1 + RIPPLE) + MARGIN_MM;
      if (scene.classify(c[0], c[1], c[2]) !== MAT.liver) continue;
      if (placed.some((l) => Math.hypot(l.centerLps[0] - c[0], l.centerLps[1] - c[1], l.centerLps[2] - c[2]) < reach + (l.diameterMm / 2) * (1 + RIPPLE) + MARGIN_MM)) continue;
      if (DIRECTIONS.every((d) => scene.classify(c[0] + d[0] * reach, c[1] + d[1] * reach, c[2] + d[2] * reach) === MAT.liver)) center = c;
    }
    if (!center) continue;
    const blob = new Blob({ center, semiAxes: [radius, radius, radius], ripples });
    placed.push({ index: placed.length + 1, kind, centerLps: center, diameterMm: 2 * radius, hu, material: LESION_BASE + placed.length, blob });
  }
  liver.lesions = placed.map((l) => ({ blob: l.blob, material: l.material }));
  return placed;
}
