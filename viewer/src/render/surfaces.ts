/**
 * Label surfaces for the 3D view: occupancy grids are prepared on the main thread in slabs (the label voxels live
 * here; copying a 78 MB map to a worker would cost more than the pass), then each label's small grid is transferred
 * to the surface worker for marching cubes, one at a time, smallest first, so the first surfaces appear quickly.
 */
import { occupancyGrids, runYielding, type LabelBox, type OccupancyGrid } from '../core/surface-prep.js';
import type { ViewerVolume } from '../core/nifti.js';
import type { SurfaceFailure, SurfaceReply, SurfaceRequest } from './surface-protocol.js';

/** A macrotask break, so input and rendering run between slabs. */
const pause = () => new Promise<void>((resolve) => setTimeout(resolve, 0));

export interface SurfaceRun {
  /** Resolves once every label's surface has been delivered (or has failed, see `failures`). */
  done: Promise<{ surfaces: number; failures: SurfaceFailure[]; prepMs: number; totalMs: number }>;
  cancel(): void;
}

/** Surfaces of every label in `boxes` (from labelBoxes, which the page runs anyway to list the labels present). */
export function buildSurfaces(labels: ViewerVolume, boxes: ReadonlyMap<number, LabelBox>, onSurface: (reply: SurfaceReply) => void): SurfaceRun {
  let cancelled = false;
  let worker: Worker | undefined;
  const run = async () => {
    const t0 = performance.now();
    const grids = await runYielding(occupancyGrids(labels.data, labels.dims, boxes.values()), pause);
    const prepMs = performance.now() - t0;
    grids.sort((a, b) => a.counts.length - b.counts.length);
    worker = new Worker(new URL(MEDSEG_SURFACE_WORKER, document.baseURI), { type: 'module', name: 'medseg-surfaces' });
    const failures: SurfaceFailure[] = [];
    let surfaces = 0;
    for (const g of grids) {
      if (cancelled) break;
      const reply = await extract(worker, g, labels.spacing);
      if ('error' in reply) failures.push(reply);
      else {
        surfaces++;
        onSurface(reply);
      }
    }
    worker.terminate();
    return { surfaces, failures, prepMs, totalMs: performance.now() - t0 };
  };
  return {
    done: run(),
    cancel: () => {
      cancelled = true;
      worker?.terminate();
    },
  };
}

function extract(worker: Worker, g: OccupancyGrid, spacing: readonly [number, number, number]): Promise<SurfaceReply | SurfaceFailure> {
  const req: SurfaceRequest = {
    value: g.value,
    dims: g.dims,
    origin: [g.originIndex[0] * spacing[0], g.originIndex[1] * spacing[1], g.originIndex[2] * spacing[2]],
    spacing: [g.stride * spacing[0], g.stride * spacing[1], g.stride * spacing[2]],
    counts: g.counts,
    isoValue: g.isoValue,
  };
  return new Promise((resolve) => {
    worker.onmessage = (e: MessageEvent<SurfaceReply | SurfaceFailure>) => resolve(e.data);
    worker.onerror = (e) => resolve({ value: g.value, error: e.message || 'the surface worker failed to start' });
    worker.postMessage(req, [g.counts.buffer]);
  });
}
