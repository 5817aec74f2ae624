/** DICOM Segmentation (SEG): writer (label map / probabilities → Segmentation Storage) and reader. See ../README.md. */
export { encodeSeg, writeSeg, randomUid, MAX_FRACTIONAL_VALUE } from './write-seg.js';
export type { EncodedSeg, SegLabel, SegSegmentSummary, WriteSegCommonOptions, WriteSegOptions } from './write-seg.js';
export { readSeg } from './read-seg.js';
export type { ReadSegOptions, ReadSegResult, SegFrame, SegSegment } from './read-seg.js';
export { srgbToDicomLab, dicomLabToSrgb, srgbToLab } from './colour.js';
export type { DicomLab, Rgb8 } from './colour.js';
export { SEGMENTATION_STORAGE } from './constants.js';
export type { CodedConcept } from './constants.js';
