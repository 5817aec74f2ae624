/**
 * The overlap-tile engine against exact expectations, with real ONNX graphs (fixtures/models, built by
 * scripts/models/make-test-graphs.py) run by ONNX Runtime.
 */
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { blendingWeights } from '../../src/inference/tiling.js';
import { planTiles, runEngine, type EngineSettings, type PlaneConsumer, type Vec3n } from '../../src/inference/engine.js';
import { openModelSession, type ModelSession } from '../../src/inference/session.js';
import { fixture } from '../helpers.js';

const sessions: Record<string, ModelSession> = {};
beforeAll(async () => {
  for (const name of ['pointwise-3d', 'pointwise-3d-static-batch', 'conv3-3d', 'flip-symmetric-3d', 'pointwise-2d']) {
    sessions[name] = await openModelSession(fixture('models', `${name}.onnx`), {}, { threads: 1 });
  }
});
afterAll(async () => {
  for (const s of Object.values(sessions)) await s.release();
});

/** Deterministic pseudo-random volume (xorshift), values in [−2, 2). */
function randomVolume(n: number, seed: number): Float32Array {
  const out = new Float32Array(n);
  let s = seed >>> 0 || 1;
  for (let i = 0; i < n; i++) {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    out[i] = ((s >>> 0) / 2 ** 32) * 4 - 2;
  }
  return out;
}

/** Collects finalised planes into full C × volume arrays and records the order they came in. */
class Collector implements PlaneConsumer {
  readonly data: Float32Array;
  readonly order: number[] = [];
  constructor(
    readonly dims: Vec3n,
    readonly channels: number,
  ) {
    this.data = new Float32Array(channels * dims[0] * dims[1] * dims[2]);
  }
  plane(z: number, values: Float32Array): void {
    this.order.push(z);
    const plane = this.dims[0] * this.dims[1];
    const n = plane * this.dims[2];
    for (let c = 0; c < this.channels; c++) this.data.set(values.subarray(c * plane, (c + 1) * plane), c * n + z * plane);
  }
  channel(c: number): Float32Array {
    const n = this.dims[0] * this.dims[1] * this.dims[2];
    return this.data.subarray(c * n, (c + 1) * n);
  }
}

function settings(over: Partial<EngineSettings>): EngineSettings {
  return {
    mode: 'sliding-window',
    patch: [8, 8, 8],
    neighbourSlices: 0,
    divisibleBy: [1, 1, 1],
    placement: 'nnunet',
    fraction: 0.5,
    blending: 'gaussian',
    sigmaScale: 0.125,
    padding: { mode: 'constant', value: 0, margin: [0, 0, 0] },
    mirrorAxes: [],
    batchSize: 1,
    outputChannels: 3,
    ...over,
  };
}

const W = [1, -1, 0.5];
const B = [0, 0.5, 0.25];

