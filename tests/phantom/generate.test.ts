import { beforeAll, describe, expect, it } from 'vitest';
import { buildContext } from '../../src/phantom/context.js';
import { generatePhantom, validatePhantomOptions, type Phantom, type PhantomOptions } from '../../src/phantom/generate.js';
import { LESION_DIAMETER_RANGE_MM } from '../../src/phantom/lesions.js';
import { MAT, PHANTOM_LABEL_NAMES, PHANTOM_LABELS, type PhantomLabelName } from '../../src/phantom/materials.js';
import { Rng } from '../../src/phantom/random.js';
import { estimateVolume } from '../../src/phantom/truth.js';
import { indexToLps } from '../../src/volume/geometry.js';
import type { Vec3 } from '../../src/volume/types.js';
import { sha256 } from '../helpers.js';

const gen = (o: PhantomOptions) => generatePhantom({ threads: 1, ...o });
const hashes = (p: Phantom) => [sha256(p.ct.data), sha256(p.labels.data), sha256(Buffer.from(JSON.stringify(p.truth)))];

/** LPS centroid (mm) of the voxels with label `value`. */
function centroid(p: Phantom, value: number): Vec3 {
  const [nx, ny, nz] = p.labels.dims;
  let n = 0;
  const s = [0, 0, 0];
  for (let k = 0; k < nz; k++)
    for (let j = 0; j < ny; j++)
      for (let i = 0; i < nx; i++) {
        if (p.labels.data[i + nx * (j + ny * k)] !== value) continue;
        n++;
        s[0]! += i;
        s[1]! += j;
        s[2]! += k;
      }
  if (n === 0) throw new Error(`no voxel has label ${value}`);
  return indexToLps(p.labels, [s[0]! / n, s[1]! / n, s[2]! / n]);
}

/** CT numbers of the voxels whose whole neighbourhood (±2 in-plane, ±1 slice) has label `value`. */
function interiorHu(p: Phantom, value: number): number[] {
  const [nx, ny, nz] = p.labels.dims;
  const L = p.labels.data;
  const out: number[] = [];
  for (let k = 1; k < nz - 1; k++)
    for (let j = 2; j < ny - 2; j++)
      for (let i = 2; i < nx - 2; i++) {
        const v = i + nx * (j + ny * k);
        if (L[v] !== value) continue;
        let inside = true;
        for (let dk = -1; dk <= 1 && inside; dk++)
          for (let dj = -2; dj <= 2 && inside; dj++)
            for (let di = -2; di <= 2 && inside; di++) inside = L[v + di + nx * (dj + ny * dk)] === value;
        if (inside) out.push(p.ct.data[v]!);
      }
  return out;
}

const mean = (a: number[]) => a.reduce((s, v) => s + v, 0) / a.length;
const sd = (a: number[]) => Math.sqrt(a.reduce((s, v) => s + (v - mean(a)) ** 2, 0) / (a.length - 1));
const truthOf = (p: Phantom, name: PhantomLabelName) => p.truth.labels.find((l) => l.name === name)!;

