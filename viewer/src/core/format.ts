/** Text for the side panel: volumes (mL), incomplete flags, lesion lines. */
import type { LesionJson, StructureStats } from './api-types.js';

const PATIENT_NAMES: Readonly<Record<string, string>> = { L: 'left', R: 'right', P: 'posterior', A: 'anterior', S: 'superior', I: 'inferior' };

/** "1441.0 mL", or "≥ 12.5 mL" for a structure cut by the scan border (its volume is a lower bound). */
export function formatVolume(volumeMl: number, incomplete: boolean): string {
  const digits = volumeMl >= 100 ? 0 : volumeMl >= 10 ? 1 : 2;
  return `${incomplete ? '≥ ' : ''}${volumeMl.toFixed(digits)} mL`;
}

/** "cut by the scan border (inferior, superior)" for an incomplete structure, else "". */
export function cutDescription(s: Pick<StructureStats, 'incomplete' | 'cutBy'>): string {
  if (!s.incomplete) return '';
  const sides = [...new Set(s.cutBy.map((c) => PATIENT_NAMES[c.patient] ?? c.patient))];
  return `cut by the scan border${sides.length ? ` (${sides.join(', ')})` : ''}`;
}

/** "liver_lesion 1: 14.9 mL, 31 mm (in liver)". */
export function lesionLine(l: LesionJson, labelName: string): string {
  const organ = l.organ ? ` (in ${(l.organ as { name?: string }).name ?? `label ${l.organ.label}`})` : '';
  return `${labelName} ${l.index}: ${formatVolume(l.volumeMl, l.incomplete)}, ${l.longestAxialDiameterMm.toFixed(0)} mm${organ}`;
}
