/** The viewer's geometry (LPS, mm): view cameras in the radiological convention, pixel mapping, pan and zoom. */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  axisVector,
  cross,
  dot,
  edgeLetters,
  fitParallelScale,
  indexToLps,
  lpsToIndex,
  lpsToViewPixel,
  nearestVoxel,
  panFocalPoint,
  pointOnSlice,
  sameGrid,
  scaledIndexToLpsMatrix,
  SLICE_VIEWS,
  VIEW_AXES,
  viewCamera,
  viewPixelToLps,
  zoomAbout,
  type Grid,
  type ViewState,
} from '../../viewer/src/core/geometry.js';
import type { Mat3, Vec3 } from '../../src/volume/types.js';
import { expectAllClose } from '../helpers.js';
import { rotation, signedPermutations } from '../geometry-helpers.js';

const IDENTITY: Mat3 = [1, 0, 0, 0, 1, 0, 0, 0, 1];
/** The demo CT's grid (256×256×76, 1.48×1.48×4 mm, LPS axes). */
const DEMO: Grid = { dims: [256, 256, 76], spacing: [1.48046875, 1.48046875, 4], origin: [-188.759765625, -188.759765625, -514.8125], direction: IDENTITY };

describe('view cameras', () => {
  it('shows axial slices radiologically: patient left on screen right, anterior up, seen from the feet', () => {
    const c = viewCamera(IDENTITY, 'axial');
    expect(c.sliceAxis).toBe(2);
    expectAllClose(c.right, [1, 0, 0]);
    expectAllClose(c.up, [0, -1, 0]);
    expectAllClose(c.directionOfProjection, [0, 0, 1]);
    expect(edgeLetters(c)).toEqual({ left: 'R', right: 'L', top: 'A', bottom: 'P' });
  });

  it('shows coronal slices from the front (superior up) and sagittal slices from the left (anterior on the left)', () => {
    const cor = viewCamera(IDENTITY, 'coronal');
    expect(cor.sliceAxis).toBe(1);
    expect(edgeLetters(cor)).toEqual({ left: 'R', right: 'L', top: 'S', bottom: 'I' });
    const sag = viewCamera(IDENTITY, 'sagittal');
    expect(sag.sliceAxis).toBe(0);
    expect(edgeLetters(sag)).toEqual({ left: 'A', right: 'P', top: 'S', bottom: 'I' });
  });

  it('shows every one of the 48 axis orders and flips in the same world orientation, slicing the matching voxel axis', () => {
    for (const d of signedPermutations()) {
      for (const view of SLICE_VIEWS) {
        const c = viewCamera(d, view);
        expectAllClose(c.right, VIEW_AXES[view].right, { atol: 1e-12, rtol: 0 });
        expectAllClose(c.up, VIEW_AXES[view].up, { atol: 1e-12, rtol: 0 });
        // The sliced voxel axis is the one along the view's direction of projection.
        expect(Math.abs(dot(axisVector(d, c.sliceAxis), c.directionOfProjection))).toBeCloseTo(1, 12);
      }
    }
  });

  it('rotates an oblique grid into its own slice plane, keeping the screen axes close to the world ones', () => {
    const d = rotation([0, 0, 1], 20);
    const c = viewCamera(d, 'axial');
    expect(c.sliceAxis).toBe(2);
    // The slice plane of k is perpendicular to the k axis; right, up and the projection direction are orthonormal.
    expect(Math.abs(dot(c.directionOfProjection, axisVector(d, 2)))).toBeCloseTo(1, 12);
    expectAllClose(cross(c.directionOfProjection, c.up), c.right, { atol: 1e-12, rtol: 0 });
    // A rotation about S keeps anterior exactly up in the axial view.
    expectAllClose(c.up, [0, -1, 0], { atol: 1e-12, rtol: 0 });
    const sag = viewCamera(d, 'sagittal');
    expect(sag.sliceAxis).toBe(0);
    expect(dot(sag.right, [0, 1, 0])).toBeCloseTo(Math.cos((20 * Math.PI) / 180), 12);
  });

  it('looks perpendicular to the slices of a sheared (gantry-tilted) grid', () => {
    // k axis tilted 15° towards posterior: slices stay axial planes, the camera looks along their normal (S).
    const t = (15 * Math.PI) / 180;
    const d: Mat3 = [1, 0, 0, 0, 1, 0, 0, Math.sin(t), Math.cos(t)];
    const c = viewCamera(d, 'axial');
    expect(c.sliceAxis).toBe(2);
    expectAllClose(c.directionOfProjection, [0, 0, 1], { atol: 1e-12, rtol: 0 });
  });
});

