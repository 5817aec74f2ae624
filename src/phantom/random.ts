/**
 * Seeded random numbers for the phantom. Every quantity is drawn from its own named stream (xoshiro128** seeded
 * from SHA-256 of "seed/stream"), so options that skip a draw (e.g. --spacing) or add planes never shift the
 * numbers of another part: the same seed gives the same patient whatever the size, spacing or obliquity.
 */
import { createHash } from 'node:crypto';

/** Version of the phantom model: part of every stream key, bumped when the anatomy or acquisition model changes. */
export const PHANTOM_MODEL_VERSION = 1;

export class Rng {
  private s0: number;
  private s1: number;
  private s2: number;
  private s3: number;

  constructor(seed: number, stream: string) {
    const h = createHash('sha256').update(`medseg-phantom/${PHANTOM_MODEL_VERSION}/${seed}/${stream}`).digest();
    this.s0 = h.readUInt32LE(0);
    this.s1 = h.readUInt32LE(4);
    this.s2 = h.readUInt32LE(8);
    this.s3 = h.readUInt32LE(12) | 1; // never the all-zero state
  }

  /** Uniform 32-bit unsigned integer (xoshiro128**, Blackman & Vigna). */
  u32(): number {
    const r = Math.imul(rotl(Math.imul(this.s1, 5), 7), 9) >>> 0;
    const t = this.s1 << 9;
    this.s2 ^= this.s0;
    this.s3 ^= this.s1;
    this.s1 ^= this.s2;
    this.s0 ^= this.s3;
    this.s2 ^= t;
    this.s3 = rotl(this.s3, 11);
    return r;
  }

  /** Uniform in [0, 1). */
  next(): number {
    return this.u32() / 4294967296;
  }

  uniform(lo: number, hi: number): number {
    return lo + (hi - lo) * this.next();
  }

  /** Uniform integer in [lo, hi] (both included). */
  int(lo: number, hi: number): number {
    return lo + Math.floor(this.next() * (hi - lo + 1));
  }

  /** Log-uniform in [lo, hi]: equal probability per octave (lesion sizes). */
  logUniform(lo: number, hi: number): number {
    return lo * Math.exp(Math.log(hi / lo) * this.next());
  }

  pick<T>(items: readonly T[]): T {
    return items[Math.floor(this.next() * items.length)]!;
  }

  chance(p: number): boolean {
    return this.next() < p;
  }

  /**
   * Fills `out` with independent standard normal values: each 16 bits of the stream pick one of 65536 equally
   * likely normal quantiles (so one 32-bit draw gives two values; the tails stop at ±4.3σ). The image noise's hot path.
   */
  fillNormal(out: Float32Array): void {
    const table = normalTable();
    const n = out.length;
    for (let i = 0; i < n; i += 2) {
      const r = this.u32();
      out[i] = table[r >>> 16]!;
      if (i + 1 < n) out[i + 1] = table[r & 0xffff]!;
    }
  }

  /** A uniformly distributed unit vector. */
  unitVector(): [number, number, number] {
    const z = this.uniform(-1, 1);
    const a = this.uniform(0, 2 * Math.PI);
    const r = Math.sqrt(1 - z * z);
    return [r * Math.cos(a), r * Math.sin(a), z];
  }
}

function rotl(x: number, k: number): number {
  return (x << k) | (x >>> (32 - k));
}

let NORMAL_TABLE: Float32Array | undefined;

/** The 65536 standard normal quantiles Φ⁻¹((n + ½) / 65536). */
function normalTable(): Float32Array {
  if (!NORMAL_TABLE) {
    NORMAL_TABLE = new Float32Array(65536);
    for (let n = 0; n < 65536; n++) NORMAL_TABLE[n] = normalQuantile((n + 0.5) / 65536);
  }
  return NORMAL_TABLE;
}

/** Φ⁻¹(p), the standard normal quantile (P. J. Acklam's rational approximation, relative error < 1.2e-9). */
export function normalQuantile(p: number): number {
  if (!(p > 0 && p < 1)) throw new RangeError(`a probability strictly between 0 and 1 is needed, got ${p}`);
  const a = [-39.69683028665376, 220.9460984245205, -275.9285104469687, 138.357751867269, -30.66479806614716, 2.506628277459239];
  const b = [-54.47609879822406, 161.5858368580409, -155.6989798598866, 66.80131188771972, -13.28068155288572];
  const c = [-0.007784894002430293, -0.3223964580411365, -2.400758277161838, -2.549732539343734, 4.374664141464968, 2.938163982698783];
  const d = [0.007784695709041462, 0.3224671290700398, 2.445134137142996, 3.754408661907416];
  const low = 0.02425;
  if (p < low || p > 1 - low) {
    const q = Math.sqrt(-2 * Math.log(p < low ? p : 1 - p));
    const x = (((((c[0]! * q + c[1]!) * q + c[2]!) * q + c[3]!) * q + c[4]!) * q + c[5]!) / ((((d[0]! * q + d[1]!) * q + d[2]!) * q + d[3]!) * q + 1);
    return p < low ? x : -x;
  }
  const q = p - 0.5;
  const r = q * q;
  return ((((((a[0]! * r + a[1]!) * r + a[2]!) * r + a[3]!) * r + a[4]!) * r + a[5]!) * q) / (((((b[0]! * r + b[1]!) * r + b[2]!) * r + b[3]!) * r + b[4]!) * r + 1);
}
