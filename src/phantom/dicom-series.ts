/**
 * Writes a CT volume (int16 HU, LPS geometry) as a DICOM CT Image Storage series, one file per k plane, explicit VR
 * little endian, through dcmjs. Geometry (DICOM conventions): ImagePositionPatient = LPS centre of voxel (0, 0, k);
 * ImageOrientationPatient = the i axis (along a row) then the j axis (down the columns); PixelSpacing = (row spacing
 * = spacing along j, column spacing = spacing along i); the slice normal i × j is the k axis, so readers that sort
 * by position along the normal (medseg, dcm2niix) rebuild exactly this grid. Pixels: stored = HU + 1024 as 12-bit
 * unsigned values, RescaleSlope 1, RescaleIntercept −1024.
 */
import { promises as fsp } from 'node:fs';
import { join } from 'node:path';
import { decimalString, EXPLICIT_VR_LITTLE_ENDIAN, MEDSEG_IMPLEMENTATION_UID, nameBasedUid, part10Bytes } from '../io/dicom/encoding.js';
import { SegError } from '../errors.js';
import { axis, cross, dot, indexToLps } from '../volume/geometry.js';
import type { Volume } from '../volume/types.js';

export const CT_IMAGE_STORAGE = '1.2.840.10008.5.1.4.1.1.2';
export { decimalString, EXPLICIT_VR_LITTLE_ENDIAN, MEDSEG_IMPLEMENTATION_UID, nameBasedUid };
const RESCALE_INTERCEPT = -1024;

export interface CtSeriesInfo {
  /** Distinguishes the UIDs: the same key always gives the same UIDs (a re-generated phantom is the same series). */
  uidKey: string;
  patientName: string;
  patientId: string;
  /** YYYYMMDD. */
  studyDate: string;
  studyDescription: string;
  seriesDescription: string;
  sliceThicknessMm: number;
  /** e.g. 'IV contrast' for enhanced phases; absent for a non-contrast scan. */
  contrastAgent?: string | undefined;
  reconstructionDiameterMm?: number | undefined;
}


/**
 * Writes `ct` into `dir` (created; must not hold other files than a previous series of ours) as IM0001.dcm, … in k
 * order. The folder is replaced as a whole: written beside it, then swapped in.
 * @throws SegError WRITE_FAILED naming the folder.
 */
