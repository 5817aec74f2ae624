/**
 * `medseg pacs segment` and `medseg pacs watch`: argument parsing and output. The work is in src/pacs/.
 * `pacs` has its own options (parsed here, before main's), so its flags never collide with the other commands'.
 */
import { parseArgs } from 'node:util';
import { SegError } from '../errors.js';
import * as path from 'node:path';
import { DicomWebClient, type DicomWebAuth } from '../pacs/dicomweb/index.js';
import { OrthancFeed } from '../pacs/orthanc.js';
import { segmentStudyOnPacs, type PacsSegmentOptions, type PacsSegmentResult } from '../pacs/segment-study.js';
import type { SelectionRules, SliceOrientation } from '../pacs/select.js';
import { watchChanges } from '../pacs/watch.js';
import { EXIT, exitCodeFor } from './exit-codes.js';
import { prepareSegmentModel } from '../workflows/segment.js';

export const PACS_USAGE = `medseg pacs: segment studies held by a PACS and store the results back (DICOM SEG + TID 1500 SR)

Usage:
  medseg pacs segment --url <dicomweb root> --study <StudyInstanceUID> [options]
      Choose the study's series to segment (rules below), retrieve it (WADO-RS), segment it
      with the model, and store a DICOM SEG and a measurement report SR into the study
      (STOW-RS). Idempotent: the results' UIDs derive from the source series and the model's
      SHA-256, and a study that already holds them is left alone (--force redoes the work).
  medseg pacs watch --orthanc <url> [--dicomweb <root>] [--state <file>] [--poll <s>] [--once] [options]
      Follow Orthanc's /changes and segment each study once it is stable (StableStudy), as
      \`pacs segment\` does. Remembers where it was in --state (default medseg-watch-state.json),
      so a restart resumes there; waits out PACS outages without losing a study; retries a
      failed study 3 times with growing pauses; a study without a suitable series is skipped
      with the reasons. --once: handle what is there now, then exit. Ctrl-C/SIGTERM: finish
      the current study, save, exit.

Options:
  --model <card.json>     model card (default: the bundled default model)
  --series <uid>          segment this series, whatever the rules say
  --modality <a,b>        accepted modalities, preferred first (default CT)
  --orientation <a,b>     accepted slice orientations: axial (default), coronal, sagittal,
                          oblique, any
  --min-slices <n>        fewer slices is a localizer or single image (default 8)
  --user <name>           basic authentication (password from --password or
                          MEDSEG_PACS_PASSWORD; prefer the variable: arguments are visible to ps)
  --token <t>             bearer token (or MEDSEG_PACS_TOKEN)
  --ca-file <pem>         CA certificate(s) for an https server with a private CA
  --timeout <s>           idle timeout per request (default 30)
  --keep <dir>            keep the retrieved series and results (labels, stats, seg.dcm, sr.dcm)
  --force                 segment and store even when the result is already in the study
  --provider <name>       ONNX Runtime execution provider (cpu, cuda, webgpu, auto)
  --threads <n>           ONNX Runtime intra-op threads
  --json                  machine-readable output on stdout

Exit codes as for the other commands; 8: the PACS rejected a request, refused the
credentials, or could not be reached after retries.`;

function fail(message: string, code: number, json: boolean, errorCode = 'USAGE'): number {
  if (json) process.stdout.write(`${JSON.stringify({ error: { code: errorCode, message } })}\n`);
  process.stderr.write(`medseg: ${message}\n`);
  return code;
}

const list = (v: string | undefined) => (v === undefined ? undefined : v.split(',').map((s) => s.trim()).filter(Boolean));
const ORIENTATIONS = new Set(['axial', 'coronal', 'sagittal', 'oblique', 'mixed', 'unknown', 'any']);