describe('generatePhantom', () => {
  let small: Phantom;
  beforeAll(async () => {
    small = await gen({ seed: 11, size: [96, 80, 24], truthSamples: 2 ** 12 });
  });

  it('is deterministic: the same seed gives the same CT, labels and truth bytes; another seed does not', async () => {
    const again = await gen({ seed: 11, size: [96, 80, 24], truthSamples: 2 ** 12 });
    expect(hashes(again)).toEqual(hashes(small));
    const other = await gen({ seed: 12, size: [96, 80, 24], truthSamples: 2 ** 12 });
    hashes(other).forEach((h, n) => expect(h).not.toBe(hashes(small)[n]));
  });

  it('renders the same bytes on two worker threads as in this thread', async () => {
    const threaded = await generatePhantom({ seed: 11, size: [96, 80, 24], truthSamples: 2 ** 12, threads: 2 });
    expect(threaded.timingsMs.threads).toBe(2);
    expect(hashes(threaded)).toEqual(hashes(small));
  });

  it('keeps the same patient when only the acquisition (size, spacing, obliquity) changes', async () => {
    const other = await gen({ seed: 11, size: [48, 40, 16], spacing: [8, 8, 12], oblique: true, truthSamples: 2 ** 12 });
    expect(other.truth.patient).toEqual(small.truth.patient);
    expect(other.truth.phase).toBe(small.truth.phase);
    expect(other.truth.materials).toEqual(small.truth.materials);
    expect(other.truth.lesions.map(({ voxelCount: _, ...l }) => l)).toEqual(small.truth.lesions.map(({ voxelCount: _, ...l }) => l));
    for (const name of ['liver', 'spleen', 'kidney_right', 'kidney_left'] as const) expect(truthOf(other, name).wholeVolumeMl).toBe(truthOf(small, name).wholeVolumeMl);
  });

  it('returns int16 CT numbers within [−1024, 3071] and uint8 labels 0–8 on one grid', () => {
    expect(small.ct.data).toBeInstanceOf(Int16Array);
    expect(small.labels.data).toBeInstanceOf(Uint8Array);
    expect(small.labels.dims).toEqual(small.ct.dims);
    expect(small.labels.origin).toEqual(small.ct.origin);
    let lo = Infinity;
    let hi = -Infinity;
    for (const v of small.ct.data) [lo, hi] = [Math.min(lo, v), Math.max(hi, v)];
    expect(lo).toBeGreaterThanOrEqual(-1024); // air with noise is clipped, as scanners do
    expect(lo).toBeLessThan(-990);
    expect(hi).toBeLessThanOrEqual(3071);
    expect(hi).toBeGreaterThan(600); // cortical bone
    expect(small.labels.data.reduce((m, v) => Math.max(m, v), 0)).toBe(8); // a lesion is in this slab
    expect(PHANTOM_LABEL_NAMES).toEqual(['liver', 'spleen', 'kidney_right', 'kidney_left', 'aorta', 'vertebrae', 'lung', 'liver_lesion']);
  });

  it('draws the in-plane spacing as a scanner does: the field of view (≥ the body) over the matrix', async () => {
    // 0.6–1.0 mm at a 512 matrix; twice that at the default 256. Only the plan is needed: no rendering.
    for (const seed of [1, 2, 3]) {
      const ctx = buildContext({ seed, size: [512, 512, 8] });
      const [sx, sy] = ctx.acquisition.spacing;
      expect(sx).toBe(sy);
      expect(sx).toBeGreaterThanOrEqual(0.6);
      expect(sx).toBeLessThanOrEqual(1.0);
      expect(ctx.acquisition.dfovMm).toBeGreaterThanOrEqual(ctx.anatomy.summary.bodyWidthMm);
      expect([1, 1.25, 1.5, 2, 2.5, 3, 4, 5]).toContain(ctx.acquisition.sliceThicknessMm);
    }
  });

  it('rejects bad options with the value and what is allowed', () => {
    expect(() => validatePhantomOptions({ seed: -1 })).toThrow(new RangeError('seed must be a whole number from 0 to 9007199254740991, got -1'));
    expect(() => validatePhantomOptions({ seed: 1.5 })).toThrow(RangeError);
    expect(() => validatePhantomOptions({ seed: 1, size: [8, 256, 100] })).toThrow(new RangeError('size must be W×H×D with W and H whole numbers from 16 to 2048 and D from 2 to 4096, got 8×256×100'));
    expect(() => validatePhantomOptions({ seed: 1, size: [2048, 2048, 100] })).toThrow(new RangeError('size 2048×2048×100 has 419430400 voxels; at most 268435456 (e.g. 512×512×1024) are supported'));
    expect(() => validatePhantomOptions({ seed: 1, spacing: [1, 0, 1] })).toThrow(new RangeError('spacing must be three numbers from 0.1 to 20 mm (i, j, k), got 1,0,1'));
    expect(() => validatePhantomOptions({ seed: 1, threads: 0 })).toThrow(new RangeError('threads must be a whole number from 1 to 64, got 0'));
    return expect(generatePhantom({ seed: 1, spacing: [1, 1, Number.NaN] })).rejects.toThrow(RangeError);
  });
});