describe('overlap-tile engine with a point-wise graph (out_c = w_c·x + b_c)', () => {
  it('gives exactly the untiled result for any volume size, patch, overlap, placement, padding, batch and mirroring', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.record({
          dims: fc.tuple(fc.integer({ min: 1, max: 23 }), fc.integer({ min: 1, max: 23 }), fc.integer({ min: 1, max: 23 })),
          patch: fc.tuple(fc.integer({ min: 1, max: 12 }), fc.integer({ min: 1, max: 12 }), fc.integer({ min: 1, max: 12 })),
          placement: fc.constantFrom('nnunet' as const, 'monai' as const),
          step: fc.constantFrom(0.25, 0.5, 0.8, 1),
          overlap: fc.constantFrom(0, 0.25, 0.5, 0.75),
          blending: fc.constantFrom('gaussian' as const, 'constant' as const),
          padMode: fc.constantFrom('constant' as const, 'mirror' as const, 'replicate' as const),
          margin: fc.integer({ min: 0, max: 3 }),
          batch: fc.integer({ min: 1, max: 3 }),
          mirror: fc.subarray([0, 1, 2]),
          seed: fc.integer({ min: 1, max: 1e9 }),
        }),
        async (p) => {
          const dims = p.dims as Vec3n;
          const n = dims[0] * dims[1] * dims[2];
          const x = randomVolume(n, p.seed);
          const s = settings({
            patch: p.patch as Vec3n,
            placement: p.placement,
            fraction: p.placement === 'nnunet' ? p.step : p.overlap,
            blending: p.blending,
            padding: { mode: p.padMode, value: 0, margin: [p.margin, p.margin, p.margin] },
            batchSize: p.batch,
            mirrorAxes: p.mirror,
          });
          const out = new Collector(dims, 3);
          await runEngine({ channels: [x], dims }, s, sessions['pointwise-3d']!.runner, out);
          expect(out.order).toEqual(Array.from({ length: dims[2] }, (_, z) => z));
          for (let c = 0; c < 3; c++) {
            const ch = out.channel(c);
            for (let i = 0; i < n; i++) {
              const expected = W[c]! * x[i]! + B[c]!;
              if (Math.abs(ch[i]! - expected) > 1e-5 * (1 + Math.abs(expected))) {
                throw new Error(`channel ${c} voxel ${i}: ${ch[i]} ≠ ${expected}`);
              }
            }
          }
        },
      ),
      { numRuns: 40, seed: 20261120 },
    );
  });

  it('whole-volume mode pads to a multiple and gives the same result', async () => {
    const dims: Vec3n = [13, 10, 7];
    const x = randomVolume(13 * 10 * 7, 5);
    const out = new Collector(dims, 3);
    const stats = await runEngine({ channels: [x], dims }, settings({ mode: 'whole', divisibleBy: [8, 8, 8], padding: { mode: 'mirror', value: 0, margin: [0, 0, 0] } }), sessions['pointwise-3d']!.runner, out);
    expect(stats.tiles).toBe(1);
    expect(stats.padBefore).toEqual([0, 3, 1]); // D 7→8, H 10→16, W 13→16 (odd voxel after)
    expect(stats.padAfter).toEqual([1, 3, 2]);
    for (let i = 0; i < x.length; i++) expect(out.channel(1)[i]).toBeCloseTo(-x[i]! + 0.5, 5);
  });

  it('keeps only a slab of planes, not the volume (slab depth = patch depth for batch 1)', async () => {
    const dims: Vec3n = [16, 16, 64];
    const stats = await runEngine({ channels: [randomVolume(16 * 16 * 64, 9)], dims }, settings({ patch: [8, 16, 16] }), sessions['pointwise-3d']!.runner, new Collector(dims, 3));
    expect(stats.tileStarts[0]).toEqual([0, 4, 8, 12, 16, 20, 24, 28, 32, 36, 40, 44, 48, 52, 56]);
    expect(stats.slabPlanes).toBe(8);
    expect(stats.runs).toBe(15);
  });
});

describe('3×3×3 convolution graph: tiles see the context mirror padding gives them', () => {
  it('equals the untiled convolution of the mirror-padded volume wherever no tile edge interferes', async () => {
    const dims: Vec3n = [29, 23, 19];
    const [nx, ny, nz] = dims;
    const x = randomVolume(nx * ny * nz, 77);
    // Reference: the whole volume mirror-padded by 1, convolved in one run, padding cropped away.
    const px = nx + 2;
    const py = ny + 2;
    const pz = nz + 2;
    const padded = new Float32Array(px * py * pz);
    const reflect = (v: number, n: number) => (v < 0 ? -v : v >= n ? 2 * (n - 1) - v : v);
    for (let z = 0; z < pz; z++)
      for (let y = 0; y < py; y++)
        for (let xx = 0; xx < px; xx++) padded[xx + px * (y + py * z)] = x[reflect(xx - 1, nx) + nx * (reflect(y - 1, ny) + ny * reflect(z - 1, nz))]!;
    const ref = await sessions['conv3-3d']!.runner.run(padded, [1, 1, pz, py, px]);
    const s = settings({ patch: [10, 12, 12], outputChannels: 2, padding: { mode: 'mirror', value: 0, margin: [1, 1, 1] }, batchSize: 2 });
    const out = new Collector(dims, 2);
    await runEngine({ channels: [x], dims }, s, sessions['conv3-3d']!.runner, out);
    // A voxel is clean when it is off the edge faces of every tile covering it (there the graph's own zero padding
    // acts); clean voxels must match the reference exactly, whatever the blending.
    const plan = planTiles(dims, s);
    const onEdge = (start: number, pb: number, v: number, size: number) => {
      const local = v + pb - start;
      return local === 0 || local === size - 1;
    };
    const covering = (starts: number[], pb: number, v: number, size: number) => starts.filter((st) => v + pb >= st && v + pb < st + size);
    let compared = 0;
    let worst = 0;
    for (let z = 0; z < nz; z++)
      for (let y = 0; y < ny; y++)
        for (let xx = 0; xx < nx; xx++) {
          const cz = covering(plan.starts[0], plan.padBefore[0], z, 10);
          const cy = covering(plan.starts[1], plan.padBefore[1], y, 12);
          const cx = covering(plan.starts[2], plan.padBefore[2], xx, 12);
          const clean =
            cz.every((st) => !onEdge(st, plan.padBefore[0], z, 10)) &&
            cy.every((st) => !onEdge(st, plan.padBefore[1], y, 12)) &&
            cx.every((st) => !onEdge(st, plan.padBefore[2], xx, 12));
          if (!clean) continue;
          compared++;
          for (let c = 0; c < 2; c++) {
            const r = ref.data[c * px * py * pz + (xx + 1) + px * (y + 1 + py * (z + 1))]!;
            worst = Math.max(worst, Math.abs(out.channel(c)[xx + nx * (y + ny * z)]! - r));
          }
        }
    expect(compared).toBeGreaterThan(0.3 * nx * ny * nz);
    expect(worst).toBeLessThan(2e-6);
  });
});

