/**
 * DICOM Segmentation (SEG) writer: a label map or probability maps on (or resampled onto) the grid of a source
 * DICOM series become one Segmentation Storage instance (PS3.3 A.51), explicit VR little endian, encoded with
 * dcmjs (a naturalized dataset → DicomDict). Geometry is the source's, copied as stored: each frame's
 * ImagePositionPatient is that of the source plane it segments, and ImageOrientationPatient/PixelSpacing are the
 * source's, so viewers overlay the SEG exactly on the series (LPS mm throughout).
 *
 * Why not dcmjs.derivations.Segmentation: it wants every source file naturalized by dcmjs (pixel data included),
 * copies the source's own functional groups and attributes into the SEG and references single-frame sources only;
 * the dataset below is short and states every DICOM rule it follows.
 */
import { readFileSync } from 'node:fs';
import { InputFileError, SegError } from '../../errors.js';
import { writeFileAtomic } from '../../io/atomic-write.js';
import type { DicomVolume } from '../../io/dicom/load-volume.js';
import { decimalString, part10Bytes, randomUid } from '../../io/dicom/encoding.js';
import type { Vec3, Volume } from '../../volume/types.js';
import { packedLength, packFrameInto } from './bits.js';
import { srgbToDicomLab } from './colour.js';
import { ARTIFICIAL_INTELLIGENCE, AT, SEGMENTATION_DERIVATION, SEGMENTATION_STORAGE, SOURCE_IMAGE_FOR_PROCESSING, TISSUE, type CodedConcept } from './constants.js';
import { labelPresence, onSourceGrid, planFrames, quantizeFractions, type PlannedFrame } from './frames.js';
import { readSourceIdentity } from './source-identity.js';

/** One segment's description: a model card label (value in the label map, name, sRGB colour, SNOMED CT codes). */
export interface SegLabel {
  readonly value: number;
  readonly name: string;
  readonly color?: readonly [number, number, number];
  readonly category?: CodedConcept;
  readonly type?: CodedConcept;
}

export interface WriteSegCommonOptions {
  /** The series the result was computed from, as medseg's DICOM loader returns it. */
  source: DicomVolume;
  /** Segment n (1-based) describes labels[n − 1]; every label becomes a segment, empty ones included. */
  labels: readonly SegLabel[];
  /** The model: SegmentAlgorithmName and the AlgorithmIdentification name/version. */
  algorithm: { name: string; version: string };
  /** Default: "<algorithm name> segmentation" (LO, at most 64 characters). */
  seriesDescription?: string;
  /** Default: the source's SeriesNumber + 1000 (1000 when it has none). */
  seriesNumber?: number;
  /** Content Label (CS: upper case, digits, space, underscore; 16 characters). Default "SEGMENTATION". */
  contentLabel?: string;
  contentDescription?: string;
  /** Content Creator's Name (PN). Default "medseg^" (family name only; without the ^ dciodvfy takes it for the retired PN form). */
  contentCreatorName?: string;
  /** Fixed UIDs (tests, idempotent re-runs); each missing one is a new random UUID-derived 2.25 UID. */
  uids?: { series?: string; instance?: string; dimensionOrganization?: string };
  /** Creation time written as Series/Content Date and Time (UTC, with TimezoneOffsetFromUTC +0000). Default: now. */
  now?: Date;
  /** SoftwareVersions. Default: "medseg <package.json version>". */
  softwareVersions?: string;
}

export type WriteSegOptions = WriteSegCommonOptions &
  (
    | { type?: 'BINARY'; /** Label values (any integer voxel type); 0 is background. */ labelMap: Volume }
    | { type: 'FRACTIONAL'; /** Per label value, probabilities in [0, 1]; stored as round(p · 255). */ probabilities: ReadonlyMap<number, Volume> }
  );

export interface SegSegmentSummary {
  number: number;
  labelValue: number;
  label: string;
  frames: number;
  /** BINARY: voxels of the segment on the source grid; FRACTIONAL: voxels with a nonzero stored fraction. */
  voxels: number;
}