describe('grid mapping', () => {
  const oblique: Grid = { dims: [40, 30, 20], origin: [-120.5, 33.25, 7], spacing: [0.7, 0.9, 2.5], direction: rotation([1, 2, 3], 30) };

  it('round-trips LPS ↔ index on an oblique anisotropic grid', () => {
    fc.assert(
      fc.property(fc.tuple(fc.double({ min: -50, max: 50, noNaN: true }), fc.double({ min: -50, max: 50, noNaN: true }), fc.double({ min: -50, max: 50, noNaN: true })), (ijk) => {
        expectAllClose(lpsToIndex(oblique, indexToLps(oblique, ijk)), ijk, { atol: 1e-9, rtol: 0 });
      }),
    );
  });

  it('finds the nearest voxel, clamped to the grid, and moves points onto a slice plane', () => {
    expect(nearestVoxel(oblique, indexToLps(oblique, [3.4, 7.6, 19.9]))).toEqual([3, 8, 19]);
    expect(nearestVoxel(oblique, indexToLps(oblique, [-5, 45, 2]))).toEqual([0, 29, 2]);
    expectAllClose(lpsToIndex(oblique, pointOnSlice(oblique, 2, 11, indexToLps(oblique, [3.5, 4.25, 2]))), [3.5, 4.25, 11], { atol: 1e-9, rtol: 0 });
  });

  it('maps scaled index coordinates (i·si, j·sj, k·sk) to LPS with a column-major matrix', () => {
    const m = scaledIndexToLpsMatrix(oblique);
    const ijk: Vec3 = [3, 5, 7];
    const q = [ijk[0] * 0.7, ijk[1] * 0.9, ijk[2] * 2.5];
    const lps = [0, 1, 2].map((r) => m[r]! * q[0]! + m[4 + r]! * q[1]! + m[8 + r]! * q[2]! + m[12 + r]!);
    expectAllClose(lps, indexToLps(oblique, ijk), { atol: 1e-9, rtol: 0 });
  });

  it('tells grids apart by dims and corner positions', () => {
    expect(sameGrid(DEMO, { ...DEMO, origin: [DEMO.origin[0] + 0.1, DEMO.origin[1], DEMO.origin[2]] }, 0.5)).toBe(true);
    expect(sameGrid(DEMO, { ...DEMO, origin: [DEMO.origin[0] + 1, DEMO.origin[1], DEMO.origin[2]] }, 0.5)).toBe(false);
    expect(sameGrid(DEMO, { ...DEMO, dims: [256, 256, 75] }, 0.5)).toBe(false);
  });
});

describe('pixels, pan and zoom of a parallel camera', () => {
  const view: ViewState = { ...viewCamera(IDENTITY, 'axial'), focalPoint: [10, -20, -300], parallelScale: 100 };
  const [w, h] = [400, 300];

  it('puts the focal point at the centre and patient left to the right of it', () => {
    expect(lpsToViewPixel(view, [10, -20, -300], w, h)).toEqual([200, 150]);
    // 300 px for 200 mm: 1.5 px/mm; 10 mm to the patient's left (+x) is 15 px to the right, 10 mm anterior is 15 px up.
    expectAllClose(lpsToViewPixel(view, [20, -30, -300], w, h), [215, 135], { atol: 1e-9, rtol: 0 });
  });

  it('inverts the pixel mapping on the view plane', () => {
    expectAllClose(viewPixelToLps(view, 215, 135, w, h), [20, -30, -300], { atol: 1e-9, rtol: 0 });
  });

  it('pans so that the content follows the pointer', () => {
    const p: Vec3 = [30, 5, -300];
    const before = lpsToViewPixel(view, p, w, h);
    const after = lpsToViewPixel({ ...view, focalPoint: panFocalPoint(view, 12, -7, h) }, p, w, h);
    expectAllClose(after, [before[0] + 12, before[1] - 7], { atol: 1e-9, rtol: 0 });
  });

  it('zooms about the pointer: the point under it stays there', () => {
    const anchor: [number, number] = [300, 60];
    const p = viewPixelToLps(view, anchor[0], anchor[1], w, h);
    const z = zoomAbout(view, 2, anchor[0], anchor[1], w, h, { minScale: 1, maxScale: 1000 });
    expect(z.parallelScale).toBe(50);
    expectAllClose(lpsToViewPixel({ ...view, ...z }, p, w, h), anchor, { atol: 1e-9, rtol: 0 });
    expect(zoomAbout(view, 1000, 0, 0, w, h, { minScale: 5, maxScale: 1000 }).parallelScale).toBe(5);
  });

  it('fits the demo grid: half of its 379 mm field of view plus 5 %', () => {
    // 256 voxels × 1.48046875 mm = 379 mm across, in a square view: parallel scale 379/2 × 1.05 = 198.975
    expect(fitParallelScale(DEMO, viewCamera(IDENTITY, 'axial'), 1)).toBeCloseTo(198.975, 9);
    // Coronal: 379 mm wide, 76 × 4 = 304 mm high; in a 2:1 view the height decides (379/2/2 = 94.8 < 304/2 = 152)
    expect(fitParallelScale(DEMO, viewCamera(IDENTITY, 'coronal'), 2)).toBeCloseTo((304 / 2) * 1.05, 9);
  });
});