describe('streaming', () => {
  it('gives bit-identical output to accumulating the whole volume at once', async () => {
    const dims: Vec3n = [21, 17, 30];
    const [nx, ny, nz] = dims;
    const x = randomVolume(nx * ny * nz, 3);
    const s = settings({ patch: [8, 8, 8], outputChannels: 2, batchSize: 3, padding: { mode: 'mirror', value: 0, margin: [2, 2, 2] } });
    const out = new Collector(dims, 2);
    await runEngine({ channels: [x], dims }, s, sessions['conv3-3d']!.runner, out);
    // Non-streaming reference with the same tiles, weights and order of summation.
    const plan = planTiles(dims, s);
    const w = blendingWeights(plan.outPatch, 'gaussian', 'nnunet');
    const n = nx * ny * nz;
    const acc = new Float32Array(2 * n);
    const wsum = new Float32Array(n);
    for (const d of plan.starts[0])
      for (const h of plan.starts[1])
        for (const ww of plan.starts[2]) {
          const tile = new Float32Array(8 * 8 * 8);
          let o = 0;
          const src = (v: number, size: number) => {
            const period = 2 * (size - 1);
            let m = v % period;
            if (m < 0) m += period;
            return m < size ? m : period - m;
          };
          for (let z = 0; z < 8; z++)
            for (let y = 0; y < 8; y++)
              for (let xx = 0; xx < 8; xx++) tile[o++] = x[src(ww - 2 + xx, nx) + nx * (src(h - 2 + y, ny) + ny * src(d - 2 + z, nz))]!;
          const r = await sessions['conv3-3d']!.runner.run(tile, [1, 1, 8, 8, 8]);
          for (let z = 0; z < 8; z++)
            for (let y = 0; y < 8; y++)
              for (let xx = 0; xx < 8; xx++) {
                const gz = d - 2 + z;
                const gy = h - 2 + y;
                const gx = ww - 2 + xx;
                if (gz < 0 || gy < 0 || gx < 0 || gz >= nz || gy >= ny || gx >= nx) continue;
                const g = gx + nx * (gy + ny * gz);
                const wi = (z * 8 + y) * 8 + xx;
                wsum[g] = wsum[g]! + w[wi]!;
                for (let c = 0; c < 2; c++) acc[c * n + g] = acc[c * n + g]! + w[wi]! * r.data[c * 512 + wi]! * 1;
              }
        }
    let differing = 0;
    for (let c = 0; c < 2; c++)
      for (let g = 0; g < n; g++) {
        const expected = Math.fround(acc[c * n + g]! * (1 / wsum[g]!));
        if (out.channel(c)[g] !== expected) differing++;
      }
    expect(differing).toBe(0);
  });
});

