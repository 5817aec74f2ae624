/**
 * Hostile and malformed requests get the right 4xx with a clear message, and leave nothing behind: zip-slip, zip
 * bombs, oversize uploads, ids that try to name paths, missing or wrong tokens, CORS, request validation.
 */
import { request } from 'node:http';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { deflateRawSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { resolveServerOptions, ServerConfigError } from '../../src/server/options.js';
import { startServer } from '../../src/server/app.js';
import { fixture } from '../helpers.js';
import { form, json, makeZip, medsegTs, removeTempDirs, startTestServer, TOKEN, uploadStudy, type TestServer } from './helpers.js';

const NIFTI = fixture('nifti', 'generated', 'dtype_int16.nii');
const MiB = 1024 * 1024;
/** A minimal file the classifier takes for DICOM (preamble + "DICM"). */
const dicomLike = () => {
  const b = Buffer.alloc(256);
  b.write('DICM', 128, 'latin1');
  return b;
};

let s: TestServer;
beforeAll(async () => {
  s = await startTestServer({ limits: { maxFileBytes: 1 * MiB, maxUploadBytes: 3 * MiB, maxFiles: 4, maxZipEntries: 6, maxUncompressedBytes: 2 * MiB, maxCompressionRatio: 200 } });
});
afterAll(async () => {
  await s?.close({ graceMs: 0 });
  removeTempDirs();
});

async function upload(files: [string, Uint8Array][]) {
  const res = await s.api('/api/studies', { method: 'POST', body: form(files) });
  return { status: res.status, body: (await res.json()) as { error: { code: string; message: string } } };
}

/** After a refused upload nothing may remain: no study, no staging folder. */
function expectNothingStored() {
  expect(readdirSync(join(s.dataDir, 'studies'))).toEqual([]);
  expect(readdirSync(join(s.dataDir, 'tmp'))).toEqual([]);
}

describe('uploads', () => {
  it('refuses a zip entry that climbs out with "..", and writes nothing outside (or inside) the data folder', async () => {
    const zip = makeZip([
      { name: 'ok.dcm', data: dicomLike() },
      { name: '../../evil.dcm', data: dicomLike() },
    ]);
    expect(await upload([['x.zip', zip]])).toEqual({ status: 400, body: { error: { code: 'UNSAFE_ZIP', message: 'zip entry "../../evil.dcm" climbs out of the archive with ".."; only relative paths inside the archive are accepted (zip-slip protection)' } } });
    expect(existsSync(join(s.dataDir, '..', 'evil.dcm'))).toBe(false);
    expect(existsSync(join(s.dataDir, 'evil.dcm'))).toBe(false);
    expectNothingStored();
  });

  it('refuses absolute, backslashed and symbolic-link zip entries', async () => {
    const cases: [string, Parameters<typeof makeZip>[0][number], string][] = [
      ['absolute', { name: '/tmp/evil.dcm', data: dicomLike() }, 'zip entry "/tmp/evil.dcm" is an absolute path; only relative paths inside the archive are accepted (zip-slip protection)'],
      ['backslash', { name: 'a\\..\\..\\evil.dcm', data: dicomLike() }, 'zip entry "a\\..\\..\\evil.dcm" contains a backslash; only relative paths inside the archive are accepted (zip-slip protection)'],
      ['link', { name: 'link.dcm', data: Buffer.from('/etc/passwd'), unixMode: 0o120777 }, 'zip entry "link.dcm" is a symbolic link; links are not accepted'],
    ];
    for (const [, entry, message] of cases) {
      expect(await upload([['x.zip', makeZip([entry])]])).toEqual({ status: 400, body: { error: { code: 'UNSAFE_ZIP', message } } });
    }
    expectNothingStored();
  });

  it('refuses a zip bomb by compression ratio before inflating it', async () => {
    const zeros = Buffer.alloc(20 * MiB);
    const compressed = deflateRawSync(zeros).length;
    const ratio = Math.round((20 * MiB) / compressed);
    expect(ratio).toBeGreaterThan(200);
    expect(await upload([['bomb.zip', makeZip([{ name: 'a.dcm', data: zeros }])]])).toEqual({
      status: 413,
      body: { error: { code: 'ZIP_BOMB', message: `the upload would expand to more than 2.0 MiB (server option maxUncompressedBytes); split the study or raise the limit` } },
    });
    // Under the total budget but still a bomb by ratio: 1.5 MiB of zeros is ~1000-fold.
    const small = Buffer.alloc(1.5 * MiB);
    const c2 = deflateRawSync(small).length;
    expect(await upload([['bomb.zip', makeZip([{ name: 'a.dcm', data: small }])]])).toEqual({
      status: 413,
      body: { error: { code: 'ZIP_BOMB', message: `a zip entry expands ${Math.round((1.5 * MiB) / c2)}-fold (1.5 MiB from ${c2} bytes); at most 200-fold is accepted (server option maxCompressionRatio)` } },
    });
    expectNothingStored();
  });

  it('refuses a zip with too many entries, one whose sizes lie, and one that expands past the study limit', async () => {
    const many = makeZip(Array.from({ length: 7 }, (_, i) => ({ name: `${i}.dcm`, data: dicomLike() })));
    expect(await upload([['many.zip', many]])).toEqual({ status: 413, body: { error: { code: 'ZIP_BOMB', message: 'an uploaded zip has 7 entries; at most 6 are accepted (server option maxZipEntries)' } } });
    // Declares 1000 bytes, inflates to 200 kB: the inflated bytes are counted, not the header believed.
    const liar = makeZip([{ name: 'a.dcm', data: randomBytes(200_000), declaredSize: 1000 }]);
    const lied = await upload([['liar.zip', liar]]);
    expect(lied.status).toBe(400);
    expect(lied.body.error.code).toBe('INVALID_ZIP');
    expect(lied.body.error.message).toMatch(/^a zip entry is corrupt: /);
    const big = makeZip([
      { name: 'a.dcm', data: Buffer.concat([dicomLike(), randomBytes(900_000)]), method: 0 },
      { name: 'b.dcm', data: Buffer.concat([dicomLike(), randomBytes(900_000)]), method: 0 },
      { name: 'c.dcm', data: Buffer.concat([dicomLike(), randomBytes(900_000)]), method: 0 },
    ]);
    const tooBig = await upload([['big.zip', big.subarray(0)]]);
    // The zip itself is 2.6 MiB, under the 3 MiB upload limit but over the 1 MiB per-file limit.
    expect(tooBig).toEqual({ status: 413, body: { error: { code: 'PAYLOAD_TOO_LARGE', message: 'an uploaded file exceeds 1.0 MiB (server option maxFileBytes)' } } });
    expectNothingStored();
  });

  it('refuses oversize files, oversize uploads (declared or streamed) and too many files', async () => {
    expect(await upload([['a.dcm', Buffer.concat([dicomLike(), randomBytes(1.2 * MiB)])]])).toEqual({ status: 413, body: { error: { code: 'PAYLOAD_TOO_LARGE', message: 'an uploaded file exceeds 1.0 MiB (server option maxFileBytes)' } } });
    const part = () => Buffer.concat([dicomLike(), randomBytes(0.9 * MiB)]);
    expect(await upload([['a.dcm', part()], ['b.dcm', part()], ['c.dcm', part()], ['d.dcm', part()]])).toEqual({
      status: 413,
      body: { error: { code: 'PAYLOAD_TOO_LARGE', message: expect.stringMatching(/^the upload is 3\.6 MiB; at most 3\.0 MiB are accepted per upload \(server option maxUploadBytes\)$/) } },
    });
    // Without a Content-Length (chunked), the limit is enforced on the bytes as they arrive.
    const boundary = 'medsegBoundary42';
    const parts = [part(), part(), part(), part()].map((p, i) => Buffer.concat([Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="f"; filename="${i}.dcm"\r\nContent-Type: application/octet-stream\r\n\r\n`), p, Buffer.from('\r\n')]));
    const body = Buffer.concat([...parts, Buffer.from(`--${boundary}--\r\n`)]);
    const stream = new ReadableStream({
      start(controller) {
        for (let o = 0; o < body.length; o += 65536) controller.enqueue(body.subarray(o, o + 65536));
        controller.close();
      },
    });
    const res = await s.api('/api/studies', { method: 'POST', body: stream, headers: { 'content-type': `multipart/form-data; boundary=${boundary}` }, duplex: 'half' } as RequestInit);
    expect(res.status).toBe(413);
    expect(await res.json()).toEqual({ error: { code: 'PAYLOAD_TOO_LARGE', message: 'the upload exceeds 3.0 MiB (server option maxUploadBytes)' } });
    const five = Array.from({ length: 5 }, (_, i): [string, Uint8Array] => [`${i}.dcm`, dicomLike()]);
    expect(await upload(five)).toEqual({ status: 413, body: { error: { code: 'TOO_MANY_FILES', message: 'the upload has more than 4 files (server option maxFiles); zip them or split the study' } } });
    expectNothingStored();
  });

  it('refuses uploads that are not a study: not multipart, no file, no scan, two NIfTI files, NIfTI mixed with DICOM', async () => {
    const notMultipart = await s.api('/api/studies', { method: 'POST', body: readFileSync(NIFTI), headers: { 'content-type': 'application/octet-stream' } });
    expect(notMultipart.status).toBe(415);
    expect(await notMultipart.json()).toEqual({ error: { code: 'UNSUPPORTED_MEDIA_TYPE', message: 'an upload must be multipart/form-data with one or more file fields, got application/octet-stream' } });
    const fd = new FormData();
    fd.append('note', 'no file here');
    const noFile = await s.api('/api/studies', { method: 'POST', body: fd });
    expect(noFile.status).toBe(400);
    expect((await json<{ error: { code: string } }>(noFile)).error.code).toBe('EMPTY_UPLOAD');
    expect(await upload([['notes.txt', Buffer.from('hello')]])).toEqual({ status: 415, body: { error: { code: 'UNSUPPORTED_MEDIA_TYPE', message: 'no NIfTI (.nii, .nii.gz) or DICOM Part-10 file found among the 1 uploaded file(s) (zips are opened one level deep)' } } });
    const nifti = readFileSync(NIFTI);
    expect(await upload([['a.nii', nifti], ['b.nii', nifti]])).toEqual({ status: 400, body: { error: { code: 'MIXED_UPLOAD', message: 'the upload holds 2 NIfTI files; a study is one NIfTI file (upload each as its own study)' } } });
    expect(await upload([['a.nii', nifti], ['b.dcm', dicomLike()]])).toEqual({ status: 400, body: { error: { code: 'MIXED_UPLOAD', message: 'the upload holds a NIfTI file and 1 DICOM file(s); a study is one NIfTI file or one DICOM series' } } });
    expectNothingStored();
  });
});

describe('ids and file names', () => {
  it('refuses ids that are not of the strict form, whatever they try to name', async () => {
    // (A bare ".." or "%2e%2e" segment never reaches the server through fetch: URL parsing removes it; the raw
    // path is tested below.)
    const bad = ['..%2F..%2Fjobs.sqlite', '..%2F..', 'st_ZZ', `st_${'A'.repeat(32)}`, `st_${'0'.repeat(32)}%00`, '%2Fetc%2Fpasswd'];
    for (const id of bad) {
      const res = await s.api(`/api/studies/${id}`);
      expect(res.status, id).toBe(400);
      expect(await res.json()).toEqual({ error: { code: 'INVALID_ID', message: 'the study id is malformed: expected "st_" followed by 32 lowercase hex digits, as returned when the study was created' } });
      const img = await s.api(`/api/studies/${id}/image.nii.gz`);
      expect(img.status, id).toBe(400);
    }
    const job = await s.api('/api/jobs/..%2F..%2Fjobs.sqlite/results/labels.nii.gz');
    expect(job.status).toBe(400);
    expect((await json<{ error: { code: string } }>(job)).error.code).toBe('INVALID_ID');
    const unknown = await s.api(`/api/jobs/job_${'0'.repeat(32)}`);
    expect(unknown.status).toBe(404);
    expect(await unknown.json()).toEqual({ error: { code: 'NOT_FOUND', message: `no job job_${'0'.repeat(32)}` } });
  });

  it('serves only the fixed result files, never another name in the results folder', async () => {
    for (const name of ['..%2F..%2Fjobs.sqlite', 'provenance.json.tmp', '.labels.nii.gz.1.tmp', 'labels.nii', '..%2F..%2F..%2Fstudies']) {
      const res = await s.api(`/api/jobs/job_${'0'.repeat(32)}/results/${name}`);
      expect(res.status, name).toBe(404);
      expect((await json<{ error: { code: string; message: string } }>(res)).error.message).toMatch(/^no result file ".*"; a job's results are labels\.nii\.gz, stats\.json, stats\.csv, provenance\.json, seg\.dcm$/);
    }
  });

  it('does not route a raw "../" path anywhere', async () => {
    const status = await new Promise<number>((resolve, reject) => {
      const url = new URL(s.url);
      const req = request({ host: url.hostname, port: url.port, path: '/api/studies/../../jobs.sqlite', headers: { authorization: `Bearer ${TOKEN}` } }, (res) => {
        res.resume();
        resolve(res.statusCode!);
      });
      req.on('error', reject);
      req.end();
    });
    expect(status).toBe(404);
  });
});

describe('auth and CORS', () => {
  it('requires the bearer token on the API but not on health probes and the API description', async () => {
    const none = await fetch(`${s.url}/api/models`);
    expect(none.status).toBe(401);
    expect(await none.json()).toEqual({ error: { code: 'UNAUTHORIZED', message: 'missing credentials: send the header "Authorization: Bearer <token>" with the token the server was started with (--token or MEDSEG_TOKEN)' } });
    const wrong = await fetch(`${s.url}/api/models`, { headers: { authorization: 'Bearer not-the-token-at-all' } });
    expect(wrong.status).toBe(401);
    expect(await wrong.json()).toEqual({ error: { code: 'UNAUTHORIZED', message: 'invalid token: it does not match the token the server was started with' } });
    const basic = await fetch(`${s.url}/api/models`, { headers: { authorization: 'Basic dXNlcjpwYXNz' } });
    expect(basic.status).toBe(401);
    expect((await json<{ error: { message: string } }>(basic)).error.message).toBe('malformed Authorization header: expected "Bearer <token>"');
    const uploadNoToken = await fetch(`${s.url}/api/studies`, { method: 'POST', body: form([['a.nii', readFileSync(NIFTI)]]) });
    expect(uploadNoToken.status).toBe(401);
    expect(readdirSync(join(s.dataDir, 'studies'))).toEqual([]);
    for (const open of ['/healthz', '/readyz', '/api/openapi.json']) expect((await fetch(s.url + open)).status, open).toBe(200);
  });

  it('refuses to start beyond loopback without a token, and accepts loopback without one', async () => {
    expect(() => resolveServerOptions({ host: '0.0.0.0', token: undefined })).toThrow(ServerConfigError);
    expect(() => resolveServerOptions({ host: '0.0.0.0', token: undefined })).toThrow('refusing to listen on 0.0.0.0 without a token: anyone on the network could upload scans and read results. Pass --token <secret> (or set MEDSEG_TOKEN), or bind to 127.0.0.1');
    await expect(startServer({ host: '::', token: undefined, port: 0, dataDir: join(s.dataDir, 'never') })).rejects.toThrow(/^refusing to listen on :: without a token/);
    expect(existsSync(join(s.dataDir, 'never'))).toBe(false);
    expect(resolveServerOptions({ host: '127.0.0.1', token: undefined }).token).toBeUndefined();
    const cli = await medsegTs('serve', '--host', '0.0.0.0', '--port', '0').then(
      () => ({ code: 0, stderr: '' }),
      (e: { code: number; stderr: string }) => ({ code: e.code, stderr: e.stderr }),
    );
    expect(cli.code).toBe(2);
    expect(cli.stderr).toContain('medseg: refusing to listen on 0.0.0.0 without a token');
  });

  it('sends no CORS headers by default, and answers allowed origins only when configured', async () => {
    const res = await s.api('/api/models', { headers: { origin: 'https://evil.example' } });
    expect(res.status).toBe(200);
    expect(res.headers.get('access-control-allow-origin')).toBeNull();
    const other = await startTestServer({ corsOrigins: ['https://viewer.example'] });
    try {
      const pre = await fetch(`${other.url}/api/jobs`, { method: 'OPTIONS', headers: { origin: 'https://viewer.example', 'access-control-request-method': 'POST', 'access-control-request-headers': 'authorization,content-type' } });
      expect(pre.status).toBe(204);
      expect(pre.headers.get('access-control-allow-origin')).toBe('https://viewer.example');
      expect(pre.headers.get('access-control-allow-headers')).toBe('Authorization, Content-Type, Last-Event-ID');
      const ok = await other.api('/api/models', { headers: { origin: 'https://viewer.example' } });
      expect(ok.headers.get('access-control-allow-origin')).toBe('https://viewer.example');
      const evil = await other.api('/api/models', { headers: { origin: 'https://evil.example' } });
      expect(evil.headers.get('access-control-allow-origin')).toBeNull();
    } finally {
      await other.close({ graceMs: 0 });
    }
  });
});

describe('request validation', () => {
  const post = (body: string, type = 'application/json') => s.api('/api/jobs', { method: 'POST', headers: { 'content-type': type }, body });

  it('answers a malformed job request with 400 and what is wrong with which field', async () => {
    const res = await post(JSON.stringify({ study: '../etc', options: { tta: 'yes', bogus: 1 } }));
    expect(res.status).toBe(400);
    expect(await res.json()).toMatchInlineSnapshot(`
      {
        "error": {
          "code": "BAD_REQUEST",
          "message": "invalid job request: study: must be a study id ("st_" and 32 hex digits) as returned by POST /api/studies; model: Invalid input: expected string, received undefined; options.tta: Invalid input: expected boolean, received string; options: Unrecognized key: "bogus"",
        },
      }
    `);
    const notJson = await post('{"study": ');
    expect(notJson.status).toBe(400);
    expect((await json<{ error: { code: string } }>(notJson)).error.code).toBe('INVALID_JSON');
    const text = await post('study=x', 'text/plain');
    expect(text.status).toBe(415);
  });

  it('answers an unknown study or model with 404 naming what exists', async () => {
    const study = await uploadStudy(s, [['a.nii', readFileSync(NIFTI)]]);
    const noModel = await post(JSON.stringify({ study, model: 'nope' }));
    expect(noModel.status).toBe(404);
    expect(await noModel.json()).toEqual({ error: { code: 'UNKNOWN_MODEL', message: 'no model named "nope"; available: pointwise-test, pointwise-4mm (GET /api/models)' } });
    const noStudy = await post(JSON.stringify({ study: `st_${'0'.repeat(32)}`, model: 'pointwise-test' }));
    expect(noStudy.status).toBe(404);
    expect(await noStudy.json()).toEqual({ error: { code: 'NOT_FOUND', message: `no study st_${'0'.repeat(32)}: upload it first (POST /api/studies)` } });
    const route = await s.api('/api/nothing');
    expect(route.status).toBe(404);
    expect(await route.json()).toEqual({ error: { code: 'NOT_FOUND', message: 'no route GET /api/nothing; the API is described at /api/openapi.json' } });
  });
});
