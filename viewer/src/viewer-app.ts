/**
 * The result viewer: loads a finished job's scan and label map (streamed and decoded as they arrive), shows three
 * linked slice views and a 3D view, and keeps the shared state: crosshair (LPS, mm), window/level and the label
 * display. A job that is still running is followed first; a failed one shows its error.
 *
 * Progress marks: document.body.dataset.image / .labels / .surfaces become "ready" (or .error is set), and
 * window.medsegViewer (see automation-hook.ts) reports timings and view geometry to tests and the benchmark.
 */
import type vtkImageData from '@kitware/vtk.js/Common/DataModel/ImageData';
import { ApiError, type Api } from './api.js';
import type { JobJson, ModelJson, StatsJson } from './core/api-types.js';
import type { Timings } from './core/hook-types.js';
import { gridCenter, indexToLps, nearestVoxel, pointOnSlice, sameGrid, SLICE_VIEWS, type Grid, type Vec3, type ViewName } from './core/geometry.js';
import { formatBytes } from './core/job-state.js';
import { initialLabelDisplay, labelTransferPoints, type LabelDisplay, type Rgb } from './core/labels.js';
import { withRange, type ScanVolume, type ViewerVolume } from './core/nifti.js';
import { labelBoxes, runNow, type LabelBox } from './core/surface-prep.js';
import { autoWindow, dragWindowLevel, initialPreset, looksLikeCt, PRESETS, type PresetId, type WindowLevel } from './core/window-level.js';
import { loadNifti } from './load.js';
import { hasWebGl2, WebGl2MissingError } from './render/scene.js';
import { SliceView } from './render/slice-view.js';
import { buildSurfaces, type SurfaceRun } from './render/surfaces.js';
import { toVtkImage } from './render/vtk-image.js';
import { VolumeView } from './render/volume-view.js';
import { errorMessage, showBanner } from './ui/banner.js';
import { byId } from './ui/dom.js';
import { ProgressBox } from './ui/progress.js';
import { SidePanel } from './ui/side-panel.js';

interface LoadedScan {
  volume: ScanVolume;
  image: vtkImageData;
}

interface LoadedLabels {
  volume: ViewerVolume;
  image: vtkImageData;
  /** Bounding box per label present (the surfaces start from them). */
  boxes: Map<number, LabelBox>;
  maxLabel: number;
}

export class ViewerApp {
  readonly slices: Record<ViewName, SliceView>;
  readonly view3d: VolumeView;
  private readonly panel: SidePanel;
  private readonly progress = new ProgressBox(byId('viewer-progress'), byId<HTMLProgressElement>('viewer-progress-bar'), byId('viewer-status'));
  scan: LoadedScan | undefined;
  labels: LoadedLabels | undefined;
  crosshair: Vec3 = [0, 0, 0];
  windowLevel: WindowLevel = { window: 400, level: 40 };
  preset: PresetId | undefined;
  display: LabelDisplay[] = [];
  globalOpacity = 0.5;
  private outline = false;
  private volumeRendering = false;
  private wlAtDragStart: WindowLevel = this.windowLevel;
  readonly timings: Timings = {};
  private renderQueued = { slices: false, volume: false };
  private surfaceRun: SurfaceRun | undefined;
  stats: StatsJson | undefined;

