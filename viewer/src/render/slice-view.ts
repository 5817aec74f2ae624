/**
 * One orthogonal slice view (axial, coronal or sagittal): the scan's slice with the label map over it, a
 * parallel camera set from geometry.ts (radiological convention), the crosshair drawn as SVG, patient-direction
 * letters at the edges, and pointer/wheel/keyboard handling. World space: LPS, mm.
 *
 * Pointer handling is written here rather than with a vtk.js interactor style: the styles act on one renderer's
 * camera, whereas here a click moves the crosshair shared by all views, and the camera math (pan, zoom about the
 * pointer) is in geometry.ts where it is unit-tested.
 */
import vtkImageMapper from '@kitware/vtk.js/Rendering/Core/ImageMapper';
import vtkImageSlice from '@kitware/vtk.js/Rendering/Core/ImageSlice';
import vtkColorTransferFunction from '@kitware/vtk.js/Rendering/Core/ColorTransferFunction';
import vtkPiecewiseFunction from '@kitware/vtk.js/Common/DataModel/PiecewiseFunction';
import type vtkImageData from '@kitware/vtk.js/Common/DataModel/ImageData';
import {
  add,
  dot,
  edgeLetters,
  fitParallelScale,
  gridCenter,
  lpsToViewPixel,
  panFocalPoint,
  pointOnSlice,
  scale,
  sliceIndexAt,
  sub,
  viewCamera,
  viewPixelToLps,
  zoomAbout,
  type Grid,
  type Vec3,
  type ViewCamera,
  type ViewName,
  type ViewState,
} from '../core/geometry.js';
import type { TransferPoints } from '../core/labels.js';
import type { WindowLevel } from '../core/window-level.js';
import { Scene } from './scene.js';

/** Crosshair line colours: each view's plane has the colour of that view's name tag (3D Slicer's red/green/yellow). */
export const VIEW_COLORS: Readonly<Record<ViewName, string>> = { axial: '#e05a5a', coronal: '#5cb85c', sagittal: '#e0c04a' };

export interface SliceViewEvents {
  /** The user pointed at an LPS position (click or drag with the primary button). */
  crosshair(p: Vec3): void;
  /** Wheel or keys: move through slices. */
  step(view: ViewName, delta: number): void;
  /** Ctrl/Alt + drag: window/level change by (dx, dy) pixels since the drag started. */
  windowLevelDrag(phase: 'start' | 'move', dx: number, dy: number): void;
  /** The camera moved (pan, zoom, reset). */
  cameraChanged(view: ViewName): void;
}

type Drag = { kind: 'crosshair' | 'pan' | 'zoom' | 'window'; x0: number; y0: number; x: number; y: number };

const SVG_NS = 'http://www.w3.org/2000/svg';

export class SliceView {
  readonly scene: Scene;
  private readonly scanMapper = vtkImageMapper.newInstance();
  private readonly scanSlice = vtkImageSlice.newInstance();
  private readonly labelMapper = vtkImageMapper.newInstance();
  private readonly labelSlice = vtkImageSlice.newInstance();
  private readonly labelColors = vtkColorTransferFunction.newInstance();
  private readonly labelOpacities = vtkPiecewiseFunction.newInstance();
  private readonly svg: SVGSVGElement;
  private readonly info: HTMLElement;
  private grid: Grid | undefined;
  private camera: ViewCamera | undefined;
  private focalPoint: Vec3 = [0, 0, 0];
  private parallelScale = 100;
  private sliceIndex = 0;
  private crosshairLps: Vec3 = [0, 0, 0];
  private otherNormals: { view: ViewName; normal: Vec3 }[] = [];
  private drag: Drag | undefined;

