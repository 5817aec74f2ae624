/** `medseg phantom`: a synthetic abdominal CT with labels and ground truth (and optionally a DICOM series). */
import cliProgress from 'cli-progress';
import { generatePhantom, validatePhantomOptions, type PhantomOptions } from '../phantom/generate.js';
import { writePhantom, type PhantomFiles } from '../phantom/write.js';
import type { Vec3, Vec3i } from '../volume/types.js';

export interface PhantomArgs {
  seed: number;
  size?: Vec3i | undefined;
  spacing?: Vec3 | undefined;
  oblique: boolean;
}

/**
 * Parses the phantom options as typed on the command line. Returns the options, or the usage problem in words.
 * @example parsePhantomArgs({ seed: '7', size: '256x256x120', spacing: '0.8,0.8,2' })
 */
export function parsePhantomArgs(values: { seed?: string | undefined; size?: string | undefined; spacing?: string | undefined; oblique?: boolean | undefined }): PhantomArgs | string {
  if (values.seed === undefined) return 'phantom needs --seed <n> (a whole number ≥ 0; the same seed gives the same phantom)';
  const seed = Number(values.seed);
  if (!/^\d+$/.test(values.seed.trim()) || !Number.isSafeInteger(seed)) return `--seed must be a whole number from 0 to ${Number.MAX_SAFE_INTEGER}, got "${values.seed}"`;
  let size: Vec3i | undefined;
  if (values.size !== undefined) {
    const m = /^(\d+)[x×](\d+)[x×](\d+)$/i.exec(values.size.trim());
    if (!m) return `--size must be WxHxD (three whole numbers, e.g. 256x256x120), got "${values.size}"`;
    size = [Number(m[1]), Number(m[2]), Number(m[3])];
  }
  let spacing: Vec3 | undefined;
  if (values.spacing !== undefined) {
    const parts = values.spacing.split(',').map((p) => p.trim());
    const nums = parts.map((p) => (/^\d*\.?\d+(e[+-]?\d+)?$/i.test(p) ? Number(p) : NaN));
    if (nums.length !== 3 || nums.some((v) => !Number.isFinite(v))) return `--spacing must be sx,sy,sz in mm (e.g. 0.8,0.8,2.5), got "${values.spacing}"`;
    spacing = [nums[0]!, nums[1]!, nums[2]!];
  }
  const args: PhantomArgs = { seed, size, spacing, oblique: values.oblique ?? false };
  try {
    validatePhantomOptions(args);
  } catch (e) {
    if (e instanceof RangeError) return `--${e.message}`;
    throw e;
  }
  return args;
}

export interface PhantomSummary {
  out: string;
  files: PhantomFiles;
  seed: number;
  dims: Vec3i;
  spacing: Vec3;
  orientation: string;
  obliqueDeg: number;
  phase: string;
  lesions: number;
  structures: { value: number; name: string; voxels: number; volumeMl: number; trueVolumeMl: number }[];
  timings: { generateMs: number; writeMs: number; threads: number };
}

export async function phantomCommand(out: string, args: PhantomArgs, options: { dicom?: boolean | undefined; progress?: boolean | undefined } = {}): Promise<PhantomSummary> {
  const t0 = performance.now();
  const bar = options.progress ? new cliProgress.SingleBar({ format: ' rendering |{bar}| {percentage}% {value}/{total} planes ETA {eta_formatted}', hideCursor: true, clearOnComplete: true }, cliProgress.Presets.shades_classic) : undefined;
  const generateOptions: PhantomOptions = { ...args };
  if (bar) {
    let started = false;
    generateOptions.onProgress = (p) => {
      if (!started) {
        started = true;
        bar.start(p.total, p.done);
      } else bar.update(p.done);
    };
  }
  let phantom;
  try {
    phantom = await generatePhantom(generateOptions);
  } finally {
    bar?.stop();
  }
  const t1 = performance.now();
  const files = await writePhantom(out, phantom, { dicom: options.dicom });
  const t2 = performance.now();
  const { truth } = phantom;
  return {
    out,
    files,
    seed: truth.seed,
    dims: truth.dims,
    spacing: truth.spacing,
    orientation: truth.orientation,
    obliqueDeg: truth.obliqueDeg,
    phase: truth.phase,
    lesions: truth.lesions.length,
    structures: truth.labels.map((l) => ({ value: l.value, name: l.name, voxels: l.voxelCount, volumeMl: l.voxelVolumeMl, trueVolumeMl: l.trueVolumeMl })),
    timings: { generateMs: Math.round(t1 - t0), writeMs: Math.round(t2 - t1), threads: phantom.timingsMs.threads },
  };
}

export function renderPhantomSummary(s: PhantomSummary): string {
  const lines = [
    `wrote ${s.files.ct}, ${s.files.labels}, ${s.files.truth}${s.files.dicom ? ` and ${s.files.dicom.files} DICOM files in ${s.files.dicom.dir}` : ''}`,
    `seed ${s.seed}: ${s.dims.join('×')} voxels, spacing ${s.spacing.map((v) => +v.toFixed(4)).join('×')} mm, ${s.orientation}${s.obliqueDeg ? ` (oblique ${s.obliqueDeg}°)` : ''}, ${s.phase}, ${s.lesions} liver lesion(s); generated in ${(s.timings.generateMs / 1000).toFixed(1)} s, written in ${(s.timings.writeMs / 1000).toFixed(1)} s`,
  ];
  const width = Math.max(9, ...s.structures.map((x) => x.name.length));
  lines.push(`  ${'label'.padStart(5)}  ${'structure'.padEnd(width)}  ${'voxels'.padStart(10)}  ${'volume mL'.padStart(10)}  ${'true mL'.padStart(10)}`);
  for (const x of s.structures) lines.push(`  ${String(x.value).padStart(5)}  ${x.name.padEnd(width)}  ${String(x.voxels).padStart(10)}  ${x.volumeMl.toFixed(2).padStart(10)}  ${x.trueVolumeMl.toFixed(2).padStart(10)}`);
  return lines.join('\n');
}
