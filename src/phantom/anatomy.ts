/**
 * Draws one patient from a seed and assembles the scene, in patient LPS millimetres (x → patient Left, y →
 * Posterior, z → Superior). Placement follows the anatomy: the liver under the right hemidiaphragm (smaller x),
 * the spleen posterolateral on the left, the kidneys posterior beside the spine (the right one lower), the aorta
 * anterior-left of the vertebral bodies and the IVC to its right, the lung bases above the diaphragm domes.
 * Each organ draws from its own random stream, so changing one organ's model never moves another.
 */
import { BodyModel, Diaphragm, LAYER, Table } from './body.js';
import { MAT, type PhantomLabelName } from './materials.js';
import { gasPocket, heart, HollowBlob, Kidney, Liver, SolidBlob, SolidTube, type Structure } from './organs.js';
import { Rng } from './random.js';
import { Scene } from './scene.js';
import { Blob, randomRipples, rotation, SmoothNoise, Tube, type Box } from './shapes.js';
import { Spine } from './spine.js';
import { cross, dot, normalize as unit } from '../volume/geometry.js';
import type { Mat3, Vec3 } from '../volume/types.js';

export interface PatientSummary {
  /** Body axis position relative to the scanner isocentre (LPS x, y, mm) and the z of the right dome apex. */
  offsetMm: [number, number];
  domeApexZMm: number;
  bodyWidthMm: number;
  bodyDepthMm: number;
  subcutaneousFatMm: number;
  abdominalWallMm: number;
  vertebralBodyWidthMm: number;
  aortaDiameterMm: number;
  gallbladder: boolean;
  stomachGasFraction: number;
  bowelGasPockets: number;
  /** Anatomical scan range (z, mm): from above the lung bases to below the kidneys. */
  scanRangeZMm: [number, number];
}

export interface Anatomy {
  scene: Scene;
  liver: Liver;
  summary: PatientSummary;
  /** Body extents from its axis over the scan range (mm), for the field of view. */
  bodyExtent: { left: number; right: number; anterior: number; posterior: number };
  /** Body axis (LPS x, y). */
  axis: [number, number];
  /** Boxes (LPS mm) that contain every point of each labelled structure except the lesions (see lesions.ts). */
  regions: Record<Exclude<PhantomLabelName, 'liver_lesion'>, Box>;
}

