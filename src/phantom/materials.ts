/**
 * Label values and tissue materials of the phantom. Each material has a label (0 for unlabelled tissue) and a CT
 * number (HU) drawn per case for its contrast phase, within the ranges of the domain notes (../shared/DOMAIN.md §8).
 */
import type { Rng } from './random.js';

/**
 * The label values of labels.nii.gz. Fixed: models trained on phantoms depend on them. A voxel's label is the
 * structure at its centre; lesions override the liver (a voxel in a lesion is 8, never 1).
 */
export const PHANTOM_LABELS = Object.freeze({
  liver: 1,
  spleen: 2,
  kidney_right: 3,
  kidney_left: 4,
  aorta: 5,
  vertebrae: 6,
  lung: 7,
  liver_lesion: 8,
} as const);

export type PhantomLabelName = keyof typeof PHANTOM_LABELS;

/** Label names in label-value order (index n holds label n + 1). */
export const PHANTOM_LABEL_NAMES = Object.freeze(
  (Object.entries(PHANTOM_LABELS) as [PhantomLabelName, number][]).sort((a, b) => a[1] - b[1]).map(([name]) => name),
);

export const CONTRAST_PHASES = ['non-contrast', 'arterial', 'portal-venous'] as const;
export type ContrastPhase = (typeof CONTRAST_PHASES)[number];

/** Material ids of the fixed tissues; lesions get ids from LESION_BASE on. */
export const MAT = {
  air: 0,
  tableShell: 1,
  tableFoam: 2,
  skin: 3,
  fat: 4,
  muscle: 5,
  lung: 6,
  liver: 7,
  spleen: 8,
  kidneyRight: 9,
  kidneyLeft: 10,
  aorta: 11,
  cortical: 12,
  cancellous: 13,
  vertebralArch: 14,
  disc: 15,
  csf: 16,
  ivc: 17,
  myocardium: 18,
  heartBlood: 19,
  bile: 20,
  renalSinus: 21,
  stomachWall: 22,
  stomachFluid: 23,
  gas: 24,
  bowel: 25,
} as const;

export const LESION_BASE = 26;
export const MAX_LESIONS = 5;

const MATERIAL_NAMES = Object.keys(MAT) as (keyof typeof MAT)[];

const LABEL_OF: Partial<Record<keyof typeof MAT, number>> = {
  lung: PHANTOM_LABELS.lung,
  liver: PHANTOM_LABELS.liver,
  spleen: PHANTOM_LABELS.spleen,
  kidneyRight: PHANTOM_LABELS.kidney_right,
  kidneyLeft: PHANTOM_LABELS.kidney_left,
  aorta: PHANTOM_LABELS.aorta,
  cortical: PHANTOM_LABELS.vertebrae,
  cancellous: PHANTOM_LABELS.vertebrae,
  vertebralArch: PHANTOM_LABELS.vertebrae,
};

export interface Material {
  name: string;
  label: number;
  hu: number;
}

export type LesionKind = 'metastasis' | 'cyst';

/** CT numbers of one case: HU by material (integers), drawn for the phase. */
export function drawMaterials(rng: Rng, phase: ContrastPhase): Material[] {
  const u = (lo: number, hi: number) => Math.round(rng.uniform(lo, hi));
  const by = <T>(nc: T, art: T, pv: T): T => (phase === 'non-contrast' ? nc : phase === 'arterial' ? art : pv);
  const fat = u(-115, -90);
  const aortaNc = u(35, 50);
  const aorta = by(aortaNc, u(250, 400), u(150, 200));
  const hu: Record<keyof typeof MAT, number> = {
    air: -1000,
    tableShell: u(80, 200),
    tableFoam: u(-950, -880),
    skin: u(30, 50),
    fat,
    muscle: by(u(40, 55), u(50, 65), u(55, 70)),
    lung: u(-880, -820),
    liver: by(u(50, 65), u(65, 85), u(100, 130)),
    spleen: by(u(40, 50), u(110, 140), u(110, 130)),
    kidneyRight: 0,
    kidneyLeft: 0,
    aorta,
    cortical: u(700, 1000),
    cancellous: u(200, 300),
    vertebralArch: u(400, 600),
    disc: u(70, 100),
    csf: u(5, 15),
    ivc: by(aortaNc, u(60, 90), u(130, 170)),
    myocardium: by(u(40, 50), u(90, 120), u(100, 130)),
    heartBlood: by(aortaNc, Math.round(aorta * 0.95), u(140, 180)),
    bile: u(0, 15),
    renalSinus: fat + 20,
    stomachWall: by(u(35, 45), u(60, 80), u(80, 100)),
    stomachFluid: u(0, 15),
    gas: -1000,
    bowel: by(u(30, 40), u(45, 60), u(60, 90)),
  };
  hu.kidneyRight = hu.kidneyLeft = by(u(30, 40), u(160, 220), u(150, 200));
  return MATERIAL_NAMES.map((name) => ({ name, label: LABEL_OF[name] ?? 0, hu: hu[name] }));
}

/** A hypodense liver lesion's CT number for the phase: always at least 10 HU below the liver. */
export function drawLesionHu(rng: Rng, phase: ContrastPhase, liverHu: number, kind: LesionKind): number {
  if (kind === 'cyst') return Math.round(rng.uniform(0, 15));
  const [lo, hi] = phase === 'non-contrast' ? [30, 50] : phase === 'arterial' ? [40, 60] : [40, 80];
  return Math.round(Math.min(rng.uniform(lo, hi), liverHu - 10 - rng.uniform(0, 10)));
}
