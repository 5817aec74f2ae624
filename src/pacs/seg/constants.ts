/** DICOM identifiers and codes used by the Segmentation (SEG) writer and reader. */
import { TAG } from '../../io/dicom/dataset.js';

/** Segmentation Storage SOP Class (PS3.4 B.5). */
export const SEGMENTATION_STORAGE = '1.2.840.10008.5.1.4.1.1.66.4';

/** A coded concept as model cards write it: coding scheme designator, code value, code meaning (PS3.3 §8.8). */
export interface CodedConcept {
  readonly scheme: string;
  readonly value: string;
  readonly meaning: string;
}

/** PurposeOfReference of a DerivationImage source (CID 7202): DCM 121322. */
export const SOURCE_IMAGE_FOR_PROCESSING: CodedConcept = { scheme: 'DCM', value: '121322', meaning: 'Source image for image processing operation' };
/** DerivationCode of a segmentation frame (CID 7203): DCM 113076. */
export const SEGMENTATION_DERIVATION: CodedConcept = { scheme: 'DCM', value: '113076', meaning: 'Segmentation' };
/** AlgorithmFamily of a neural network (CID 7162 Surface Processing Algorithm Family): DCM 123110. */
export const ARTIFICIAL_INTELLIGENCE: CodedConcept = { scheme: 'DCM', value: '123110', meaning: 'Artificial Intelligence' };
/**
 * Fallback Segmented Property Category/Type when a label has no codes (both attributes are Type 1, PS3.3
 * C.8.20.2): SCT 85756007 "Tissue", the generic concept 3D Slicer also uses. The writer says so in its notes.
 */
export const TISSUE: CodedConcept = { scheme: 'SCT', value: '85756007', meaning: 'Tissue' };

/** Tag numbers (group << 16 | element) for the AT values of the DimensionIndexSequence (PS3.3 C.7.6.17). */
export const AT = {
  SegmentIdentificationSequence: 0x0062000a,
  ReferencedSegmentNumber: 0x0062000b,
  PlanePositionSequence: 0x00209113,
  ImagePositionPatient: 0x00200032,
} as const;

/** dicom-parser tag strings of the SEG reader: src/io/dicom/dataset.ts's TAG plus the SEG module's own. */
export const SEG_TAG = {
  ...TAG,
  SourceImageSequence: 'x00082112',
  DerivationImageSequence: 'x00089124',
  DimensionIndexValues: 'x00209157',
  SegmentationType: 'x00620001',
  SegmentSequence: 'x00620002',
  SegmentedPropertyCategoryCodeSequence: 'x00620003',
  SegmentNumber: 'x00620004',
  SegmentLabel: 'x00620005',
  SegmentAlgorithmType: 'x00620008',
  SegmentIdentificationSequence: 'x0062000a',
  ReferencedSegmentNumber: 'x0062000b',
  RecommendedDisplayCIELabValue: 'x0062000d',
  MaximumFractionalValue: 'x0062000e',
  SegmentedPropertyTypeCodeSequence: 'x0062000f',
  SegmentationFractionalType: 'x00620010',
  SegmentAlgorithmName: 'x00620009',
} as const;
