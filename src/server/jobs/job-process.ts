/**
 * The job process: runs one task the server sends and exits. A process rather than a thread per job so that a job
 * can be killed outright (cancel, shutdown) and a job that runs out of memory takes only itself down.
 * When the server dies (even by SIGKILL) the IPC channel closes and this process exits too: the restarted server
 * runs the job again from the start, so an orphan must not keep writing.
 */
import { convertScan } from '../../workflows/convert.js';
import { segmentCommand } from '../../workflows/segment.js';
import * as path from 'node:path';
import { SegError } from '../../errors.js';
import { readModelCardSpec } from '../../inference/card.js';
import type { DicomVolume } from '../../io/dicom/load-volume.js';
import { readNifti } from '../../io/nifti/read.js';
import { writeSeg } from '../../pacs/seg/write-seg.js';
import type { ChildMessage, ChildTask, ParentMessage } from './child-protocol.js';

const abort = new AbortController();

function send(message: ChildMessage): Promise<void> {
  return new Promise((resolve) => {
    if (!process.connected) return resolve();
    process.send!(message, undefined, {}, () => resolve());
  });
}

async function run(task: ChildTask): Promise<void> {
  if (task.type === 'convert') {
    await convertScan(task.inputs, task.output);
    return;
  }
  let last = '';
  let source: DicomVolume | undefined;
  const summary = await segmentCommand(task.inputs, {
    model: task.cardFile,
    out: task.out,
    tta: task.options.tta,
    batchSize: task.options.batchSize,
    threads: task.options.threads,
    provider: task.options.provider,
    seriesId: task.options.seriesId,
    allowNonUniform: task.options.allowNonUniform,
    signal: abort.signal,
    onLoaded: (scan) => {
      if (scan.format === 'dicom') source = scan.dicom;
    },
    onProgress: (p) => {
      void send({ type: 'progress', progress: p });
      // The pipeline's last stage finished: what follows in segmentCommand is statistics and writing.
      if (p.stage === 'postprocess' && p.done >= p.total && last !== 'writing') {
        last = 'writing';
        void send({ type: 'writing' });
      }
    },
  });
  // A DICOM study also gets its result as DICOM SEG on the source series (the file a PACS or viewer imports).
  if (source) await writeJobSeg(source, summary.labelsFile, task.cardFile, task.out);
}

async function writeJobSeg(source: DicomVolume, labelsFile: string, cardFile: string, out: string): Promise<void> {
  const card = await readModelCardSpec(cardFile);
  await writeSeg(path.join(out, 'seg.dcm'), {
    source,
    labelMap: (await readNifti(labelsFile)).volume,
    labels: card.labels.map((l) => ({ value: l.value, name: l.name, color: l.color, category: l.category, type: l.type })),
    algorithm: { name: card.name, version: card.version },
  });
}

process.on('message', (msg: ParentMessage) => {
  if (msg.type === 'cancel') return abort.abort();
  run(msg.task).then(
    async () => {
      await send({ type: 'done' });
      process.exit(0);
    },
    async (e: unknown) => {
      await send(e instanceof SegError ? { type: 'error', code: e.code, message: e.message } : { type: 'error', message: (e as Error)?.message ?? String(e) });
      process.exit(1);
    },
  );
});
process.on('disconnect', () => process.exit(1));
