/**
 * The viewer benchmark section (`npm run bench -- viewer`, issue 7): how fast the browser viewer shows a large
 * result, and how much memory it takes, in Debian's Chromium (headless, WebGL2 through SwiftShader: no GPU).
 *
 * Data (generated once into .cache/bench/viewer-data): the PACS section's 512×512×300 CT at 0.7×0.7×2 mm and its
 * 14-label map (bench/pacs/data.ts, reused when cached), as `ct.nii.gz` (`medseg convert` of the DICOM series) and
 * `results/labels.nii.gz` + `results/stats.json` (`medseg stats` with a 14-label card). A real server (`startServer`,
 * ephemeral port, token) imports them as its demo study and job; one unrecorded load makes it convert the scan
 * for the viewer (image.nii.gz, cached next to the study) before the measured reps.
 *
 * Each rep opens a fresh browser context (empty HTTP cache) and alternates:
 *   (a) baseline: on a same-origin page, fetch + gunzip (DecompressionStream) of the scan alone, then of scan and
 *       labels together: the least any page must spend before it can show them;
 *   (b) the viewer at /?job=<id>: time to first image (scan slices drawn), labels shown, 3D surfaces built (from the
 *       page's own timings, ms since it opened the job, and since navigation start), the page's JS heap (CDP
 *       Performance.getMetrics JSHeapUsedSize) and Chromium's RSS (sum of VmRSS of all its processes as CDP
 *       SystemInfo lists them, sampled every 100 ms: peak minus the idle browser before the page opened).
 * Ratios: first image / baseline scan, labels shown / baseline scan + labels.
 */
import { existsSync, mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium, type Browser } from 'playwright-core';
import { writeNifti } from '../src/io/nifti/write.js';
import { startServer } from '../src/server/app.js';
import type { Timings } from '../viewer/src/core/hook-types.js';
import { lastJsonLine, runTsChild } from './lib/proc.js';
import { fmt, markdownTable, max, median, min } from './lib/stats.js';
import { cachedPacsData, PACS_LABEL_NAMES, type PacsData } from './pacs/data.js';

const REPO = fileURLToPath(new URL('..', import.meta.url));
const CLI = join(REPO, 'src', 'cli', 'main.ts');
const PACS_DATA = fileURLToPath(new URL('./pacs/data.ts', import.meta.url));
const CHROMIUM = '/usr/bin/chromium';
const TOKEN = 'bench-viewer-token-0123456789';
/** Bump when the prepared files change. */
const DATA_VERSION = 1;

interface SectionContext {
  cacheDir: string;
  reps: number;
  regenerate: boolean;
  log: (line: string) => void;
}

interface Rep {
  baselineScanMs: number;
  baselineBothMs: number;
  timings: Timings;
  jsHeapUsedMB: number;
  jsHeapAfterSurfacesMB: number;
  browserRssPeakMB: number;
  browserRssAfterMB: number;
}

export interface ViewerBenchResult {
  dims: readonly number[];
  labels: number;
  files: { ctGzMB: number; labelsGzMB: number };
  bundle: { file: string; bytes: number }[];
  reps: Rep[];
  table: string;
  skipped?: string;
}

interface ViewerData {
  version: number;
  ct: string;
  results: string;
  models: string;
  dims: readonly number[];
}

/** Card with the 14 label names (no ONNX file: the viewer needs only the names; colours fall back to the palette). */
function benchCard(): object {
  const card = JSON.parse(readFileSync(join(REPO, 'fixtures', 'models', 'pointwise-4mm.card.json'), 'utf8')) as Record<string, unknown>;
  return {
    ...card,
    name: 'bench-viewer-14',
    description: 'label names of the benchmark 14-label map (no ONNX file)',
    model: 'absent.onnx',
    output: { name: 'output', channels: 15, activation: 'softmax' },
    labels: PACS_LABEL_NAMES.map((name, n) => ({ value: n + 1, name })),
  };
}

async function cli(...args: string[]): Promise<void> {
  const r = await runTsChild(CLI, args);
  if (r.code !== 0) throw new Error(`medseg ${args[0]} failed (${r.code}):\n${r.stderr.slice(-2000)}`);
}