describe('phantom truth', () => {
  it('estimates a sphere’s volume within its reported standard error, which is below 0.5%', () => {
    // r = 20 mm: 4/3·π·20³ = 33510.32 mm³
    const r = 20;
    const exact = (4 / 3) * Math.PI * r ** 3;
    const est = estimateVolume({ box: { min: [-21, -21, -21], max: [21, 21, 21] }, member: (x, y, z) => x * x + y * y + z * z < r * r, inFov: (x) => x < 0, samples: 2 ** 18, rng: new Rng(1, 'test') });
    expect(Math.abs(est.wholeMm3 - exact)).toBeLessThan(3 * est.wholeStdErrMm3);
    expect(est.wholeStdErrMm3 / exact).toBeLessThan(0.005);
    expect(Math.abs(est.inFovMm3 - exact / 2)).toBeLessThan(3 * est.inFovStdErrMm3);
  });

  it('gives voxel-count volumes within 3% of the true volumes for structures of 50 mL or more at 1 mm', async () => {
    const p = await gen({ seed: 7, size: [160, 160, 72], spacing: [1, 1, 2], truthSamples: 2 ** 16 });
    const big = p.truth.labels.filter((l) => l.trueVolumeMl >= 50);
    expect(big.map((l) => l.name)).toEqual(expect.arrayContaining(['liver', 'kidney_right', 'kidney_left', 'vertebrae']));
    for (const l of big) {
      const rel = Math.abs(l.voxelVolumeMl - l.trueVolumeMl) / l.trueVolumeMl;
      expect(rel, `${l.name}: ${l.voxelVolumeMl} mL counted, ${l.trueVolumeMl} mL true`).toBeLessThan(0.03);
      expect(l.voxelVolumeMl).toBeCloseTo(l.voxelCount * 0.002, 3); // 1 × 1 × 2 mm voxels
    }
  });
});

