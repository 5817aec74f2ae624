/**
 * Which series of a study to segment: pure rules over what a PACS says about each series (QIDO-RS series and
 * instance attributes), so `medseg pacs segment` and `medseg pacs watch` choose the same series for the same study
 * and can say why every other series was passed over.
 *
 * Default rules, each overridable: modality CT; not a derived object (SEG, SR, RTSTRUCT, presentation states have
 * their own modalities and are never images to segment); not a localizer (ImageType LOCALIZER, or fewer slices than
 * `minSlices`); axial orientation (slice normal within 30° of the patient's S axis); then the most slices; ties go
 * to the thinner slices, then the lower SeriesNumber, then the UID (deterministic).
 */
import { SegError } from '../errors.js';

export type SliceOrientation = 'axial' | 'coronal' | 'sagittal' | 'oblique' | 'mixed' | 'unknown';

/** What the rules need to know about one series; built from QIDO-RS answers by describeSeriesForSelection. */
export interface SeriesCandidate {
  seriesInstanceUid: string;
  modality?: string | undefined;
  seriesNumber?: number | undefined;
  description?: string | undefined;
  /** Number of 2-D images (instances × frames). */
  slices: number;
  /** ImageType values seen on any instance (upper case). */
  imageTypes: string[];
  orientation: SliceOrientation;
  sliceThicknessMm?: number | undefined;
}

export interface SelectionRules {
  /** Modalities accepted, in order of preference (default ['CT']). */
  modalities?: readonly string[] | undefined;
  /** Orientations accepted (default ['axial']; 'any' accepts all, including unknown). */
  orientations?: readonly (SliceOrientation | 'any')[] | undefined;
  /** Fewer slices than this is a localizer or a single image, not a volume (default 8). */
  minSlices?: number | undefined;
  /** Take this series, whatever the other rules say (it must exist in the study). */
  seriesInstanceUid?: string | undefined;
}

export interface SeriesVerdict {
  seriesInstanceUid: string;
  description: string;
  /** Empty for accepted series. */
  rejected: string[];
}

export interface SeriesSelection {
  chosen: SeriesCandidate;
  /** Every series of the study with the reasons it was passed over (the chosen one has none), in ranking order. */
  verdicts: SeriesVerdict[];
}

/** Modalities of derived or non-image objects: never segmented, whatever the rules say. */
const NON_IMAGE_MODALITIES = new Set(['SEG', 'SR', 'RTSTRUCT', 'RTPLAN', 'RTDOSE', 'PR', 'KO', 'DOC', 'REG', 'FID', 'OT_REPORT']);

const AXIS_NAMES: readonly SliceOrientation[] = ['sagittal', 'coronal', 'axial'];
/** cos 30°: a slice normal within 30° of a patient axis names that plane (gantry tilts stay axial). */
const PLANE_COS = Math.cos((30 * Math.PI) / 180);

/** The plane of one ImageOrientationPatient (row cosines, then column cosines). */
export function orientationOf(iop: readonly number[] | undefined): SliceOrientation {
  if (!iop || iop.length !== 6 || iop.some((v) => !Number.isFinite(v))) return 'unknown';
  const [a, b, c, d, e, f] = iop as [number, number, number, number, number, number];
  const n = [b * f - c * e, c * d - a * f, a * e - b * d];
  const len = Math.hypot(n[0]!, n[1]!, n[2]!);
  if (len < 1e-6) return 'unknown';
  let best = 0;
  for (let k = 1; k < 3; k++) if (Math.abs(n[k]!) > Math.abs(n[best]!)) best = k;
  return Math.abs(n[best]!) / len >= PLANE_COS ? AXIS_NAMES[best]! : 'oblique';
}

/** One orientation for a series from its instances' orientations ('mixed' when they disagree). */
export function seriesOrientation(orientations: readonly SliceOrientation[]): SliceOrientation {
  const known = new Set(orientations.filter((o) => o !== 'unknown'));
  if (known.size === 0) return 'unknown';
  if (known.size > 1) return 'mixed';
  return [...known][0]!;
}

function describe(c: SeriesCandidate): string {
  const parts = [c.modality ?? '?', c.seriesNumber !== undefined ? `#${c.seriesNumber}` : undefined, c.description ? `"${c.description}"` : undefined, `${c.slices} slice${c.slices === 1 ? '' : 's'}`, c.orientation];
  return parts.filter(Boolean).join(' ');
}