async function prepare(ctx: SectionContext): Promise<ViewerData> {
  const dir = join(ctx.cacheDir, 'viewer-data');
  const metaFile = join(dir, 'meta.json');
  if (!ctx.regenerate && existsSync(metaFile)) {
    const meta = JSON.parse(readFileSync(metaFile, 'utf8')) as ViewerData;
    if (meta.version === DATA_VERSION && existsSync(meta.ct) && existsSync(join(meta.results, 'stats.json'))) return meta;
  }
  rmSync(dir, { recursive: true, force: true });
  let pacs: PacsData | undefined = cachedPacsData(ctx.cacheDir);
  if (!pacs) {
    ctx.log('viewer: generating the 512×512×300 CT series and 14-label map (bench/pacs/data.ts, once)…');
    pacs = lastJsonLine<PacsData>(await runTsChild(PACS_DATA, [ctx.cacheDir]), 'pacs data generator');
  }
  const results = join(dir, 'results');
  const models = join(dir, 'models');
  mkdirSync(results, { recursive: true });
  mkdirSync(models, { recursive: true });
  ctx.log('viewer: converting the series to NIfTI and writing the label map and its statistics…');
  const ct = join(dir, 'ct.nii.gz');
  await cli('convert', pacs.dicomDir, ct);
  const labels = new Uint8Array(readFileSync(pacs.labelsFile));
  await writeNifti(join(results, 'labels.nii.gz'), { data: labels, dims: pacs.dims, spacing: pacs.spacing, origin: pacs.origin, direction: pacs.direction }, { intentCode: 1002 });
  writeFileSync(join(models, 'bench-14.card.json'), `${JSON.stringify(benchCard(), null, 2)}\n`);
  await cli('stats', join(results, 'labels.nii.gz'), '--model', join(models, 'bench-14.card.json'), '--out', results);
  const meta: ViewerData = { version: DATA_VERSION, ct, results, models, dims: pacs.dims };
  writeFileSync(metaFile, `${JSON.stringify(meta, null, 2)}\n`);
  return meta;
}

/** Sum of VmRSS (MiB) of the given processes (an upper bound of their memory: shared pages count once per process). */
function rssMB(pids: readonly number[]): number {
  let kib = 0;
  for (const pid of pids) {
    try {
      kib += Number(/VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0);
    } catch {
      // The process ended in between.
    }
  }
  return kib / 1024;
}

/** The RSS of all of Chromium's processes (browser, renderers, GPU, utilities), listed by CDP SystemInfo. */
async function browserRssMB(browser: Browser): Promise<number> {
  const cdp = await browser.newBrowserCDPSession();
  try {
    const info = (await cdp.send('SystemInfo.getProcessInfo')) as { processInfo: { id: number }[] };
    return rssMB(info.processInfo.map((p) => p.id));
  } finally {
    await cdp.detach();
  }
}

async function baseline(browser: Browser, url: string, study: string, job: string): Promise<{ scanMs: number; bothMs: number }> {
  const context = await browser.newContext();
  try {
    const page = await context.newPage();
    await page.goto(`${url}/healthz`);
    const script = `(async () => {
      const h = { authorization: 'Bearer ${TOKEN}' };
      const load = async (path) => {
        const res = await fetch(path, { headers: h });
        const out = res.body.pipeThrough(new DecompressionStream('gzip'));
        return (await new Response(out).arrayBuffer()).byteLength;
      };
      const t0 = performance.now();
      await load('/api/studies/${study}/image.nii.gz');
      const t1 = performance.now();
      await Promise.all([load('/api/studies/${study}/image.nii.gz'), load('/api/jobs/${job}/results/labels.nii.gz')]);
      return { scanMs: t1 - t0, bothMs: performance.now() - t1 };
    })()`;
    return (await page.evaluate(script)) as { scanMs: number; bothMs: number };
  } finally {
    await context.close();
  }
}

async function viewerRep(browser: Browser, url: string, job: string): Promise<Omit<Rep, 'baselineScanMs' | 'baselineBothMs'>> {
  const context = await browser.newContext({ viewport: { width: 1600, height: 1000 } });
  try {
    const page = await context.newPage();
    await page.addInitScript({ content: `sessionStorage.setItem('medseg.token', ${JSON.stringify(TOKEN)});` });
    const cdp = await context.newCDPSession(page);
    await cdp.send('Performance.enable');
    const heapMB = async () => ((await cdp.send('Performance.getMetrics')).metrics.find((m) => m.name === 'JSHeapUsedSize')?.value ?? NaN) / 2 ** 20;
    const idle = await browserRssMB(browser);
    let peak = idle;
    const sampler = setInterval(() => {
      browserRssMB(browser).then((mb) => (peak = Math.max(peak, mb)), () => undefined);
    }, 100);
    try {
      await page.goto(`${url}/?job=${job}`);
      await page.waitForSelector('body[data-labels="ready"], body[data-error]', { timeout: 300_000 });
      const error = await page.getAttribute('body', 'data-error');
      if (error) throw new Error(`the viewer failed (${error}): ${await page.textContent('#banner-text')}`);
      const jsHeapUsedMB = await heapMB();
      await page.waitForSelector('body[data-surfaces="ready"], body[data-surfaces="failed"]', { timeout: 600_000 });
      const timings = (await page.evaluate('window.medsegViewer.timings()')) as Timings;
      const jsHeapAfterSurfacesMB = await heapMB();
      const after = await browserRssMB(browser);
      return { timings, jsHeapUsedMB, jsHeapAfterSurfacesMB, browserRssPeakMB: Math.max(peak, after) - idle, browserRssAfterMB: after - idle };
    } finally {
      clearInterval(sampler);
    }
  } finally {
    await context.close();
  }
}