  constructor(private readonly api: Api) {
    if (!hasWebGl2()) throw new WebGl2MissingError();
    const events = {
      crosshair: (p: Vec3) => this.setCrosshair(p),
      step: (view: ViewName, delta: number) => this.step(view, delta),
      windowLevelDrag: (phase: 'start' | 'move', dx: number, dy: number) => {
        if (phase === 'start') this.wlAtDragStart = this.windowLevel;
        else if (this.scan) this.setWindowLevel(dragWindowLevel(this.wlAtDragStart, dx, dy, this.scan.volume.max - this.scan.volume.min), undefined);
      },
      cameraChanged: () => undefined,
    };
    this.slices = {
      axial: new SliceView(byId('view-axial'), 'axial', events),
      coronal: new SliceView(byId('view-coronal'), 'coronal', events),
      sagittal: new SliceView(byId('view-sagittal'), 'sagittal', events),
    };
    this.view3d = new VolumeView(byId('view-3d'));
    this.panel = new SidePanel({
      preset: (id) => this.applyPreset(id),
      globalOpacity: (o) => {
        this.globalOpacity = o;
        this.updateLabelDisplay();
      },
      outline: (on) => {
        this.outline = on;
        for (const v of SLICE_VIEWS) this.slices[v].setOutline(on);
        this.queueRender('slices');
      },
      volumeRendering: (on) => {
        this.volumeRendering = on;
        this.view3d.setVolumeRendering(on, this.scan?.image, { ct: this.isCt(), windowLevel: this.windowLevel });
        this.queueRender('volume');
      },
      labelVisible: (value, visible) => this.editLabel(value, { visible }),
      labelColor: (value, color: Rgb) => this.editLabel(value, { color }),
      labelOpacity: (value, opacity) => this.editLabel(value, { opacity }),
      allVisible: (visible) => {
        this.display = this.display.map((d) => ({ ...d, visible }));
        this.panel.updateDisplay(this.display);
        this.updateLabelDisplay();
      },
      centre: (p) => this.centreOn(p),
    });
  }

  /** Opens a job: follows it while it runs, then loads and shows its scan, labels, statistics and surfaces. */
  async open(jobId: string): Promise<void> {
    const openedAt = performance.now();
    document.body.dataset.image = 'loading';
    let job: JobJson = await this.api.job(jobId);
    byId('job-title').textContent = `${job.model} · ${job.id}`;
    if (job.status === 'queued' || job.status === 'running') {
      this.progress.dispatch({ type: 'job', job });
      job = await this.api.followJob(job.id, (j) => this.progress.dispatch({ type: 'job', job: j }));
    }
    this.progress.dispatch({ type: 'job', job });
    if (job.status !== 'succeeded') {
      document.body.dataset.error = job.status;
      return;
    }
    this.progress.dispatch({ type: 'reset' });

    const status = byId('load-status');
    const received = { scan: 0, labels: 0 };
    const totals: { scan?: number | undefined; labels?: number | undefined } = {};
    const showProgress = () => {
      const part = (k: 'scan' | 'labels') => `${k} ${formatBytes(received[k])}${totals[k] ? ` of ${formatBytes(totals[k]!)}` : ''}`;
      status.textContent = `Loading ${part('scan')}, ${part('labels')}…`;
    };
    const models = this.api.models().catch((e: unknown) => {
      showBanner('error', `Could not read the model list (label names and colours): ${errorMessage(e)}`);
      return [] as ModelJson[];
    });
    const stats = this.api.stats(job.id).catch((e: unknown) => {
      showBanner('error', `Could not read the statistics (volumes, lesions): ${errorMessage(e)}`);
      return undefined;
    });
    const scanFile = loadNifti(this.api, `/api/studies/${encodeURIComponent(job.study)}/image.nii.gz`, 'the scan', (r, t) => {
      received.scan = r;
      totals.scan = t;
      showProgress();
    });
    const labelFile = loadNifti(this.api, `/api/jobs/${encodeURIComponent(job.id)}/results/labels.nii.gz`, 'the label map', (r, t) => {
      received.labels = r;
      totals.labels = t;
      showProgress();
    });

    const scan = await scanFile;
    this.timings.scanDownloadMs = Math.round(scan.ms);
    this.timings.scanBytes = scan.bytes;
    this.showScan(scan.volume);
    this.renderNow();
    this.timings.firstImageMs = Math.round(performance.now() - openedAt);
    this.timings.firstImageSinceNavigationMs = Math.round(performance.now());
    performance.mark('medseg:first-image');
    document.body.dataset.image = 'ready';

    const labels = await labelFile;
    this.timings.labelsDownloadMs = Math.round(labels.ms);
    this.timings.labelsBytes = labels.bytes;
    const model = (await models).find((m) => m.name === job.model);
    this.stats = await stats;
    this.showLabels(labels.volume, model);
    this.renderNow();
    this.timings.labelsMs = Math.round(performance.now() - openedAt);
    performance.mark('medseg:labels');
    document.body.dataset.labels = 'ready';
    status.textContent = '';
    this.updateLoadInfo();

    document.body.dataset.surfaces = 'building';
    this.surfaceRun = buildSurfaces(this.labels!.volume, this.labels!.boxes, (reply) => {
      this.view3d.setSurface(reply, this.display.find((d) => d.value === reply.value));
      this.queueRender('volume');
    });
    const result = await this.surfaceRun.done;
    this.timings.surfacesMs = Math.round(performance.now() - openedAt);
    performance.mark('medseg:surfaces');
    if (result.failures.length) showBanner('error', `Some 3D surfaces could not be built: ${result.failures.map((f) => `label ${f.value}: ${f.error}`).join('; ')}`);
    document.body.dataset.surfaces = result.failures.length ? 'failed' : 'ready';
    this.updateLoadInfo();
  }

