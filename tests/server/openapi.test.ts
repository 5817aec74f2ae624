/** The OpenAPI description covers every route express serves (and nothing else), and the small pure helpers. */
import { afterAll, describe, expect, it } from 'vitest';
import { createApp, pathSanitizer } from '../../src/server/app.js';
import { etaSeconds, overallProgress } from '../../src/server/jobs/progress.js';
import { buildOpenApi, expressPathToOpenApi } from '../../src/server/openapi.js';
import { isLoopbackHost } from '../../src/server/options.js';
import { parseServeArgs } from '../../src/server/serve-command.js';
import { classifyHead } from '../../src/server/upload/classify.js';
import { unsafeEntryName } from '../../src/server/upload/zip.js';
import { MODELS, removeTempDirs, tempDir } from './helpers.js';
import { gzipSync } from 'node:zlib';
import { readFileSync } from 'node:fs';
import { fixture } from '../helpers.js';

interface Layer {
  route?: { path: string | string[]; methods: Record<string, boolean> };
}

afterAll(() => removeTempDirs());

describe('OpenAPI description', () => {
  it('describes every route of the express app, and only those', async () => {
    const medseg = await createApp({ dataDir: tempDir('openapi'), modelsDir: MODELS, log: () => undefined });
    try {
      const stack = (medseg.app as unknown as { router: { stack: Layer[] } }).router.stack;
      const served = stack
        .filter((l) => l.route)
        .flatMap((l) => [l.route!.path].flat().flatMap((p) => Object.keys(l.route!.methods).filter((m) => m !== '_all').map((m) => `${m.toUpperCase()} ${expressPathToOpenApi(p)}`)))
        .sort();
      const doc = buildOpenApi();
      const described = Object.entries(doc.paths)
        .flatMap(([p, ops]) => Object.keys(ops).map((m) => `${m.toUpperCase()} ${p}`))
        .sort();
      expect(served.length).toBe(13);
      expect(described).toEqual(served);
      expect(doc.openapi).toBe('3.1.0');
      // Request bodies come from the zod schemas the routes validate with.
      expect(doc.components.schemas.JobRequest).toMatchObject({ type: 'object', required: ['study', 'model'], additionalProperties: false });
      expect(Object.keys((doc.components.schemas.JobOptions as { properties: object }).properties).sort()).toEqual(['allowNonUniform', 'batchSize', 'provider', 'seriesId', 'threads', 'tta']);
      // Every $ref resolves.
      const refs = [...JSON.stringify(doc).matchAll(/"\$ref":"#\/components\/schemas\/([^"]+)"/g)].map((m) => m[1]!);
      for (const r of new Set(refs)) expect(doc.components.schemas, r).toHaveProperty(r);
    } finally {
      await medseg.shutdown({ graceMs: 0 });
    }
  });
});

describe('helpers', () => {
  it('weights stage progress and extrapolates the time left (the numbers of the comments)', () => {
    expect(overallProgress('inference', 50, 200)).toBeCloseTo(0.3, 12);
    expect(overallProgress('starting', 0, 1)).toBe(0);
    expect(overallProgress('done', 0, 0)).toBe(1);
    expect(etaSeconds(0.25, 10_000)).toBe(30);
    expect(etaSeconds(0.01, 10_000)).toBeNull();
    expect(etaSeconds(0.5, 100)).toBeNull();
    expect(etaSeconds(1, 100)).toBe(0);
  });

  it('classifies uploads by content, not name', () => {
    const nifti = readFileSync(fixture('nifti', 'generated', 'dtype_int16.nii'));
    expect(classifyHead(nifti)).toBe('nifti');
    expect(classifyHead(gzipSync(nifti))).toBe('nifti-gz');
    expect(classifyHead(gzipSync(Buffer.from('not a header')))).toBe('other');
    expect(classifyHead(readFileSync(fixture('demo', 'dicom', 'IM0001.dcm')))).toBe('dicom');
    expect(classifyHead(Buffer.from('PK\x03\x04rest', 'latin1'))).toBe('zip');
    expect(classifyHead(Buffer.alloc(10))).toBe('other');
  });

  it('tells unsafe zip entry names from plain relative ones', () => {
    expect(unsafeEntryName('series/IM0001.dcm')).toBeUndefined();
    expect(unsafeEntryName('a/..b/c..')).toBeUndefined();
    expect(unsafeEntryName('a/../../b')).toBe('climbs out of the archive with ".."');
    expect(unsafeEntryName('..')).toBe('climbs out of the archive with ".."');
    expect(unsafeEntryName('/etc/passwd')).toBe('is an absolute path');
    expect(unsafeEntryName('C:/x')).toBe('starts with a drive letter');
    expect(unsafeEntryName('a\\b')).toBe('contains a backslash');
  });

  it('knows loopback hosts', () => {
    for (const h of ['127.0.0.1', '127.1.2.3', 'localhost', '::1', '[::1]', '::ffff:127.0.0.1']) expect(isLoopbackHost(h), h).toBe(true);
    for (const h of ['0.0.0.0', '::', '192.168.1.10', 'example.org', '::ffff:10.0.0.1']) expect(isLoopbackHost(h), h).toBe(false);
  });

  it('parses serve options and names a bad value', () => {
    expect(parseServeArgs({ port: '0', concurrency: '2', corsOrigin: 'https://a.example, https://b.example', maxFileMb: '10' }, {})).toMatchObject({
      port: 0,
      concurrency: 2,
      corsOrigins: ['https://a.example', 'https://b.example'],
      limits: { maxFileBytes: 10 * 1024 * 1024, maxUploadBytes: 4 * 1024 ** 3 },
    });
    expect(parseServeArgs({}, { MEDSEG_TOKEN: 'from-the-environment-123' })).toEqual({ token: 'from-the-environment-123' });
    expect(parseServeArgs({ port: '80000' }, {})).toBe('--port must be a whole number 0…65535, got "80000"');
    expect(parseServeArgs({ concurrency: '0' }, {})).toBe('--concurrency must be a whole number 1…64, got "0"');
  });

  it('strips server folders from messages', () => {
    const clean = pathSanitizer(['/srv/medseg-data', '/srv/models']);
    expect(clean('/srv/medseg-data/studies/st_1/input/000002.nii: truncated; card /srv/models/x.card.json')).toBe('studies/st_1/input/000002.nii: truncated; card x.card.json');
  });
});