export interface EncodedSeg {
  /** The Part 10 file. */
  bytes: Uint8Array;
  sopInstanceUid: string;
  seriesInstanceUid: string;
  studyInstanceUid: string;
  segmentationType: 'BINARY' | 'FRACTIONAL';
  frames: number;
  segments: SegSegmentSummary[];
  /** Segment numbers without any frame (described in SegmentSequence all the same, see README). */
  emptySegments: number[];
  /** What the writer did that the caller should know (resampling, defaulted codes, empty result). */
  notes: string[];
}

/** Maximum Fractional Value of FRACTIONAL SEGs written by medseg (8-bit stored fractions, PS3.3 C.8.20.2.3). */
export const MAX_FRACTIONAL_VALUE = 255;

export { randomUid };

let packageVersion: string | undefined;
function medsegVersion(): string {
  if (packageVersion) return packageVersion;
  try {
    // src/pacs/seg/ and dist/pacs/seg/ are both three levels below the package root.
    const json = JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as { version?: unknown };
    packageVersion = String(json.version ?? 'unknown');
  } catch {
    packageVersion = 'unknown';
  }
  return packageVersion;
}

const code = (c: CodedConcept) => ({ CodeValue: c.value, CodingSchemeDesignator: c.scheme, CodeMeaning: c.meaning });
const ds = (v: number) => decimalString(v);
const cs16 = (s: string) => s.toUpperCase().replace(/[^A-Z0-9 _]/g, '_').slice(0, 16);
const lo64 = (s: string) => s.replace(/\\/g, '/').slice(0, 64);

function dicomDateTime(d: Date): { date: string; time: string } {
  const p = (n: number, w = 2) => String(n).padStart(w, '0');
  return {
    date: `${d.getUTCFullYear()}${p(d.getUTCMonth() + 1)}${p(d.getUTCDate())}`,
    time: `${p(d.getUTCHours())}${p(d.getUTCMinutes())}${p(d.getUTCSeconds())}`,
  };
}

/** What each source plane contributes: its SOP instance and frame, and its position as stored. */
interface SourcePlane {
  sopClassUid: string;
  sopInstanceUid: string;
  /** 1-based frame number within a multi-frame instance; undefined for single-frame instances. */
  frameNumber?: number;
  ippLps: Vec3;
}

function sourcePlanes(source: DicomVolume): SourcePlane[] {
  const nz = source.volume.dims[2];
  if (source.geometry.nonUniform || source.geometry.sorted.length !== nz) {
    throw new SegError(
      'NON_UNIFORM_SPACING',
      `series ${source.series.id}: its volume was resampled onto a uniform grid (missing slices or variable gaps), so its ${nz} planes are not the ${source.geometry.sorted.length} acquired images a SEG must reference; ` +
        `write the SEG for a complete series (loaded without allowNonUniform)`,
    );
  }
  return source.geometry.sorted.map((s, k) => {
    const { sopClassUid, sopInstanceUid } = s.instance;
    if (!sopClassUid || !sopInstanceUid) {
      throw new InputFileError('INVALID_HEADER', s.instance.file, `has no ${sopClassUid ? 'SOPInstanceUID' : 'SOPClassUID'}: a SEG cannot reference it (plane ${k} of series ${source.series.id})`);
    }
    const ipp = s.geometry.ippLps;
    if (!ipp) throw new InputFileError('INVALID_GEOMETRY', s.instance.file, `frame ${s.frame + 1} has no ImagePositionPatient`);
    return { sopClassUid, sopInstanceUid, ...(s.instance.numberOfFrames > 1 ? { frameNumber: s.frame + 1 } : {}), ippLps: ipp };
  });
}

/**
 * Encodes a SEG in memory. Frames: one per non-empty (segment, source plane), segment by segment, planes in k
 * order; empty frames are omitted (PS3.3 C.8.20.2: a frame need not exist for a plane a segment does not touch).
 * @throws RangeError for inputs that do not fit (label values not among `labels`, probabilities outside [0, 1]);
 *   SegError/InputFileError for a source that cannot be referenced (no SOP/Study UIDs, resampled volume).
 */