  private showScan(loaded: ViewerVolume): void {
    const volume = withRange(loaded);
    const image = toVtkImage(volume, 'scan', volume);
    this.scan = { volume, image };
    this.crosshair = gridCenter(volume);
    for (const v of SLICE_VIEWS) this.slices[v].setScan(image, volume, this.crosshair);
    this.view3d.setGrid(volume);
    this.applyPreset(initialPreset(volume.min, volume.max, volume.integral));
    this.updateReadout();
  }

  private showLabels(volume: ViewerVolume, model: ModelJson | undefined): void {
    const scan = this.scan!.volume;
    // Half the smallest voxel: the server writes labels on the scan's grid, so anything more is a different grid.
    if (!sameGrid(volume, scan, Math.min(...scan.spacing) / 2)) {
      throw new Error(`the label map (${volume.dims.join('×')}, origin ${volume.origin.map((c) => c.toFixed(1)).join(', ')}) is not on the scan's grid (${scan.dims.join('×')}, origin ${scan.origin.map((c) => c.toFixed(1)).join(', ')}); it cannot be overlaid`);
    }
    // Same grid: draw the labels with the scan's geometry, so float32 rounding in the two headers cannot shift them apart.
    const onScanGrid: ViewerVolume = { ...volume, spacing: scan.spacing, origin: scan.origin, direction: scan.direction };
    // One pass finds the labels present and their boxes (for the 3D surfaces); the largest value sets the tables.
    const boxes = runNow(labelBoxes(volume.data, volume.dims));
    const maxLabel = Math.max(0, ...boxes.keys());
    const image = toVtkImage(onScanGrid, 'labels', { min: 0, max: maxLabel });
    this.labels = { volume: onScanGrid, image, boxes, maxLabel };
    this.display = initialLabelDisplay(model?.labels ?? [], boxes.keys());
    const points = labelTransferPoints(this.display, this.globalOpacity, maxLabel);
    for (const v of SLICE_VIEWS) this.slices[v].setLabels(image, points, this.outline);
    this.panel.setStructures(this.display, this.stats);
    const nameOf = (label: number) => this.display.find((d) => d.value === label)?.name ?? `label ${label}`;
    this.panel.setLesions(this.stats?.lesions ?? [], nameOf);
    this.updateReadout();
  }

  private editLabel(value: number, change: Partial<Pick<LabelDisplay, 'visible' | 'color' | 'opacity'>>): void {
    this.display = this.display.map((d) => (d.value === value ? { ...d, ...change } : d));
    this.updateLabelDisplay();
  }

  private updateLabelDisplay(): void {
    if (!this.labels) return;
    const points = labelTransferPoints(this.display, this.globalOpacity, this.labels.maxLabel);
    for (const v of SLICE_VIEWS) this.slices[v].setLabelTransfer(points);
    this.view3d.setLabelDisplay(this.display);
    this.queueRender('slices');
    this.queueRender('volume');
  }

  private isCt(): boolean {
    const v = this.scan?.volume;
    return !!v && looksLikeCt(v.min, v.max, v.integral);
  }

  applyPreset(id: PresetId): void {
    const v = this.scan?.volume;
    if (!v) return;
    const fixed = PRESETS.find((p) => p.id === id)?.value;
    this.setWindowLevel(fixed ?? autoWindow(v.data, v.min, v.max), id);
  }

