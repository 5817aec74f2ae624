#!/usr/bin/env node
/**
 * The `medseg` command line: argument parsing only; the work is in the library. Each command's module is imported
 * only when that command runs: importing all of them (express, BullMQ, dcmjs, onnxruntime-node …) cost every
 * invocation ~0.5 s of start-up (bench: `medseg --help` 561 ms against 70 ms for bare node).
 */
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import { SegError } from '../errors.js';
import { EXIT, exitCodeFor } from './exit-codes.js';

const USAGE = `medseg — 3D medical image segmentation

Usage:
  medseg info <file|folder>... [--json]
      List the series/volumes in DICOM files or folders, or a NIfTI file: dims, spacing,
      orientation (e.g. LPS, RAS), value range, and files skipped with the reason.
  medseg convert <file|folder>... <out.nii|out.nii.gz> [--series <id>] [--volume <n>]
                 [--allow-nonuniform] [--json]
      Write one volume as NIfTI-1 with rescale applied and values kept exact.
  medseg segment <file|folder>... --out <dir> [--model <card.json>] [--series <id>]
                 [--provider cpu|cuda|webgpu|auto] [--threads <n>] [--batch-size <n>]
                 [--no-tta] [--probabilities] [--json]
      Segment a scan (a NIfTI file, DICOM files or a DICOM folder) with a model card's ONNX
      model (the bundled default model when --model is absent), apply the card's
      postprocessing, measure every structure, and write to <dir>: labels.nii.gz on the
      scan's own grid (with --probabilities also probabilities/*.nii.gz), stats.json and
      stats.csv (as \`medseg stats\` with the card and the scan as image), and last
      provenance.json (input files and their SHA-256, DICOM UIDs, card and ONNX SHA-256,
      versions, parameters, timings per stage, warnings); a folder without provenance.json
      is unfinished. Progress on stderr; --json prints the summary as JSON on stdout.
  medseg segment --batch <list.txt|folder> --out <dir> [--force] [segment options]
      Segment many studies, each into <dir>/<study>/ as above: a list file names one study
      per line (NIfTI file, DICOM file or folder; relative to the list; # comments), a
      folder means each subfolder (DICOM) and each .nii/.nii.gz file in it. Continues past
      a failed study; writes <dir>/summary.csv and <dir>/summary.json (study, status
      ok/failed/skipped, error, seconds, volume per structure in mL) and prints the table.
      A study whose provenance.json has the same card and ONNX SHA-256 is skipped unless
      --force. Exit code: 0 when every study is ok or skipped, else the exit code of the
      first failed study (130 when cancelled).
  medseg evaluate <prediction> <reference> [--labels <a,b,…>] [--percentile <p>] [--json]
      Compare two label maps: per label Dice, IoU, 95th-percentile Hausdorff and average
      symmetric surface distance (mm), volumes (mL) and their difference. A prediction on
      another grid is resampled (nearest) onto the reference grid, with a note.
  medseg stats <labels> [--image <scan>] [--model <card.json>] [--labels <a,b,…>]
               [--lesion-labels <a,b,…>] [--largest-component] [--remove-islands <mm³>]
               [--fill-holes] [--postprocess-labels <a,b,…>] [--connectivity 6|18|26]
               [--json] [--csv <file>] [--out <dir>]
      Statistics per structure of a label map: voxels, volume (mL), surface area (mm²),
      components, centroid and bounding box (LPS mm), and with --image the intensity
      min/max/mean/median/std (e.g. HU). Lesion labels (--lesion-labels, or the card's labels
      with SNOMED category 49755003) are listed lesion by lesion: volume, longest axial and
      3-D diameter (mm), containing organ. A structure within 3 voxels of the scan border is
      flagged incomplete and its volume printed as "≥ V (cut by scan border)". Names come from
      --model (without it labels are named by value). Postprocessing options are applied
      first (largest component, then islands, then holes). Prints a table (--json: JSON);
      --out writes <dir>/stats.json and <dir>/stats.csv (and the postprocessed
      <dir>/labels.nii.gz), --csv writes the CSV table to a file.
  medseg import-nnunet <plans.json> <dataset.json> --onnx <model.onnx> --out <card.json>
                 [--configuration <name>] [--batch-size <n>] [--no-tta] [--json]
      Write a model card for an nnU-Net v2 model exported to ONNX, from its plans.json and
      dataset.json (configuration default 3d_fullres, else 2d).
  medseg demo [--out <dir>] [--model <card.json>] [--provider <name>] [--threads <n>] [--json]
              [--serve [--port <n>] [--host <h>] [--data <dir>] [--token <t>]]
      What \`npm start\` runs: segment the bundled phantom CT study (fixtures/demo) with the
      bundled default model into <dir> (default out/demo) and print each structure's volume
      next to the phantom's true volume, with Dice against its exact labels. Without an
      installed default model it measures the phantom's exact labels instead, and says so.
      --serve then runs \`medseg serve\` (data <dir>/../medseg-data) with this result ready
      in the viewer and prints its address.
  medseg phantom --seed <n> --out <dir> [--dicom] [--size <WxHxD>] [--spacing <sx,sy,sz>]
                 [--oblique] [--json]
      Generate a synthetic abdominal CT (deterministic per seed): <dir>/ct.nii.gz (int16 HU),
      labels.nii.gz (1 liver, 2 spleen, 3 kidney_right, 4 kidney_left, 5 aorta, 6 vertebrae,
      7 lung, 8 liver_lesion), truth.json (true volumes, lesions, parameters) and with
      --dicom a CT series in <dir>/dicom/.
  medseg pacs segment --url <dicomweb root> --study <StudyInstanceUID> [pacs options]
  medseg pacs watch --orthanc <url> [--state <file>] [--once] [pacs options]
      Segment a study held by a PACS and store a DICOM SEG and a TID 1500 SR back into it
      (idempotent), or follow Orthanc's changes and do so for every stable study; see
      \`medseg pacs --help\`.
  medseg serve [--port <n>] [--host <h>] [--data <dir>] [--models <dir>] [--token <t>]
               [--concurrency <n>] [--cors-origin <a,b>] [--max-upload-mb <n>] [--max-file-mb <n>]
      Run the HTTP service (REST API, described at /api/openapi.json): upload studies,
      run segmentation jobs in background processes (queued durably in <data>/jobs.sqlite;
      a job interrupted by a crash runs again at the next start), follow their progress,
      fetch results. Defaults: 127.0.0.1:8080, data ./medseg-data, the bundled models/.
      A token (--token or MEDSEG_TOKEN, ≥ 16 characters) is required beyond loopback.
      SIGTERM/Ctrl-C: stop accepting, let running jobs finish (30 s), then exit.
      With --redis <url> (or MEDSEG_REDIS_URL) jobs are queued in that Redis (BullMQ) and run
      by \`medseg worker\` processes instead; the data folder must be shared with them.
  medseg worker --redis <url> [--data <dir>] [--models <dir>] [--concurrency <n>]
                [--redis-prefix <p>] [--stall-ms <n>] [--grace-ms <n>]
      Run the jobs of \`medseg serve --redis <url>\`, on this or other machines, each in its own
      process: the same data folder (shared storage) and model cards as the server. A job whose
      worker dies is taken again by another worker (or after a restart) within about twice
      --stall-ms (default 30000). SIGTERM/Ctrl-C: take no more jobs, let running ones finish
      (--grace-ms, default 30000), then hand them back to the queue.

Options:
  --series <id>         series id or SeriesInstanceUID (as \`medseg info\` lists them)
  --volume <n>          volume index of a 4D NIfTI (0-based)
  --allow-nonuniform    accept missing slices/variable gaps by resampling linearly along the slice axis
  --model <card.json>   model card (JSON) naming its ONNX file
  --out <dir>           output folder (created if needed)
  --provider <name>     ONNX Runtime execution provider: cpu (default), cuda, webgpu, auto;
                        an unavailable one falls back to cpu with a note
  --threads <n>         ONNX Runtime intra-op threads (default: all cores)
  --batch-size <n>      tiles or slices per session run (default: the card's)
  --no-tta              skip the card's test-time mirroring (faster, slightly less accurate)
  --probabilities       also write per-channel probability maps (and soft volumes in stats)
  --batch <list|folder> segment: the studies of a list file (one path per line) or a folder
  --force               segment --batch: recompute studies that are already finished
  --seed <n>            phantom seed (whole number ≥ 0)
  --size <WxHxD>        phantom matrix (default 256x256 and the slices that cover the scan range)
  --spacing <sx,sy,sz>  phantom voxel spacing in mm (default drawn per seed: in-plane the FOV / matrix,
                        slices 1–5 mm)
  --oblique             phantom grid rotated 5–20° about a random axis
  --dicom               also write the phantom CT as a DICOM series
  --image <scan>        stats: image on the label grid (or overlapping it) for intensity statistics
  --lesion-labels <a,b> stats: labels whose connected components are lesions (default: from --model)
  --largest-component   stats: keep only the largest connected component of each label first
  --remove-islands <v>  stats: first remove connected components smaller than v mm³ (e.g. 200)
  --fill-holes          stats: first fill 3-D holes (enclosed background) of each label
  --postprocess-labels <a,b>  stats: labels the postprocessing applies to (default: all)
  --connectivity <n>    stats: 6, 18 or 26 (default 26) for components, islands and lesions
  --csv <file>          stats: also write the CSV table to <file>
  --port <n>            serve: TCP port (default 8080; 0 picks a free one)
  --host <h>            serve: address to bind (default 127.0.0.1)
  --data <dir>          serve: data folder for studies, jobs and results (default ./medseg-data)
  --models <dir>        serve: folder of model cards (default: the bundled models/)
  --token <t>           serve: bearer token clients must send (default: $MEDSEG_TOKEN)
  --concurrency <n>     serve: jobs run at the same time (default 1)
  --cors-origin <a,b>   serve: browser origins allowed to call the API (default: none)
  --max-upload-mb <n>   serve: largest upload, all files together (default 4096)
  --max-file-mb <n>     serve: largest single uploaded file (default 2048)
  --redis <url>         serve, worker: redis://[:password@]host[:port][/db] (or rediss://) of the job queue
                        (default: $MEDSEG_REDIS_URL, which keeps a password out of \`ps\`)
  --redis-prefix <p>    serve, worker: prefix of the queue's Redis keys (default medseg)
  --stall-ms <n>        worker: job lock time; a dead worker's job is taken again within about twice this
  --grace-ms <n>        worker: on SIGTERM, how long running jobs may finish before going back to the queue
  --json                machine-readable output on stdout
  -h, --help            this text

Exit codes: 0 ok, 1 internal error, 2 usage, 3 bad input data, 4 unsupported data,
            5 series not found or ambiguous, 6 output could not be written,
            7 model card or model problem, 8 remote PACS problem (rejected, authentication,
            unreachable after retries) or the job queue's Redis unreachable, 130 cancelled (Ctrl-C).`;

