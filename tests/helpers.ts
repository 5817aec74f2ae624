/** Shared test helpers: tolerant comparisons, hashes, fixture paths, and system-dependency skips. */
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { expect } from 'vitest';
import { SegError } from '../src/errors.js';

export const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
export const fixture = (...parts: string[]) => join(ROOT, 'fixtures', ...parts);
export const IN_CI = process.env.CI === 'true';

/** The built command line (npm test builds it first). */
export const CLI = join(ROOT, 'dist', 'cli', 'main.js');
const execFileAsync = promisify(execFile);

/** Runs the built `medseg` binary from the project root; never throws on a nonzero exit. */
export async function medseg(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  if (!existsSync(CLI)) throw new Error(`${CLI} is missing: run \`npm run build\` (npm test does it first)`);
  try {
    const { stdout, stderr } = await execFileAsync(process.execPath, [CLI, ...args], { cwd: ROOT, maxBuffer: 1 << 24 });
    return { code: 0, stdout, stderr };
  } catch (e) {
    const err = e as { code: number; stdout: string; stderr: string };
    return { code: err.code, stdout: err.stdout, stderr: err.stderr };
  }
}

// anchors: numpy assert_allclose as MONAI uses it; NaN must fail
export function expectAllClose(actual: ArrayLike<number>, expected: ArrayLike<number>, { atol = 1e-6, rtol = 1e-5 } = {}) {
  expect(actual.length).toBe(expected.length);
  const bad: number[] = [];
  for (let i = 0; i < expected.length; i++) {
    if (!(Math.abs(actual[i]! - expected[i]!) <= atol + rtol * Math.abs(expected[i]!))) bad.push(i);
  }
  expect(bad.length, `${bad.length} mismatches; first at ${bad[0]}: ${actual[bad[0]!]} vs ${expected[bad[0]!]}`).toBe(0);
}

export function sha256(data: ArrayBufferView): string {
  return createHash('sha256').update(new Uint8Array(data.buffer, data.byteOffset, data.byteLength)).digest('hex');
}

/**
 * Whether a file from a Debian package (or shared/) is present. Missing locally: the caller skips with the message.
 * Missing under CI: the test fails, because .ci/run must install it.
 */
export function systemFile(path: string, why: string): boolean {
  if (existsSync(path)) return true;
  if (IN_CI) throw new Error(`${path} is missing under CI (${why}); .ci/run must install it`);
  console.warn(`skipping: ${path} not found (${why})`);
  return false;
}

export function stats(data: ArrayLike<number>) {
  let min = Infinity;
  let max = -Infinity;
  let sum = 0;
  let count = 0;
  let nanCount = 0;
  for (let n = 0; n < data.length; n++) {
    const v = data[n]!;
    if (Number.isNaN(v)) {
      nanCount++;
      continue;
    }
    if (v < min) min = v;
    if (v > max) max = v;
    sum += v;
    count++;
  }
  return { min, max, sum, mean: sum / count, count, nanCount };
}

/** Row-major 4×4 as a flat array from nested rows. */
export const flat = (rows: number[][]) => rows.flat();

/**
 * Asserts that two volumes hold the same values at the same LPS positions, whatever their voxel order: every voxel
 * centre of `b` must land within `tolMm` of a voxel centre of `a` holding the same value.
 */
export async function expectSameWorldVoxels(
  a: import('../src/volume/types.js').Volume,
  b: import('../src/volume/types.js').Volume,
  tolMm = 1e-4,
) {
  const { indexToLps, lpsToIndex } = await import('../src/volume/geometry.js');
  expect(a.data.length).toBe(b.data.length);
  const [nx, ny, nz] = b.dims;
  let worstMm = 0;
  let mismatches = 0;
  for (let k = 0; k < nz; k++)
    for (let j = 0; j < ny; j++)
      for (let i = 0; i < nx; i++) {
        const p = indexToLps(b, [i, j, k]);
        const q = lpsToIndex(a, p);
        const r = q.map(Math.round) as [number, number, number];
        const back = indexToLps(a, r);
        worstMm = Math.max(worstMm, Math.hypot(back[0] - p[0], back[1] - p[1], back[2] - p[2]));
        const va = a.data[r[0] + r[1] * a.dims[0] + r[2] * a.dims[0] * a.dims[1]];
        if (va !== b.data[i + j * nx + k * nx * ny]) mismatches++;
      }
  expect(worstMm).toBeLessThanOrEqual(tolMm);
  expect(mismatches).toBe(0);
}

/** The SegError a promise rejects with; fails when it resolves or rejects with anything else. */
export async function rejection(p: Promise<unknown>): Promise<SegError> {
  try {
    await p;
  } catch (e) {
    if (e instanceof SegError) return e;
    throw e;
  }
  throw new Error('expected a SegError, but the call succeeded');
}
