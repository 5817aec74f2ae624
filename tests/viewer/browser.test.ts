/**
 * The viewer in a real browser (Debian's Chromium, headless, WebGL2 through SwiftShader) against the real server on
 * an ephemeral port with a bearer token: the demo result (the demo CT and its ground-truth labels, imported as a
 * finished job) and the upload of the demo NIfTI through the page with the fast pointwise-4mm model.
 *
 * Pixels are read from screenshots (kept in test-artifacts/viewer/) at points chosen in LPS from the label map and
 * mapped to the page with the camera each view reports; the expected colour is computed here from the scan's HU, the
 * window and the label colour. Skipped locally without /usr/bin/chromium, failing under CI=true.
 */
import { copyFileSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser } from 'playwright-core';
import { readNifti } from '../../src/io/nifti/read.js';
import type { Volume } from '../../src/volume/types.js';
import type { StatsJson } from '../../viewer/src/core/api-types.js';
import { add, scale, VIEW_AXES, viewPixelToLps, type Vec3, type ViewName } from '../../viewer/src/core/geometry.js';
import type { Timings, ViewReport } from '../../viewer/src/core/hook-types.js';
import { expectAllClose, fixture, ROOT } from '../helpers.js';
import { medsegTs, removeTempDirs, startTestServer, tempDir, TOKEN, type TestServer } from '../server/helpers.js';
import {
  chromiumAvailable,
  ensureViewerBuilt,
  expectedRgb,
  inPage,
  labelAt,
  launchChromium,
  openPage,
  pagePixel,
  rgbDistance,
  sampleScan,
  screenshot,
  type WatchedPage,
} from './browser.js';
import { meanRgb, type RgbaImage } from './png.js';

const HAS_CHROMIUM = chromiumAvailable();
const DEMO_MODEL = 'medseg-default-abdomen-2d';
const LIVER: Vec3 = [221, 130, 101];
const SPLEEN: Vec3 = [157, 108, 162];
const LESION: Vec3 = [255, 230, 0];
const SOFT_TISSUE = { window: 400, level: 40 };
/** Overlay opacity the viewer opens with. */
const ALPHA = 0.5;
/**
 * Pixel tolerance (largest channel difference, 0–255) of a 3×3 px mean against the expected colour: SwiftShader's
 * texture filtering and 8-bit lookup tables, and the screenshot's rounding; measured here at most 2.3; 8 leaves room.
 */
const TOL = 8;

let server: TestServer;
let browser: Browser;
let scan: Volume;
let labels: Volume;
let stats: StatsJson;
let demoJob: string;

/** A point well inside a label: the voxel nearest `start` whose ±r in-plane and ±rk slice neighbourhood is all `label`. */
function interiorPoint(label: number, start: Vec3, r: number, rk = 1): Vec3 {
  const [nx, ny, nz] = labels.dims;
  const at = (i: number, j: number, k: number) => labels.data[i + j * nx + k * nx * ny];
  const c = start.map((v, a) => Math.round((v - labels.origin[a]!) / labels.spacing[a]!));
  for (let radius = 0; radius < 40; radius++) {
    for (let dk = -radius; dk <= radius; dk++) {
      for (let dj = -radius; dj <= radius; dj++) {
        for (let di = -radius; di <= radius; di++) {
          const [i, j, k] = [c[0]! + di, c[1]! + dj, c[2]! + dk];
          if (i < r || j < r || k < rk || i >= nx - r || j >= ny - r || k >= nz - rk) continue;
          let ok = true;
          for (let z = k - rk; z <= k + rk && ok; z++) for (let y = j - r; y <= j + r && ok; y++) for (let x = i - r; x <= i + r && ok; x++) ok = at(x, y, z) === label;
          if (ok) return [labels.origin[0] + i * labels.spacing[0], labels.origin[1] + j * labels.spacing[1], labels.origin[2] + k * labels.spacing[2]];
        }
      }
    }
  }
  throw new Error(`no interior point of label ${label} near ${start.join(', ')}`);
}

async function waitForLabels(p: WatchedPage): Promise<void> {
  await p.page.waitForSelector('body[data-labels="ready"], body[data-error]', { timeout: 60_000 });
  const error = await p.page.getAttribute('body', 'data-error');
  if (error) throw new Error(`the viewer failed (${error}): ${await p.page.textContent('#banner-text')}\n${p.problems.join('\n')}`);
}