function fail(message: string, code: number, json: boolean, errorCode = 'USAGE'): number {
  if (json) process.stdout.write(`${JSON.stringify({ error: { code: errorCode, message } })}\n`);
  process.stderr.write(`medseg: ${message}\n`);
  return code;
}

export async function main(argv: string[]): Promise<number> {
  // `pacs` parses its own options (see pacs.ts): its flags never collide with the other commands'.
  if (argv[0] === 'pacs') return (await import('./pacs.js')).pacsMain(argv.slice(1));
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: true,
      options: {
        json: { type: 'boolean', default: false },
        series: { type: 'string' },
        volume: { type: 'string' },
        'allow-nonuniform': { type: 'boolean', default: false },
        model: { type: 'string' },
        out: { type: 'string' },
        provider: { type: 'string' },
        threads: { type: 'string' },
        'batch-size': { type: 'string' },
        'no-tta': { type: 'boolean', default: false },
        probabilities: { type: 'boolean', default: false },
        batch: { type: 'string' },
        force: { type: 'boolean', default: false },
        onnx: { type: 'string' },
        labels: { type: 'string' },
        percentile: { type: 'string' },
        configuration: { type: 'string' },
        seed: { type: 'string' },
        size: { type: 'string' },
        spacing: { type: 'string' },
        oblique: { type: 'boolean', default: false },
        dicom: { type: 'boolean', default: false },
        serve: { type: 'boolean', default: false },
        image: { type: 'string' },
        'lesion-labels': { type: 'string' },
        'largest-component': { type: 'boolean', default: false },
        'remove-islands': { type: 'string' },
        'fill-holes': { type: 'boolean', default: false },
        'postprocess-labels': { type: 'string' },
        connectivity: { type: 'string' },
        csv: { type: 'string' },
        port: { type: 'string' },
        host: { type: 'string' },
        data: { type: 'string' },
        models: { type: 'string' },
        token: { type: 'string' },
        concurrency: { type: 'string' },
        'cors-origin': { type: 'string' },
        'max-upload-mb': { type: 'string' },
        'max-file-mb': { type: 'string' },
        redis: { type: 'string' },
        'redis-prefix': { type: 'string' },
        'stall-ms': { type: 'string' },
        'grace-ms': { type: 'string' },
        help: { type: 'boolean', short: 'h', default: false },
      },
    });
  } catch (e) {
    return fail(`${(e as Error).message}\n\n${USAGE}`, EXIT.usage, false);
  }
  const { values, positionals } = parsed;
  const [command, ...rest] = positionals;
  const json = values.json ?? false;
  if (values.help || !command) {
    process.stdout.write(`${USAGE}\n`);
    return values.help ? EXIT.ok : EXIT.usage;
  }
  try {
    switch (command) {
      case 'info': {
        if (rest.length === 0) return fail('info needs a file or folder', EXIT.usage, json);
        const { buildInfo, renderInfo } = await import('../workflows/info.js');
        const report = await buildInfo(rest);
        process.stdout.write(json ? `${JSON.stringify(report, null, 2)}\n` : `${renderInfo(report)}\n`);
        return EXIT.ok;
      }
      case 'convert': {
        if (rest.length < 2) return fail('convert needs an input and an output .nii/.nii.gz', EXIT.usage, json);
        const output = rest[rest.length - 1]!;
        if (!/\.nii(\.gz)?$/i.test(output)) return fail(`output ${output} must end in .nii or .nii.gz`, EXIT.usage, json);
        const volumeIndex = values.volume === undefined ? undefined : Number(values.volume);
        if (volumeIndex !== undefined && !(Number.isInteger(volumeIndex) && volumeIndex >= 0)) {
          return fail(`--volume must be a whole number ≥ 0, got "${values.volume}"`, EXIT.usage, json);
        }
        const { convertScan } = await import('../workflows/convert.js');
        const result = await convertScan(rest.slice(0, -1), output, {
          seriesId: values.series,
          volumeIndex,
          allowNonUniform: values['allow-nonuniform'],
        });
        if (json) process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
        else {
          process.stdout.write(`wrote ${output}: ${result.dims.join('×')} ${result.dataType}, spacing ${result.spacing.map((s) => +s.toFixed(4)).join('×')} mm, ${result.orientation}, values ${result.valueRange[0]} … ${result.valueRange[1]}\n`);
          for (const w of result.warnings) process.stdout.write(`note: ${w}\n`);
        }
        return EXIT.ok;
      }
      case 'segment': {
        const batch = values.batch;
        if (batch === undefined && rest.length === 0) return fail('segment needs a scan (file or folder), or --batch <list.txt|folder>', EXIT.usage, json);
        if (batch !== undefined && rest.length > 0) return fail(`segment --batch takes its studies from ${batch}; drop the scan paths (${rest.join(' ')})`, EXIT.usage, json);
        if (batch !== undefined && values.series) return fail('--series cannot be used with --batch: each study must hold a single series (localizers aside)', EXIT.usage, json);
        if (batch === undefined && values.force) return fail('--force applies to --batch only (a single segment always recomputes)', EXIT.usage, json);
        if (!values.out) return fail('segment needs --out <dir>', EXIT.usage, json);
        const provider = values.provider ?? 'cpu';
        if (!['cpu', 'cuda', 'webgpu', 'auto'].includes(provider)) return fail(`--provider must be cpu, cuda, webgpu or auto, got "${provider}"`, EXIT.usage, json);
        const threads = positiveInt(values.threads);
        const batchSize = positiveInt(values['batch-size']);
        if (threads === null) return fail(`--threads must be a whole number ≥ 1, got "${values.threads}"`, EXIT.usage, json);
        if (batchSize === null) return fail(`--batch-size must be a whole number ≥ 1, got "${values['batch-size']}"`, EXIT.usage, json);
        const abort = new AbortController();
        const onSigint = () => abort.abort();
        process.once('SIGINT', onSigint);
        const { batchCommand, renderBatchSummary } = await import('./batch.js');
        const { renderSegmentSummary, segmentCommand } = await import('../workflows/segment.js');
        const common = {
          model: values.model,
          out: values.out,
          allowNonUniform: values['allow-nonuniform'],
          provider: provider as 'cpu' | 'cuda' | 'webgpu' | 'auto',
          threads,
          batchSize,
          tta: values['no-tta'] ? false : undefined,
          probabilities: values.probabilities,
          progress: !json && process.stderr.isTTY,
          signal: abort.signal,
        };
        try {
          if (batch !== undefined) {
            const summary = await batchCommand(batch, { ...common, force: values.force, log: (line) => process.stderr.write(`${line}\n`) });
            process.stdout.write(json ? `${JSON.stringify(summary, null, 2)}\n` : `${renderBatchSummary(summary)}\n`);
            return summary.exitCode;
          }
          const summary = await segmentCommand(rest, { ...common, seriesId: values.series });
          process.stdout.write(json ? `${JSON.stringify(summary, null, 2)}\n` : `${renderSegmentSummary(summary)}\n`);
        } finally {
          process.off('SIGINT', onSigint);
        }
        return EXIT.ok;
      }
      case 'evaluate': {
        if (rest.length !== 2) return fail('evaluate needs <prediction> <reference>', EXIT.usage, json);
        const labels = values.labels === undefined ? undefined : values.labels.split(',').map((v) => Number(v.trim()));
        if (labels && labels.some((l) => !(Number.isInteger(l) && l >= 1))) return fail(`--labels must be whole numbers ≥ 1 separated by commas, got "${values.labels}"`, EXIT.usage, json);
        const percentile = values.percentile === undefined ? undefined : Number(values.percentile);
        if (percentile !== undefined && !(percentile >= 0 && percentile <= 100)) return fail(`--percentile must be between 0 and 100, got "${values.percentile}"`, EXIT.usage, json);
        const { evaluateCommand, renderEvaluation } = await import('../workflows/evaluate.js');
        const report = await evaluateCommand(rest[0]!, rest[1]!, { labels, percentile });
        process.stdout.write(json ? `${JSON.stringify(report, null, 2)}\n` : `${renderEvaluation(report)}\n`);
        return EXIT.ok;
      }
      case 'stats': {
        if (rest.length !== 1) return fail('stats needs exactly one label map <labels>', EXIT.usage, json);
        const lists: Record<string, number[] | undefined> = {};
        for (const key of ['labels', 'lesion-labels', 'postprocess-labels'] as const) {
          const raw = values[key];
          const list = raw === undefined ? undefined : raw.split(',').map((v) => Number(v.trim()));
          if (list && list.some((l) => !(Number.isInteger(l) && l >= 1 && l <= 65535))) return fail(`--${key} must be whole numbers 1…65535 separated by commas, got "${raw}"`, EXIT.usage, json);
          lists[key] = list;
        }
        const islands = values['remove-islands'] === undefined ? undefined : Number(values['remove-islands']);
        if (islands !== undefined && !(Number.isFinite(islands) && islands >= 0)) return fail(`--remove-islands must be a volume in mm³ ≥ 0, got "${values['remove-islands']}"`, EXIT.usage, json);
        const connectivity = values.connectivity === undefined ? undefined : Number(values.connectivity);
        if (connectivity !== undefined && connectivity !== 6 && connectivity !== 18 && connectivity !== 26) return fail(`--connectivity must be 6, 18 or 26, got "${values.connectivity}"`, EXIT.usage, json);
        const { renderStats, statsCommand } = await import('../workflows/stats.js');
        const report = await statsCommand(rest[0]!, {
          image: values.image,
          model: values.model,
          labels: lists.labels,
          lesionLabels: lists['lesion-labels'],
          postprocess: {
            largestComponent: values['largest-component'],
            removeIslandsMm3: islands,
            fillHoles: values['fill-holes'],
            labels: lists['postprocess-labels'],
            connectivity,
          },
          out: values.out,
          csv: values.csv,
        });
        process.stdout.write(json ? `${JSON.stringify(report, null, 2)}\n` : `${renderStats(report)}\n`);
        return EXIT.ok;
      }
      case 'import-nnunet': {
        if (rest.length !== 2) return fail('import-nnunet needs <plans.json> <dataset.json>', EXIT.usage, json);
        if (!values.onnx || !values.out) return fail('import-nnunet needs --onnx <model.onnx> and --out <card.json>', EXIT.usage, json);
        const batchSize = positiveInt(values['batch-size']);
        if (batchSize === null) return fail(`--batch-size must be a whole number ≥ 1, got "${values['batch-size']}"`, EXIT.usage, json);
        const { importNnunetCommand } = await import('./import-nnunet.js');
        const result = await importNnunetCommand(rest[0]!, rest[1]!, {
          onnx: values.onnx,
          out: values.out,
          configuration: values.configuration,
          batchSize,
          tta: values['no-tta'] ? false : undefined,
        });
        process.stdout.write(json ? `${JSON.stringify(result, null, 2)}\n` : `wrote ${result.card} (${result.name}: ${result.mode}, ${result.labels} labels, model ${result.model})\n`);
        return EXIT.ok;
      }
      case 'phantom': {
        if (rest.length > 0) return fail(`phantom takes no positional arguments, got "${rest.join(' ')}"`, EXIT.usage, json);
        if (!values.out) return fail('phantom needs --out <dir>', EXIT.usage, json);
        const { parsePhantomArgs, phantomCommand, renderPhantomSummary } = await import('./phantom.js');
        const args = parsePhantomArgs({ seed: values.seed, size: values.size, spacing: values.spacing, oblique: values.oblique });
        if (typeof args === 'string') return fail(args, EXIT.usage, json);
        const summary = await phantomCommand(values.out, args, { dicom: values.dicom, progress: !json && process.stderr.isTTY });
        process.stdout.write(json ? `${JSON.stringify(summary, null, 2)}\n` : `${renderPhantomSummary(summary)}\n`);
        return EXIT.ok;
      }
      case 'demo': {
        if (rest.length > 0) return fail(`demo takes no positional arguments, got "${rest.join(' ')}"`, EXIT.usage, json);
        const threads = positiveInt(values.threads);
        if (threads === null) return fail('--threads must be a whole number ≥ 1', EXIT.usage, json);
        const provider = values.provider ?? 'cpu';
        if (!['cpu', 'cuda', 'webgpu', 'auto'].includes(provider)) return fail(`--provider must be cpu, cuda, webgpu or auto, got "${provider}"`, EXIT.usage, json);
        const out = values.out ?? 'out/demo';
        const { demoCommand, demoServerOptions, demoTruthCommand, modelInstalled, renderDemo, renderDemoTruth } = await import('./demo.js');
        const { defaultCardPath } = await import('../workflows/segment.js');
        let shown: { study: string; modelName: string };
        if (!values.model && !(await modelInstalled(defaultCardPath()))) {
          const truth = await demoTruthCommand({ out, reason: 'the bundled default model is not installed (its ONNX file is missing: rebuild it with models/default/recipe/README.md)' });
          process.stdout.write(json ? `${JSON.stringify(truth, null, 2)}\n` : `${renderDemoTruth(truth)}\n`);
          shown = { study: truth.study, modelName: truth.model.name };
        } else {
          const demo = await demoCommand({ out, model: values.model, provider: provider as 'cpu' | 'cuda' | 'webgpu' | 'auto', threads, progress: !json && process.stderr.isTTY });
          process.stdout.write(json ? `${JSON.stringify(demo, null, 2)}\n` : `${renderDemo(demo)}\n`);
          shown = { study: demo.study, modelName: demo.segment.model.name };
        }
        if (!values.serve) return EXIT.ok;
        const { serveCommand } = await import('../server/serve-command.js');
        const result = await serveCommand(
          { port: values.port, host: values.host, data: values.data ?? path.join(path.dirname(out), 'medseg-data'), models: values.models ?? (values.model ? path.dirname(values.model) : undefined), token: values.token },
          { demo: demoServerOptions(shown.study, out, shown.modelName) },
          (server) => process.stderr.write(`\nThe viewer shows this result at ${server.url}/?job=${server.demoJobId} (upload your own scans at ${server.url}/). Ctrl-C stops the server.\n`),
        );
        return typeof result === 'string' ? fail(result, EXIT.usage, json) : result;
      }
      case 'serve': {
        if (rest.length > 0) return fail(`serve takes no positional arguments, got "${rest.join(' ')}"`, EXIT.usage, json);
        const { serveCommand } = await import('../server/serve-command.js');
        const result = await serveCommand({
          port: values.port,
          host: values.host,
          data: values.data,
          models: values.models,
          token: values.token,
          concurrency: values.concurrency,
          corsOrigin: values['cors-origin'],
          maxUploadMb: values['max-upload-mb'],
          maxFileMb: values['max-file-mb'],
          redis: values.redis,
          redisPrefix: values['redis-prefix'],
        });
        return typeof result === 'string' ? fail(result, EXIT.usage, json) : result;
      }
      case 'worker': {
        if (rest.length > 0) return fail(`worker takes no positional arguments, got "${rest.join(' ')}"`, EXIT.usage, json);
        const { workerCommand } = await import('../server/worker-command.js');
        const result = await workerCommand({
          redis: values.redis,
          data: values.data,
          models: values.models,
          concurrency: values.concurrency,
          redisPrefix: values['redis-prefix'],
          stallMs: values['stall-ms'],
          graceMs: values['grace-ms'],
        });
        return typeof result === 'string' ? fail(result, EXIT.usage, json) : result;
      }
      default:
        return fail(`unknown command "${command}"\n\n${USAGE}`, EXIT.usage, json);
    }
  } catch (e) {
    if (e instanceof SegError) return fail(e.message, exitCodeFor(e), json, e.code);
    return fail(`internal error: ${(e as Error).stack ?? String(e)}`, EXIT.internal, json, 'INTERNAL');
  }
}

/** undefined when absent, null when not a positive integer. */
function positiveInt(v: string | undefined): number | undefined | null {
  if (v === undefined) return undefined;
  const n = Number(v);
  return Number.isInteger(n) && n >= 1 ? n : null;
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (e: unknown) => {
    process.stderr.write(`medseg: internal error: ${String(e)}\n`);
    process.exitCode = EXIT.internal;
  },
);
