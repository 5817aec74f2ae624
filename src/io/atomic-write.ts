/** Atomic file output: write to a temporary sibling, then rename, so readers never see a half-written result. */
import { createWriteStream, promises as fsp } from 'node:fs';
import { dirname, basename, join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { Readable, type Transform } from 'node:stream';
import { SegError } from '../errors.js';

/** Writes `parts` (in order, without concatenating them) to `file`, optionally through a transform (e.g. gzip). */
export async function writeFileAtomic(file: string, parts: readonly Uint8Array[], transform?: Transform): Promise<void> {
  const tmp = join(dirname(file), `.${basename(file)}.${process.pid}.${Date.now()}.tmp`);
  try {
    const source = Readable.from(parts.map((p) => Buffer.from(p.buffer, p.byteOffset, p.byteLength)), { objectMode: false });
    const sink = createWriteStream(tmp);
    if (transform) await pipeline(source, transform, sink);
    else await pipeline(source, sink);
    await fsp.rename(tmp, file);
  } catch (cause) {
    await fsp.rm(tmp, { force: true });
    throw new SegError('WRITE_FAILED', `${file}: could not be written (${(cause as Error).message})`, { cause });
  }
}