/** Builds the patient for `seed` (without lesions: see lesions.ts). */
export function drawAnatomy(seed: number): Anatomy {
  const R = (name: string) => new Rng(seed, `anatomy/${name}`);
  const pos = new Rng(seed, 'position');
  const ox = pos.uniform(-15, 15);
  const oy = pos.uniform(-20, 20);
  const oz = Math.round(pos.uniform(-300, -100) * 2) / 2;
  const at = (x: number, y: number, z: number): Vec3 => [ox + x, oy + y, oz + z];

  // Body outline and wall.
  const rb = R('body');
  const halfWidth = rb.uniform(135, 190);
  const halfDepthAnterior = halfWidth * rb.uniform(0.64, 0.8);
  const halfDepthPosterior = halfDepthAnterior * rb.uniform(0.82, 0.95);
  const skinMm = rb.uniform(1.5, 2.5);
  const fatMm = Math.min(50, Math.max(4, 6 + (halfWidth - 135) * 0.45 + rb.uniform(-4, 12)));
  const fatPosterior = rb.uniform(0.2, 0.45);
  const wallMm = rb.uniform(9, 15);
  // Organ positions scale with the abdominal cavity (not with the fat around it); organ sizes vary half as much.
  const s = (halfWidth - skinMm - fatMm - wallMm) / 126;
  const sy = (halfDepthAnterior - skinMm - fatMm * 1.3 - wallMm) / 75;
  const g = 1 + (s - 1) / 2;
  const gy = 1 + (sy - 1) / 2;

  // Vertebral column: the body's posterior edge lies a paraspinal muscle depth in front of the back's fat.
  const rs = R('spine');
  const vbRx = rs.uniform(20, 25);
  const vbRy = vbRx * rs.uniform(0.7, 0.8);
  const paraspinalMm = rs.uniform(38, 52);
  const vbPosteriorY = halfDepthPosterior - skinMm - fatMm * (1 - fatPosterior) - paraspinalMm;
  const vbY = vbPosteriorY - vbRy;
  const bodyHeight = rs.uniform(23, 29);
  const pitch = bodyHeight + rs.uniform(6, 10);
  const canalRx = rs.uniform(9, 12);
  const canalRy = rs.uniform(7, 9);
  const archMm = rs.uniform(4.5, 6.5);
  const spinousMm = Math.max(5, Math.min(rs.uniform(25, 40), paraspinalMm - 2 - 2 * canalRy - archMm - 6));

  // Diaphragm domes (the right one higher, over the liver).
  const rd = R('diaphragm');
  const rightApex = at(-rd.uniform(55, 75) * s, rd.uniform(-10, 10) * sy, 0);
  const leftApex = at(rd.uniform(55, 75) * s, rd.uniform(-10, 10) * sy, -rd.uniform(8, 22));
  const dome = new Diaphragm({
    right: rightApex,
    left: leftApex,
    fallMm: rd.uniform(35, 50),
    spreadMm: rd.uniform(75, 90) * s,
    posteriorFactor: rd.uniform(1.2, 1.4),
    thicknessMm: rd.uniform(4, 6),
  });

  // Kidneys first: they set the lower end of the scan range.
  const rk = R('kidneys');
  const kidneyLeftZ = leftApex[2] - rk.uniform(85, 110);
  const kidneyRightZ = kidneyLeftZ - rk.uniform(5, 25);
  const kidneys = ([1, -1] as const).map((side) => {
    const axes: Vec3 = [rk.uniform(25, 31), rk.uniform(21, 27), rk.uniform(50, 62)];
    const center = at(side * (vbRx + rk.uniform(40, 55)), vbY + rk.uniform(-10, 5), (side === 1 ? kidneyLeftZ : kidneyRightZ) - oz);
    const alpha = (rk.uniform(10, 20) * Math.PI) / 180;
    const beta = (rk.uniform(10, 20) * Math.PI) / 180;
    const gamma = (rk.uniform(25, 45) * Math.PI) / 180;
    // Long axis: upper pole medial and posterior. Hilum: anteromedial.
    const w = unit([-side * Math.sin(alpha), Math.sin(beta), Math.cos(alpha) * Math.cos(beta)]);
    const hilum: Vec3 = [-side * Math.cos(gamma), -Math.sin(gamma), 0];
    const hw = dot(hilum, w);
    const u = unit([-(hilum[0] - hw * w[0]), -(hilum[1] - hw * w[1]), -(hilum[2] - hw * w[2])]);
    const v = cross(w, u);
    const rot: Mat3 = [...u, ...v, ...w];
    const blob = new Blob({ center, semiAxes: axes, rotation: rot, ripples: randomRipples(rk, 4, rk.uniform(0.06, 0.1)) });
    const sinusCenter: Vec3 = [center[0] - u[0] * 0.5 * axes[0], center[1] - u[1] * 0.5 * axes[0], center[2] - u[2] * 0.5 * axes[0]];
    const sinus = new Blob({ center: sinusCenter, semiAxes: [0.55 * axes[0], 0.4 * axes[1], 0.55 * axes[2]], rotation: rot, ripples: randomRipples(rk, 2, 0.08) });
    return new Kidney(side === 1 ? 'kidney_left' : 'kidney_right', blob, sinus, side === 1 ? MAT.kidneyLeft : MAT.kidneyRight);
  });
  const [kidneyLeft, kidneyRight] = kidneys as [Kidney, Kidney];
  const rc = R('coverage');
  const zTop = rightApex[2] + rc.uniform(25, 50);
  const zBottom = Math.min(kidneyLeft.box.min[2], kidneyRight.box.min[2]) - rc.uniform(40, 90);

  const body = new BodyModel({
    cx: ox,
    cy: oy,
    halfWidth,
    halfDepthAnterior,
    halfDepthPosterior,
    exponent: rb.uniform(2.1, 2.7),
    harmonics: [2, 3, 4, 5].map((k) => ({ k, amplitude: rb.uniform(0, 0.015), phase: rb.uniform(0, 2 * Math.PI) })),
    zRef: oz - 100,
    g1: rb.uniform(-0.06, 0.06),
    g2: rb.uniform(-0.04, 0.04),
    skinMm,
    fatMm,
    fatAnterior: rb.uniform(0.2, 0.6),
    fatPosterior,
    wallMm,
    paraspinalReachY: vbY,
    zMin: zBottom - 100,
    zMax: zTop + 100,
  });
  const bodyExtent = body.extent(zBottom, zTop);
  const table = new Table({ topY: oy + bodyExtent.posterior + 1, cx: ox, halfWidthMm: 210, curvatureRadiusMm: 1500 });

  const spine = new Spine({
    x: ox,
    y: oy + vbY,
    zRef: oz - rs.uniform(0, pitch),
    pitchMm: pitch,
    bodyHeightMm: bodyHeight,
    rx: vbRx,
    ry: vbRy,
    growthPer100Mm: rs.uniform(0.05, 0.1),
    corticalMm: rs.uniform(1.2, 2),
    canalRx,
    canalRy,
    archThicknessMm: archMm,
    spinousLengthMm: spinousMm,
    transverseLengthMm: rs.uniform(18, 28),
    zMin: zBottom - 600,
    zMax: zTop + 600,
  });

  // Great vessels in front of the spine: aorta left of the midline, IVC right.
  const rv = R('vessels');
  const aortaR = rv.uniform(8, 12.5);
  const aorta = new Tube({
    zMin: zBottom - 600,
    zMax: zTop + 600,
    zRef: oz - 100,
    cx: [ox + rv.uniform(8, 16), rv.uniform(-3, 3), rv.uniform(-2, 2)],
    cy: [oy + vbY - vbRy - aortaR - rv.uniform(1, 4), rv.uniform(-4, 4), rv.uniform(-3, 3)],
    rx: aortaR,
    ry: aortaR,
  });
  const ivcRy = rv.uniform(7, 10);
  const ivc = new Tube({
    zMin: zBottom - 600,
    zMax: oz + 25,
    zRef: oz - 100,
    cx: [ox - rv.uniform(15, 25), rv.uniform(-3, 3), 0],
    cy: [oy + vbY - vbRy - ivcRy - rv.uniform(3, 8), rv.uniform(-3, 3), 0],
    rx: rv.uniform(10, 14),
    ry: ivcRy,
  });

  const rh = R('heart');
  const heartBlob = new Blob({
    center: at(rh.uniform(10, 35), -rh.uniform(35, 55) * sy, rh.uniform(25, 45)),
    semiAxes: [rh.uniform(55, 70), rh.uniform(45, 55), rh.uniform(50, 60)],
    rotation: rotation(rh.uniform(20, 40), rh.uniform(-15, 15)),
    ripples: randomRipples(rh, 3, 0.08),
  });

  const rl = R('liver');
  const rightLobe = new Blob({
    center: at(-rl.uniform(50, 65) * s, -rl.uniform(0, 15) * sy, -rl.uniform(60, 80)),
    semiAxes: [rl.uniform(70, 85) * g, rl.uniform(75, 90) * gy, rl.uniform(80, 95)],
    rotation: rotation(rl.uniform(-10, 10), rl.uniform(-10, 10), rl.uniform(-10, 10)),
    ripples: randomRipples(rl, 5, rl.uniform(0.1, 0.18)),
  });
  const leftLobe = new Blob({
    center: at(rl.uniform(0, 20) * s, -rl.uniform(35, 55) * sy, -rl.uniform(35, 55)),
    semiAxes: [rl.uniform(45, 60) * g, rl.uniform(25, 35) * gy, rl.uniform(30, 45)],
    rotation: rotation(rl.uniform(-20, 0), rl.uniform(-10, 10)),
    ripples: randomRipples(rl, 4, 0.12),
  });
  const liver = new Liver([rightLobe, leftLobe]);

  const rg = R('gallbladder');
  const hasGallbladder = rg.chance(0.85);
  const gallbladder = new SolidBlob(
    'gallbladder',
    new Blob({
      center: at(-rg.uniform(25, 45) * s, -rg.uniform(40, 60) * sy, -rg.uniform(100, 125)),
      semiAxes: [rg.uniform(12, 18), rg.uniform(14, 20), rg.uniform(30, 45)],
      rotation: rotation(rg.uniform(-30, 30), rg.uniform(-30, 30), rg.uniform(-30, 30)),
      ripples: randomRipples(rg, 3, 0.08),
    }),
    MAT.bile,
  );

  // Spleen: posterolateral on the left, thin axis pointing at the body axis, bent into a crescent.
  const rsp = R('spleen');
  const phi = (rsp.uniform(20, 45) * Math.PI) / 180;
  const thick = rsp.uniform(19, 26);
  const long = rsp.uniform(50, 68);
  const tilt = (rsp.uniform(20, 40) * Math.PI) / 180;
  const inner = body.radius(3, phi, leftApex[2] - 60);
  const dist = inner - thick - rsp.uniform(4, 10);
  const spleenXY: [number, number] = [ox + dist * Math.cos(phi), oy + dist * Math.sin(phi)];
  // Its upper pole just under the left dome.
  const spleenZ = dome.surface(...spleenXY) - dome.init.thicknessMm - long * Math.cos(tilt) * rsp.uniform(0.7, 0.9);
  const inward = unit([-Math.cos(phi), -Math.sin(phi), 0]);
  const longAxis = unit([Math.sin(phi) * Math.sin(tilt), -Math.cos(phi) * Math.sin(tilt), Math.cos(tilt)]);
  const widthAxis = cross(inward, longAxis);
  const spleen = new SolidBlob(
    'spleen',
    new Blob({
      center: [spleenXY[0], spleenXY[1], spleenZ],
      semiAxes: [long, rsp.uniform(32, 42), thick],
      rotation: [...longAxis, ...widthAxis, ...inward],
      bend: rsp.uniform(0.15, 0.3),
      ripples: randomRipples(rsp, 4, 0.1),
    }),
    MAT.spleen,
  );

  const rst = R('stomach');
  const stomachAxes: Vec3 = [rst.uniform(30, 45), rst.uniform(28, 40), rst.uniform(45, 65)];
  const stomachCenter = at(rst.uniform(40, 65) * s, -rst.uniform(10, 35) * sy, leftApex[2] - oz - rst.uniform(45, 70));
  const gasFraction = rst.uniform(0, 0.5);
  const stomach = new HollowBlob(
    'stomach',
    new Blob({ center: stomachCenter, semiAxes: stomachAxes, rotation: rotation(rst.uniform(20, 50), rst.uniform(-20, 20)), ripples: randomRipples(rst, 5, 0.15) }),
    4 / stomachAxes[1],
    MAT.stomachWall,
    MAT.stomachFluid,
    stomachCenter[1] - stomachAxes[1] * (1 - 2 * gasFraction),
  );

  const rp = R('psoas');
  const psoasTop = kidneyRightZ + rp.uniform(0, 30);
  const psoas = ([1, -1] as const).map((side) => {
    const r0 = rp.uniform(5, 7);
    return new SolidTube(
      side === 1 ? 'psoas_left' : 'psoas_right',
      new Tube({
        zMin: zBottom - 600,
        zMax: psoasTop,
        zRef: psoasTop,
        cx: [ox + side * (vbRx + rp.uniform(10, 16)), -side * rp.uniform(5, 12), 0],
        cy: [oy + vbY + rp.uniform(0, 8), 0, 0],
        rx: r0,
        ry: r0 * 0.85,
        rxSlope: -rp.uniform(10, 14),
        rySlope: -rp.uniform(8, 12),
        minRadius: 3,
      }),
      MAT.muscle,
    );
  });

  const rbw = R('bowel');
  const cavityBox = { min: [ox - halfWidth, oy - halfDepthAnterior, zBottom - 600] as Vec3, max: [ox + halfWidth, oy + halfDepthPosterior, zTop + 600] as Vec3 };
  const cell = rbw.uniform(14, 20);
  const bowel = {
    coarse: new SmoothNoise(new Rng(seed, 'anatomy/bowel-coarse'), cavityBox, cell),
    fine: new SmoothNoise(new Rng(seed, 'anatomy/bowel-fine'), cavityBox, cell / 2),
    threshold: rbw.uniform(-0.15, 0.1),
    maxY: oy + vbY - 15,
  };

  const abdomen: Structure[] = [kidneyRight, kidneyLeft, ...psoas, ...(hasGallbladder ? [gallbladder] : []), liver, spleen, stomach];
  const withoutPockets = new Scene({
    body,
    table,
    spine,
    dome,
    vessels: [new SolidTube('aorta', aorta, MAT.aorta), new SolidTube('ivc', ivc, MAT.ivc)],
    heart: heart(heartBlob, 0.18),
    mediastinum: { midlineX: ox, halfWidthMm: rb.uniform(10, 18), aorta, sleeveLevel: 1 + 4 / aortaR },
    abdomen,
    bowel,
  });
  const pockets = placeGasPockets(withoutPockets, rbw, { ox, oy, zBottom, zTop: rightApex[2] - 80, halfWidth, anteriorY: oy - halfDepthAnterior + fatMm + wallMm + 8, posteriorY: oy + vbY - 25 });
  const scene = withoutPockets.addAbdominal(pockets);

  const summary: PatientSummary = {
    offsetMm: [round3(ox), round3(oy)],
    domeApexZMm: round3(oz),
    bodyWidthMm: round3(bodyExtent.left + bodyExtent.right),
    bodyDepthMm: round3(bodyExtent.anterior + bodyExtent.posterior),
    subcutaneousFatMm: round3(fatMm),
    abdominalWallMm: round3(wallMm),
    vertebralBodyWidthMm: round3(2 * vbRx),
    aortaDiameterMm: round3(2 * aortaR),
    gallbladder: hasGallbladder,
    stomachGasFraction: round3(gasFraction),
    bowelGasPockets: pockets.length,
    scanRangeZMm: [round3(zBottom), round3(zTop)],
  };
  // The lung bases lie above the lowest point of the domes inside the body.
  let lowestDome = Infinity;
  for (let x = ox - bodyExtent.right; x <= ox + bodyExtent.left; x += 4) {
    for (let y = oy - bodyExtent.anterior; y <= oy + bodyExtent.posterior; y += 4) {
      if (body.layer(x, y, rightApex[2]) !== LAYER.outside) lowestDome = Math.min(lowestDome, dome.surface(x, y));
    }
  }
  const bodyBox = (zMin: number, zMax: number): Box => ({
    min: [ox - bodyExtent.right * 1.1, oy - bodyExtent.anterior * 1.1, zMin],
    max: [ox + bodyExtent.left * 1.1, oy + bodyExtent.posterior * 1.1, zMax],
  });
  const regions = {
    liver: liver.box,
    spleen: spleen.box,
    kidney_right: kidneyRight.box,
    kidney_left: kidneyLeft.box,
    aorta: aorta.box,
    vertebrae: spine.box,
    lung: bodyBox(lowestDome - 10, zTop + 600),
  };
  return { scene, liver, summary, bodyExtent, axis: [ox, oy], regions };
}

