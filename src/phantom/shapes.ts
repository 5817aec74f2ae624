/**
 * Analytic shapes of the phantom, all in patient LPS millimetres: smooth star-shaped blobs (randomly deformed,
 * rotated ellipsoids), elliptic tubes along z with a curved centre line, and smooth value noise. Each shape has an
 * axis-aligned bounding box so the scene can skip it cheaply.
 */
import type { Mat3, Vec3 } from '../volume/types.js';
import type { Rng } from './random.js';

/** Cells per cube-map face edge of a blob's radius table. */
const CUBE = 24;

/** Axis-aligned box in LPS mm. */
export interface Box {
  readonly min: Vec3;
  readonly max: Vec3;
}

export function inBox(b: Box, x: number, y: number, z: number): boolean {
  return x >= b.min[0] && x <= b.max[0] && y >= b.min[1] && y <= b.max[1] && z >= b.min[2] && z <= b.max[2];
}

export function unionBox(boxes: readonly Box[]): Box {
  const min: [number, number, number] = [Infinity, Infinity, Infinity];
  const max: [number, number, number] = [-Infinity, -Infinity, -Infinity];
  for (const b of boxes) {
    for (let c = 0; c < 3; c++) {
      min[c] = Math.min(min[c]!, b.min[c]!);
      max[c] = Math.max(max[c]!, b.max[c]!);
    }
  }
  return { min, max };
}

/** Rotation (local axes as consecutive LPS unit vectors) = Rz(yaw)·Ry(pitch)·Rx(roll), angles in degrees. */
export function rotation(yawDeg: number, pitchDeg = 0, rollDeg = 0): Mat3 {
  const [a, b, c] = [yawDeg, pitchDeg, rollDeg].map((d) => (d * Math.PI) / 180) as [number, number, number];
  const [ca, sa, cb, sb, cc, sc] = [Math.cos(a), Math.sin(a), Math.cos(b), Math.sin(b), Math.cos(c), Math.sin(c)];
  // Row-major R = Rz·Ry·Rx; column m of R is local axis m.
  const r = [
    ca * cb, ca * sb * sc - sa * cc, ca * sb * cc + sa * sc,
    sa * cb, sa * sb * sc + ca * cc, sa * sb * cc - ca * sc,
    -sb, cb * sc, cb * cc,
  ];
  return [r[0]!, r[3]!, r[6]!, r[1]!, r[4]!, r[7]!, r[2]!, r[5]!, r[8]!];
}

/** One smooth radial deformation term: amplitude·sin(frequency·(n·direction) + phase) on the unit sphere. */
export interface Ripple {
  readonly amplitude: number;
  readonly frequency: number;
  readonly direction: Vec3;
  readonly phase: number;
}

/** `count` low-frequency ripples whose amplitudes add up to at most `maxTotal` (so the radius stays within ±maxTotal). */
export function randomRipples(rng: Rng, count: number, maxTotal: number): Ripple[] {
  const weights = Array.from({ length: count }, () => rng.uniform(0.5, 1));
  const sum = weights.reduce((s, w) => s + w, 0);
  return weights.map((w) => ({
    amplitude: (maxTotal * w) / sum,
    frequency: rng.uniform(1.5, 3.5),
    direction: rng.unitVector(),
    phase: rng.uniform(0, 2 * Math.PI),
  }));
}

export interface BlobInit {
  center: Vec3;
  /** Semi-axes (mm) along the local axes. */
  semiAxes: Vec3;
  /** Local axes as consecutive LPS unit vectors (default: aligned with LPS). */
  rotation?: Mat3;
  /** Crescent bend: the local third coordinate is shifted by −bend·(u² + v²) in normalised units. */
  bend?: number;
  ripples?: readonly Ripple[];
}

/**
 * A smooth star-shaped blob: a rotated ellipsoid whose radius, seen from its centre, varies smoothly with
 * direction (1 + Σ ripples). `level` is ρ / r(direction) in normalised coordinates: < 1 inside, 1 on the surface.
 */
