/**
 * Everything a phantom is generated from, rebuilt identically from the options in the main thread and in every
 * worker (it is a pure function of the seed and the options), plus the units of work: rendering a slab of planes
 * and measuring one structure's true volume. Geometry: LPS, mm.
 */
import type { Vec3, Vec3i } from '../volume/types.js';
import { planAcquisition, type Acquisition } from './acquisition.js';
import { drawAnatomy, type Anatomy } from './anatomy.js';
import { placeLesions, type Lesion } from './lesions.js';
import { drawMaterials, MAT, PHANTOM_LABELS, type ContrastPhase, type Material, type PhantomLabelName } from './materials.js';
import { Rng } from './random.js';
import { renderPlanes, type PlaneStats } from './render.js';
import { DEFAULT_TRUTH_SAMPLES, estimateVolume, fovTest, intersectBoxes, type VolumeEstimate } from './truth.js';

/** The options a context is built from (plain data: they cross to workers). */
export interface ContextOptions {
  seed: number;
  size?: Vec3i | undefined;
  spacing?: Vec3 | undefined;
  oblique?: boolean | undefined;
  truthSamples?: number | undefined;
}

export interface PhantomContext {
  seed: number;
  anatomy: Anatomy;
  phase: ContrastPhase;
  materials: Material[];
  lesions: Lesion[];
  acquisition: Acquisition;
  truthSamples: number;
  fov: ReturnType<typeof fovTest>;
}

/** Lesions get fewer Monte-Carlo cells than organs: they are small and smooth, so the error stays far below 0.5%. */
export const LESION_TRUTH_SAMPLES = 2 ** 18;

/** Contrast phases weighted by how often each is acquired: portal-venous most. */
const PHASE_DRAW: readonly ContrastPhase[] = ['non-contrast', 'arterial', 'portal-venous', 'portal-venous'];

export function buildContext(options: ContextOptions): PhantomContext {
  const { seed } = options;
  const anatomy = drawAnatomy(seed);
  const phase = new Rng(seed, 'contrast/phase').pick(PHASE_DRAW);
  const materials = drawMaterials(new Rng(seed, 'contrast/hu'), phase);
  const lesions = placeLesions(seed, anatomy, phase, materials[MAT.liver]!.hu);
  for (const l of lesions) materials[l.material] = { name: `lesion_${l.index}`, label: PHANTOM_LABELS.liver_lesion, hu: l.hu };
  const acquisition = planAcquisition(seed, anatomy, options);
  return { seed, anatomy, phase, materials, lesions, acquisition, truthSamples: options.truthSamples ?? DEFAULT_TRUTH_SAMPLES, fov: fovTest(acquisition) };
}

/** Renders planes [k0, k1) into fresh slab arrays (plane k0 first). */
export function renderSlab(ctx: PhantomContext, k0: number, k1: number): { ct: Int16Array; labels: Uint8Array; stats: PlaneStats } {
  const [nx, ny] = ctx.acquisition.dims;
  const n = nx * ny * (k1 - k0);
  const ct = new Int16Array(n);
  const labels = new Uint8Array(n);
  const stats = renderPlanes({ seed: ctx.seed, scene: ctx.anatomy.scene, materials: ctx.materials, acquisition: ctx.acquisition }, k0, k1, ct, labels, k0);
  return { ct, labels, stats };
}

/** Structures that extend beyond any scan by design: only their part in the field of view has a volume. */
export const OPEN_STRUCTURES: readonly PhantomLabelName[] = ['lung', 'aorta', 'vertebrae'];

/**
 * The true volume of one labelled structure (whole, and inside the field of view). Not for liver_lesion: that label's
 * volume is the sum of the lesions' (lesionVolume), each sampled over its own small box.
 */
export function labelVolume(ctx: PhantomContext, name: Exclude<PhantomLabelName, 'liver_lesion'>): VolumeEstimate {
  const value = PHANTOM_LABELS[name];
  const open = OPEN_STRUCTURES.includes(name);
  const region = ctx.anatomy.regions[name];
  const box = open ? intersectBoxes(region, ctx.fov.box) : region;
  if (!box) return { inFovMm3: 0, inFovStdErrMm3: 0, wholeMm3: 0, wholeStdErrMm3: 0, samples: 0 };
  const labelOf = ctx.materials.map((m) => m.label);
  const scene = ctx.anatomy.scene;
  return estimateVolume({ box, member: (x, y, z) => labelOf[scene.classify(x, y, z)] === value, inFov: ctx.fov.contains, samples: ctx.truthSamples, rng: new Rng(ctx.seed, `truth/${name}`) });
}

/** The true volume of lesion `index` (1-based): the points of its shape that the scene labels as that lesion. */
export function lesionVolume(ctx: PhantomContext, index: number): VolumeEstimate {
  const l = ctx.lesions[index - 1]!;
  const scene = ctx.anatomy.scene;
  return estimateVolume({ box: l.blob.box, member: (x, y, z) => scene.classify(x, y, z) === l.material, inFov: ctx.fov.contains, samples: Math.min(ctx.truthSamples, LESION_TRUTH_SAMPLES), rng: new Rng(ctx.seed, `truth/lesion-${l.index}`) });
}

/**
 * The phantom's label map sampled on any grid (voxel centres, i fastest), straight from the analytic scene: the exact
 * anatomy at that grid, independent of the acquisition's slice thickness. Training recipes use it for targets on the
 * model grid; points outside the acquisition's field of view are labelled as well (the anatomy exists there).
 */
export function labelsOnGrid(ctx: PhantomContext, grid: { dims: Vec3i; spacing: Vec3; origin: Vec3; direction: readonly number[] }): Uint8Array {
  const [nx, ny, nz] = grid.dims;
  const [sx, sy, sz] = grid.spacing;
  const d = grid.direction;
  const o = grid.origin;
  const labelOf = new Uint8Array(256);
  ctx.materials.forEach((m, id) => (labelOf[id] = m.label));
  const scene = ctx.anatomy.scene;
  const out = new Uint8Array(nx * ny * nz);
  let v = 0;
  for (let k = 0; k < nz; k++)
    for (let j = 0; j < ny; j++) {
      const bx = o[0] + d[3]! * sy * j + d[6]! * sz * k;
      const by = o[1] + d[4]! * sy * j + d[7]! * sz * k;
      const bz = o[2] + d[5]! * sy * j + d[8]! * sz * k;
      for (let i = 0; i < nx; i++, v++) out[v] = labelOf[scene.classify(bx + d[0]! * sx * i, by + d[1]! * sx * i, bz + d[2]! * sx * i)]!;
    }
  return out;
}