  private setWindowLevel(wl: WindowLevel, preset: PresetId | undefined): void {
    this.windowLevel = wl;
    this.preset = preset;
    for (const v of SLICE_VIEWS) this.slices[v].setWindowLevel(wl);
    this.panel.setWindowLevel(preset, wl);
    this.queueRender('slices');
  }

  setCrosshair(p: Vec3): void {
    this.crosshair = p;
    for (const v of SLICE_VIEWS) this.slices[v].setCrosshair(p);
    this.updateReadout();
    this.queueRender('slices');
  }

  /** Moves the crosshair to `p` and pans every slice view to put it in the middle. */
  centreOn(p: Vec3): void {
    this.setCrosshair(p);
    for (const v of SLICE_VIEWS) this.slices[v].centreOn(p);
    this.queueRender('slices');
  }

  private step(view: ViewName, delta: number): void {
    const s = this.slices[view].state();
    if (!s || !this.scan) return;
    const index = Math.min(s.sliceCount - 1, Math.max(0, s.sliceIndex + delta));
    this.setCrosshair(pointOnSlice(this.scan.volume, s.sliceAxis, index, this.crosshair));
  }

  /** The crosshair's position, voxel, scan value and label. */
  private updateReadout(): void {
    const scan = this.scan?.volume;
    if (!scan) return;
    const ijk = nearestVoxel(scan, this.crosshair);
    const n = ijk[0] + ijk[1] * scan.dims[0] + ijk[2] * scan.dims[0] * scan.dims[1];
    const value = scan.data[n]!;
    const label = this.labels?.volume.data[n] ?? 0;
    const name = label ? (this.display.find((d) => d.value === label)?.name ?? `label ${label}`) : 'background';
    const p = indexToLps(scan, ijk);
    byId('crosshair-readout').textContent = `LPS ${p.map((c) => c.toFixed(1)).join(', ')} mm · voxel ${ijk.join(', ')} · ${Number.isInteger(value) ? value : value.toFixed(2)}${this.isCt() ? ' HU' : ''} · ${name}`;
  }

  private updateLoadInfo(): void {
    const t = this.timings;
    const memory = (performance as Performance & { memory?: { usedJSHeapSize: number } }).memory;
    const lines = [
      `scan ${this.scan?.volume.dims.join('×')} (${formatBytes(t.scanBytes ?? 0)} download, ${t.scanDownloadMs} ms)`,
      `first image after ${t.firstImageMs} ms`,
      ...(t.labelsMs !== undefined ? [`labels shown after ${t.labelsMs} ms (${formatBytes(t.labelsBytes ?? 0)})`] : []),
      ...(t.surfacesMs !== undefined ? [`${this.view3d.surfaceCount} surfaces after ${t.surfacesMs} ms`] : []),
      ...(memory ? [`JavaScript heap ${formatBytes(memory.usedJSHeapSize)}`] : []),
    ];
    this.panel.setLoadInfo(lines);
  }

  private queueRender(what: 'slices' | 'volume'): void {
    const first = !this.renderQueued.slices && !this.renderQueued.volume;
    this.renderQueued[what] = true;
    if (!first) return;
    requestAnimationFrame(() => {
      const q = this.renderQueued;
      this.renderQueued = { slices: false, volume: false };
      if (q.slices) for (const v of SLICE_VIEWS) this.slices[v].render();
      if (q.volume) this.view3d.render();
    });
  }

  /** Renders every view at once (first image: not deferred to the next frame). */
  private renderNow(): void {
    for (const v of SLICE_VIEWS) this.slices[v].render();
    this.view3d.render();
  }

  /** The grid of the scan, for the automation hook. */
  get grid(): Grid | undefined {
    return this.scan?.volume;
  }

  /** Stops the surface worker and releases every view's WebGL context. */
  dispose(): void {
    this.surfaceRun?.cancel();
    for (const v of SLICE_VIEWS) this.slices[v].dispose();
    this.view3d.dispose();
  }
}

/** Shows an error from opening a job (the job's own failure is shown by the progress box). */
export function reportOpenError(e: unknown): void {
  document.body.dataset.error = e instanceof WebGl2MissingError ? 'webgl2' : e instanceof ApiError ? e.code : 'error';
  showBanner('error', errorMessage(e));
}
