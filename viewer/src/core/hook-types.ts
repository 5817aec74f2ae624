/**
 * The shape of window.medsegViewer (installed by automation-hook.ts), the handle tests and the benchmark read.
 * DOM-free, so Node-side code (tests, bench) can import it.
 */
import type { Vec3, ViewName } from './geometry.js';

export interface Timings {
  /** ms from opening the job to the first rendered scan slice. */
  firstImageMs?: number;
  /** The same moment, in ms since navigation start (includes loading the page and its bundle). */
  firstImageSinceNavigationMs?: number;
  labelsMs?: number;
  surfacesMs?: number;
  scanDownloadMs?: number;
  /** Bytes transferred for the scan (compressed). */
  scanBytes?: number;
  labelsDownloadMs?: number;
  labelsBytes?: number;
}

export interface ViewReport {
  /** The view's canvas rectangle in page CSS pixels. */
  rect: { x: number; y: number; width: number; height: number };
  sliceAxis: 0 | 1 | 2;
  sliceIndex: number;
  sliceCount: number;
  focalPoint: Vec3;
  parallelScale: number;
  right: Vec3;
  up: Vec3;
  directionOfProjection: Vec3;
}

export interface MedsegViewerHook {
  timings(): Timings;
  crosshair(): Vec3;
  windowLevel(): { window: number; level: number };
  views(): Partial<Record<ViewName, ViewReport>>;
  view3dRect(): ViewReport['rect'];
  surfaceCount(): number;
  setCrosshair(p: Vec3): void;
  centreOn(p: Vec3): void;
  /** Waits for two animation frames, so that queued renders have reached the screen. */
  settle(): Promise<void>;
}