export class Blob {
  readonly box: Box;
  readonly center: Vec3;
  readonly semiAxes: Vec3;
  private readonly r: Mat3;
  private readonly inv: Vec3;
  private readonly bend: number;
  /** r(direction) on a cube map: 6 faces × (CUBE + 1)² vertices, bilinear in between (see radiusAt). */
  private readonly cube: Float32Array;
  private readonly amp: number;

  constructor(init: BlobInit) {
    this.center = init.center;
    this.semiAxes = init.semiAxes;
    this.r = init.rotation ?? [1, 0, 0, 0, 1, 0, 0, 0, 1];
    this.inv = [1 / init.semiAxes[0], 1 / init.semiAxes[1], 1 / init.semiAxes[2]];
    this.bend = init.bend ?? 0;
    const ripples = init.ripples ?? [];
    this.amp = ripples.reduce((s, p) => s + Math.abs(p.amplitude), 0);
    this.cube = new Float32Array(ripples.length ? 6 * (CUBE + 1) * (CUBE + 1) : 0);
    if (ripples.length) {
      for (let face = 0; face < 6; face++) {
        for (let b = 0; b <= CUBE; b++) {
          for (let a = 0; a <= CUBE; a++) {
            const s1 = (2 * a) / CUBE - 1;
            const s2 = (2 * b) / CUBE - 1;
            const sign = face % 2 === 0 ? 1 : -1;
            const d: Vec3 = face < 2 ? [sign, s1, s2] : face < 4 ? [s1, sign, s2] : [s1, s2, sign];
            const n = Math.hypot(d[0], d[1], d[2]);
            let radius = 1;
            for (const p of ripples) radius += p.amplitude * Math.sin(p.frequency * ((d[0] * p.direction[0] + d[1] * p.direction[1] + d[2] * p.direction[2]) / n) + p.phase);
            this.cube[(face * (CUBE + 1) + b) * (CUBE + 1) + a] = radius;
          }
        }
      }
    }
    // Local extent: (1 + amp) on each axis, plus the bend's shift along the third axis.
    const e = 1 + this.amp;
    const ext: Vec3 = [e * init.semiAxes[0], e * init.semiAxes[1], (e + Math.abs(this.bend) * 2 * e * e) * init.semiAxes[2]];
    const half = [0, 1, 2].map((row) => ext[0] * Math.abs(this.r[row]!) + ext[1] * Math.abs(this.r[3 + row]!) + ext[2] * Math.abs(this.r[6 + row]!));
    this.box = {
      min: [this.center[0] - half[0]!, this.center[1] - half[1]!, this.center[2] - half[2]!],
      max: [this.center[0] + half[0]!, this.center[1] + half[1]!, this.center[2] + half[2]!],
    };
  }

  /** ρ / r(n): < 1 inside, > 1 outside. Cheap when the point is clearly inside or outside (no trigonometry). */
  level(x: number, y: number, z: number): number {
    const dx = x - this.center[0];
    const dy = y - this.center[1];
    const dz = z - this.center[2];
    const r = this.r;
    const u = (dx * r[0] + dy * r[1] + dz * r[2]) * this.inv[0];
    const v = (dx * r[3] + dy * r[4] + dz * r[5]) * this.inv[1];
    let w = (dx * r[6] + dy * r[7] + dz * r[8]) * this.inv[2];
    if (this.bend !== 0) w -= this.bend * (u * u + v * v);
    const rho = Math.sqrt(u * u + v * v + w * w);
    if (this.amp === 0 || rho === 0) return rho;
    // Far from the surface the exact radius is not needed: these bounds give the same answer for every test the
    // scene makes (level < 1, and shells level > 1 − t with t ≤ 0.3): outside, a value > 1; deep inside, < 0.7.
    if (rho > 1 + this.amp) return rho / (1 + this.amp);
    if (rho < 0.7 * (1 - this.amp)) return rho / (1 - this.amp);
    return rho / this.radiusAt(u, v, w);
  }

