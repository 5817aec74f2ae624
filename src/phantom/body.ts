/**
 * The body wall of the phantom, in patient LPS millimetres: a superelliptic cross-section (flatter at the back)
 * with smooth angular and craniocaudal variation, layered from outside in as skin, subcutaneous fat and muscle
 * (abdominal wall, and the paraspinal muscles that reach the vertebral bodies at the back); plus the diaphragm
 * domes that separate the lung bases from the abdomen, and the scanner table under the patient.
 * The radii are tabulated over angle and z once; a coarse grid answers most points outright, the rest cost a bilinear lookup.
 */
import { MAT } from './materials.js';

export const LAYER = { outside: 0, skin: 1, fat: 2, wall: 3, cavity: 4 } as const;

export interface BodyInit {
  /** Body axis (mm): the centre of the cross-section. */
  cx: number;
  cy: number;
  /** Half width (x) and half depths towards anterior (−y) and posterior (+y), mm. */
  halfWidth: number;
  halfDepthAnterior: number;
  halfDepthPosterior: number;
  /** Superellipse exponent (2 = ellipse; larger is boxier). */
  exponent: number;
  /** Angular harmonics k = 2… of the outline: amplitude (fraction of the radius) and phase. */
  harmonics: readonly { k: number; amplitude: number; phase: number }[];
  /** Radius scale along z: 1 + g1·t + g2·t², t = (z − zRef) / 200 mm. */
  zRef: number;
  g1: number;
  g2: number;
  skinMm: number;
  /** Subcutaneous fat thickness at the flank, and the factors it gains anteriorly / loses posteriorly. */
  fatMm: number;
  fatAnterior: number;
  fatPosterior: number;
  /** Muscle wall thickness (anterior; the flanks are 25% thicker). */
  wallMm: number;
  /** Distance (mm, posterior of the axis) that the paraspinal muscles reach forwards: the vertebral body centre. */
  paraspinalReachY: number;
  /** z range to tabulate (mm); outside it the nearest row is used. */
  zMin: number;
  zMax: number;
}

/** Angular bins of the radius tables, uniform in the diamond angle (no trigonometry per lookup). */
const N_THETA = 720;
const Z_STEP = 2;
const GRID_MM = 6;
const GRID_ROWS_PER_CELL = 4;

/**
 * The "diamond angle" of a direction: a monotonic stand-in for the polar angle in [0, 4) (0 along +x, 1 along +y,
 * 2 along −x, 3 along −y) that costs one division instead of an atan2.
 */
export function diamond(dx: number, dy: number): number {
  if (dy >= 0) return dx >= 0 ? dy / (dx + dy || 1) : 1 - dx / (dy - dx);
  return dx < 0 ? 2 - dy / (-dx - dy) : 3 + dx / (dx - dy);
}

/** The polar angle (rad) of table bin a (diamond angle 4a / N_THETA). */
function binAngle(a: number): number {
  const d = (4 * a) / N_THETA;
  const q = Math.floor(d);
  const t = d - q;
  const [vx, vy] = q === 0 ? [1 - t, t] : q === 1 ? [-t, 1 - t] : q === 2 ? [t - 1, -t] : [t, t - 1];
  return Math.atan2(vy, vx);
}

export class BodyModel {
  /** Per (z row, angle): outer radius, inner skin radius, inner fat radius, inner wall radius (mm). */
  private readonly radii: Float32Array;
  private readonly nz: number;
  /**
   * A coarse (x, y) grid per 4 mm of z that gives the layer of the cells that lie within one layer (LAYER value),
   * or 255 where a surface crosses the cell: most points skip the angular lookup.
   */
  private readonly grid: Uint8Array;
  private readonly gridN: number;
  private readonly gridRows: number;
  private readonly gridMin: number;