export function renderPacsResult(r: PacsSegmentResult): string {
  const lines = [
    `study ${r.studyInstanceUid}: ${r.status === 'stored' ? 'SEG and SR stored' : 'already holds this result (nothing done)'}`,
    `  series ${r.series.seriesInstanceUid} (${r.series.description})`,
  ];
  for (const v of r.verdicts.slice(1)) lines.push(`  passed over ${v.seriesInstanceUid} (${v.description}): ${v.rejected.join('; ')}`);
  lines.push(`  SEG ${r.seg.sopInstanceUid}${r.seg.frames !== undefined ? ` (${r.seg.frames} frames, ${((r.seg.bytes ?? 0) / 1024).toFixed(0)} KiB)` : ''}`);
  lines.push(`  SR  ${r.sr.sopInstanceUid}`);
  for (const s of r.structures ?? []) if (s.voxels > 0) lines.push(`  ${s.name.padEnd(16)} ${s.volumeMl.toFixed(1).padStart(9)} mL`);
  const t = r.timingsMs;
  const stages = (['query', 'retrieve', 'segment', 'encode', 'store'] as const).filter((k) => t[k] !== undefined).map((k) => `${k} ${((t[k] ?? 0) / 1000).toFixed(1)} s`);
  lines.push(`  time: ${stages.join(', ')}; total ${(t.total / 1000).toFixed(1)} s`);
  for (const n of r.notes) lines.push(`  note: ${n}`);
  if (r.keptIn) lines.push(`  kept in ${r.keptIn}`);
  return lines.join('\n');
}

/** A client from user-given URLs and options: its TypeError/RangeError (bad URL, credentials twice) is a usage error. */
function construct<T>(make: () => T): T | string {
  try {
    return make();
  } catch (e) {
    if (e instanceof TypeError || e instanceof RangeError) return e.message;
    throw e;
  }
}