  constructor(
    readonly root: HTMLElement,
    readonly view: ViewName,
    private readonly events: SliceViewEvents,
  ) {
    const host = root.querySelector<HTMLElement>('.view-canvas')!;
    this.svg = root.querySelector<SVGSVGElement>('svg.crosshair')!;
    this.info = root.querySelector<HTMLElement>('.view-info')!;
    this.scene = new Scene(host, [0, 0, 0], () => {
      this.drawOverlay();
      this.render();
    });
    this.scanSlice.setMapper(this.scanMapper);
    this.labelSlice.setMapper(this.labelMapper);
    this.scanSlice.getProperty().setInterpolationTypeToLinear();
    const lp = this.labelSlice.getProperty();
    lp.setInterpolationTypeToNearest();
    lp.setRGBTransferFunction(0, this.labelColors);
    lp.setScalarOpacity(0, this.labelOpacities);
    lp.setUseLookupTableScalarRange(true);
    // The label slice lies in the scan slice's plane; polygon offset draws it in front instead of z-fighting.
    this.labelMapper.setResolveCoincidentTopologyToPolygonOffset();
    this.labelMapper.setRelativeCoincidentTopologyPolygonOffsetParameters(-2, -2);
    this.bindEvents(root);
  }

  /** Shows a scan: the camera axes follow its grid (see viewCamera), fitted and centred. */
  setScan(image: vtkImageData, grid: Grid, crosshair: Vec3): void {
    this.grid = grid;
    this.camera = viewCamera(grid.direction, this.view);
    this.otherNormals = (['axial', 'coronal', 'sagittal'] as ViewName[]).filter((v) => v !== this.view).map((v) => ({ view: v, normal: viewCamera(grid.direction, v).directionOfProjection }));
    this.scanMapper.setInputData(image);
    this.scanMapper.setSlicingMode(this.camera.sliceAxis);
    this.scene.renderer.addViewProp(this.scanSlice);
    const letters = edgeLetters(this.camera);
    for (const [edge, text] of Object.entries(letters)) {
      const el = this.root.querySelector<HTMLElement>(`.edge-${edge}`);
      if (el) el.textContent = text;
    }
    this.resetCamera();
    this.setCrosshair(crosshair);
  }

  setLabels(image: vtkImageData, points: TransferPoints, outline: boolean): void {
    this.labelMapper.setInputData(image);
    this.labelMapper.setSlicingMode(this.camera!.sliceAxis);
    this.labelMapper.setSlice(this.sliceIndex);
    this.setLabelTransfer(points);
    this.setOutline(outline);
    this.scene.renderer.addViewProp(this.labelSlice);
  }

  setLabelTransfer(points: TransferPoints): void {
    this.labelColors.removeAllPoints();
    for (const [x, r, g, b] of points.colors) this.labelColors.addRGBPoint(x, r, g, b);
    this.labelOpacities.removeAllPoints();
    for (const [x, a] of points.opacities) this.labelOpacities.addPoint(x, a);
    this.labelSlice.getProperty().modified();
  }

  setOutline(outline: boolean): void {
    const p = this.labelSlice.getProperty();
    p.setUseLabelOutline(outline);
    p.setLabelOutlineThickness(2);
    p.setLabelOutlineOpacity(1);
  }

  setWindowLevel(wl: WindowLevel): void {
    const p = this.scanSlice.getProperty();
    p.setColorWindow(wl.window);
    p.setColorLevel(wl.level);
  }

  /** Moves the crosshair: this view shows the slice through it. */
  setCrosshair(p: Vec3): void {
    if (!this.grid || !this.camera) return;
    this.crosshairLps = p;
    this.sliceIndex = sliceIndexAt(this.grid, this.camera.sliceAxis, p);
    this.scanMapper.setSlice(this.sliceIndex);
    if (this.labelMapper.getInputData()) this.labelMapper.setSlice(this.sliceIndex);
    this.drawOverlay();
  }

  /** Pans so that `p` is at the centre of the view (zoom unchanged). */
  centreOn(p: Vec3): void {
    this.focalPoint = p;
    this.applyCamera();
  }

