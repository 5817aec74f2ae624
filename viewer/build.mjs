// Builds the viewer bundle into viewer/dist with esbuild (`npm run build:viewer`; npm install, npm start and npm test
// run it too): the surface worker first (its hashed name is compiled into the page's bundle), then the page script
// and stylesheet, then index.html with the hashed asset names. `--sourcemap` adds source maps for debugging.
import { build } from 'esbuild';
import { existsSync, mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { basename, dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const dist = join(here, 'dist');
const assets = join(dist, 'assets');
const sourcemap = process.argv.includes('--sourcemap') ? 'linked' : false;
const t0 = performance.now();

rmSync(dist, { recursive: true, force: true });
mkdirSync(assets, { recursive: true });

const common = {
  bundle: true,
  format: 'esm',
  target: ['es2022', 'chrome110', 'firefox115', 'safari16'],
  minify: true,
  sourcemap,
  outdir: assets,
  entryNames: '[name]-[hash]',
  metafile: true,
  logLevel: 'warning',
  legalComments: 'none',
};

/** The output file (relative to dist/) built from an entry point. */
function outputOf(result, entry) {
  const hit = Object.entries(result.metafile.outputs).find(([, o]) => o.entryPoint && basename(o.entryPoint) === entry);
  if (!hit) throw new Error(`esbuild produced no output for ${entry}`);
  return relative(dist, join(process.cwd(), hit[0])).split('\\').join('/');
}

const worker = await build({ ...common, entryPoints: [join(here, 'src', 'surface-worker.ts')] });
const workerFile = outputOf(worker, 'surface-worker.ts');
const page = await build({
  ...common,
  entryPoints: [join(here, 'src', 'main.ts'), join(here, 'style.css')],
  define: { MEDSEG_SURFACE_WORKER: JSON.stringify(workerFile) },
});
const mainFile = outputOf(page, 'main.ts');
const cssFile = outputOf(page, 'style.css');

let html = readFileSync(join(here, 'index.html'), 'utf8');
for (const [plain, hashed] of [
  ['assets/main.js', mainFile],
  ['assets/style.css', cssFile],
]) {
  if (!html.includes(`"${plain}"`)) throw new Error(`viewer/index.html does not reference "${plain}"`);
  html = html.replace(`"${plain}"`, `"${hashed}"`);
}
writeFileSync(join(dist, 'index.html'), html);

// The bundles contain third-party code (vtk.js, BSD-3-Clause, and its dependencies; nifti-reader-js, MIT): their
// licences go next to them, collected from the packages esbuild actually bundled.
const packages = new Set();
for (const result of [worker, page]) {
  for (const input of Object.keys(result.metafile.inputs)) {
    const m = /node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(input.split('\\').join('/'));
    if (m) packages.add(m[1]);
  }
}
const notices = [...packages].sort().map((name) => {
  const dir = join(here, '..', 'node_modules', name);
  const licence = ['LICENSE', 'LICENSE.md', 'LICENSE.txt', 'license', 'Copyright.txt'].map((f) => join(dir, f)).find((f) => existsSync(f));
  const { version, license } = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8'));
  return `${name} ${version} (${license})\n\n${licence ? readFileSync(licence, 'utf8').trim() : 'no licence file in the package'}\n`;
});
writeFileSync(join(dist, 'assets', 'THIRD-PARTY-LICENSES.txt'), notices.join(`\n${'-'.repeat(78)}\n\n`));

const files = [mainFile, cssFile, workerFile].map((f) => ({ file: f, bytes: statSync(join(dist, f)).size }));
const buildMs = Math.round(performance.now() - t0);
writeFileSync(join(dist, 'build.json'), `${JSON.stringify({ builtAt: new Date().toISOString(), buildMs, files }, null, 2)}\n`);
process.stdout.write(`viewer: built ${files.map((f) => `${f.file} ${(f.bytes / 1024).toFixed(0)} KiB`).join(', ')} in ${buildMs} ms → ${relative(process.cwd(), dist) || '.'}\n`);
