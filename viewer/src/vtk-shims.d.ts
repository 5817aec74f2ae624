// vtk.js ships no type declarations for its image marching cubes filter; this declares the part the viewer uses.
declare module '@kitware/vtk.js/Filters/General/ImageMarchingCubes' {
  import type vtkImageData from '@kitware/vtk.js/Common/DataModel/ImageData';
  import type vtkPolyData from '@kitware/vtk.js/Common/DataModel/PolyData';
  export interface vtkImageMarchingCubes {
    setContourValue(value: number): boolean;
    setComputeNormals(on: boolean): boolean;
    setMergePoints(on: boolean): boolean;
    setInputData(image: vtkImageData): void;
    getOutputData(): vtkPolyData;
    delete(): void;
  }
  const factory: { newInstance(initial?: { contourValue?: number; computeNormals?: boolean; mergePoints?: boolean }): vtkImageMarchingCubes };
  export default factory;
}