  /** Fits the whole scan and centres it. */
  resetCamera(): void {
    if (!this.grid || !this.camera) return;
    this.focalPoint = gridCenter(this.grid);
    this.parallelScale = fitParallelScale(this.grid, this.camera, this.scene.width / this.scene.height);
    this.applyCamera();
  }

  /** The camera, slice and size: what the automation hook reports and the tests check pixels against. */
  state(): (ViewState & { width: number; height: number; sliceIndex: number; sliceCount: number }) | undefined {
    if (!this.grid || !this.camera) return undefined;
    return { ...this.camera, focalPoint: this.focalPoint, parallelScale: this.parallelScale, width: this.scene.width, height: this.scene.height, sliceIndex: this.sliceIndex, sliceCount: this.grid.dims[this.camera.sliceAxis] };
  }

  render(): void {
    if (!this.grid) return;
    this.scene.renderer.resetCameraClippingRange();
    this.scene.render();
  }

  private applyCamera(): void {
    if (!this.camera) return;
    const cam = this.scene.renderer.getActiveCamera();
    const c = this.camera;
    cam.setParallelProjection(true);
    // In parallel projection the distance only matters for clipping, which is reset from the props' bounds.
    const position = sub(this.focalPoint, scale(c.directionOfProjection, 1000));
    cam.setFocalPoint(this.focalPoint[0], this.focalPoint[1], this.focalPoint[2]);
    cam.setPosition(position[0], position[1], position[2]);
    cam.setViewUp(c.up[0], c.up[1], c.up[2]);
    cam.setParallelScale(this.parallelScale);
    this.drawOverlay();
    this.events.cameraChanged(this.view);
  }

  private viewState(): ViewState {
    return { ...this.camera!, focalPoint: this.focalPoint, parallelScale: this.parallelScale };
  }

  /** Crosshair lines (with a gap around the point, so it stays visible) and the slice/zoom info line. */
  private drawOverlay(): void {
    if (!this.grid || !this.camera) return;
    const { width, height } = this.scene;
    this.svg.setAttribute('viewBox', `0 0 ${width} ${height}`);
    const [cx, cy] = lpsToViewPixel(this.viewState(), this.crosshairLps, width, height);
    const lines: SVGLineElement[] = [];
    const gap = 10;
    const far = width + height;
    for (const { view, normal } of this.otherNormals) {
      // The other view's plane crosses this one along the screen direction perpendicular to its projected normal.
      const nx = dot(normal, this.camera.right);
      const ny = -dot(normal, this.camera.up);
      const len = Math.hypot(nx, ny);
      if (len < 1e-6) continue;
      const dx = -ny / len;
      const dy = nx / len;
      for (const sign of [-1, 1]) {
        const line = document.createElementNS(SVG_NS, 'line');
        line.setAttribute('x1', String(cx + sign * dx * gap));
        line.setAttribute('y1', String(cy + sign * dy * gap));
        line.setAttribute('x2', String(cx + sign * dx * far));
        line.setAttribute('y2', String(cy + sign * dy * far));
        line.setAttribute('stroke', VIEW_COLORS[view]);
        line.setAttribute('data-plane', view);
        lines.push(line);
      }
    }
    this.svg.replaceChildren(...lines);
    const mmPerPx = (2 * this.parallelScale) / height;
    this.info.textContent = `${this.sliceIndex + 1} / ${this.grid.dims[this.camera.sliceAxis]}  ·  ${(1 / mmPerPx).toFixed(2)} px/mm`;
  }

