/**
 * One vtk.js render window in a DOM element: renderer, WebGL2 view and size tracking. vtk.js's
 * GenericRenderWindow does the same but also pulls in the WebGPU back end and binds a trackball interactor to
 * every view; the slice views handle their own pointer events (they share one crosshair), so this is built from the
 * core pieces.
 */
import '@kitware/vtk.js/Rendering/OpenGL/Profiles/Geometry';
import vtkOpenGLRenderWindow from '@kitware/vtk.js/Rendering/OpenGL/RenderWindow';
import vtkRenderer from '@kitware/vtk.js/Rendering/Core/Renderer';
import vtkRenderWindow from '@kitware/vtk.js/Rendering/Core/RenderWindow';

export class WebGl2MissingError extends Error {
  override name = 'WebGl2MissingError';
  constructor() {
    super('This browser cannot create a WebGL2 context, which the viewer needs (vtk.js has no WebGL1 path). Enable hardware acceleration, or use a current Chrome, Edge or Firefox.');
  }
}

/** Whether WebGL2 is available, tried on a throw-away canvas before any vtk.js view is made. */
export function hasWebGl2(): boolean {
  try {
    const gl = document.createElement('canvas').getContext('webgl2');
    // Give the context back at once: browsers keep only a few (Chrome 16) and the views need four.
    gl?.getExtension('WEBGL_lose_context')?.loseContext();
    return gl !== null;
  } catch {
    return false;
  }
}

export class Scene {
  readonly renderWindow = vtkRenderWindow.newInstance();
  readonly renderer = vtkRenderer.newInstance();
  readonly glWindow = vtkOpenGLRenderWindow.newInstance();
  /** CSS pixel size of the host element. */
  width = 1;
  height = 1;
  private readonly observer: ResizeObserver;

  constructor(
    readonly host: HTMLElement,
    background: [number, number, number],
    private readonly onResize: () => void,
  ) {
    this.renderer.setBackground(background[0], background[1], background[2]);
    this.renderWindow.addRenderer(this.renderer);
    this.renderWindow.addView(this.glWindow);
    this.glWindow.setContainer(host);
    this.measure();
    this.observer = new ResizeObserver(() => {
      this.measure();
      this.onResize();
    });
    this.observer.observe(host);
  }

  private measure(): void {
    const r = this.host.getBoundingClientRect();
    this.width = Math.max(1, r.width);
    this.height = Math.max(1, r.height);
    const dpr = window.devicePixelRatio || 1;
    this.glWindow.setSize(Math.max(1, Math.floor(this.width * dpr)), Math.max(1, Math.floor(this.height * dpr)));
  }

  render(): void {
    this.renderWindow.render();
  }

  dispose(): void {
    this.observer.disconnect();
    this.glWindow.setContainer(null);
    this.renderWindow.delete();
  }
}
