/** medseg public API. Names are listed explicitly; see README.md for the conventions (LPS, mm, i fastest). */
export { SegError, InputFileError, NonUniformSpacingError, MAX_VOXELS } from './errors.js';
export type { SegErrorCode } from './errors.js';

export {
  indexToLps,
  lpsToIndex,
  geometryToNiftiAffine,
  niftiAffineToGeometry,
  orientationCode,
  obliquityDegrees,
  voxelVolumeMm3,
  sameGrid,
} from './volume/geometry.js';
export { makeVolume } from './volume/volume.js';
export { voxelTypeOf } from './volume/voxel-types.js';
export type { Volume, LabelVolume, Geometry, Vec3, Vec3i, Mat3, VoxelArray, VoxelType } from './volume/types.js';

export { readNifti } from './io/nifti/read.js';
export type { NiftiImage, ReadNiftiOptions } from './io/nifti/read.js';
export type { NiftiHeaderInfo } from './io/nifti/header.js';
export { writeNifti } from './io/nifti/write.js';
export type { WriteNiftiOptions } from './io/nifti/write.js';

export { readDicomVolume, scanDicom, selectSeries, loadSeriesVolume } from './io/dicom/index.js';
export type { ReadDicomOptions } from './io/dicom/index.js';
export type { DicomScan, SkippedFile } from './io/dicom/scan.js';
export type { DicomSeries, SliceRef } from './io/dicom/series.js';
export type { DicomVolume, LoadSeriesOptions } from './io/dicom/load-volume.js';
export type { DicomInstance, FrameGeometry } from './io/dicom/instance.js';

export { loadScan, detectFormat } from './io/load.js';
export type { LoadedScan, LoadScanOptions } from './io/load.js';

export { loadModelCard, parseModelCard, modelCardSchema, channelLabelValues, ModelCardError } from './inference/card.js';
export type { ModelCard, ModelCardSpec, ModelCardJson } from './inference/card.js';
export { cardFromNnunet, importNnunetCard, NnunetImportError } from './inference/nnunet.js';
export type { NnunetImportOptions } from './inference/nnunet.js';
export { segmentVolume, segmentWithRunner, engineSettings } from './inference/pipeline.js';
export type { SegmentOptions, SegmentResult, SegmentProgress, SegmentStage } from './inference/pipeline.js';
export { segmentInWorker } from './inference/run-in-worker.js';
export type { WorkerSegmentOptions } from './inference/run-in-worker.js';
export { openModelSession } from './inference/session.js';
export type { ModelSession, Provider, ProviderChoice, SessionOptions } from './inference/session.js';
export { runEngine, planTiles } from './inference/engine.js';
export type { TensorRunner, EngineSettings, EngineStats, EngineProgress, PlaneConsumer, CancelToken } from './inference/engine.js';
export { windowStarts, blendingWeights, paddedIndexMap, mirrorCombinations } from './inference/tiling.js';
export { modelGrid, engineGrid } from './inference/grid.js';
export { indexMap } from './volume/index-map.js';
export type { IndexMap, GridGeometry } from './volume/index-map.js';
export { resampleScalar } from './volume/resample.js';

export { connectedComponents, keepLargestComponent } from './postprocess/components.js';
export type { Connectivity, Components } from './postprocess/components.js';
export { labelRuns, runComponents, labelBoxes } from './postprocess/runs.js';
export type { LabelRuns, RunComponents, LabelBoxes } from './postprocess/runs.js';
export { removeSmallIslands } from './postprocess/islands.js';
export type { RemoveIslandsOptions, IslandsRemoved } from './postprocess/islands.js';
export { fillHoles } from './postprocess/holes.js';
export type { FillHolesOptions, HolesFilled } from './postprocess/holes.js';

export { evaluateLabels } from './measure/evaluate.js';
export type { EvaluationResult, LabelEvaluation, EvaluateOptions } from './measure/evaluate.js';
export { labelStatistics, lesionLabelsFromMetadata, LESION_CATEGORY_CODE } from './measure/stats.js';
export type { LabelStatistics, LabelStatisticsOptions, StructureStats } from './measure/stats.js';
export { surfaceAreasMm2, surfaceAreasFromRuns, croftonDirections } from './measure/surface.js';
export type { CroftonDirections } from './measure/surface.js';
export { longestDiameter, longestSliceDiameter, axialAxis } from './measure/diameters.js';
export type { MaskBox, Diameter, AxialDiameter } from './measure/diameters.js';
export { measureLesions } from './measure/lesions.js';
export type { LesionMeasurement, LesionOrgan, LesionOptions } from './measure/lesions.js';
export { intensityStats } from './measure/intensity.js';
export type { IntensityStats, IntensityResult } from './measure/intensity.js';
export { borderSides } from './measure/border.js';
export type { BorderSide } from './measure/border.js';

export { generatePhantom, validatePhantomOptions, MAX_PHANTOM_VOXELS } from './phantom/generate.js';
export type { PhantomOptions, Phantom, PhantomTruth, LabelTruth, LesionTruth } from './phantom/generate.js';
export { writePhantom } from './phantom/write.js';
export type { WritePhantomOptions, PhantomFiles } from './phantom/write.js';
export { PHANTOM_LABELS, PHANTOM_LABEL_NAMES } from './phantom/materials.js';

export { nameBasedUid, randomUid, decimalString } from './io/dicom/encoding.js';
export { encodeSeg, writeSeg, readSeg, srgbToDicomLab, dicomLabToSrgb, SEGMENTATION_STORAGE } from './pacs/seg/index.js';
export type { EncodedSeg, SegLabel, WriteSegOptions, ReadSegOptions, ReadSegResult, SegFrame, SegSegment } from './pacs/seg/index.js';
export { writeMeasurementReport, writeMeasurementReportFile, COMPREHENSIVE_3D_SR_STORAGE } from './pacs/sr/write.js';
export { readMeasurementReport, parseMeasurementReport } from './pacs/sr/read.js';
export { srSourceFromDicomVolume, segmentStatsFromStructure } from './pacs/sr/report-input.js';
export type { MeasurementReportInput, SrSource, SrSegment, SegReference, SegmentStats } from './pacs/sr/report-input.js';
export { DicomWebClient, StowError } from './pacs/dicomweb/index.js';
export type { DicomWebClientOptions, DicomWebAuth, QidoQuery, WadoTarget, StowResult, DicomJsonDataset } from './pacs/dicomweb/index.js';
export { selectSeries as selectSeriesToSegment, orientationOf } from './pacs/select.js';
export type { SeriesCandidate, SelectionRules, SeriesSelection } from './pacs/select.js';
export { segmentStudyOnPacs, describeStudySeries, resultUids } from './pacs/segment-study.js';
export type { PacsSegmentOptions, PacsSegmentResult } from './pacs/segment-study.js';
export { watchChanges } from './pacs/watch.js';
export type { ChangeFeed, Change, WatchOptions, WatchSummary } from './pacs/watch.js';
export { OrthancFeed } from './pacs/orthanc.js';
