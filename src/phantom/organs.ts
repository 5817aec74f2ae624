/**
 * Organs of the phantom as scene structures (patient LPS, mm). A structure answers "which material is at this
 * point, if any" (−1 for none); the scene asks them in priority order, so the first one that claims a point owns it.
 */
import { MAT } from './materials.js';
import { inBox, unionBox, type Blob, type Box, type Tube } from './shapes.js';

export interface Structure {
  readonly name: string;
  readonly box: Box;
  /** Material id at the point, or −1 when the point is not part of this structure. */
  materialAt(x: number, y: number, z: number): number;
}

/** A solid blob of one material. */
export class SolidBlob implements Structure {
  readonly box: Box;
  constructor(
    readonly name: string,
    readonly blob: Blob,
    private readonly material: number,
  ) {
    this.box = blob.box;
  }
  materialAt(x: number, y: number, z: number): number {
    return this.blob.contains(x, y, z) ? this.material : -1;
  }
}

/** A solid tube of one material (vessels, psoas muscles). */
export class SolidTube implements Structure {
  readonly box: Box;
  constructor(
    readonly name: string,
    readonly tube: Tube,
    private readonly material: number,
  ) {
    this.box = tube.box;
  }
  materialAt(x: number, y: number, z: number): number {
    return this.tube.contains(x, y, z) ? this.material : -1;
  }
}

export interface LesionShape {
  readonly blob: Blob;
  readonly material: number;
}

/** The liver: a union of lobes; lesions inside it override it. */
export class Liver implements Structure {
  readonly name = 'liver';
  readonly box: Box;
  lesions: LesionShape[] = [];
  constructor(readonly lobes: readonly Blob[]) {
    this.box = unionBox(lobes.map((b) => b.box));
  }
  materialAt(x: number, y: number, z: number): number {
    let inside = false;
    for (const lobe of this.lobes) {
      if (lobe.contains(x, y, z)) {
        inside = true;
        break;
      }
    }
    if (!inside) return -1;
    for (const l of this.lesions) if (l.blob.contains(x, y, z)) return l.material;
    return MAT.liver;
  }
}

/** A kidney: parenchyma around a renal sinus (fat) that opens medially at the hilum. */
export class Kidney implements Structure {
  readonly box: Box;
  constructor(
    readonly name: string,
    readonly blob: Blob,
    readonly sinus: Blob,
    private readonly material: number,
  ) {
    this.box = blob.box;
  }
  materialAt(x: number, y: number, z: number): number {
    if (!this.blob.contains(x, y, z)) return -1;
    return this.sinus.contains(x, y, z) ? MAT.renalSinus : this.material;
  }
}

/**
 * A hollow organ: a wall of `wallFraction` (of the normalised radius) around its contents; with `gasBelowY` the
 * contents anterior to that y are gas (the patient lies supine, so gas rises anteriorly: an air–fluid level).
 */
export class HollowBlob implements Structure {
  readonly box: Box;
  constructor(
    readonly name: string,
    readonly blob: Blob,
    private readonly wallFraction: number,
    private readonly wall: number,
    private readonly contents: number,
    private readonly gasBelowY = -Infinity,
  ) {
    this.box = blob.box;
  }
  materialAt(x: number, y: number, z: number): number {
    if (!inBox(this.box, x, y, z)) return -1;
    const level = this.blob.level(x, y, z);
    if (level >= 1) return -1;
    if (level > 1 - this.wallFraction) return this.wall;
    return y < this.gasBelowY ? MAT.gas : this.contents;
  }
}

/** The heart's lower part above the diaphragm: myocardium around blood. */
export function heart(blob: Blob, wallFraction: number): HollowBlob {
  return new HollowBlob('heart', blob, wallFraction, MAT.myocardium, MAT.heartBlood);
}

/** A bowel gas pocket: gas inside a thin bowel wall. */
export function gasPocket(name: string, blob: Blob, wallFraction: number): HollowBlob {
  return new HollowBlob(name, blob, wallFraction, MAT.bowel, MAT.gas, Infinity);
}
