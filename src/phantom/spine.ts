/**
 * The vertebral column of the phantom (patient LPS, mm): vertebral bodies (a cortical shell around cancellous bone,
 * slightly waisted), intervertebral discs between them, the spinal canal (CSF) and, behind it, the neural arch with
 * spinous and transverse processes. Vertebrae are found by z in O(1), so the column costs the scene one lookup.
 */
import { MAT } from './materials.js';
import type { Box } from './shapes.js';

export interface SpineInit {
  /** Midline x and vertebral body centre y (mm). */
  x: number;
  y: number;
  /** z of one vertebral body centre, and the distance between consecutive centres (body + disc), mm. */
  zRef: number;
  pitchMm: number;
  bodyHeightMm: number;
  /** Semi-axes of the vertebral body at zRef (lateral, anterior-posterior), mm; they grow inferiorly. */
  rx: number;
  ry: number;
  /** Fractional growth of the semi-axes per 100 mm towards the feet. */
  growthPer100Mm: number;
  corticalMm: number;
  /** Spinal canal semi-axes (mm). */
  canalRx: number;
  canalRy: number;
  archThicknessMm: number;
  spinousLengthMm: number;
  transverseLengthMm: number;
  zMin: number;
  zMax: number;
}

export class Spine {
  readonly box: Box;
  private readonly canalY: number;

  constructor(readonly init: SpineInit) {
    const grow = 1 + Math.max(0, ((init.zRef - init.zMin) / 100) * init.growthPer100Mm);
    this.canalY = init.y + init.ry * 1.0 + init.canalRy + 2;
    const lateral = Math.max(init.rx * grow * 1.05, init.canalRx + init.archThicknessMm + init.transverseLengthMm);
    this.box = {
      min: [init.x - lateral - 1, init.y - init.ry * grow * 1.05 - 1, init.zMin],
      max: [init.x + lateral + 1, this.canalY + init.canalRy + init.archThicknessMm + init.spinousLengthMm + 1, init.zMax],
    };
  }

  /** The canal centre y (mm), behind the vertebral bodies. */
  get canalCenterY(): number {
    return this.canalY;
  }

  /** Semi-axes of the vertebral body cross-section at height z (before the waist). */
  bodyRadii(z: number): [number, number] {
    const g = 1 + ((this.init.zRef - z) / 100) * this.init.growthPer100Mm;
    return [this.init.rx * g, this.init.ry * g];
  }

  materialAt(x: number, y: number, z: number): number {
    const p = this.init;
    if (z < p.zMin || z > p.zMax) return -1;
    const dx = x - p.x;
    const m = Math.round((z - p.zRef) / p.pitchMm);
    const dz = z - (p.zRef + m * p.pitchMm);
    const half = p.bodyHeightMm / 2;
    const [rx, ry0] = this.bodyRadii(z);
    const dy = y - p.y;
    // The posterior surface of the body is flatter (it faces the canal).
    const ry = dy > 0 ? ry0 * 0.8 : ry0;
    const e = Math.sqrt((dx / rx) ** 2 + (dy / ry) ** 2);
    if (Math.abs(dz) <= half) {
      const tz = dz / half;
      const waist = 1 - 0.06 * (1 - tz * tz);
      if (e < waist) {
        const depth = (waist - e) * Math.min(rx, ry);
        return depth < p.corticalMm || half - Math.abs(dz) < p.corticalMm ? MAT.cortical : MAT.cancellous;
      }
    } else if (e < 0.97) {
      return MAT.disc;
    }
    // Canal (continuous), then the arch and processes of vertebra m.
    const cy = y - this.canalY;
    const ec = Math.sqrt((dx / p.canalRx) ** 2 + (cy / p.canalRy) ** 2);
    if (ec < 1) return MAT.csf;
    const archHalf = half - 2;
    if (Math.abs(dz) > archHalf + 6) return -1;
    const t = p.archThicknessMm;
    const ring = Math.sqrt((dx / (p.canalRx + t)) ** 2 + (cy / (p.canalRy + t)) ** 2);
    if (ring < 1 && Math.abs(dz) <= archHalf && y > p.y + ry0 * 0.8) return MAT.vertebralArch;
    // Spinous process: backwards and slightly down from the arch.
    const sz = dz + 4 * Math.max(0, cy - p.canalRy) / p.spinousLengthMm;
    if (Math.abs(dx) < 3.5 && cy > 0 && cy < p.canalRy + t + p.spinousLengthMm && Math.abs(sz) < archHalf * 0.6) return MAT.vertebralArch;
    // Transverse processes: sideways at the level of the canal.
    const ax = Math.abs(dx);
    if (Math.abs(cy) < 4 && ax > p.canalRx && ax < p.canalRx + t + p.transverseLengthMm && Math.abs(dz) < Math.min(5, archHalf)) return MAT.vertebralArch;
    return -1;
  }
}