  constructor(readonly init: BodyInit) {
    this.nz = Math.max(2, Math.ceil((init.zMax - init.zMin) / Z_STEP) + 1);
    this.radii = new Float32Array(this.nz * N_THETA * 4);
    let maxOuter = 0;
    const angular = Array.from({ length: N_THETA }, (_, a) => this.angular(binAngle(a)));
    for (let r = 0; r < this.nz; r++) {
      const z = init.zMin + r * Z_STEP;
      for (let a = 0; a < N_THETA; a++) {
        const rr = this.radiiAt(angular[a]!, z);
        this.radii.set(rr, (r * N_THETA + a) * 4);
        maxOuter = Math.max(maxOuter, rr[0]);
      }
    }
    this.gridMin = -(maxOuter + 2 * GRID_MM);
    this.gridN = Math.ceil((2 * -this.gridMin) / GRID_MM);
    this.gridRows = Math.ceil((this.nz - 1) / GRID_ROWS_PER_CELL);
    this.grid = new Uint8Array(this.gridRows * this.gridN * this.gridN);
    const half = (GRID_MM * Math.SQRT2) / 2;
    for (let g = 0; g < this.gridRows; g++) {
      const rows: number[] = [];
      let rowMaxOuter = 0;
      let rowMinInner = Infinity;
      for (let r = g * GRID_ROWS_PER_CELL; r <= Math.min(this.nz - 1, (g + 1) * GRID_ROWS_PER_CELL); r++) {
        rows.push(r);
        for (let q = 0; q < N_THETA; q++) {
          rowMaxOuter = Math.max(rowMaxOuter, this.radii[(r * N_THETA + q) * 4]!);
          rowMinInner = Math.min(rowMinInner, this.radii[(r * N_THETA + q) * 4 + 3]!);
        }
      }
      for (let b = 0; b < this.gridN; b++) {
        for (let a = 0; a < this.gridN; a++) {
          const x = this.gridMin + (a + 0.5) * GRID_MM;
          const y = this.gridMin + (b + 0.5) * GRID_MM;
          const d = Math.hypot(x, y);
          let value = 255;
          if (d - half > rowMaxOuter + 0.5) value = LAYER.outside;
          else if (d + half < rowMinInner - 0.5) value = LAYER.cavity;
          else if (d > 2 * half) {
            // The angle bins the cell spans (its corners bound it: the cell is convex and away from the axis),
            // plus one on each side for the interpolation.
            // A cell across the +x axis has corner angles near 0 and near 4: unwrap the latter below 0.
            const wraps = x > 0 && y - GRID_MM / 2 < 0 && y + GRID_MM / 2 > 0;
            let start = Infinity;
            let end = -Infinity;
            for (const [u, v] of [[-1, -1], [1, -1], [-1, 1], [1, 1]] as const) {
              let t = diamond(x + (u * GRID_MM) / 2, y + (v * GRID_MM) / 2);
              if (wraps && t > 2) t -= 4;
              start = Math.min(start, t);
              end = Math.max(end, t);
            }
            const lo = Math.floor((start * N_THETA) / 4) - 1 + N_THETA;
            const hi = Math.ceil((end * N_THETA) / 4) + 1 + N_THETA;
            let lo0 = Infinity, lo1 = Infinity, lo2 = Infinity, lo3 = Infinity;
            let up0 = 0, up1 = 0, up2 = 0, up3 = 0;
            const q = this.radii;
            for (const r of rows) {
              for (let bin = lo; bin <= hi; bin++) {
                const o = (r * N_THETA + (bin % N_THETA)) * 4;
                lo0 = Math.min(lo0, q[o]!);
                lo1 = Math.min(lo1, q[o + 1]!);
                lo2 = Math.min(lo2, q[o + 2]!);
                lo3 = Math.min(lo3, q[o + 3]!);
                up0 = Math.max(up0, q[o]!);
                up1 = Math.max(up1, q[o + 1]!);
                up2 = Math.max(up2, q[o + 2]!);
                up3 = Math.max(up3, q[o + 3]!);
              }
            }
            // Layer L lies inside radius L − 1 and outside radius L (0 outer … 3 wall inner); 0.5 mm margins.
            const near = d - half - 0.5;
            const far = d + half + 0.5;
            if (near > up0) value = LAYER.outside;
            else if (far < lo0 && near > up1) value = LAYER.skin;
            else if (far < lo1 && near > up2) value = LAYER.fat;
            else if (far < lo2 && near > up3) value = LAYER.wall;
            else if (far < lo3) value = LAYER.cavity;
          }
          this.grid[(g * this.gridN + b) * this.gridN + a] = value;
        }
      }
    }
  }

