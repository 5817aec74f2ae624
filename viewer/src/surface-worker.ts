/**
 * Web worker: marching cubes (vtk.js vtkImageMarchingCubes) on one label's occupancy grid, lightly blurred first
 * (smoothGrid), off the page's main thread, so the slice views stay responsive while the 3D surfaces of a large label
 * map are extracted.
 */
import vtkDataArray from '@kitware/vtk.js/Common/Core/DataArray';
import vtkImageData from '@kitware/vtk.js/Common/DataModel/ImageData';
import vtkImageMarchingCubes from '@kitware/vtk.js/Filters/General/ImageMarchingCubes';
import { smoothGrid } from './core/surface-prep.js';
import type { SurfaceFailure, SurfaceReply, SurfaceRequest } from './render/surface-protocol.js';

interface WorkerScope {
  onmessage: ((e: MessageEvent<SurfaceRequest>) => void) | null;
  postMessage(message: SurfaceReply | SurfaceFailure, transfer?: Transferable[]): void;
}
const scope = self as unknown as WorkerScope;

// vtk.js's marching cubes times itself with console.time; keep the worker's console for real problems.
console.time = () => undefined;
console.timeEnd = () => undefined;

scope.onmessage = (e) => {
  const req = e.data;
  const t0 = performance.now();
  try {
    const image = vtkImageData.newInstance();
    image.setDimensions(req.dims[0], req.dims[1], req.dims[2]);
    image.setOrigin([...req.origin]);
    image.setSpacing([...req.spacing]);
    image.getPointData().setScalars(vtkDataArray.newInstance({ numberOfComponents: 1, values: smoothGrid(req.counts, req.dims) }));
    const mc = vtkImageMarchingCubes.newInstance({ contourValue: req.isoValue, computeNormals: true, mergePoints: true });
    mc.setInputData(image);
    const poly = mc.getOutputData();
    const points = poly.getPoints().getData() as Float32Array;
    const polys = poly.getPolys().getData() as Uint32Array;
    const normals = (poly.getPointData().getNormals()?.getData() ?? new Float32Array(0)) as Float32Array;
    const reply: SurfaceReply = { value: req.value, points, polys, normals, ms: performance.now() - t0 };
    scope.postMessage(reply, [points.buffer, polys.buffer, normals.buffer]);
  } catch (err) {
    scope.postMessage({ value: req.value, error: err instanceof Error ? err.message : String(err) });
  }
};