const views = (p: WatchedPage) => inPage<Record<ViewName, ViewReport>>(p.page, 'window.medsegViewer.views()');
const settle = (p: WatchedPage) => inPage<void>(p.page, 'window.medsegViewer.settle()');

/** Checks the pixel of LPS point q in a view against the scan grey with the label colour (or none) over it. */
function expectPixel(img: RgbaImage, v: ViewReport, q: Vec3, colour: Vec3 | undefined, what: string): [number, number, number] {
  const [x, y] = pagePixel(v, q);
  const got = meanRgb(img, x, y);
  const want = expectedRgb(sampleScan(scan, q, v.sliceAxis), SOFT_TISSUE, colour, ALPHA);
  expect(rgbDistance(got, want), `${what}: pixel (${x.toFixed(1)}, ${y.toFixed(1)}) is ${got.map((c) => c.toFixed(0))}, expected ${want.map((c) => c.toFixed(0))}`).toBeLessThanOrEqual(TOL);
  return got;
}

/** The LPS point `px` pixels right and down of q in a view (off the crosshair lines, which leave a 10 px gap). */
function offsetInView(v: ViewReport, q: Vec3, px: number): Vec3 {
  const mmPerPx = (2 * v.parallelScale) / v.rect.height;
  return add(q, add(scale(v.right, px * mmPerPx), scale(v.up, -px * mmPerPx)));
}