describe('phantom anatomy and CT numbers', () => {
  const seeds = [1, 2, 3];
  const phantoms = new Map<number, Phantom>();
  beforeAll(async () => {
    // The whole body and the lung bases at a coarse grid: 384 mm across, 320 mm along z.
    for (const seed of seeds) phantoms.set(seed, await gen({ seed, size: [128, 128, 64], spacing: [3, 3, 5], truthSamples: 2 ** 10 }));
  });

  it('places the organs where they belong in patient LPS (x → left, y → posterior, z → superior)', () => {
    for (const [seed, p] of phantoms) {
      const c = Object.fromEntries(PHANTOM_LABEL_NAMES.filter((n) => n !== 'liver_lesion').map((n) => [n, centroid(p, PHANTOM_LABELS[n])])) as Record<Exclude<PhantomLabelName, 'liver_lesion'>, Vec3>;
      const axisX = p.truth.patient.offsetMm[0];
      const msg = `seed ${seed}`;
      expect(c.liver[0], msg).toBeLessThan(axisX); // the patient's right
      expect(c.spleen[0], msg).toBeGreaterThan(axisX + 50); // far left
      expect(c.kidney_right[0], msg).toBeLessThan(c.vertebrae[0]);
      expect(c.kidney_left[0], msg).toBeGreaterThan(c.vertebrae[0]);
      expect(c.aorta[0], msg).toBeGreaterThan(c.vertebrae[0]); // left of the midline
      expect(c.aorta[1], msg).toBeLessThan(c.vertebrae[1] - 15); // in front of the spine
      for (const kidney of [c.kidney_right, c.kidney_left]) expect(kidney[1], msg).toBeGreaterThan(c.aorta[1] + 10); // behind the aorta
      expect(c.kidney_right[2], msg).toBeLessThan(c.kidney_left[2]); // the right kidney lies lower
      expect(c.spleen[1], msg).toBeGreaterThan(c.liver[1]); // posterior
      expect(c.lung[2], msg).toBeGreaterThan(c.liver[2] + 40); // lung bases above the liver…
      const [, , zTop] = indexToLps(p.labels, [0, 0, p.labels.dims[2] - 1]);
      expect(zTop - c.lung[2], msg).toBeLessThan(100); // …at the top of the volume
      expect(Math.abs(c.vertebrae[0] - axisX), msg).toBeLessThan(3);
    }
  });

  it('draws organ sizes in adult ranges', () => {
    for (const p of phantoms.values()) {
      const whole = (n: PhantomLabelName) => truthOf(p, n).wholeVolumeMl!;
      expect(whole('liver')).toBeGreaterThan(900);
      expect(whole('liver')).toBeLessThan(2600);
      expect(whole('spleen')).toBeGreaterThan(50);
      expect(whole('spleen')).toBeLessThan(400);
      for (const k of ['kidney_right', 'kidney_left'] as const) {
        expect(whole(k)).toBeGreaterThan(80);
        expect(whole(k)).toBeLessThan(250);
      }
      expect(p.truth.patient.aortaDiameterMm).toBeGreaterThanOrEqual(16);
      expect(p.truth.patient.aortaDiameterMm).toBeLessThanOrEqual(25);
    }
  });

  it('gives each structure its configured CT number inside (mean within noise) and the configured noise level', () => {
    for (const [seed, p] of phantoms) {
      const sigma = p.truth.reconstruction.noiseSdHu;
      const hu = (name: string) => p.truth.materials.find((m) => m.name === name)!.hu;
      const checks: [number, string][] = [
        [PHANTOM_LABELS.liver, 'liver'],
        [PHANTOM_LABELS.spleen, 'spleen'],
        [PHANTOM_LABELS.kidney_right, 'kidneyRight'],
        [PHANTOM_LABELS.kidney_left, 'kidneyLeft'],
        [PHANTOM_LABELS.lung, 'lung'],
      ];
      for (const [value, material] of checks) {
        const v = interiorHu(p, value);
        expect(v.length, `seed ${seed} ${material}`).toBeGreaterThan(20);
        // Independent noise per voxel (the correlation length is far below 3 mm): the mean is within 4 σ/√n,
        // plus 1.5 HU for the rounding and the PSF's reach.
        expect(Math.abs(mean(v) - hu(material)), `seed ${seed} ${material}: ${mean(v)} vs ${hu(material)}`).toBeLessThan((4 * sigma) / Math.sqrt(v.length) + 1.5);
      }
      const liver = interiorHu(p, PHANTOM_LABELS.liver);
      expect(sd(liver) / Math.hypot(sigma, Math.sqrt(1 / 12))).toBeGreaterThan(0.85);
      expect(sd(liver) / Math.hypot(sigma, Math.sqrt(1 / 12))).toBeLessThan(1.15);
    }
  });

  it('adds noise of the configured level that is the same at the volume edges as inside', async () => {
    // 19 mm × 19 mm inside the liver at 0.3 mm: correlated noise (σ ≈ 2 px) at its 45 HU ceiling.
    const p = await gen({ seed: 9, size: [64, 64, 8], spacing: [0.3, 0.3, 1], truthSamples: 2 ** 10 });
    const [nx, ny, nz] = p.ct.dims;
    const edge: number[] = [];
    const inner: number[] = [];
    for (let k = 0; k < nz; k++)
      for (let j = 0; j < ny; j++)
        for (let i = 0; i < nx; i++) {
          const q = i + nx * (j + ny * k);
          if (p.labels.data[q] !== PHANTOM_LABELS.liver) continue;
          if (i === 0 || j === 0 || i === nx - 1 || j === ny - 1) edge.push(p.ct.data[q]!);
          else if (i > 10 && j > 10 && i < nx - 10 && j < ny - 10) inner.push(p.ct.data[q]!);
        }
    const sigma = p.truth.reconstruction.noiseSdHu;
    expect(sigma).toBe(45);
    expect(sd(inner) / sigma).toBeGreaterThan(0.9);
    expect(sd(inner) / sigma).toBeLessThan(1.1);
    expect(sd(edge) / sigma).toBeGreaterThan(0.85);
    expect(sd(edge) / sigma).toBeLessThan(1.15);
  });

  it('sets CT numbers by contrast phase: enhanced aorta and kidneys, hypodense lesions', () => {
    for (const p of phantoms.values()) {
      const hu = Object.fromEntries(p.truth.materials.map((m) => [m.name, m.hu]));
      if (p.truth.phase === 'non-contrast') expect(hu.aorta).toBeLessThan(60);
      if (p.truth.phase === 'arterial') expect(hu.aorta).toBeGreaterThanOrEqual(250);
      if (p.truth.phase === 'portal-venous') expect(hu.liver).toBeGreaterThanOrEqual(100);
      expect(hu.fat).toBeLessThan(-80);
      for (const l of p.truth.lesions) expect(l.hu).toBeLessThanOrEqual(hu.liver! - 10);
    }
  });
});