  /**
   * The radius in direction (u, v, w) (any length): the ripples tabulated on a cube map and interpolated bilinearly
   * on the face the direction points at. The table is the shape's definition (rendering and truth both use it); it
   * is within 0.3% of the ripple sum it was built from.
   */
  private radiusAt(u: number, v: number, w: number): number {
    const au = Math.abs(u);
    const av = Math.abs(v);
    const aw = Math.abs(w);
    let face: number;
    let s1: number;
    let s2: number;
    if (au >= av && au >= aw) {
      face = u >= 0 ? 0 : 1;
      s1 = v / au;
      s2 = w / au;
    } else if (av >= aw) {
      face = v >= 0 ? 2 : 3;
      s1 = u / av;
      s2 = w / av;
    } else {
      face = w >= 0 ? 4 : 5;
      s1 = u / aw;
      s2 = v / aw;
    }
    const fa = ((s1 + 1) * CUBE) / 2;
    const fb = ((s2 + 1) * CUBE) / 2;
    const a0 = fa >= CUBE ? CUBE - 1 : Math.floor(fa);
    const b0 = fb >= CUBE ? CUBE - 1 : Math.floor(fb);
    const ta = fa - a0;
    const tb = fb - b0;
    const c = this.cube;
    const o = (face * (CUBE + 1) + b0) * (CUBE + 1) + a0;
    const lo = c[o]! + (c[o + 1]! - c[o]!) * ta;
    const hi = c[o + CUBE + 1]! + (c[o + CUBE + 2]! - c[o + CUBE + 1]!) * ta;
    return lo + (hi - lo) * tb;
  }

  contains(x: number, y: number, z: number): boolean {
    if (x < this.box.min[0] || x > this.box.max[0] || y < this.box.min[1] || y > this.box.max[1] || z < this.box.min[2] || z > this.box.max[2]) return false;
    return this.level(x, y, z) < 1;
  }
}

export interface TubeInit {
  /** z extent (mm). */
  zMin: number;
  zMax: number;
  /** Centre line x(t), y(t) = c0 + c1·t + c2·t², t = (z − zRef) / 100 mm held within ±2. */
  zRef: number;
  cx: Vec3;
  cy: Vec3;
  /** Semi-axes along x and y at zRef (mm) and their change per 100 mm of z (linear). */
  rx: number;
  ry: number;
  rxSlope?: number;
  rySlope?: number;
  /** Smallest semi-axis (mm): the slopes never shrink the tube below it. */
  minRadius?: number;
}

/** The tube parameter t = (z − zRef) / 100 mm, held at ±2 so that centre line and radii stay straight beyond. */
function tubeT(z: number, zRef: number): number {
  const t = (z - zRef) / 100;
  return t < -2 ? -2 : t > 2 ? 2 : t;
}

/**
 * An elliptic tube along z with a smooth (quadratic) centre line and linearly varying radii within 200 mm of zRef,
 * straight and constant beyond.
 */
export class Tube {
  readonly box: Box;
  constructor(private readonly t: TubeInit) {
    let xmin = Infinity;
    let xmax = -Infinity;
    let ymin = Infinity;
    let ymax = -Infinity;
    for (let n = 0; n <= 64; n++) {
      const z = t.zMin + ((t.zMax - t.zMin) * n) / 64;
      const [x, y, rx, ry] = this.at(z);
      xmin = Math.min(xmin, x - rx);
      xmax = Math.max(xmax, x + rx);
      ymin = Math.min(ymin, y - ry);
      ymax = Math.max(ymax, y + ry);
    }
    // The quadratic centre line can bulge between samples by far less than 1 mm; pad by 1 mm.
    this.box = { min: [xmin - 1, ymin - 1, t.zMin], max: [xmax + 1, ymax + 1, t.zMax] };
  }

