/**
 * One IO measurement in a fresh process: `node --import tsx bench/io/child.ts <mode> <path>`. Prints one JSON line
 * with the time of the operation (ms, inside this process, excluding start-up and imports), the process's peak RSS
 * (KiB) and a checksum the parent compares with the generated data.
 *
 * Every mode performs the same imports (all static, below), so `idle` gives the RSS baseline that is subtracted
 * from the other modes' peaks.
 */
import { closeSync, fstatSync, openSync, readdirSync, readFileSync, readSync } from 'node:fs';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { readDicomVolume } from '../../src/io/dicom/index.js';
import { readNifti } from '../../src/io/nifti/read.js';
import { vmHwmKiB } from '../lib/proc.js';

export type NodeMode = 'idle' | 'raw-dicom' | 'pread-dicom' | 'read-dicom' | 'readfile' | 'read-nifti' | 'gunzip' | 'gunzip-sized';

export interface ChildResult {
  mode: NodeMode;
  ms: number;
  maxRssKiB: number;
  vmHwmKiB?: number;
  /** Sum of voxel values (loaders) or byte count (raw baselines). */
  check: number;
  checkKind: 'voxel-sum' | 'bytes';
}


function sum(data: ArrayLike<number>): number {
  let s = 0;
  for (let n = 0; n < data.length; n++) s += data[n]!;
  return s;
}

async function main(): Promise<void> {
  const [mode, path, extra] = process.argv.slice(2) as [NodeMode, string | undefined, string | undefined];
  let ms = 0;
  let check = 0;
  let checkKind: ChildResult['checkKind'] = 'bytes';
  const t0 = performance.now();
  switch (mode) {
    case 'idle':
      break;
    case 'raw-dicom': {
      // Baseline: read every file of the folder (sorted by name) and copy its pixel bytes (the trailing frame)
      // into one volume-sized buffer. `extra` is the frame size in bytes.
      const frame = Number(extra);
      const files = readdirSync(path!).sort();
      const out = Buffer.allocUnsafe(frame * files.length);
      let at = 0;
      for (const f of files) {
        const bytes = readFileSync(join(path!, f));
        at += bytes.copy(out, at, bytes.length - frame);
      }
      ms = performance.now() - t0;
      check = at;
      break;
    }
    case 'pread-dicom': {
      // Lower bound: pread each file's pixel bytes (the trailing frame) straight into the volume buffer, no
      // intermediate file buffers (what a reader that already knows the pixel offsets can do at best).
      const frame = Number(extra);
      const files = readdirSync(path!).sort();
      const out = Buffer.allocUnsafe(frame * files.length);
      let at = 0;
      for (const f of files) {
        const fd = openSync(join(path!, f), 'r');
        try {
          at += readSync(fd, out, at, frame, fstatSync(fd).size - frame);
        } finally {
          closeSync(fd);
        }
      }
      ms = performance.now() - t0;
      check = at;
      break;
    }
    case 'read-dicom': {
      const { volume } = await readDicomVolume(path!);
      ms = performance.now() - t0;
      check = sum(volume.data);
      checkKind = 'voxel-sum';
      break;
    }
    case 'readfile': {
      const bytes = readFileSync(path!);
      ms = performance.now() - t0;
      check = bytes.length;
      break;
    }
    case 'read-nifti': {
      const { volume } = await readNifti(path!);
      ms = performance.now() - t0;
      check = sum(volume.data);
      checkKind = 'voxel-sum';
      break;
    }
    case 'gunzip': {
      // Baseline: read the .nii.gz and inflate it in one call (what the .nii.gz load cannot beat).
      const bytes = gunzipSync(readFileSync(path!));
      ms = performance.now() - t0;
      check = bytes.length;
      break;
    }
    case 'gunzip-sized': {
      // Tight baseline: the same, with zlib's output chunk as large as the whole output (`extra` bytes), so inflate
      // writes one buffer instead of many 64 KiB chunks that gunzipSync then concatenates: the inflate cost itself.
      const bytes = gunzipSync(readFileSync(path!), { chunkSize: Number(extra) });
      ms = performance.now() - t0;
      check = bytes.length;
      break;
    }
    default:
      throw new Error(`unknown mode ${String(mode)}`);
  }
  const result: ChildResult = { mode, ms, maxRssKiB: process.resourceUsage().maxRSS, vmHwmKiB: vmHwmKiB(), check, checkKind };
  process.stdout.write(`${JSON.stringify(result)}\n`);
}

await main();
