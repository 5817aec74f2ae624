/**
 * The coded concepts of medseg's TID 1500 measurement report, each checked against DICOM PS3.16 (the DCMR context
 * groups and the DCM/SCT/UCUM concept tables, as generated into pydicom 2.3's `pydicom/sr/_concepts_dict.py` and
 * `_cid_dict.py`) and against their use in dcmqi and highdicom. No private or guessed codes: a statistic without a
 * standard concept (surface area, centroid, components, lesion diameters of a whole label) is not reported.
 */

/** A coded entry: (CodeValue, CodingSchemeDesignator, CodeMeaning), the same shape as a model card's codes. */
export interface Code {
  scheme: string;
  value: string;
  meaning: string;
}

const code = (scheme: string, value: string, meaning: string): Code => Object.freeze({ scheme, value, meaning });

export const SR_CODES = {
  // Document structure (TID 1500 and its sub-templates).
  /** Document title of TID 1500 (CID 7021). */
  imagingMeasurementReport: code('DCM', '126000', 'Imaging Measurement Report'),
  /** TID 1204 Language of Content Item and Descendants. */
  languageOfContent: code('DCM', '121049', 'Language of Content Item and Descendants'),
  /** RFC 5646 tag, as highdicom's (and dcmjs's port of it) default language. */
  englishUs: code('RFC5646', 'en-US', 'English (United States)'),
  /** TID 1001/1002 observer context. */
  observerType: code('DCM', '121005', 'Observer Type'),
  device: code('DCM', '121007', 'Device'),
  /** TID 1004 Device Observer Identifying Attributes. */
  deviceObserverUid: code('DCM', '121012', 'Device Observer UID'),
  deviceObserverName: code('DCM', '121013', 'Device Observer Name'),
  deviceObserverManufacturer: code('DCM', '121014', 'Device Observer Manufacturer'),
  deviceObserverModelName: code('DCM', '121015', 'Device Observer Model Name'),
  procedureReported: code('DCM', '121058', 'Procedure reported'),
  /** TID 1600 Image Library. */
  imageLibrary: code('DCM', '111028', 'Image Library'),
  imageLibraryGroup: code('DCM', '126200', 'Image Library Group'),
  imagingMeasurements: code('DCM', '126010', 'Imaging Measurements'),
  /** TID 1411 Volumetric ROI Measurements and Qualitative Evaluations. */
  measurementGroup: code('DCM', '125007', 'Measurement Group'),
  /** TID 4108 Tracking Identifier. */
  trackingIdentifier: code('DCM', '112039', 'Tracking Identifier'),
  trackingUniqueIdentifier: code('DCM', '112040', 'Tracking Unique Identifier'),
  finding: code('DCM', '121071', 'Finding'),
  findingSite: code('SCT', '363698007', 'Finding Site'),
  /** TID 4019 Algorithm Identification. */
  algorithmName: code('DCM', '111001', 'Algorithm Name'),
  algorithmVersion: code('DCM', '111003', 'Algorithm Version'),
  /** The IMAGE item naming a SEG instance and segment number (dcmqi writes the same). */
  referencedSegment: code('DCM', '121191', 'Referenced Segment'),
  sourceSeriesForSegmentation: code('DCM', '121232', 'Source series for segmentation'),
  /** TID 1419 ROI Measurements: modifiers of a NUM item. */
  measurementMethod: code('SCT', '370129005', 'Measurement Method'),
  derivation: code('DCM', '121401', 'Derivation'),

  // Measurements.
  /** CID 7472 Volume Measurements. */
  volume: code('SCT', '118565006', 'Volume'),
  /** Measurement method of a voxel-count volume (3D Slicer's Segment Statistics writes the same). */
  sumOfSegmentedVoxelVolumes: code('DCM', '126030', 'Sum of segmented voxel volumes'),
  /** CID 6141 / CID 218: the quantity of CT values; its statistic goes in the Derivation modifier (dcmqi's example). */
  attenuationCoefficient: code('DCM', '112031', 'Attenuation Coefficient'),
  /** CID 7464 General Region of Interest Measurement Modifiers. */
  mean: code('SCT', '373098007', 'Mean'),
  standardDeviation: code('SCT', '386136009', 'Standard Deviation'),
  minimum: code('SCT', '255605001', 'Minimum'),
  maximum: code('SCT', '56851009', 'Maximum'),
  median: code('SCT', '373099004', 'Median'),

  // Units (UCUM; CID 7181 / CID 7462).
  cubicCentimeter: code('UCUM', 'cm3', 'cubic centimeter'),
  hounsfieldUnit: code('UCUM', "[hnsf'U]", 'Hounsfield unit'),

  // Procedure reported (CID 100 Quantitative Diagnostic Imaging Procedures).
  imagingProcedure: code('SCT', '363679005', 'Imaging procedure'),
  ctUnspecifiedBodyRegion: code('LN', '25045-6', 'CT unspecified body region'),
  mriUnspecifiedBodyRegion: code('LN', '25056-3', 'MRI unspecified body region'),
  petUnspecifiedBodyRegion: code('LN', '44136-0', 'PET unspecified body region'),
} as const satisfies Record<string, Code>;

/** The CID 100 procedure for a source modality: "<modality> unspecified body region", or "Imaging procedure". */
export function procedureForModality(modality: string | undefined): Code {
  switch (modality?.toUpperCase()) {
    case 'CT':
      return SR_CODES.ctUnspecifiedBodyRegion;
    case 'MR':
      return SR_CODES.mriUnspecifiedBodyRegion;
    case 'PT':
      return SR_CODES.petUnspecifiedBodyRegion;
    default:
      return SR_CODES.imagingProcedure;
  }
}

/** Same concept: value and scheme equal (meanings may be worded differently, PS3.16 §8.3). */
export function sameCode(a: Code, b: Code): boolean {
  return a.value === b.value && a.scheme === b.scheme;
}
