/**
 * The phantom scene: which material is at an LPS point (mm). Precedence, outermost first:
 * outside the body (table or air) → skin → subcutaneous fat → vertebral column → muscle wall → great vessels →
 * above the diaphragm: heart, mediastinal fat, lung → the diaphragm muscle → below it the abdominal organs in
 * their priority order (first claim wins; lesions are part of the liver) → bowel loops or fat.
 */
import { LAYER, type BodyModel, type Diaphragm, type Table } from './body.js';
import { MAT } from './materials.js';
import type { Structure } from './organs.js';
import { unionBox, type SmoothNoise, type Tube } from './shapes.js';
import type { Spine } from './spine.js';
import type { Vec3 } from '../volume/types.js';

export interface BowelField {
  coarse: SmoothNoise;
  fine: SmoothNoise;
  /** Bowel where coarse + fine/2 > threshold. */
  threshold: number;
  /** Bowel only anterior to this y (mm): behind it is retroperitoneal fat. */
  maxY: number;
}

export interface SceneParts {
  body: BodyModel;
  table: Table;
  spine: Spine;
  dome: Diaphragm;
  /** Aorta and IVC: they cross the diaphragm. */
  vessels: readonly Structure[];
  heart: Structure;
  /** The mediastinal fat between the lung bases: |x − midlineX| < halfWidth, and a sleeve (in normalised radii) around
   * the aorta. */
  mediastinum: { midlineX: number; halfWidthMm: number; aorta: Tube; sleeveLevel: number };
  /** Abdominal structures in priority order. */
  abdomen: readonly Structure[];
  bowel: BowelField;
}

/** Edge (mm) of the cells of the structure index. */
const INDEX_CELL_MM = 12;

export class Scene {
  /** Every structure, in priority order: vessels, then the heart, then the abdomen (at most 32). */
  private readonly all: Structure[];
  private readonly vesselMask: number;
  private readonly heartMask: number;
  private readonly abdomenMask: number;
  /** Per cell of a coarse grid: a bit mask of the structures whose box meets the cell (bit n = all[n]). */
  private index = new Uint32Array(0);
  private indexMin: Vec3 = [0, 0, 0];
  private indexN: [number, number, number] = [0, 0, 0];

  constructor(readonly parts: SceneParts) {
    this.all = [...parts.vessels, parts.heart, ...parts.abdomen];
    const bits = (from: number, count: number) => (count === 0 ? 0 : (2 ** (from + count) - 2 ** from) >>> 0);
    this.vesselMask = bits(0, parts.vessels.length);
    this.heartMask = bits(parts.vessels.length, 1);
    this.abdomenMask = bits(parts.vessels.length + 1, parts.abdomen.length);
    this.rebuildIndex();
  }

  /** Adds abdominal structures (lowest priority) and re-indexes. */
  addAbdominal(structures: readonly Structure[]): Scene {
    return new Scene({ ...this.parts, abdomen: [...this.parts.abdomen, ...structures] });
  }

  private rebuildIndex(): void {
    if (this.all.length > 32) throw new RangeError(`a scene holds at most 32 structures, got ${this.all.length}`);
    const box = unionBox(this.all.map((s) => s.box));
    // Tubes run the whole z range: clamp the index to the body's tabulated range (beyond it, every cell is the same).
    const zr = [this.parts.body.init.zMin, this.parts.body.init.zMax];
    const min: Vec3 = [box.min[0], box.min[1], Math.max(box.min[2], zr[0]!)];
    const max: Vec3 = [box.max[0], box.max[1], Math.max(Math.min(box.max[2], zr[1]!), min[2] + INDEX_CELL_MM)];
    const n = [0, 1, 2].map((c) => Math.max(1, Math.ceil((max[c]! - min[c]!) / INDEX_CELL_MM))) as [number, number, number];
    const index = new Uint32Array(n[0] * n[1] * n[2]);
    this.all.forEach((s, bit) => {
      const lo = [0, 1, 2].map((c) => clampInt(Math.floor((s.box.min[c]! - min[c]!) / INDEX_CELL_MM), n[c]!));
      const hi = [0, 1, 2].map((c) => clampInt(Math.floor((s.box.max[c]! - min[c]!) / INDEX_CELL_MM), n[c]!));
      for (let k = lo[2]!; k <= hi[2]!; k++)
        for (let j = lo[1]!; j <= hi[1]!; j++)
          for (let i = lo[0]!; i <= hi[0]!; i++) index[i + n[0] * (j + n[1] * k)]! |= 2 ** bit;
    });
    this.index = index;
    this.indexMin = min;
    this.indexN = n;
  }

