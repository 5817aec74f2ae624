/**
 * Grouping DICOM instances into volumes: by SeriesInstanceUID, then by orientation and image size (a localizer or
 * a second stack inside one series becomes its own group). Positions are LPS mm.
 */
import type { Vec3 } from '../../volume/types.js';
import type { DicomInstance, FrameGeometry } from './instance.js';

/** One 2D image of a series: a frame of an instance. */
export interface SliceRef {
  instance: DicomInstance;
  frame: number;
  geometry: FrameGeometry;
}

export interface DicomSeries {
  /** SeriesInstanceUID, with "#2", "#3"… for further stacks (other orientation or size) in the same series. */
  id: string;
  seriesInstanceUid: string;
  studyInstanceUid?: string;
  frameOfReferenceUid?: string;
  modality?: string;
  seriesDescription?: string;
  seriesNumber?: number;
  studyDescription?: string;
  studyDate?: string;
  patientName?: string;
  patientId?: string;
  rows: number;
  columns: number;
  rowCosines?: Vec3;
  colCosines?: Vec3;
  slices: SliceRef[];
  /** Distinct files contributing. */
  files: string[];
  /** ImageType says LOCALIZER, or a small stack in another orientation than the series' main stack. */
  isLocalizer: boolean;
  notes: string[];
}

function orientationKey(g: FrameGeometry): string {
  if (!g.rowCosines || !g.colCosines) return 'no-orientation';
  return [...g.rowCosines, ...g.colCosines].map((v) => (Math.round(v * 1e3) / 1e3 + 0).toFixed(3)).join(',');
}

/**
 * Groups image instances into series/stacks. Instances without pixel data are not images and are left out by the
 * caller. Deterministic: groups are ordered by SeriesNumber, then UID; stacks within a series by size.
 */
export function groupIntoSeries(instances: readonly DicomInstance[]): DicomSeries[] {
  const bySeries = new Map<string, Map<string, SliceRef[]>>();
  const seen = new Set<string>();
  const dupNotes = new Map<string, string[]>();
  for (const inst of instances) {
    const uid = inst.seriesInstanceUid ?? `no-series-uid:${inst.file}`;
    for (let f = 0; f < inst.numberOfFrames; f++) {
      const g = inst.frames[f]!;
      if (inst.sopInstanceUid) {
        const key = `${inst.sopInstanceUid}/${f}`;
        if (seen.has(key)) {
          const notes = dupNotes.get(uid) ?? [];
          notes.push(`${inst.file}: duplicate of an instance already loaded (same SOPInstanceUID), ignored`);
          dupNotes.set(uid, notes);
          continue;
        }
        seen.add(key);
      }
      const stackKey = `${inst.rows}x${inst.columns}|${orientationKey(g)}`;
      const stacks = bySeries.get(uid) ?? new Map<string, SliceRef[]>();
      const list = stacks.get(stackKey) ?? [];
      list.push({ instance: inst, frame: f, geometry: g });
      stacks.set(stackKey, list);
      bySeries.set(uid, stacks);
    }
  }

  const out: DicomSeries[] = [];
  for (const [uid, stacks] of bySeries) {
    const groups = [...stacks.values()].sort((a, b) => b.length - a.length);
    const mainSize = groups[0]!.length;
    groups.forEach((slices, n) => {
      const first = slices[0]!.instance;
      const g = slices[0]!.geometry;
      const typedLocalizer = slices.every((s) => s.instance.imageType.includes('LOCALIZER'));
      const smallOther = n > 0 && slices.length <= 3 && mainSize > slices.length;
      const files = [...new Set(slices.map((s) => s.instance.file))];
      out.push({
        id: n === 0 ? uid : `${uid}#${n + 1}`,
        seriesInstanceUid: uid,
        studyInstanceUid: first.studyInstanceUid,
        frameOfReferenceUid: first.frameOfReferenceUid,
        modality: first.modality,
        seriesDescription: first.seriesDescription,
        seriesNumber: first.seriesNumber,
        studyDescription: first.studyDescription,
        studyDate: first.studyDate,
        patientName: first.patientName,
        patientId: first.patientId,
        rows: first.rows,
        columns: first.columns,
        rowCosines: g.rowCosines,
        colCosines: g.colCosines,
        slices,
        files,
        isLocalizer: typedLocalizer || smallOther,
        notes: n === 0 ? [...(dupNotes.get(uid) ?? [])] : [],
      });
    });
  }
  return out.sort(
    (a, b) =>
      (a.seriesNumber ?? Infinity) - (b.seriesNumber ?? Infinity) ||
      a.seriesInstanceUid.localeCompare(b.seriesInstanceUid) ||
      a.id.localeCompare(b.id),
  );
}

/** One line describing a series, for listings and error messages. */
export function describeSeries(s: DicomSeries): string {
  const what = [s.modality, s.seriesNumber !== undefined ? `#${s.seriesNumber}` : undefined, s.seriesDescription ? `"${s.seriesDescription}"` : undefined]
    .filter(Boolean)
    .join(' ');
  return `${s.id} (${what || 'no description'}; ${s.columns}×${s.rows}×${s.slices.length}${s.isLocalizer ? '; localizer' : ''})`;
}