/** `medseg pacs …` with the arguments after `pacs`. Returns the exit code. */
export async function pacsMain(argv: string[]): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: true,
      options: {
        url: { type: 'string' },
        study: { type: 'string' },
        orthanc: { type: 'string' },
        dicomweb: { type: 'string' },
        state: { type: 'string' },
        poll: { type: 'string' },
        once: { type: 'boolean', default: false },
        model: { type: 'string' },
        series: { type: 'string' },
        modality: { type: 'string' },
        orientation: { type: 'string' },
        'min-slices': { type: 'string' },
        user: { type: 'string' },
        password: { type: 'string' },
        token: { type: 'string' },
        'ca-file': { type: 'string' },
        timeout: { type: 'string' },
        keep: { type: 'string' },
        force: { type: 'boolean', default: false },
        provider: { type: 'string' },
        threads: { type: 'string' },
        json: { type: 'boolean', default: false },
        help: { type: 'boolean', short: 'h', default: false },
      },
    });
  } catch (e) {
    return fail(`${(e as Error).message}\n\n${PACS_USAGE}`, EXIT.usage, false);
  }
  const { values, positionals } = parsed;
  const json = values.json ?? false;
  const [sub, ...rest] = positionals;
  if (values.help || !sub) {
    process.stdout.write(`${PACS_USAGE}\n`);
    return values.help ? EXIT.ok : EXIT.usage;
  }
  if (rest.length > 0) return fail(`unexpected arguments: ${rest.join(' ')}`, EXIT.usage, json);

  const orientations = list(values.orientation);
  if (orientations?.some((o) => !ORIENTATIONS.has(o))) return fail(`--orientation takes axial, coronal, sagittal, oblique or any, got "${values.orientation}"`, EXIT.usage, json);
  const minSlices = values['min-slices'] === undefined ? undefined : Number(values['min-slices']);
  if (minSlices !== undefined && !(Number.isInteger(minSlices) && minSlices >= 1)) return fail(`--min-slices must be a whole number ≥ 1, got "${values['min-slices']}"`, EXIT.usage, json);
  const timeout = values.timeout === undefined ? 30 : Number(values.timeout);
  if (!(timeout > 0)) return fail(`--timeout must be a number of seconds > 0, got "${values.timeout}"`, EXIT.usage, json);
  const threads = values.threads === undefined ? undefined : Number(values.threads);
  if (threads !== undefined && !(Number.isInteger(threads) && threads >= 1)) return fail(`--threads must be a whole number ≥ 1, got "${values.threads}"`, EXIT.usage, json);
  const provider = values.provider ?? 'cpu';
  if (!['cpu', 'cuda', 'webgpu', 'auto'].includes(provider)) return fail(`--provider must be cpu, cuda, webgpu or auto, got "${provider}"`, EXIT.usage, json);
  const password = values.password ?? process.env.MEDSEG_PACS_PASSWORD;
  const token = values.token ?? process.env.MEDSEG_PACS_TOKEN;
  if (values.user !== undefined && token !== undefined) return fail('give either --user (basic) or --token (bearer), not both', EXIT.usage, json);
  if (values.user !== undefined && password === undefined) return fail('--user needs a password: MEDSEG_PACS_PASSWORD (or --password)', EXIT.usage, json);
  const auth: DicomWebAuth | undefined = values.user !== undefined ? { type: 'basic', username: values.user, password: password! } : token !== undefined ? { type: 'bearer', token } : undefined;
  const rules: SelectionRules = {
    modalities: list(values.modality),
    orientations: orientations as (SliceOrientation | 'any')[] | undefined,
    minSlices,
    seriesInstanceUid: values.series,
  };

  const abort = new AbortController();
  const onSignal = () => abort.abort();
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  const log = (line: string) => {
    if (!json) process.stderr.write(`${line}\n`);
  };
  let client: DicomWebClient | undefined;
  let feed: OrthancFeed | undefined;
  try {
    const connection = { auth, caFile: values['ca-file'], timeoutMs: timeout * 1000, signal: abort.signal };
    switch (sub) {
      case 'segment': {
        if (!values.url || !values.study) return fail('pacs segment needs --url <dicomweb root> and --study <StudyInstanceUID>', EXIT.usage, json);
        const made = construct(() => new DicomWebClient({ url: values.url!, ...connection }));
        if (typeof made === 'string') return fail(made, EXIT.usage, json);
        client = made;
        const options: PacsSegmentOptions = {
          model: await prepareSegmentModel(values.model),
          rules,
          keepDir: values.keep,
          force: values.force,
          provider: provider as PacsSegmentOptions['provider'],
          threads,
          signal: abort.signal,
          log,
        };
        const result = await segmentStudyOnPacs(client, values.study, options);
        process.stdout.write(json ? `${JSON.stringify(result, null, 2)}\n` : `${renderPacsResult(result)}\n`);
        return EXIT.ok;
      }
      case 'watch': {
        if (!values.orthanc) return fail('pacs watch needs --orthanc <url> (its REST root, e.g. http://127.0.0.1:8042)', EXIT.usage, json);
        if (values.keep) return fail('--keep applies to pacs segment (watch handles many studies)', EXIT.usage, json);
        const poll = values.poll === undefined ? 5 : Number(values.poll);
        if (!(poll > 0)) return fail(`--poll must be a number of seconds > 0, got "${values.poll}"`, EXIT.usage, json);
        const madeFeed = construct(() => new OrthancFeed({ url: values.orthanc!, ...connection }));
        if (typeof madeFeed === 'string') return fail(madeFeed, EXIT.usage, json);
        feed = madeFeed;
        const root = feed.root;
        const made = construct(() => new DicomWebClient({ url: values.dicomweb ?? `${root}/dicom-web`, ...connection, auth: madeFeed.auth }));
        if (typeof made === 'string') return fail(made, EXIT.usage, json);
        client = made;
        const model = await prepareSegmentModel(values.model);
        const dicomweb = client;
        const summary = await watchChanges(
          feed,
          (study) => segmentStudyOnPacs(dicomweb, study, { model, rules, force: values.force, provider: provider as PacsSegmentOptions['provider'], threads, signal: abort.signal, log }),
          { stateFile: path.resolve(values.state ?? 'medseg-watch-state.json'), server: feed.root, pollMs: poll * 1000, once: values.once, signal: abort.signal, log },
        );
        process.stdout.write(
          json
            ? `${JSON.stringify(summary, null, 2)}\n`
            : `watch ${values.once ? 'pass done' : 'stopped'}: ${summary.segmented} segmented, ${summary.alreadyPresent} already done, ${summary.skipped} skipped, ${summary.failed} failed; at change ${summary.lastChange}\n`,
        );
        return EXIT.ok;
      }
      default:
        return fail(`unknown pacs command "${sub}" (segment or watch)`, EXIT.usage, json);
    }
  } catch (e) {
    if (e instanceof SegError) return fail(e.message, exitCodeFor(e), json, e.code);
    return fail(`internal error: ${(e as Error).stack ?? String(e)}`, EXIT.internal, json, 'INTERNAL');
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    client?.close();
    feed?.close();
  }
}
