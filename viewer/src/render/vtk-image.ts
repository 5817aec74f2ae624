/**
 * The one conversion from the viewer's volumes to vtk.js (as vtk.js's ITKHelper does for itk-wasm images): the
 * voxel buffer is shared, not copied, and the LPS geometry goes in as is (vtkImageData's direction has the same
 * layout as medseg's: the i, j, k axis vectors one after the other).
 */
import vtkDataArray from '@kitware/vtk.js/Common/Core/DataArray';
import vtkImageData from '@kitware/vtk.js/Common/DataModel/ImageData';
import type { ViewerVolume } from '../core/nifti.js';

/**
 * @param range the values' minimum and maximum when known: vtk.js would otherwise scan every voxel for them (a
 * 512×512×300 volume costs about 0.3 s) the first time a mapper asks.
 */
export function toVtkImage(volume: Pick<ViewerVolume, 'data' | 'dims' | 'spacing' | 'origin' | 'direction'>, name: string, range?: { min: number; max: number }): vtkImageData {
  const image = vtkImageData.newInstance();
  image.setDimensions(volume.dims[0], volume.dims[1], volume.dims[2]);
  image.setSpacing([...volume.spacing]);
  image.setOrigin([...volume.origin]);
  image.setDirection([...volume.direction]);
  const scalars = vtkDataArray.newInstance({ name, numberOfComponents: 1, values: volume.data });
  if (range) scalars.setRange(range, 0);
  image.getPointData().setScalars(scalars);
  return image;
}