  /** Centre x, y and semi-axes rx, ry (mm) at height z. */
  at(z: number): [number, number, number, number] {
    const t = tubeT(z, this.t.zRef);
    const min = this.t.minRadius ?? 0.5;
    return [
      this.t.cx[0] + this.t.cx[1] * t + this.t.cx[2] * t * t,
      this.t.cy[0] + this.t.cy[1] * t + this.t.cy[2] * t * t,
      Math.max(min, this.t.rx + (this.t.rxSlope ?? 0) * t),
      Math.max(min, this.t.ry + (this.t.rySlope ?? 0) * t),
    ];
  }

  /** Normalised elliptic radius at the point (< 1 inside); Infinity outside the z extent. */
  level(x: number, y: number, z: number): number {
    const p = this.t;
    if (z < p.zMin || z > p.zMax) return Infinity;
    const t = tubeT(z, p.zRef);
    const min = p.minRadius ?? 0.5;
    const u = (x - (p.cx[0] + p.cx[1] * t + p.cx[2] * t * t)) / Math.max(min, p.rx + (p.rxSlope ?? 0) * t);
    const v = (y - (p.cy[0] + p.cy[1] * t + p.cy[2] * t * t)) / Math.max(min, p.ry + (p.rySlope ?? 0) * t);
    return Math.sqrt(u * u + v * v);
  }

  contains(x: number, y: number, z: number): boolean {
    if (x < this.box.min[0] || x > this.box.max[0] || y < this.box.min[1] || y > this.box.max[1] || z < this.box.min[2] || z > this.box.max[2]) return false;
    return this.level(x, y, z) < 1;
  }
}

/**
 * Smooth value noise on a regular lattice (C¹: smoothstep interpolation of random lattice values in [−1, 1]),
 * covering `box` with cells of `cellMm`. Outside the box the lattice is clamped.
 */
export class SmoothNoise {
  private readonly n: [number, number, number];
  private readonly values: Float32Array;
  constructor(
    rng: Rng,
    private readonly box: Box,
    private readonly cellMm: number,
  ) {
    this.n = [0, 1, 2].map((c) => Math.max(2, Math.ceil((box.max[c]! - box.min[c]!) / cellMm) + 2)) as [number, number, number];
    this.values = new Float32Array(this.n[0] * this.n[1] * this.n[2]);
    for (let q = 0; q < this.values.length; q++) this.values[q] = rng.uniform(-1, 1);
  }

  value(x: number, y: number, z: number): number {
    const [nx, ny, nz] = this.n;
    const fx = clampLattice((x - this.box.min[0]) / this.cellMm, nx);
    const fy = clampLattice((y - this.box.min[1]) / this.cellMm, ny);
    const fz = clampLattice((z - this.box.min[2]) / this.cellMm, nz);
    const ix = Math.floor(fx);
    const iy = Math.floor(fy);
    const iz = Math.floor(fz);
    const tx = smooth(fx - ix);
    const ty = smooth(fy - iy);
    const tz = smooth(fz - iz);
    const v = this.values;
    const o = ix + nx * (iy + ny * iz);
    const sx = nx;
    const sxy = nx * ny;
    const c00 = v[o]! + (v[o + 1]! - v[o]!) * tx;
    const c10 = v[o + sx]! + (v[o + sx + 1]! - v[o + sx]!) * tx;
    const c01 = v[o + sxy]! + (v[o + sxy + 1]! - v[o + sxy]!) * tx;
    const c11 = v[o + sxy + sx]! + (v[o + sxy + sx + 1]! - v[o + sxy + sx]!) * tx;
    const c0 = c00 + (c10 - c00) * ty;
    const c1 = c01 + (c11 - c01) * ty;
    return c0 + (c1 - c0) * tz;
  }
}

function clampLattice(f: number, n: number): number {
  return f < 0 ? 0 : f > n - 1.000001 ? n - 1.000001 : f;
}

function smooth(t: number): number {
  return t * t * (3 - 2 * t);
}
