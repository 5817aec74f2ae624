/**
 * The part of dcmjs (which ships no type declarations) that the phantom's DICOM writer uses: naturalized datasets
 * (keyword → value) turned into DICOM JSON and written as a Part 10 file.
 */
declare module 'dcmjs' {
  type DicomJson = Record<string, { vr: string; Value?: unknown[] }>;
  interface DicomDictInstance {
    dict: DicomJson;
    /** The whole Part 10 file: preamble, meta group (explicit VR little endian), then the dataset. */
    write(options?: { allowInvalidVRLength?: boolean }): ArrayBuffer;
  }
  const dcmjs: {
    data: {
      DicomDict: new (meta: DicomJson) => DicomDictInstance;
      DicomMetaDictionary: {
        denaturalizeDataset(dataset: Record<string, unknown>): DicomJson;
      };
    };
    log: { setLevel(level: string): void };
  };
  export default dcmjs;
}