  /** The outer radius at scale 1 (no z variation), the fat and wall thicknesses and the paraspinal blend, per angle. */
  private angular(theta: number): { outer: number; fat: number; wall: number; blend: number; reach: number } {
    const p = this.init;
    const c = Math.cos(theta);
    const s = Math.sin(theta);
    const b = s > 0 ? p.halfDepthPosterior : p.halfDepthAnterior;
    const n = p.exponent;
    let wobble = 1;
    for (const h of p.harmonics) wobble += h.amplitude * Math.cos(h.k * theta + h.phase);
    return {
      outer: wobble * Math.pow(Math.pow(Math.abs(c) / p.halfWidth, n) + Math.pow(Math.abs(s) / b, n), -1 / n),
      fat: p.fatMm * (1 + p.fatAnterior * Math.max(0, -s) - p.fatPosterior * Math.max(0, s)),
      wall: p.wallMm * (1 + 0.25 * c * c),
      // Paraspinal muscles: towards the back the wall's inner boundary comes forward to the vertebral body centre.
      blend: Math.pow(Math.max(0, s), 6),
      reach: p.paraspinalReachY / Math.max(s, 0.2),
    };
  }

  /** Outer, skin-inner, fat-inner and wall-inner radii (mm) from the angular terms at height z. */
  private radiiAt(a: ReturnType<BodyModel['angular']>, z: number): [number, number, number, number] {
    const t = (z - this.init.zRef) / 200;
    const outer = a.outer * (1 + this.init.g1 * t + this.init.g2 * t * t);
    const skinIn = outer - this.init.skinMm;
    const fatIn = skinIn - a.fat;
    const regular = fatIn - a.wall;
    const wallIn = (1 - a.blend) * regular + a.blend * Math.min(regular, a.reach);
    return [outer, skinIn, fatIn, Math.max(wallIn, 5)];
  }

  /** Tabulated radius `which` (0 outer, 1 skin inner, 2 fat inner, 3 wall inner) at angle theta (rad) and z. */
  radius(which: 0 | 1 | 2 | 3, theta: number, z: number): number {
    const fa = (diamond(Math.cos(theta), Math.sin(theta)) * N_THETA) / 4;
    const a0 = Math.floor(fa);
    const ta = fa - a0;
    const i0 = a0 % N_THETA;
    const i1 = (i0 + 1) % N_THETA;
    let fz = (z - this.init.zMin) / Z_STEP;
    fz = fz < 0 ? 0 : fz > this.nz - 1 ? this.nz - 1 : fz;
    const r0 = Math.min(Math.floor(fz), this.nz - 2);
    const tz = fz - r0;
    const q = this.radii;
    const o00 = (r0 * N_THETA + i0) * 4 + which;
    const o01 = (r0 * N_THETA + i1) * 4 + which;
    const o10 = ((r0 + 1) * N_THETA + i0) * 4 + which;
    const o11 = ((r0 + 1) * N_THETA + i1) * 4 + which;
    const lo = q[o00]! + (q[o01]! - q[o00]!) * ta;
    const hi = q[o10]! + (q[o11]! - q[o10]!) * ta;
    return lo + (hi - lo) * tz;
  }