export async function runViewerSection(ctx: SectionContext): Promise<ViewerBenchResult> {
  const bundleFile = join(REPO, 'viewer', 'dist', 'build.json');
  if (!existsSync(CHROMIUM) || !existsSync(bundleFile)) {
    const skipped = !existsSync(CHROMIUM) ? `${CHROMIUM} is missing (apt-get install chromium)` : 'viewer/dist is missing (npm run build:viewer)';
    ctx.log(`viewer: skipped: ${skipped}`);
    return { dims: [], labels: 0, files: { ctGzMB: 0, labelsGzMB: 0 }, bundle: [], reps: [], table: '', skipped };
  }
  const bundle = (JSON.parse(readFileSync(bundleFile, 'utf8')) as { files: { file: string; bytes: number }[] }).files;
  const data = await prepare(ctx);
  const dataDir = join(tmpdir(), `medseg-bench-viewer-${process.pid}`);
  const server = await startServer({ host: '127.0.0.1', port: 0, dataDir, modelsDir: data.models, token: TOKEN, log: () => undefined, shutdownGraceMs: 0, demo: { inputs: [data.ct], results: data.results, model: 'bench-viewer-14' } });
  const browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--headless=new', '--no-sandbox', '--enable-unsafe-swiftshader', '--use-angle=swiftshader'] });
  const reps: Rep[] = [];
  try {
    const job = server.demoJobId!;
    const jobJson = (await (await fetch(`${server.url}/api/jobs/${job}`, { headers: { authorization: `Bearer ${TOKEN}` } })).json()) as { study: string };
    ctx.log('viewer: warm-up load (the server converts the scan for the viewer once)…');
    await viewerRep(browser, server.url, job);
    for (let r = 0; r < ctx.reps; r++) {
      ctx.log(`viewer: rep ${r + 1}/${ctx.reps}…`);
      const first = r % 2 === 0;
      const b1 = first ? await baseline(browser, server.url, jobJson.study, job) : undefined;
      const v = await viewerRep(browser, server.url, job);
      const b = b1 ?? (await baseline(browser, server.url, jobJson.study, job));
      reps.push({ baselineScanMs: b.scanMs, baselineBothMs: b.bothMs, ...v });
    }
  } finally {
    await browser.close();
    await server.close({ graceMs: 0 });
    rmSync(dataDir, { recursive: true, force: true });
  }
  const col = (f: (r: Rep) => number | undefined) => reps.map(f).filter((v): v is number => v !== undefined && Number.isFinite(v));
  const row = (label: string, values: number[], digits = 0) => [label, fmt(median(values), digits), fmt(min(values), digits), fmt(max(values), digits)];
  const t = (k: keyof Timings) => col((r) => r.timings[k]);
  const ratio = (a: number[], b: number[]) => a.map((v, n) => v / b[n]!);
  const table = markdownTable(
    ['measure', 'median', 'min', 'max'],
    [
      row('(a) baseline: fetch + gunzip of the scan (ms)', col((r) => r.baselineScanMs)),
      row('(a) baseline: fetch + gunzip of scan and labels together (ms)', col((r) => r.baselineBothMs)),
      row('(b) first image, from opening the job (ms)', t('firstImageMs')),
      row('(b) first image, from navigation start (ms)', t('firstImageSinceNavigationMs')),
      row('(b) labels shown, from opening the job (ms)', t('labelsMs')),
      row('(b) 14 surfaces built, from opening the job (ms)', t('surfacesMs')),
      row('first image / baseline scan', ratio(t('firstImageMs'), col((r) => r.baselineScanMs)), 2),
      row('labels shown / baseline scan + labels', ratio(t('labelsMs'), col((r) => r.baselineBothMs)), 2),
      row('JS heap when the labels are shown (MiB)', col((r) => r.jsHeapUsedMB)),
      row('JS heap after the surfaces (MiB)', col((r) => r.jsHeapAfterSurfacesMB)),
      row('Chromium RSS (all processes), peak above idle (MiB)', col((r) => r.browserRssPeakMB)),
      row('Chromium RSS (all processes) after loading, above idle (MiB)', col((r) => r.browserRssAfterMB)),
    ],
    ['l', 'r', 'r', 'r'],
  );
  const size = (f: string) => Number((statSync(f).size / 1e6).toFixed(1));
  return { dims: data.dims, labels: PACS_LABEL_NAMES.length, files: { ctGzMB: size(data.ct), labelsGzMB: size(join(data.results, 'labels.nii.gz')) }, bundle, reps, table };
}
