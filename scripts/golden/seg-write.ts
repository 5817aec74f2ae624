/**
 * Writes the golden SEG cases of seg-cases.ts into a folder, for scripts/golden/seg.py:
 *   npx tsx scripts/golden/seg-write.ts <dir>   →  <dir>/odd-ct/IM0001.dcm…, <dir>/<case>.dcm
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { encodeGoldenCase, GOLDEN_CASES, loadGoldenSource, writeOddSeries } from './seg-cases.js';

const dir = process.argv[2];
if (!dir) throw new Error('usage: npx tsx scripts/golden/seg-write.ts <dir>');
const oddDir = join(dir, 'odd-ct');
await writeOddSeries(oddDir);
for (const c of GOLDEN_CASES) {
  const seg = await encodeGoldenCase(c, await loadGoldenSource(c, oddDir));
  writeFileSync(join(dir, `${c.name}.dcm`), seg.bytes);
  console.log(`${c.name}.dcm: ${seg.frames} frames, ${seg.bytes.length} bytes${seg.notes.length ? `; ${seg.notes.join('; ')}` : ''}`);
}