  /** Which layer the point is in (LAYER.*). */
  layer(x: number, y: number, z: number): number {
    const dx = x - this.init.cx;
    const dy = y - this.init.cy;
    const r2 = dx * dx + dy * dy;
    let fz = (z - this.init.zMin) / Z_STEP;
    fz = fz < 0 ? 0 : fz > this.nz - 1 ? this.nz - 1 : fz;
    const r0 = Math.min(Math.floor(fz), this.nz - 2);
    const ga = Math.floor((dx - this.gridMin) / GRID_MM);
    const gb = Math.floor((dy - this.gridMin) / GRID_MM);
    if (ga < 0 || gb < 0 || ga >= this.gridN || gb >= this.gridN) return LAYER.outside;
    const cell = this.grid[(Math.min(this.gridRows - 1, Math.floor(r0 / GRID_ROWS_PER_CELL)) * this.gridN + gb) * this.gridN + ga]!;
    if (cell !== 255) return cell;
    const tz = fz - r0;
    const r = Math.sqrt(r2);
    // Bilinear lookup of all four radii at once.
    const fa = (diamond(dx, dy) * N_THETA) / 4;
    const a0 = Math.floor(fa);
    const ta = fa - a0;
    const i0 = a0 % N_THETA;
    const i1 = (i0 + 1) % N_THETA;
    const q = this.radii;
    const b00 = (r0 * N_THETA + i0) * 4;
    const b01 = (r0 * N_THETA + i1) * 4;
    const b10 = ((r0 + 1) * N_THETA + i0) * 4;
    const b11 = ((r0 + 1) * N_THETA + i1) * 4;
    for (let which = 0; which < 4; which++) {
      const lo = q[b00 + which]! + (q[b01 + which]! - q[b00 + which]!) * ta;
      const hi = q[b10 + which]! + (q[b11 + which]! - q[b10 + which]!) * ta;
      if (r >= lo + (hi - lo) * tz) return which; // 0 outside, 1 skin, 2 fat, 3 wall
    }
    return LAYER.cavity;
  }

  /** Largest extent of the outer surface from the axis along ±x and ±y over [zMin, zMax] (mm). */
  extent(zMin: number, zMax: number): { left: number; right: number; anterior: number; posterior: number } {
    const e = { left: 0, right: 0, anterior: 0, posterior: 0 };
    for (let z = zMin; z <= zMax + Z_STEP; z += Z_STEP) {
      for (let a = 0; a < N_THETA; a++) {
        const theta = binAngle(a);
        const r = this.radius(0, theta, Math.min(z, zMax));
        const x = r * Math.cos(theta);
        const y = r * Math.sin(theta);
        e.left = Math.max(e.left, x);
        e.right = Math.max(e.right, -x);
        e.anterior = Math.max(e.anterior, -y);
        e.posterior = Math.max(e.posterior, y);
      }
    }
    return e;
  }
}

export interface DomeInit {
  /** Apex (highest point) of the right and left hemidiaphragm, LPS mm. */
  right: readonly [number, number, number];
  left: readonly [number, number, number];
  /** The dome falls 0.8 × fallMm at `spreadMm` from the apex, faster (factor) towards the back. */
  fallMm: number;
  spreadMm: number;
  posteriorFactor: number;
  thicknessMm: number;
}

/**
 * The diaphragm: two domes, each falling by fallMm·q²/(1 + q²/4) at q spreads from its apex (faster towards the
 * back, into the posterior recesses); the thorax (lung bases, heart) is above, the abdomen below.
 */
export class Diaphragm {
  constructor(readonly init: DomeInit) {}

  /** Height (z, mm) of the upper diaphragm surface above (x, y). */
  surface(x: number, y: number): number {
    return Math.max(this.side(this.init.right, x, y), this.side(this.init.left, x, y));
  }

  private side(apex: readonly [number, number, number], x: number, y: number): number {
    const s = this.init.spreadMm;
    const u = (x - apex[0]) / s;
    const dy = y - apex[1];
    const v = (dy > 0 ? dy * this.init.posteriorFactor : dy) / s;
    // The fall saturates (at 4× fallMm) so the costophrenic recesses do not run on downwards forever.
    const q2 = u * u + v * v;
    return apex[2] - (this.init.fallMm * q2) / (1 + q2 / 4);
  }
}

export interface TableInit {
  /** y (mm) of the table top under the body centre; the top curves away (down) from the patient laterally. */
  topY: number;
  cx: number;
  halfWidthMm: number;
  curvatureRadiusMm: number;
}

/** The scanner table: a foam core between two thin shells, below (posterior to) the patient. */
export class Table {
  constructor(readonly init: TableInit) {}

  materialAt(x: number, y: number): number {
    const dx = x - this.init.cx;
    if (dx < -this.init.halfWidthMm || dx > this.init.halfWidthMm) return MAT.air;
    const d = y - (this.init.topY + (dx * dx) / (2 * this.init.curvatureRadiusMm));
    if (d < 0 || d > 40) return MAT.air;
    return d < 3 || d > 37 ? MAT.tableShell : MAT.tableFoam;
  }
}
