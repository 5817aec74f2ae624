/**
 * window.medsegViewer: a read-mostly handle for browser tests and the benchmark (and the console): load timings,
 * each view's camera and size, the crosshair, and setCrosshair/centreOn. Everything it reports is also visible in
 * the page; it changes nothing the user could not change with the mouse.
 */
import type { ViewName } from './core/geometry.js';
import type { MedsegViewerHook, ViewReport } from './core/hook-types.js';
import type { ViewerApp } from './viewer-app.js';

declare global {
  interface Window {
    medsegViewer?: MedsegViewerHook;
  }
}

const rectOf = (e: Element) => {
  const r = e.getBoundingClientRect();
  return { x: r.left + window.scrollX, y: r.top + window.scrollY, width: r.width, height: r.height };
};

export function installHook(app: ViewerApp): void {
  window.medsegViewer = {
    timings: () => ({ ...app.timings }),
    crosshair: () => app.crosshair,
    windowLevel: () => ({ ...app.windowLevel }),
    views: () => {
      const out: Partial<Record<ViewName, ViewReport>> = {};
      for (const [name, view] of Object.entries(app.slices) as [ViewName, (typeof app.slices)[ViewName]][]) {
        const s = view.state();
        if (!s) continue;
        out[name] = { rect: rectOf(view.scene.host), sliceAxis: s.sliceAxis, sliceIndex: s.sliceIndex, sliceCount: s.sliceCount, focalPoint: s.focalPoint, parallelScale: s.parallelScale, right: s.right, up: s.up, directionOfProjection: s.directionOfProjection };
      }
      return out;
    },
    view3dRect: () => rectOf(app.view3d.scene.host),
    surfaceCount: () => app.view3d.surfaceCount,
    setCrosshair: (p) => app.setCrosshair(p),
    centreOn: (p) => app.centreOn(p),
    settle: () => new Promise((resolve) => requestAnimationFrame(() => requestAnimationFrame(() => resolve()))),
  };
}