  /** The structures whose boxes may contain the point (bit mask over `all`). */
  private candidates(x: number, y: number, z: number): number {
    const [nx, ny, nz] = this.indexN;
    const i = Math.floor((x - this.indexMin[0]) / INDEX_CELL_MM);
    const j = Math.floor((y - this.indexMin[1]) / INDEX_CELL_MM);
    if (i < 0 || j < 0 || i >= nx || j >= ny) return 0;
    const k = clampInt(Math.floor((z - this.indexMin[2]) / INDEX_CELL_MM), nz);
    return this.index[i + nx * (j + ny * k)]!;
  }

  /** The first structure in `mask` (priority order) that claims the point: its material, or −1. */
  private claim(mask: number, x: number, y: number, z: number): number {
    while (mask !== 0) {
      const low = mask & -mask;
      const s = this.all[31 - Math.clz32(low)]!;
      mask ^= low;
      const b = s.box;
      if (x < b.min[0] || x > b.max[0] || y < b.min[1] || y > b.max[1] || z < b.min[2] || z > b.max[2]) continue;
      const m = s.materialAt(x, y, z);
      if (m >= 0) return m;
    }
    return -1;
  }

  classify(x: number, y: number, z: number): number {
    const p = this.parts;
    const layer = p.body.layer(x, y, z);
    if (layer === LAYER.outside) return p.table.materialAt(x, y);
    if (layer === LAYER.skin) return MAT.skin;
    if (layer === LAYER.fat) return MAT.fat;
    const sb = p.spine.box;
    if (x >= sb.min[0] && x <= sb.max[0] && y >= sb.min[1] && y <= sb.max[1]) {
      const m = p.spine.materialAt(x, y, z);
      if (m >= 0) return m;
    }
    if (layer === LAYER.wall) return MAT.muscle;
    const mask = this.candidates(x, y, z);
    let m = this.claim(mask & this.vesselMask, x, y, z);
    if (m >= 0) return m;
    const above = z - p.dome.surface(x, y);
    if (above > 0) {
      m = this.claim(mask & this.heartMask, x, y, z);
      if (m >= 0) return m;
      const med = p.mediastinum;
      if (Math.abs(x - med.midlineX) < med.halfWidthMm) return MAT.fat;
      if (med.aorta.level(x, y, z) < med.sleeveLevel) return MAT.fat;
      return MAT.lung;
    }
    if (above > -p.dome.init.thicknessMm) return MAT.muscle;
    m = this.claim(mask & this.abdomenMask, x, y, z);
    if (m >= 0) return m;
    return this.bowelOrFat(x, y, z);
  }

  /** Bowel loops (smooth noise above a threshold) in the peritoneal cavity; fat elsewhere. */
  bowelOrFat(x: number, y: number, z: number): number {
    const b = this.parts.bowel;
    if (y > b.maxY) return MAT.fat;
    return b.coarse.value(x, y, z) + 0.5 * b.fine.value(x, y, z) > b.threshold ? MAT.bowel : MAT.fat;
  }
}

function clampInt(v: number, n: number): number {
  return v < 0 ? 0 : v >= n ? n - 1 : v;
}
