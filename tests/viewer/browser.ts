/**
 * Real-browser helpers: Debian's Chromium driven by playwright-core (flags from ../shared/DOMAIN.md §7: headless,
 * WebGL2 through SwiftShader), pages that record errors and CSP violations, screenshots kept as test artifacts, and
 * the expected pixel colour of a scan + label overlay at an LPS point.
 */
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { chromium, type Browser, type Page } from 'playwright-core';
import type { Volume } from '../../src/volume/types.js';
import { lpsToIndex, lpsToViewPixel, type Vec3, type ViewState } from '../../viewer/src/core/geometry.js';
import { greyLevel, type WindowLevel } from '../../viewer/src/core/window-level.js';
import type { ViewReport } from '../../viewer/src/core/hook-types.js';
import { ROOT, systemFile } from '../helpers.js';
import { decodePng, type RgbaImage } from './png.js';

export const CHROMIUM = '/usr/bin/chromium';
export const ARTIFACTS = join(ROOT, 'test-artifacts', 'viewer');

/** Whether the browser tests can run: skips locally with a message, fails under CI (where .ci/run installs it). */
export function chromiumAvailable(): boolean {
  return systemFile(CHROMIUM, "the viewer's browser tests drive Debian's Chromium (apt-get install chromium)");
}

/** Builds viewer/dist when it is missing (npm test builds it first; this serves `vitest run tests/viewer`). */
export function ensureViewerBuilt(): void {
  if (existsSync(join(ROOT, 'viewer', 'dist', 'index.html'))) return;
  const r = spawnSync(process.execPath, [join(ROOT, 'viewer', 'build.mjs')], { cwd: ROOT, encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`npm run build:viewer failed:\n${r.stderr}${r.stdout}`);
}

export function launchChromium(): Promise<Browser> {
  return chromium.launch({ executablePath: CHROMIUM, args: ['--headless=new', '--no-sandbox', '--enable-unsafe-swiftshader', '--use-angle=swiftshader'] });
}

/** Console noise that is not the page's fault (DOMAIN.md §7). */
const NOISE = [/favicon\.ico/, /GPU stall due to ReadPixels/, /Automatic fallback to software WebGL/];

export interface WatchedPage {
  page: Page;
  /** Page errors, console errors and CSP violations seen so far. */
  problems: string[];
}

export async function openPage(browser: Browser, options: { token?: string; noWebGl2?: boolean } = {}): Promise<WatchedPage> {
  const context = await browser.newContext({ viewport: { width: 1400, height: 900 }, deviceScaleFactor: 1 });
  const page = await context.newPage();
  const problems: string[] = [];
  page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
  page.on('console', (m) => {
    if (m.type() === 'error' && !NOISE.some((r) => r.test(m.text()))) problems.push(`console error: ${m.text()}`);
    if (m.text().startsWith('CSP violation')) problems.push(m.text());
  });
  // A script string, not a function: this file is type-checked without the DOM library.
  const init = [
    options.token ? `sessionStorage.setItem('medseg.token', ${JSON.stringify(options.token)});` : '',
    "document.addEventListener('securitypolicyviolation', (e) => console.log('CSP violation: ' + e.violatedDirective + ' ' + e.blockedURI));",
    options.noWebGl2 ? "{ const original = HTMLCanvasElement.prototype.getContext; HTMLCanvasElement.prototype.getContext = function (type, ...rest) { return type === 'webgl2' ? null : original.call(this, type, ...rest); }; }" : '',
  ].join('\n');
  await page.addInitScript({ content: init });
  return { page, problems };
}

/** Evaluates an expression in the page (e.g. on window.medsegViewer), awaiting it when it is a promise. */
export function inPage<T>(page: Page, expression: string): Promise<T> {
  return page.evaluate(`(async () => (${expression}))()`) as Promise<T>;
}

/** A screenshot of the whole viewport, kept under test-artifacts/viewer/<name>.png and decoded. */
export async function screenshot(page: Page, name: string): Promise<RgbaImage> {
  mkdirSync(ARTIFACTS, { recursive: true });
  const png = await page.screenshot({ type: 'png' });
  writeFileSync(join(ARTIFACTS, `${name}.png`), png);
  return decodePng(new Uint8Array(png));
}

/** The page pixel of an LPS point in a slice view (view rect offset + the camera mapping). */
export function pagePixel(v: ViewReport, p: Vec3): [number, number] {
  const state: ViewState = { sliceAxis: v.sliceAxis, directionOfProjection: v.directionOfProjection, right: v.right, up: v.up, focalPoint: v.focalPoint, parallelScale: v.parallelScale };
  const [x, y] = lpsToViewPixel(state, p, v.rect.width, v.rect.height);
  return [v.rect.x + x, v.rect.y + y];
}

/** The scan's value at an LPS point, interpolated linearly within the slice plane of `axis` (as the GPU samples it). */
export function sampleScan(scan: Volume, p: Vec3, axis: number): number {
  const f = lpsToIndex(scan, p);
  const [nx, ny] = scan.dims;
  const base = f.map((c, a) => (a === axis ? Math.round(c) : Math.floor(c)));
  let sum = 0;
  for (const da of [0, 1]) {
    for (const db of [0, 1]) {
      const idx = [...base];
      const inPlane = [0, 1, 2].filter((a) => a !== axis);
      idx[inPlane[0]!]! += da;
      idx[inPlane[1]!]! += db;
      const w = [inPlane[0]!, inPlane[1]!].reduce((acc, a, n) => acc * ((n === 0 ? da : db) ? f[a]! - base[a]! : 1 - (f[a]! - base[a]!)), 1);
      const clamped = idx.map((c, a) => Math.min(scan.dims[a]! - 1, Math.max(0, c)));
      sum += w * scan.data[clamped[0]! + clamped[1]! * nx + clamped[2]! * nx * ny]!;
    }
  }
  return sum;
}

/** The label of the voxel nearest to an LPS point. */
export function labelAt(labels: Volume, p: Vec3): number {
  const f = lpsToIndex(labels, p).map((c, a) => Math.min(labels.dims[a]! - 1, Math.max(0, Math.round(c))));
  return labels.data[f[0]! + f[1]! * labels.dims[0] + f[2]! * labels.dims[0] * labels.dims[1]]!;
}

/** Expected RGB: the windowed grey of the scan, with the label colour blended over it at `alpha`. */
export function expectedRgb(hu: number, wl: WindowLevel, colour: readonly number[] | undefined, alpha: number): [number, number, number] {
  const g = greyLevel(hu, wl);
  if (!colour) return [g, g, g];
  return [0, 1, 2].map((c) => alpha * colour[c]! + (1 - alpha) * g) as [number, number, number];
}

/** Largest per-channel difference. */
export function rgbDistance(a: readonly number[], b: readonly number[]): number {
  return Math.max(...[0, 1, 2].map((c) => Math.abs(a[c]! - b[c]!)));
}