describe('liver lesions', () => {
  it('lie inside the liver, 5–40 mm across, up to 5 per case, with true volumes of the drawn size', () => {
    let seen = 0;
    for (let seed = 1; seed <= 8; seed++) {
      const ctx = buildContext({ seed });
      const scene = ctx.anatomy.scene;
      expect(ctx.lesions.length).toBeLessThanOrEqual(5);
      const lesionMaterials = new Set(ctx.lesions.map((l) => l.material));
      const rng = new Rng(seed, 'test');
      for (const l of ctx.lesions) {
        seen++;
        expect(l.diameterMm).toBeGreaterThanOrEqual(LESION_DIAMETER_RANGE_MM[0]);
        expect(l.diameterMm).toBeLessThanOrEqual(LESION_DIAMETER_RANGE_MM[1]);
        expect(scene.classify(...l.centerLps)).toBe(l.material);
        // Every point up to 2 mm beyond the lesion's largest radius is liver or lesion.
        const reach = (l.diameterMm / 2) * 1.06 + 2;
        for (let n = 0; n < 300; n++) {
          const d = rng.unitVector();
          const t = reach * Math.cbrt(rng.next());
          const m = scene.classify(l.centerLps[0] + d[0] * t, l.centerLps[1] + d[1] * t, l.centerLps[2] + d[2] * t);
          expect(m === MAT.liver || lesionMaterials.has(m), `seed ${seed} lesion ${l.index}: material ${m} at ${t.toFixed(1)} mm`).toBe(true);
        }
      }
    }
    expect(seen).toBeGreaterThan(5);
  });

  it('reports centre, size, volume and voxels of each lesion in truth.json', async () => {
    const p = await gen({ seed: 3, size: [128, 128, 64], spacing: [3, 3, 5], truthSamples: 2 ** 14 });
    expect(p.truth.lesions.length).toBeGreaterThan(0);
    const lesionVoxels = p.labels.data.reduce((n, v) => n + (v === PHANTOM_LABELS.liver_lesion ? 1 : 0), 0);
    expect(p.truth.lesions.reduce((n, l) => n + l.voxelCount, 0)).toBe(lesionVoxels);
    for (const l of p.truth.lesions) {
      const nominal = (Math.PI / 6) * l.diameterMm ** 3 / 1000;
      expect(l.trueVolumeMl / nominal).toBeGreaterThan(0.82); // ±6% radius
      expect(l.trueVolumeMl / nominal).toBeLessThan(1.2);
      expect(l.equivalentDiameterMm).toBeGreaterThanOrEqual(5);
      expect(l.equivalentDiameterMm).toBeLessThanOrEqual(40);
      expect(l.trueVolumeStdErrMl / l.trueVolumeMl).toBeLessThan(0.005);
    }
    // The label's volume is the sum of the lesions' (disjoint, each measured over its own box).
    const label = truthOf(p, 'liver_lesion');
    expect(label.wholeVolumeMl).toBeCloseTo(p.truth.lesions.reduce((s, l) => s + l.trueVolumeMl, 0), 3);
    expect(label.trueVolumeStdErrMl / label.trueVolumeMl).toBeLessThan(0.005);
  });
});