export async function writeCtSeries(dir: string, ct: Volume<Int16Array>, info: CtSeriesInfo): Promise<string[]> {
  const [nx, ny, nz] = ct.dims;
  if (nz > 9999) throw new RangeError(`a series of ${nz} slices needs more than 4-digit file names (at most 9999)`);
  const studyUid = nameBasedUid(`${info.uidKey}/study`);
  const seriesUid = nameBasedUid(`${info.uidKey}/series`);
  const frameUid = nameBasedUid(`${info.uidKey}/frame-of-reference`);
  const d = ct.direction;
  const normal = cross(axis(d, 0), axis(d, 1));
  const orientation = [d[0], d[1], d[2], d[3], d[4], d[5]].map(decimalString);
  const pixelSpacing = [decimalString(ct.spacing[1]), decimalString(ct.spacing[0])];
  const common: Record<string, unknown> = {
    SpecificCharacterSet: 'ISO_IR 100',
    ImageType: ['ORIGINAL', 'PRIMARY', 'AXIAL'],
    SOPClassUID: CT_IMAGE_STORAGE,
    StudyDate: info.studyDate,
    SeriesDate: info.studyDate,
    ContentDate: info.studyDate,
    StudyTime: '120000',
    SeriesTime: '120000',
    ContentTime: '120000',
    AccessionNumber: '',
    Modality: 'CT',
    Manufacturer: 'medseg',
    ReferringPhysicianName: '',
    StudyDescription: info.studyDescription,
    SeriesDescription: info.seriesDescription,
    ManufacturerModelName: 'medseg phantom',
    PatientName: info.patientName,
    PatientID: info.patientId,
    PatientBirthDate: '',
    PatientSex: 'O',
    ...(info.contrastAgent ? { ContrastBolusAgent: info.contrastAgent, ContrastBolusRoute: 'IV' } : {}),
    BodyPartExamined: 'ABDOMEN',
    SliceThickness: decimalString(info.sliceThicknessMm),
    KVP: '120',
    SoftwareVersions: 'medseg phantom',
    ...(info.reconstructionDiameterMm ? { ReconstructionDiameter: decimalString(info.reconstructionDiameterMm) } : {}),
    ConvolutionKernel: 'STANDARD',
    PatientPosition: 'HFS',
    StudyInstanceUID: studyUid,
    SeriesInstanceUID: seriesUid,
    StudyID: '1',
    SeriesNumber: '1',
    AcquisitionNumber: '1',
    ImageOrientationPatient: orientation,
    FrameOfReferenceUID: frameUid,
    PositionReferenceIndicator: '',
    SamplesPerPixel: 1,
    PhotometricInterpretation: 'MONOCHROME2',
    Rows: ny,
    Columns: nx,
    PixelSpacing: pixelSpacing,
    BitsAllocated: 16,
    BitsStored: 12,
    HighBit: 11,
    PixelRepresentation: 0,
    WindowCenter: '40',
    WindowWidth: '400',
    RescaleIntercept: String(RESCALE_INTERCEPT),
    RescaleSlope: '1',
    RescaleType: 'HU',
  };
  const tmp = `${dir}.tmp-${process.pid}`;
  const names: string[] = [];
  try {
    await fsp.rm(tmp, { recursive: true, force: true });
    await fsp.mkdir(tmp, { recursive: true });
    const plane = nx * ny;
    const write = async (k: number) => {
      const stored = new Uint16Array(plane);
      const src = ct.data.subarray(k * plane, (k + 1) * plane);
      for (let v = 0; v < plane; v++) {
        const s = src[v]! - RESCALE_INTERCEPT;
        if (s < 0 || s > 4095) throw new RangeError(`voxel ${v} of plane ${k} is ${src[v]} HU, outside the 12-bit range −1024 … 3071 the series stores`);
        stored[v] = s;
      }
      const position = indexToLps(ct, [0, 0, k]);
      const sop = nameBasedUid(`${info.uidKey}/instance/${k}`);
      const dataset = {
        ...common,
        SOPInstanceUID: sop,
        InstanceNumber: String(k + 1),
        ImagePositionPatient: position.map(decimalString),
        SliceLocation: decimalString(dot(position, normal)),
        PixelData: [stored.buffer],
        _vrMap: { PixelData: 'OW' },
      };
      const name = `IM${String(k + 1).padStart(4, '0')}.dcm`;
      await fsp.writeFile(join(tmp, name), part10Bytes(CT_IMAGE_STORAGE, sop, dataset));
      names[k] = name;
    };
    // A few files in flight: encoding is synchronous, the writes overlap it.
    const inFlight: Promise<void>[] = [];
    for (let k = 0; k < nz; k++) {
      inFlight.push(write(k));
      if (inFlight.length >= 8) await inFlight.shift();
    }
    await Promise.all(inFlight);
    await replaceSeriesFolder(dir, tmp);
  } catch (cause) {
    await fsp.rm(tmp, { recursive: true, force: true });
    if (cause instanceof SegError || cause instanceof RangeError) throw cause;
    throw new SegError('WRITE_FAILED', `${dir}: the DICOM series could not be written (${(cause as Error).message})`, { cause });
  }
  return names.map((n) => join(dir, n));
}

/** Swaps `tmp` in as `dir`. An existing `dir` is removed only when it holds nothing but files named like ours. */
async function replaceSeriesFolder(dir: string, tmp: string): Promise<void> {
  let existing: string[] | undefined;
  try {
    existing = await fsp.readdir(dir);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
  }
  if (existing) {
    const foreign = existing.filter((n) => !/^IM\d{4}\.dcm$/.test(n));
    if (foreign.length > 0) {
      throw new SegError('WRITE_FAILED', `${dir}: the folder holds files medseg did not write (${foreign.slice(0, 3).join(', ')}${foreign.length > 3 ? ', …' : ''}); choose another --out or empty it`);
    }
    await fsp.rm(dir, { recursive: true, force: true });
  }
  await fsp.rename(tmp, dir);
}