describe.skipIf(!HAS_CHROMIUM)('viewer in Chromium', () => {
  beforeAll(async () => {
    ensureViewerBuilt();
    const models = tempDir('viewer-models');
    copyFileSync(join(ROOT, 'models', 'default', 'default.card.json'), join(models, 'default.card.json'));
    copyFileSync(fixture('models', 'pointwise-4mm.card.json'), join(models, 'pointwise-4mm.card.json'));
    copyFileSync(fixture('models', 'pointwise-3d.onnx'), join(models, 'pointwise-3d.onnx'));
    const results = tempDir('viewer-demo');
    copyFileSync(fixture('demo', 'labels.nii.gz'), join(results, 'labels.nii.gz'));
    await medsegTs('stats', fixture('demo', 'labels.nii.gz'), '--image', fixture('demo', 'ct.nii.gz'), '--model', join(models, 'default.card.json'), '--out', results);
    stats = JSON.parse(readFileSync(join(results, 'stats.json'), 'utf8')) as StatsJson;
    [server, browser, { volume: scan }, { volume: labels }] = await Promise.all([
      startTestServer({ modelsDir: models, demo: { inputs: [fixture('demo', 'ct.nii.gz')], results, model: DEMO_MODEL } }),
      launchChromium(),
      readNifti(fixture('demo', 'ct.nii.gz')),
      readNifti(fixture('demo', 'labels.nii.gz')),
    ]);
    demoJob = server.demoJobId!;
  });

  afterAll(async () => {
    await browser?.close();
    await server?.close({ graceMs: 0 });
    removeTempDirs();
  });

  it('asks for the token, then shows the demo scan with each structure in its colour at its place', async () => {
    const p = await openPage(browser);
    await p.page.goto(`${server.url}/?job=${demoJob}`);
    // No token yet: the first API call answers 401 and the page asks for it.
    await p.page.waitForSelector('#token-dialog[open]');
    expect(await p.page.textContent('#token-reason')).toContain('missing credentials');
    await p.page.fill('#token-input', TOKEN);
    await p.page.click('#token-save');
    await waitForLabels(p);
    expect(await inPage<string | null>(p.page, "sessionStorage.getItem('medseg.token')")).toBe(TOKEN);

    // Every view uses the camera of the radiological convention (geometry.test.ts checks the convention itself).
    const v0 = await views(p);
    for (const name of ['axial', 'coronal', 'sagittal'] as const) {
      expectAllClose(v0[name].right, VIEW_AXES[name].right, { atol: 1e-12, rtol: 0 });
      expectAllClose(v0[name].up, VIEW_AXES[name].up, { atol: 1e-12, rtol: 0 });
    }
    expect(await p.page.textContent('#view-axial .edge-left')).toBe('R');
    expect(await p.page.textContent('#view-axial .edge-top')).toBe('A');

    // The whole scan fitted in the axial view: liver (patient right) left of the centre, spleen right of it.
    const liverStats = stats.structures.find((s) => s.name === 'liver')!;
    const spleenStats = stats.structures.find((s) => s.name === 'spleen')!;
    const liver = interiorPoint(1, liverStats.centroidLps as unknown as Vec3, 10, 4);
    const spleen = interiorPoint(2, spleenStats.centroidLps as unknown as Vec3, 3);
    await inPage(p.page, `window.medsegViewer.setCrosshair(${JSON.stringify(liver)})`);
    await settle(p);
    let img = await screenshot(p.page, 'demo-liver');
    let v = await views(p);
    const axial = v.axial;
    expect(pagePixel(axial, liver)[0]).toBeLessThan(axial.rect.x + axial.rect.width / 2);
    for (const name of ['axial', 'coronal', 'sagittal'] as const) {
      const q = offsetInView(v[name], liver, 14);
      expect(labelAt(labels, q), `${name} sample point is liver`).toBe(1);
      expectPixel(img, v[name], q, LIVER, `liver in the ${name} view`);
    }

    // The overlay's edge is the label map's edge: along an image row crossing the liver boundary, the pixel at the
    // centre of the last liver voxel is tinted and the one at the centre of the first voxel outside is not (±½ voxel).
    const edge = findLiverEdge(liver, axial);
    const inside = meanRgb(img, ...pagePixel(axial, edge.inside), 0);
    const outside = meanRgb(img, ...pagePixel(axial, edge.outside), 0);
    expect(inside[0] - inside[2], `inside the edge ${inside}`).toBeGreaterThan(40);
    expect(Math.abs(outside[0] - outside[2]), `outside the edge ${outside}`).toBeLessThanOrEqual(4);

    // Background: air outside the body is black under the soft-tissue window, and carries no colour.
    const air: Vec3 = [scan.origin[0] + 3 * scan.spacing[0], scan.origin[1] + 3 * scan.spacing[1], liver[2]];
    expect(labelAt(labels, air)).toBe(0);
    expect(sampleScan(scan, air, 2)).toBeLessThan(-900);
    const airRgb = meanRgb(img, ...pagePixel(axial, air));
    expect(Math.max(...airRgb), `air pixel ${airRgb}`).toBeLessThanOrEqual(4);
    // Unlabelled soft tissue next to the liver is plain grey (no tint) at its HU.
    const tissue = findUnlabelledTissue(liver);
    const tissueRgb = expectPixel(img, axial, tissue, undefined, 'unlabelled tissue');
    expect(Math.max(...tissueRgb) - Math.min(...tissueRgb)).toBeLessThanOrEqual(3);
    expect(Math.max(...tissueRgb)).toBeGreaterThan(40);

    await inPage(p.page, `window.medsegViewer.setCrosshair(${JSON.stringify(spleen)})`);
    await settle(p);
    img = await screenshot(p.page, 'demo-spleen');
    v = await views(p);
    expect(pagePixel(v.axial, spleen)[0]).toBeGreaterThan(v.axial.rect.x + v.axial.rect.width / 2);
    expectPixel(img, v.axial, offsetInView(v.axial, spleen, 6), SPLEEN, 'spleen in the axial view');

    // The 3D view: 8 label surfaces, lit structures in the middle, its background colour in the corners.
    await p.page.waitForSelector('body[data-surfaces="ready"]', { timeout: 60_000 });
    await settle(p);
    expect(await inPage<number>(p.page, 'window.medsegViewer.surfaceCount()')).toBe(8);
    img = await screenshot(p.page, 'demo-3d');
    const r3 = await inPage<ViewReport['rect']>(p.page, 'window.medsegViewer.view3dRect()');
    const bg = [0.08 * 255, 0.09 * 255, 0.11 * 255];
    expect(rgbDistance(meanRgb(img, r3.x + 5, r3.y + r3.height - 5), bg)).toBeLessThanOrEqual(2);
    let surface = 0;
    let total = 0;
    for (let y = r3.y + r3.height * 0.25; y < r3.y + r3.height * 0.75; y += 4) {
      for (let x = r3.x + r3.width * 0.25; x < r3.x + r3.width * 0.75; x += 4) {
        total++;
        if (rgbDistance(meanRgb(img, x, y, 0), bg) > 30) surface++;
      }
    }
    expect(surface / total, 'share of the 3D view centre covered by surfaces').toBeGreaterThan(0.3);

    const t = await inPage<Timings>(p.page, 'window.medsegViewer.timings()');
    expect(t.firstImageMs).toBeGreaterThan(0);
    expect(t.labelsMs).toBeGreaterThanOrEqual(t.firstImageMs!);
    // The browser logs the one refused request (before the token was entered); nothing else went wrong.
    expect(p.problems).toEqual(['console error: Failed to load resource: the server responded with a status of 401 (Unauthorized)']);
  });

  it('hides a structure when its box is unticked, and shows it again', async () => {
    const p = await openPage(browser, { token: TOKEN });
    await p.page.goto(`${server.url}/?job=${demoJob}`);
    await waitForLabels(p);
    const liver = interiorPoint(1, stats.structures[0]!.centroidLps as unknown as Vec3, 10, 4);
    await inPage(p.page, `window.medsegViewer.setCrosshair(${JSON.stringify(liver)})`);
    const box = p.page.locator('#structures-body tr[data-label="1"] input.visible');
    await box.uncheck();
    await settle(p);
    const v = await views(p);
    const q = offsetInView(v.axial, liver, 14);
    const hidden = expectPixel(await screenshot(p.page, 'liver-hidden'), v.axial, q, undefined, 'hidden liver');
    expect(Math.max(...hidden) - Math.min(...hidden)).toBeLessThanOrEqual(3);
    await box.check();
    await settle(p);
    expectPixel(await screenshot(p.page, 'liver-shown'), v.axial, q, LIVER, 'liver shown again');
    expect(p.problems).toEqual([]);
  });

  it('centres every view on a lesion when it is clicked, and switches window presets', async () => {
    const p = await openPage(browser, { token: TOKEN });
    await p.page.goto(`${server.url}/?job=${demoJob}`);
    await waitForLabels(p);
    expect(await p.page.locator('#lesions-list button.lesion').count()).toBe(2);
    await p.page.click('#lesions-list button.lesion[data-index="1"]');
    await settle(p);
    const centroid = stats.lesions[0]!.centroidLps as unknown as Vec3;
    const crosshair = await inPage<Vec3>(p.page, 'window.medsegViewer.crosshair()');
    crosshair.forEach((c, a) => expect(c).toBeCloseTo(centroid[a]!, 6));
    const v = await views(p);
    const img = await screenshot(p.page, 'lesion-centred');
    for (const name of ['axial', 'coronal', 'sagittal'] as const) {
      const [x, y] = pagePixel(v[name], centroid);
      expect(x).toBeCloseTo(v[name].rect.x + v[name].rect.width / 2, 6);
      expect(y).toBeCloseTo(v[name].rect.y + v[name].rect.height / 2, 6);
      // The lesion's centre pixel is yellow over grey: the viewer's own mapping of it, independent of the hook's.
      const q = viewPixelToLps({ ...v[name], sliceAxis: v[name].sliceAxis }, v[name].rect.width / 2, v[name].rect.height / 2, v[name].rect.width, v[name].rect.height);
      expect(labelAt(labels, q)).toBe(8);
      expectPixel(img, v[name], q, LESION, `lesion in the ${name} view`);
    }
    await p.page.click('#presets button[data-preset="bone"]');
    expect(await inPage(p.page, 'window.medsegViewer.windowLevel()')).toEqual({ window: 1800, level: 400 });
    expect(await p.page.textContent('#wl-readout')).toBe('W 1800 / L 400');
    expect(p.problems).toEqual([]);
  });

  it('uploads the demo NIfTI through the page, follows the job and opens its result', { timeout: 240_000 }, async () => {
    const p = await openPage(browser, { token: TOKEN });
    await p.page.goto(server.url);
    await p.page.waitForSelector('#upload-form[data-models="ready"]');
    // The demo job is listed among the recent jobs.
    await p.page.waitForSelector(`#jobs-body tr[data-job="${demoJob}"][data-status="succeeded"]`);
    await p.page.setInputFiles('#scan-files', fixture('demo', 'ct.nii.gz'));
    await p.page.selectOption('#model-select', 'pointwise-4mm');
    const phases = new Set<string>();
    const watch = setInterval(() => {
      p.page.getAttribute('#job-progress', 'data-phase').then((ph) => ph && phases.add(ph), () => undefined);
    }, 100);
    try {
      await p.page.click('#segment-button');
      await p.page.waitForURL(/\?job=job_[0-9a-f]{32}$/, { timeout: 30_000 });
      await p.page.waitForSelector('body[data-labels="ready"], body[data-error]', { timeout: 200_000 });
    } finally {
      clearInterval(watch);
    }
    expect(await p.page.getAttribute('body', 'data-error')).toBeNull();
    const jobId = new URL(p.page.url()).searchParams.get('job')!;
    const job = (await (await server.api(`/api/jobs/${jobId}`)).json()) as { status: string; model: string };
    expect(job).toMatchObject({ status: 'succeeded', model: 'pointwise-4mm' });
    // The progress box went through the upload and job phases only (sampling starts before the click, so the
    // initial idle may be seen too), and ended at success.
    expect([...phases].every((ph) => ['idle', 'uploading', 'submitting', 'queued', 'running', 'succeeded'].includes(ph)), [...phases].join()).toBe(true);
    expect(await p.page.getAttribute('#job-progress', 'data-phase')).toBe('succeeded');
    // The pointwise model's two labels (HU thresholds), both touching the scan border: flagged incomplete.
    expect(await p.page.locator('#structures-body td.name > :first-child').allTextContents()).toEqual(['low', 'middle']);
    expect(await p.page.locator('#structures-body .flag.incomplete').count()).toBe(2);
    await settle(p);
    await screenshot(p.page, 'uploaded-result');
    expect(p.problems).toEqual([]);
  });

  it('says so when a non-scan file is uploaded, with the server’s reason', async () => {
    const p = await openPage(browser, { token: TOKEN });
    await p.page.goto(server.url);
    await p.page.waitForSelector('#upload-form[data-models="ready"]');
    await p.page.setInputFiles('#scan-files', { name: 'notes.txt', mimeType: 'text/plain', buffer: Buffer.from('not a scan\n'.repeat(100)) });
    await p.page.click('#segment-button');
    await p.page.waitForSelector('#job-progress[data-phase="error"]');
    expect(await p.page.textContent('#job-status')).toMatch(/\(UNSUPPORTED_MEDIA_TYPE\)$/);
    await screenshot(p.page, 'upload-refused');
  });

  it('explains that WebGL2 is needed when the browser has none', async () => {
    const p = await openPage(browser, { token: TOKEN, noWebGl2: true });
    await p.page.goto(`${server.url}/?job=${demoJob}`);
    await p.page.waitForSelector('body[data-error="webgl2"]');
    expect(await p.page.textContent('#banner-text')).toContain('cannot create a WebGL2 context');
    await screenshot(p.page, 'no-webgl2');
  });
});

