/**
 * The 3D view: one surface per label (extracted in the surface worker), optional volume rendering of the scan,
 * and vtk.js's trackball camera (rotate: left drag, pan: middle or shift+left, zoom: right drag or wheel).
 * World space: LPS, mm. It opens seen from the front (anterior), superior up, patient right on screen left.
 */
import '@kitware/vtk.js/Rendering/OpenGL/Profiles/Volume';
import vtkActor from '@kitware/vtk.js/Rendering/Core/Actor';
import vtkMapper from '@kitware/vtk.js/Rendering/Core/Mapper';
import vtkVolume from '@kitware/vtk.js/Rendering/Core/Volume';
import vtkVolumeMapper from '@kitware/vtk.js/Rendering/Core/VolumeMapper';
import vtkColorTransferFunction from '@kitware/vtk.js/Rendering/Core/ColorTransferFunction';
import vtkPiecewiseFunction from '@kitware/vtk.js/Common/DataModel/PiecewiseFunction';
import vtkPolyData from '@kitware/vtk.js/Common/DataModel/PolyData';
import vtkDataArray from '@kitware/vtk.js/Common/Core/DataArray';
import vtkRenderWindowInteractor from '@kitware/vtk.js/Rendering/Core/RenderWindowInteractor';
import vtkInteractorStyleTrackballCamera from '@kitware/vtk.js/Interaction/Style/InteractorStyleTrackballCamera';
import type vtkImageData from '@kitware/vtk.js/Common/DataModel/ImageData';
import { gridCenter, indexToLps, norm, scaledIndexToLpsMatrix, sub, type Grid } from '../core/geometry.js';
import type { LabelDisplay } from '../core/labels.js';
import type { WindowLevel } from '../core/window-level.js';
import { Scene } from './scene.js';
import type { SurfaceReply } from './surface-protocol.js';

export class VolumeView {
  readonly scene: Scene;
  private readonly interactor = vtkRenderWindowInteractor.newInstance();
  private readonly surfaces = new Map<number, vtkActor>();
  private volume: vtkVolume | undefined;
  private grid: Grid | undefined;

  constructor(readonly root: HTMLElement) {
    const host = root.querySelector<HTMLElement>('.view-canvas')!;
    this.scene = new Scene(host, [0.08, 0.09, 0.11], () => this.render());
    this.interactor.setView(this.scene.glWindow);
    this.interactor.initialize();
    this.interactor.bindEvents(host);
    this.interactor.setInteractorStyle(vtkInteractorStyleTrackballCamera.newInstance());
    root.addEventListener('dblclick', () => {
      this.resetCamera();
      this.render();
    });
  }

  /** Frames the scan's extent, seen from the front. */
  setGrid(grid: Grid): void {
    this.grid = grid;
    this.resetCamera();
  }

  resetCamera(): void {
    if (!this.grid) return;
    const c = gridCenter(this.grid);
    const corner = indexToLps(this.grid, [this.grid.dims[0] - 1, this.grid.dims[1] - 1, this.grid.dims[2] - 1]);
    const radius = norm(sub(corner, indexToLps(this.grid, [0, 0, 0]))) / 2;
    const cam = this.scene.renderer.getActiveCamera();
    cam.setParallelProjection(false);
    cam.setFocalPoint(c[0], c[1], c[2]);
    // Anterior is −y in LPS: the camera stands in front of the patient and looks towards posterior (+y).
    cam.setPosition(c[0], c[1] - radius * 3.2, c[2]);
    cam.setViewUp(0, 0, 1);
    this.scene.renderer.resetCameraClippingRange();
  }

  /** Adds (or replaces) one label's surface. Points arrive in scaled index space; the actor matrix maps them to LPS. */
  setSurface(reply: SurfaceReply, display: LabelDisplay | undefined): void {
    this.removeSurface(reply.value);
    if (reply.points.length === 0 || !this.grid) return;
    const poly = vtkPolyData.newInstance();
    poly.getPoints().setData(reply.points, 3);
    poly.getPolys().setData(reply.polys);
    if (reply.normals.length) poly.getPointData().setNormals(vtkDataArray.newInstance({ name: 'Normals', numberOfComponents: 3, values: reply.normals }));
    const mapper = vtkMapper.newInstance({ scalarVisibility: false });
    mapper.setInputData(poly);
    const actor = vtkActor.newInstance();
    actor.setMapper(mapper);
    actor.setUserMatrix(scaledIndexToLpsMatrix(this.grid) as unknown as Float32Array);
    const p = actor.getProperty();
    p.setSpecular(0.2);
    p.setSpecularPower(20);
    this.surfaces.set(reply.value, actor);
    this.scene.renderer.addActor(actor);
    if (display) this.applyDisplay(actor, display);
  }

  private removeSurface(value: number): void {
    const old = this.surfaces.get(value);
    if (!old) return;
    this.scene.renderer.removeActor(old);
    this.surfaces.delete(value);
  }

  get surfaceCount(): number {
    return this.surfaces.size;
  }

  setLabelDisplay(display: readonly LabelDisplay[]): void {
    for (const d of display) {
      const actor = this.surfaces.get(d.value);
      if (actor) this.applyDisplay(actor, d);
    }
  }

  private applyDisplay(actor: vtkActor, d: LabelDisplay): void {
    actor.setVisibility(d.visible && d.opacity > 0);
    const p = actor.getProperty();
    p.setColor(d.color[0] / 255, d.color[1] / 255, d.color[2] / 255);
    p.setOpacity(d.opacity);
  }

  /**
   * Volume rendering of the scan on or off. CT: bone and contrast-filled vessels (opacity ramps from 150 to 700 HU);
   * other scans: a ramp over the upper half of the current window.
   */
  setVolumeRendering(on: boolean, image: vtkImageData | undefined, options: { ct: boolean; windowLevel: WindowLevel }): void {
    if (!on || !image) {
      if (this.volume) this.volume.setVisibility(false);
      return;
    }
    if (!this.volume) {
      const mapper = vtkVolumeMapper.newInstance();
      mapper.setInputData(image);
      mapper.setSampleDistance(Math.min(...image.getSpacing()) * 0.7);
      const volume = vtkVolume.newInstance();
      volume.setMapper(mapper);
      const ctf = vtkColorTransferFunction.newInstance();
      const otf = vtkPiecewiseFunction.newInstance();
      const [lo, hi] = options.ct ? [150, 700] : [options.windowLevel.level, options.windowLevel.level + options.windowLevel.window / 2];
      ctf.addRGBPoint(lo, 0.75, 0.45, 0.35);
      ctf.addRGBPoint(hi, 1, 0.96, 0.88);
      otf.addPoint(lo, 0);
      otf.addPoint(hi, 0.6);
      const prop = volume.getProperty();
      prop.setRGBTransferFunction(0, ctf);
      prop.setScalarOpacity(0, otf);
      prop.setInterpolationTypeToLinear();
      prop.setShade(true);
      prop.setAmbient(0.3);
      prop.setDiffuse(0.7);
      this.volume = volume;
      this.scene.renderer.addVolume(volume);
    }
    this.volume.setVisibility(true);
  }

  render(): void {
    this.scene.renderer.resetCameraClippingRange();
    this.scene.render();
  }

  dispose(): void {
    this.interactor.unbindEvents();
    this.scene.dispose();
  }
}