export async function encodeSeg(options: WriteSegOptions): Promise<EncodedSeg> {
  const { source, labels, algorithm } = options;
  const fractional = options.type === 'FRACTIONAL';
  if (labels.length === 0) throw new RangeError('labels must name at least one segment');
  const seen = new Set<number>();
  for (const l of labels) {
    if (!(Number.isInteger(l.value) && l.value >= 1 && l.value <= 65535)) throw new RangeError(`label value ${l.value} (${l.name}) must be an integer 1…65535`);
    if (seen.has(l.value)) throw new RangeError(`label value ${l.value} appears twice in labels`);
    seen.add(l.value);
  }
  const notes: string[] = [];
  const vol = source.volume;
  const [nx, ny, nz] = vol.dims;
  const plane = nx * ny;
  const planes = sourcePlanes(source);
  const first = source.geometry.sorted[0]!;
  const frameOfReferenceUid = source.series.frameOfReferenceUid;
  if (!frameOfReferenceUid) {
    throw new InputFileError('INVALID_HEADER', first.instance.file, `series ${source.series.id} has no FrameOfReferenceUID: a SEG positioned in patient space needs the source's frame of reference`);
  }
  const identity = await readSourceIdentity(first.instance.file);
  notes.push(...identity.notes);

  // Per segment: the voxels to encode on the source grid, and which planes hold any.
  let presence: Uint8Array;
  let voxels: number[];
  let labelMap: ArrayLike<number> = [];
  let fractions: Uint8Array[] = [];
  if (!fractional) {
    labelMap = onSourceGrid(options.labelMap, vol, 'nearest', 'the label map', notes);
    ({ presence, voxels } = labelPresence(labelMap, plane, nz, labels.map((l) => l.value)));
  } else {
    presence = new Uint8Array(labels.length * nz);
    voxels = labels.map(() => 0);
    fractions = labels.map((l, s) => {
      const p = options.probabilities.get(l.value);
      if (!p) throw new RangeError(`no probability map for label ${l.value} (${l.name}); FRACTIONAL needs one per label`);
      const q = quantizeFractions(onSourceGrid(p, vol, 'linear', `the probability map of ${l.name}`, notes), MAX_FRACTIONAL_VALUE, l.name);
      for (let k = 0; k < nz; k++) {
        for (let n = k * plane; n < (k + 1) * plane; n++) {
          if (q[n] !== 0) {
            presence[s * nz + k] = 1;
            voxels[s]!++;
          }
        }
      }
      return q;
    });
  }
  let frames: PlannedFrame[] = planFrames(presence, labels.length, nz);
  if (frames.length === 0) {
    // NumberOfFrames and Pixel Data are Type 1: a SEG has at least one frame. "Nothing found" is still a result a
    // PACS should hold, so it carries one all-zero frame of segment 1 on the first plane.
    frames = [{ segment: 1, k: 0 }];
    notes.push('every segment is empty: the SEG holds one all-zero frame (segment 1, first plane), since a SEG needs at least one frame');
  }
  const framesPerSegment = labels.map((_, s) => frames.filter((f) => f.segment === s + 1).length);
  const emptySegments = labels.flatMap((_, s) => (voxels[s] === 0 ? [s + 1] : []));
  if (emptySegments.length > 0 && emptySegments.length < labels.length) {
    notes.push(`segments without voxels (described, no frames): ${emptySegments.map((s) => `${s} ${labels[s - 1]!.name}`).join(', ')}`);
  }

  // Pixel Data.
  let pixelData: Uint8Array;
  if (!fractional) {
    pixelData = new Uint8Array(packedLength(frames.length, plane));
    frames.forEach((f, i) => {
      const value = labels[f.segment - 1]!.value;
      const base = f.k * plane;
      packFrameInto(pixelData, i, plane, (n) => labelMap[base + n] === value);
    });
  } else {
    pixelData = new Uint8Array(frames.length * plane + ((frames.length * plane) & 1));
    frames.forEach((f, i) => pixelData.set(fractions[f.segment - 1]!.subarray(f.k * plane, (f.k + 1) * plane), i * plane));
  }

  const uids = {
    series: options.uids?.series ?? randomUid(),
    instance: options.uids?.instance ?? randomUid(),
    dimensionOrganization: options.uids?.dimensionOrganization ?? randomUid(),
  };
  const { date, time } = dicomDateTime(options.now ?? new Date());
  const g0 = first.geometry;
  const iop = [...g0.rowCosines!, ...g0.colCosines!];
  const pixelSpacing = g0.pixelSpacing!;
  const sliceThickness = g0.sliceThickness ?? vol.spacing[2];
  if (g0.sliceThickness === undefined) notes.push(`the source has no SliceThickness; the SEG states the slice spacing ${vol.spacing[2]} mm instead`);

  const segmentSequence = labels.map((l, s) => {
    if (!l.category || !l.type) notes.push(`label ${l.value} (${l.name}) has no ${!l.category ? 'category' : 'type'} code in the card; SCT ${TISSUE.value} "${TISSUE.meaning}" was written instead`);
    return {
      SegmentNumber: s + 1,
      SegmentLabel: lo64(l.name),
      SegmentAlgorithmType: 'AUTOMATIC',
      SegmentAlgorithmName: lo64(algorithm.name),
      SegmentationAlgorithmIdentificationSequence: [
        { AlgorithmFamilyCodeSequence: [code(ARTIFICIAL_INTELLIGENCE)], AlgorithmName: lo64(algorithm.name), AlgorithmVersion: lo64(algorithm.version) },
      ],
      SegmentedPropertyCategoryCodeSequence: [code(l.category ?? TISSUE)],
      SegmentedPropertyTypeCodeSequence: [code(l.type ?? TISSUE)],
      ...(l.color ? { RecommendedDisplayCIELabValue: [...srgbToDicomLab(l.color)] } : {}),
    };
  });

  // Common Instance Reference module (PS3.3 C.12.2): every source instance the frames derive from.
  const referenced = new Map<string, string>();
  for (const f of frames) referenced.set(planes[f.k]!.sopInstanceUid, planes[f.k]!.sopClassUid);

  const perFrame = frames.map((f) => {
    const p = planes[f.k]!;
    return {
      FrameContentSequence: [{ DimensionIndexValues: [f.segment, f.k + 1] }],
      PlanePositionSequence: [{ ImagePositionPatient: p.ippLps.map(ds) }],
      SegmentIdentificationSequence: [{ ReferencedSegmentNumber: f.segment }],
      DerivationImageSequence: [
        {
          DerivationCodeSequence: [code(SEGMENTATION_DERIVATION)],
          SourceImageSequence: [
            {
              ReferencedSOPClassUID: p.sopClassUid,
              ReferencedSOPInstanceUID: p.sopInstanceUid,
              // Required for a multi-frame source (PS3.3 C.7.6.16.2.6 / Image SOP Instance Reference macro).
              ...(p.frameNumber !== undefined ? { ReferencedFrameNumber: [String(p.frameNumber)] } : {}),
              PurposeOfReferenceCodeSequence: [code(SOURCE_IMAGE_FOR_PROCESSING)],
            },
          ],
        },
      ],
    };
  });

  // Type 2 attributes (patient/study identity, PositionReferenceIndicator) are written even when empty.
  const dataset: Record<string, unknown> = {
    SpecificCharacterSet: 'ISO_IR 192',
    ImageType: ['DERIVED', 'PRIMARY'],
    SOPClassUID: SEGMENTATION_STORAGE,
    SOPInstanceUID: uids.instance,
    StudyDate: identity.studyDate,
    SeriesDate: date,
    ContentDate: date,
    StudyTime: identity.studyTime,
    SeriesTime: time,
    ContentTime: time,
    AccessionNumber: identity.accessionNumber,
    Modality: 'SEG',
    Manufacturer: 'medseg',
    ReferringPhysicianName: identity.referringPhysicianName,
    TimezoneOffsetFromUTC: '+0000',
    ...(identity.studyDescription ? { StudyDescription: identity.studyDescription } : {}),
    SeriesDescription: lo64(options.seriesDescription ?? `${algorithm.name} segmentation`),
    ManufacturerModelName: 'medseg',
    ReferencedSeriesSequence: [
      {
        SeriesInstanceUID: source.series.seriesInstanceUid,
        ReferencedInstanceSequence: [...referenced].map(([sop, cls]) => ({ ReferencedSOPClassUID: cls, ReferencedSOPInstanceUID: sop })),
      },
    ],
    PatientName: identity.patientName,
    PatientID: identity.patientId,
    PatientBirthDate: identity.patientBirthDate,
    PatientSex: identity.patientSex,
    DeviceSerialNumber: 'medseg',
    SoftwareVersions: lo64(options.softwareVersions ?? `medseg ${medsegVersion()}`),
    StudyInstanceUID: identity.studyInstanceUid,
    SeriesInstanceUID: uids.series,
    StudyID: identity.studyId,
    SeriesNumber: String(options.seriesNumber ?? (source.series.seriesNumber ?? 0) + 1000),
    InstanceNumber: '1',
    FrameOfReferenceUID: frameOfReferenceUid,
    PositionReferenceIndicator: identity.positionReferenceIndicator,
    DimensionOrganizationSequence: [{ DimensionOrganizationUID: uids.dimensionOrganization }],
    // Frames are indexed by segment, then by position along the stack (PS3.3 C.7.6.17, C.8.20.2.3).
    DimensionIndexSequence: [
      {
        DimensionOrganizationUID: uids.dimensionOrganization,
        DimensionIndexPointer: AT.ReferencedSegmentNumber,
        FunctionalGroupPointer: AT.SegmentIdentificationSequence,
        DimensionDescriptionLabel: 'ReferencedSegmentNumber',
      },
      {
        DimensionOrganizationUID: uids.dimensionOrganization,
        DimensionIndexPointer: AT.ImagePositionPatient,
        FunctionalGroupPointer: AT.PlanePositionSequence,
        DimensionDescriptionLabel: 'ImagePositionPatient',
      },
    ],
    SamplesPerPixel: 1,
    PhotometricInterpretation: 'MONOCHROME2',
    NumberOfFrames: String(frames.length),
    Rows: ny,
    Columns: nx,
    BitsAllocated: fractional ? 8 : 1,
    BitsStored: fractional ? 8 : 1,
    HighBit: fractional ? 7 : 0,
    PixelRepresentation: 0,
    LossyImageCompression: '00',
    SegmentationType: fractional ? 'FRACTIONAL' : 'BINARY',
    ...(fractional ? { SegmentationFractionalType: 'PROBABILITY', MaximumFractionalValue: MAX_FRACTIONAL_VALUE } : {}),
    SegmentsOverlap: fractional ? 'UNDEFINED' : 'NO',
    SegmentSequence: segmentSequence,
    ContentLabel: cs16(options.contentLabel ?? 'SEGMENTATION'),
    ContentDescription: lo64(options.contentDescription ?? `${algorithm.name} ${algorithm.version}`),
    ContentCreatorName: options.contentCreatorName ?? 'medseg^',
    SharedFunctionalGroupsSequence: [
      {
        PixelMeasuresSequence: [
          {
            PixelSpacing: [ds(pixelSpacing[0]), ds(pixelSpacing[1])],
            SliceThickness: ds(sliceThickness),
            SpacingBetweenSlices: ds(vol.spacing[2]),
          },
        ],
        PlaneOrientationSequence: [{ ImageOrientationPatient: iop.map(ds) }],
      },
    ],
    PerFrameFunctionalGroupsSequence: perFrame,
    PixelData: [pixelData.buffer],
    _vrMap: { PixelData: 'OB' },
  };
  const bytes = part10Bytes(SEGMENTATION_STORAGE, uids.instance, dataset);
  return {
    bytes,
    sopInstanceUid: uids.instance,
    seriesInstanceUid: uids.series,
    studyInstanceUid: identity.studyInstanceUid,
    segmentationType: fractional ? 'FRACTIONAL' : 'BINARY',
    frames: frames.length,
    segments: labels.map((l, s) => ({ number: s + 1, labelValue: l.value, label: l.name, frames: framesPerSegment[s]!, voxels: voxels[s]! })),
    emptySegments,
    notes,
  };
}

/**
 * Writes a SEG file (atomically: a temporary sibling renamed into place).
 * @throws as encodeSeg; SegError WRITE_FAILED naming the file.
 */
export async function writeSeg(file: string, options: WriteSegOptions): Promise<EncodedSeg & { file: string }> {
  const seg = await encodeSeg(options);
  await writeFileAtomic(file, [seg.bytes]);
  return { ...seg, file };
}