/** Gas pockets with a thin wall, each placed where the scene has bowel or fat all around it. */
function placeGasPockets(scene: Scene, rng: Rng, where: { ox: number; oy: number; zBottom: number; zTop: number; halfWidth: number; anteriorY: number; posteriorY: number }): Structure[] {
  const count = rng.int(3, 14);
  const out: Structure[] = [];
  const free = (x: number, y: number, z: number) => {
    const m = scene.classify(x, y, z);
    return m === MAT.bowel || m === MAT.fat;
  };
  for (let n = 0; n < count; n++) {
    const r = rng.uniform(5, 18);
    for (let attempt = 0; attempt < 40; attempt++) {
      const c: Vec3 = [where.ox + rng.uniform(-0.6, 0.6) * where.halfWidth, rng.uniform(where.anteriorY + r, Math.max(where.anteriorY + r, where.posteriorY - r)), rng.uniform(where.zBottom, where.zTop)];
      const m = r * 1.2 + 3;
      const ok = free(...c) && [[m, 0, 0], [-m, 0, 0], [0, m, 0], [0, -m, 0], [0, 0, m], [0, 0, -m]].every(([dx, dy, dz]) => free(c[0] + dx!, c[1] + dy!, c[2] + dz!));
      if (!ok) continue;
      const blob = new Blob({ center: c, semiAxes: [r * rng.uniform(0.8, 1.2), r * rng.uniform(0.7, 1), r * rng.uniform(0.8, 1.3)], rotation: rotation(rng.uniform(0, 180)), ripples: randomRipples(rng, 3, 0.15) });
      out.push(gasPocket(`gas_pocket_${out.length + 1}`, blob, Math.min(0.3, 2 / r)));
      break;
    }
  }
  return out;
}

function round3(v: number): number {
  return Math.round(v * 1000) / 1000;
}