  private bindEvents(root: HTMLElement): void {
    const local = (e: MouseEvent): [number, number] => {
      const r = this.scene.host.getBoundingClientRect();
      return [e.clientX - r.left, e.clientY - r.top];
    };
    root.addEventListener('contextmenu', (e) => e.preventDefault());
    root.addEventListener('pointerdown', (e) => {
      if (!this.grid) return;
      const [x, y] = local(e);
      const kind: Drag['kind'] = e.button === 1 || (e.button === 0 && e.shiftKey) ? 'pan' : e.button === 2 ? 'zoom' : e.button === 0 && (e.ctrlKey || e.altKey || e.metaKey) ? 'window' : 'crosshair';
      this.drag = { kind, x0: x, y0: y, x, y };
      root.setPointerCapture(e.pointerId);
      root.focus({ preventScroll: true });
      if (kind === 'crosshair') this.pointAt(x, y);
      if (kind === 'window') this.events.windowLevelDrag('start', 0, 0);
      e.preventDefault();
    });
    root.addEventListener('pointermove', (e) => {
      const d = this.drag;
      if (!d) return;
      const [x, y] = local(e);
      const { width, height } = this.scene;
      if (d.kind === 'crosshair') this.pointAt(x, y);
      else if (d.kind === 'pan') {
        this.focalPoint = panFocalPoint(this.viewState(), x - d.x, y - d.y, height);
        this.applyCamera();
        this.render();
      } else if (d.kind === 'zoom') {
        const z = zoomAbout(this.viewState(), Math.exp((d.y - y) / 150), d.x0, d.y0, width, height, this.scaleLimits());
        this.focalPoint = z.focalPoint;
        this.parallelScale = z.parallelScale;
        this.applyCamera();
        this.render();
      } else this.events.windowLevelDrag('move', x - d.x0, y - d.y0);
      d.x = x;
      d.y = y;
    });
    const end = (e: PointerEvent) => {
      if (!this.drag) return;
      this.drag = undefined;
      if (root.hasPointerCapture(e.pointerId)) root.releasePointerCapture(e.pointerId);
    };
    root.addEventListener('pointerup', end);
    root.addEventListener('pointercancel', end);
    root.addEventListener(
      'wheel',
      (e) => {
        if (!this.grid) return;
        e.preventDefault();
        if (e.ctrlKey || e.metaKey) {
          const [x, y] = local(e);
          const z = zoomAbout(this.viewState(), Math.exp(-e.deltaY / 500), x, y, this.scene.width, this.scene.height, this.scaleLimits());
          this.focalPoint = z.focalPoint;
          this.parallelScale = z.parallelScale;
          this.applyCamera();
          this.render();
        } else if (e.deltaY !== 0) this.events.step(this.view, e.deltaY > 0 ? 1 : -1);
      },
      { passive: false },
    );
    root.addEventListener('dblclick', () => {
      this.resetCamera();
      this.render();
    });
    root.addEventListener('keydown', (e) => {
      const steps: Record<string, number> = { ArrowUp: 1, ArrowDown: -1, PageUp: 10, PageDown: -10 };
      const delta = steps[e.key];
      if (delta === undefined) return;
      e.preventDefault();
      this.events.step(this.view, delta);
    });
  }

  /** Moves the crosshair to the LPS point under (x, y), on the slice this view shows. */
  private pointAt(x: number, y: number): void {
    const p = viewPixelToLps(this.viewState(), x, y, this.scene.width, this.scene.height);
    this.events.crosshair(pointOnSlice(this.grid!, this.camera!.sliceAxis, this.sliceIndex, p));
  }

  private scaleLimits(): { minScale: number; maxScale: number } {
    const fit = fitParallelScale(this.grid!, this.camera!, this.scene.width / this.scene.height);
    return { minScale: Math.min(...this.grid!.spacing) * 4, maxScale: fit * 4 };
  }

  /** The LPS point of the slice plane under a view pixel (for tests and the automation hook). */
  pixelToLps(x: number, y: number): Vec3 {
    return pointOnSlice(this.grid!, this.camera!.sliceAxis, this.sliceIndex, viewPixelToLps(this.viewState(), x, y, this.scene.width, this.scene.height));
  }

  /** Moves the focal point along the view plane by an LPS offset (used to keep views centred together). */
  translate(offset: Vec3): void {
    this.focalPoint = add(this.focalPoint, offset);
    this.applyCamera();
  }

  dispose(): void {
    this.scene.dispose();
  }
}