/** Why a candidate fails the rules (empty: it passes). */
export function rejectionReasons(c: SeriesCandidate, rules: SelectionRules = {}): string[] {
  const modalities = (rules.modalities ?? ['CT']).map((m) => m.toUpperCase());
  const orientations = rules.orientations ?? ['axial'];
  const minSlices = rules.minSlices ?? 8;
  const reasons: string[] = [];
  const modality = c.modality?.toUpperCase();
  if (modality && NON_IMAGE_MODALITIES.has(modality)) reasons.push(`modality ${modality} is not an image series`);
  else if (!modality || !modalities.includes(modality)) reasons.push(`modality ${modality ?? 'missing'} is not ${modalities.join(' or ')}`);
  if (c.imageTypes.includes('LOCALIZER')) reasons.push('ImageType says LOCALIZER');
  if (c.slices < minSlices) reasons.push(`${c.slices} slice${c.slices === 1 ? '' : 's'} (fewer than ${minSlices}: a localizer or single image)`);
  if (!orientations.includes('any') && !orientations.includes(c.orientation)) reasons.push(`orientation ${c.orientation} is not ${orientations.join(' or ')}`);
  return reasons;
}

/** Ranking among accepted series: preferred modality, most slices, thinner slices, lower SeriesNumber, UID. */
function compare(a: SeriesCandidate, b: SeriesCandidate, modalities: readonly string[]): number {
  const rank = (c: SeriesCandidate) => {
    const i = modalities.indexOf(c.modality?.toUpperCase() ?? '');
    return i < 0 ? modalities.length : i;
  };
  return (
    rank(a) - rank(b) ||
    b.slices - a.slices ||
    (a.sliceThicknessMm ?? Infinity) - (b.sliceThicknessMm ?? Infinity) ||
    (a.seriesNumber ?? Infinity) - (b.seriesNumber ?? Infinity) ||
    (a.seriesInstanceUid < b.seriesInstanceUid ? -1 : a.seriesInstanceUid > b.seriesInstanceUid ? 1 : 0)
  );
}

/**
 * Chooses the series to segment.
 * @throws SegError NO_SERIES when the study has no series, when the asked series is not in it, or when no series
 *   passes the rules (the message lists each series with its reasons and says which option overrides them).
 */
export function selectSeries(studyUid: string, candidates: readonly SeriesCandidate[], rules: SelectionRules = {}): SeriesSelection {
  if (candidates.length === 0) throw new SegError('NO_SERIES', `study ${studyUid}: the PACS lists no series in it`);
  const modalities = (rules.modalities ?? ['CT']).map((m) => m.toUpperCase());
  if (rules.seriesInstanceUid) {
    const chosen = candidates.find((c) => c.seriesInstanceUid === rules.seriesInstanceUid);
    if (!chosen) {
      throw new SegError('NO_SERIES', `study ${studyUid}: series ${rules.seriesInstanceUid} is not in it (its series: ${candidates.map((c) => c.seriesInstanceUid).join(', ')})`);
    }
    const verdicts = candidates.map((c) => ({
      seriesInstanceUid: c.seriesInstanceUid,
      description: describe(c),
      rejected: c === chosen ? [] : ['another series was asked for (--series)'],
    }));
    return { chosen, verdicts: [verdicts.find((v) => v.seriesInstanceUid === chosen.seriesInstanceUid)!, ...verdicts.filter((v) => v.seriesInstanceUid !== chosen.seriesInstanceUid)] };
  }
  const judged = candidates.map((c) => ({ c, reasons: rejectionReasons(c, rules) }));
  const accepted = judged.filter((j) => j.reasons.length === 0).sort((x, y) => compare(x.c, y.c, modalities));
  if (accepted.length === 0) {
    const lines = judged.map((j) => `${j.c.seriesInstanceUid} (${describe(j.c)}): ${j.reasons.join('; ')}`);
    throw new SegError(
      'NO_SERIES',
      `study ${studyUid}: no series to segment under the rules (modality ${modalities.join('/')}, orientation ${(rules.orientations ?? ['axial']).join('/')}, ≥ ${rules.minSlices ?? 8} slices, not a localizer):\n  ${lines.join('\n  ')}\n` +
        'Override with --modality, --orientation any, --min-slices or --series <SeriesInstanceUID>.',
    );
  }
  const chosen = accepted[0]!.c;
  const verdicts: SeriesVerdict[] = [
    ...accepted.map((j, n) => ({ seriesInstanceUid: j.c.seriesInstanceUid, description: describe(j.c), rejected: n === 0 ? [] : [`ranked below ${chosen.seriesInstanceUid} (fewer slices, thicker, or later)`] })),
    ...judged.filter((j) => j.reasons.length > 0).map((j) => ({ seriesInstanceUid: j.c.seriesInstanceUid, description: describe(j.c), rejected: j.reasons })),
  ];
  return { chosen, verdicts };
}