describe('test-time mirroring', () => {
  it('changes nothing for a flip-equivariant graph (symmetric kernels)', async () => {
    const dims: Vec3n = [19, 14, 11];
    const x = randomVolume(19 * 14 * 11, 11);
    const base = settings({ patch: [8, 8, 8], outputChannels: 2, padding: { mode: 'mirror', value: 0, margin: [1, 1, 1] } });
    const plain = new Collector(dims, 2);
    const tta = new Collector(dims, 2);
    const a = await runEngine({ channels: [x], dims }, base, sessions['flip-symmetric-3d']!.runner, plain);
    const b = await runEngine({ channels: [x], dims }, { ...base, mirrorAxes: [0, 1, 2] }, sessions['flip-symmetric-3d']!.runner, tta);
    expect(b.runs).toBe(8 * a.runs);
    let worst = 0;
    for (let i = 0; i < plain.data.length; i++) worst = Math.max(worst, Math.abs(plain.data[i]! - tta.data[i]!));
    expect(worst).toBeLessThan(1e-5);
  });
  it('does change the result of a graph that is not flip-equivariant (the flips really happen)', async () => {
    const dims: Vec3n = [12, 12, 12];
    const x = randomVolume(12 ** 3, 12);
    const base = settings({ patch: [8, 8, 8], outputChannels: 2 });
    const plain = new Collector(dims, 2);
    const tta = new Collector(dims, 2);
    await runEngine({ channels: [x], dims }, base, sessions['conv3-3d']!.runner, plain);
    await runEngine({ channels: [x], dims }, { ...base, mirrorAxes: [2] }, sessions['conv3-3d']!.runner, tta);
    let worst = 0;
    for (let i = 0; i < plain.data.length; i++) worst = Math.max(worst, Math.abs(plain.data[i]! - tta.data[i]!));
    expect(worst).toBeGreaterThan(0.01);
  });
});

describe('slice mode', () => {
  it('feeds neighbour slices as channels and writes one plane per slice (out1 = ½ prev − centre + ½ next)', async () => {
    const dims: Vec3n = [9, 7, 6];
    const [nx, ny, nz] = dims;
    const x = randomVolume(nx * ny * nz, 21);
    const out = new Collector(dims, 2);
    const stats = await runEngine(
      { channels: [x], dims },
      settings({ mode: 'slice', patch: undefined, neighbourSlices: 1, divisibleBy: [1, 4, 4], outputChannels: 2, batchSize: 4, padding: { mode: 'replicate', value: 0, margin: [0, 0, 0] } }),
      sessions['pointwise-2d']!.runner,
      out,
    );
    expect(stats.tiles).toBe(6);
    expect(stats.runs).toBe(2);
    const at = (i: number, j: number, k: number) => x[i + nx * (j + ny * Math.min(Math.max(k, 0), nz - 1))]!;
    for (let k = 0; k < nz; k++)
      for (let j = 0; j < ny; j++)
        for (let i = 0; i < nx; i++) {
          const g = i + nx * (j + ny * k);
          expect(out.channel(0)[g]).toBeCloseTo(at(i, j, k), 6);
          expect(out.channel(1)[g]).toBeCloseTo(0.5 * at(i, j, k - 1) - at(i, j, k) + 0.5 * at(i, j, k + 1), 5);
        }
  });
});

describe('model limits and errors', () => {
  it('runs a fixed-batch model one tile at a time', async () => {
    const dims: Vec3n = [10, 10, 10];
    const x = randomVolume(1000, 4);
    const runner = sessions['pointwise-3d-static-batch']!.runner;
    expect(runner.maxBatch).toBe(1);
    const out = new Collector(dims, 3);
    const stats = await runEngine({ channels: [x], dims }, settings({ patch: [6, 6, 6], batchSize: 4 }), runner, out);
    expect(stats.runs).toBe(stats.tiles);
    expect(out.channel(2)[123]).toBeCloseTo(0.5 * x[123]! + 0.25, 5);
  });
  it('refuses an output that does not match the card (channels)', async () => {
    const dims: Vec3n = [8, 8, 8];
    await expect(runEngine({ channels: [randomVolume(512, 1)], dims }, settings({ outputChannels: 2 }), sessions['pointwise-3d']!.runner, new Collector(dims, 2))).rejects.toMatchObject({
      code: 'MODEL_MISMATCH',
      message: expect.stringMatching(/shape \[1, 3, 8, 8, 8\].*\[1, 2, 8, 8, 8\]/),
    });
  });
  it('stops between session runs when cancelled', async () => {
    const dims: Vec3n = [16, 16, 16];
    const token = { cancelled: false };
    let progressCalls = 0;
    await expect(
      runEngine({ channels: [randomVolume(4096, 2)], dims }, settings({ patch: [4, 4, 4] }), sessions['pointwise-3d']!.runner, new Collector(dims, 3), {
        cancel: token,
        onProgress: (p) => {
          progressCalls++;
          expect(p.total).toBe(7 ** 3);
          if (p.done === 5) token.cancelled = true;
        },
      }),
    ).rejects.toMatchObject({ code: 'CANCELLED' });
    expect(progressCalls).toBe(5);
  });
});