/**
 * Two neighbouring voxel centres across the liver's boundary in the axial slice of `near`, along i: the last of 3 liver
 * voxels and the first of 3 background voxels, away from the crosshair lines (which cross the view at `near`).
 */
function findLiverEdge(near: Vec3, axial: ViewReport): { inside: Vec3; outside: Vec3 } {
  const [nx, ny] = labels.dims;
  const k = Math.round((near[2] - labels.origin[2]) / labels.spacing[2]);
  const lps = (i: number, j: number): Vec3 => [labels.origin[0] + i * labels.spacing[0], labels.origin[1] + j * labels.spacing[1], labels.origin[2] + k * labels.spacing[2]];
  const [cx, cy] = pagePixel(axial, near);
  for (let j = 0; j < ny; j++) {
    for (let i = 3; i < nx - 4; i++) {
      const n = i + j * nx + k * nx * ny;
      const run = [-2, -1, 0, 1, 2, 3].map((d) => labels.data[n + d]);
      if (run.join() !== '1,1,1,0,0,0') continue;
      const [x, y] = pagePixel(axial, lps(i, j));
      if (Math.abs(x - cx) > 16 && Math.abs(y - cy) > 16) return { inside: lps(i, j), outside: lps(i + 1, j) };
    }
  }
  throw new Error('no liver edge found in the slice');
}

/** An unlabelled soft-tissue point in the liver's axial slice: label 0 all around, HU within the soft-tissue window. */
function findUnlabelledTissue(near: Vec3): Vec3 {
  const [nx, ny] = labels.dims;
  const k = Math.round((near[2] - labels.origin[2]) / labels.spacing[2]);
  const plane = k * nx * ny;
  for (let j = 4; j < ny - 4; j++) {
    for (let i = 4; i < nx - 4; i++) {
      let ok = true;
      for (let dj = -4; dj <= 4 && ok; dj++) {
        for (let di = -4; di <= 4 && ok; di++) {
          const n = plane + (i + di) + (j + dj) * nx;
          ok = labels.data[n] === 0 && scan.data[n]! > 20 && scan.data[n]! < 80;
        }
      }
      if (ok) return [labels.origin[0] + i * labels.spacing[0], labels.origin[1] + j * labels.spacing[1], near[2]];
    }
  }
  throw new Error('no unlabelled soft tissue in the slice');
}

if (!HAS_CHROMIUM) {
  describe('viewer in Chromium', () => {
    it.skip('needs /usr/bin/chromium (apt-get install chromium; .ci/run installs it)', () => undefined);
  });
}
