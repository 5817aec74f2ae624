/**
 * The DICOMweb client against a real Orthanc with its DICOMweb plugin (started by the tests on loopback ports, one
 * instance per describe block). Skips locally without Orthanc, fails under CI=true.
 */
import { readdirSync, writeFileSync, mkdtempSync, rmSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadScan } from '../../src/io/load.js';
import { indexToLps } from '../../src/volume/geometry.js';
import {
  DicomWebClient,
  StowError,
  TAG,
  instanceSummary,
  numbers,
  seriesSummary,
  string,
  studySummary,
} from '../../src/pacs/dicomweb/index.js';
import { fixture, sha256, rejection } from '../helpers.js';
import { orthancAvailable, startOrthanc, type OrthancInstance } from './orthanc.js';

const hasOrthanc = orthancAvailable();
const DEMO_DIR = fixture('demo', 'dicom');
const DEMO_FILES = readdirSync(DEMO_DIR)
  .filter((f) => f.endsWith('.dcm'))
  .sort()
  .map((f) => join(DEMO_DIR, f));
/** JPEG-LS lossless (1.2.840.10008.1.2.4.80), a one-slice CT series. */
const JPEG_LS = fixture('dicom', 'compressed', 'CT_small_jpeg_ls_lossless.dcm');
const JPEG_LS_UID = '1.2.840.10008.1.2.4.80';
const EXPLICIT_LE = '1.2.840.10008.1.2.1';

const tmpDirs: string[] = [];
function tmp(): string {
  const d = mkdtempSync(join(tmpdir(), 'medseg-dicomweb-'));
  tmpDirs.push(d);
  return d;
}
afterAll(() => tmpDirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

describe.skipIf(!hasOrthanc)('DICOMweb client against a real Orthanc', () => {
  let orthanc: OrthancInstance;
  let client: DicomWebClient;
  let demo: Awaited<ReturnType<typeof loadScan>> & { format: 'dicom' };

  beforeAll(async () => {
    orthanc = await startOrthanc();
    client = new DicomWebClient({ url: orthanc.dicomWebRoot, timeoutMs: 20_000, retry: { retries: 1, baseDelayMs: 50 } });
    const scan = await loadScan(DEMO_DIR);
    if (scan.format !== 'dicom') throw new Error('demo is DICOM');
    demo = scan;
  });
  afterAll(async () => {
    client?.close();
    await orthanc?.stop();
  });

  it('stores the 76-file demo series and a JPEG-LS series with STOW-RS', async () => {
    expect(DEMO_FILES).toHaveLength(76);
    const result = await client.store(DEMO_FILES);
    expect(result.failed).toEqual([]);
    expect(result.stored).toHaveLength(76);
    expect(new Set(result.stored.map((s) => s.file))).toEqual(new Set(DEMO_FILES));
    const compressed = await client.store([JPEG_LS]);
    expect(compressed.stored.map((s) => s.file)).toEqual([JPEG_LS]);
    const stats = await orthanc.rest<{ CountInstances: number; CountStudies: number }>('/statistics');
    expect(stats).toMatchObject({ CountInstances: 77, CountStudies: 2 });
  });

  it('stores an instance again without duplicating it (STOW is idempotent for the same SOP instance)', async () => {
    await client.store([JPEG_LS, DEMO_FILES[0]!]);
    const stats = await orthanc.rest<{ CountInstances: number }>('/statistics');
    expect(stats.CountInstances).toBe(77);
  });

  it('QIDO-RS finds the studies, the series and the instances with the right counts', async () => {
    const studies = (await client.searchStudies()).map(studySummary);
    expect(studies).toHaveLength(2);
    const study = studies.find((s) => s.studyInstanceUid === demo.dicom.series.studyInstanceUid)!;
    expect(study).toMatchObject({ numberOfSeries: 1, numberOfInstances: 76, modalitiesInStudy: ['CT'] });

    const byUid = await client.searchStudies({ StudyInstanceUID: study.studyInstanceUid });
    expect(byUid.map((s) => string(s, TAG.StudyInstanceUid))).toEqual([study.studyInstanceUid]);
    expect(await client.searchStudies({ PatientID: 'no-such-patient' })).toEqual([]);

    const series = (await client.searchSeries(study.studyInstanceUid, { Modality: 'CT' })).map(seriesSummary);
    expect(series).toEqual([
      expect.objectContaining({ seriesInstanceUid: demo.dicom.series.seriesInstanceUid, modality: 'CT', numberOfInstances: 76 }),
    ]);

    const instances = (await client.searchInstances(study.studyInstanceUid, series[0]!.seriesInstanceUid)).map(instanceSummary);
    expect(instances).toHaveLength(76);
    expect(new Set(instances.map((i) => i.sopInstanceUid))).toEqual(new Set(demo.dicom.planes.map((p) => p.sopInstanceUid)));
    const limited = await client.searchInstances(study.studyInstanceUid, series[0]!.seriesInstanceUid, { limit: 5 });
    expect(limited).toHaveLength(5);
  });

  it('WADO-RS streams the demo series to disk and it decodes to the same voxels, byte-identical to what was stored', async () => {
    const out = tmp();
    const files = await client.retrieve({ study: demo.dicom.series.studyInstanceUid!, series: demo.dicom.series.seriesInstanceUid }, out);
    expect(files).toHaveLength(76);
    expect(readdirSync(out).sort()).toEqual(files.map((f) => basename(f.path)).sort()); // no temporary files left
    for (const f of files) expect(basename(f.path)).toBe(`${f.sopInstanceUid}.dcm`);

    const back = await loadScan(out);
    expect(back.volume.dims).toEqual(demo.volume.dims);
    expect(back.volume.spacing).toEqual(demo.volume.spacing);
    expect(back.volume.origin).toEqual(demo.volume.origin);
    expect(back.volume.direction).toEqual(demo.volume.direction);
    expect(back.volume.data.constructor).toBe(demo.volume.data.constructor);
    expect(sha256(back.volume.data)).toBe(sha256(demo.volume.data));

    // transfer-syntax=* returns what was stored: the very same bytes as the fixture files.
    const originalBySop = new Map(demo.dicom.planes.map((p) => [p.sopInstanceUid, p.file]));
    for (const f of files.slice(0, 10)) {
      expect(sha256(await readFile(f.path))).toBe(sha256(await readFile(originalBySop.get(f.sopInstanceUid)!)));
    }
  });

  it('WADO-RS keeps JPEG-LS as stored, or transcodes on request; both decode like the original', async () => {
    const [study] = (await client.searchStudies({ StudyInstanceUID: '1.3.6.1.4.1.5962.1.2.1.20040119072730.12322' })).map(studySummary);
    expect(study).toBeDefined();
    const [series] = (await client.searchSeries(study!.studyInstanceUid)).map(seriesSummary);
    const [instance] = (await client.searchInstances(study!.studyInstanceUid, series!.seriesInstanceUid)).map(instanceSummary);
    const target = { study: study!.studyInstanceUid, series: series!.seriesInstanceUid, instance: instance!.sopInstanceUid };
    const original = await loadScan(JPEG_LS);

    const asStored = await client.retrieve(target, tmp());
    expect(asStored.map((f) => f.transferSyntaxUid)).toEqual([JPEG_LS_UID]);
    const transcoded = await client.retrieve(target, tmp(), { transferSyntax: EXPLICIT_LE });
    expect(transcoded.map((f) => f.transferSyntaxUid)).toEqual([EXPLICIT_LE]);
    for (const files of [asStored, transcoded]) {
      const back = await loadScan(files.map((f) => f.path));
      expect(back.volume.dims).toEqual(original.volume.dims);
      expect(back.volume.origin).toEqual(original.volume.origin);
      expect(sha256(back.volume.data)).toBe(sha256(original.volume.data));
    }
  });

  it('WADO-RS metadata matches the series: SOP instances, matrix and slice positions', async () => {
    const meta = await client.retrieveMetadata({ study: demo.dicom.series.studyInstanceUid!, series: demo.dicom.series.seriesInstanceUid });
    expect(meta).toHaveLength(76);
    expect(new Set(meta.map((m) => string(m, TAG.SopInstanceUid)))).toEqual(new Set(demo.dicom.planes.map((p) => p.sopInstanceUid)));
    const [nx, ny, nz] = demo.volume.dims;
    for (const m of meta) {
      expect(numbers(m, TAG.Rows)).toEqual([ny]);
      expect(numbers(m, TAG.Columns)).toEqual([nx]);
    }
    // Each instance's ImagePositionPatient is the LPS centre of voxel (0, 0, k) of the loaded volume.
    const ipp = meta.map((m) => numbers(m, '00200032')).sort((a, b) => a[2]! - b[2]!);
    const expected = Array.from({ length: nz }, (_, k) => indexToLps(demo.volume, [0, 0, k])).sort((a, b) => a[2] - b[2]);
    for (let k = 0; k < nz; k++) for (let c = 0; c < 3; c++) expect(ipp[k]![c]!).toBeCloseTo(expected[k]![c]!, 4);
  });

  it('reports the instances STOW-RS did not store, naming the files', async () => {
    const garbage = join(tmp(), 'not-dicom.dcm');
    writeFileSync(garbage, Buffer.alloc(2000, 7));
    const err = await rejection(client.store([garbage, DEMO_FILES[1]!]));
    expect(err).toBeInstanceOf(StowError);
    expect(err.code).toBe('REMOTE_REJECTED');
    expect(err.message).toMatch(/^POST http:\/\/127\.0\.0\.1:\d+\/dicom-web\/studies: the server stored 1 of 2 instances; 1 failed: .*not-dicom\.dcm: not a DICOM Part 10 file/);
    const result = (err as StowError).result;
    expect(result.stored.map((s) => s.file)).toEqual([DEMO_FILES[1]]);
    expect(result.failed.map((f) => f.file)).toEqual([garbage]);
  });

  it('fails with REMOTE_REJECTED, the URL, the status and Orthanc\'s explanation for an unknown series', async () => {
    const started = Date.now();
    const err = await rejection(client.retrieve({ study: '1.2.3', series: '4.5.6' }, tmp()));
    expect(err.code).toBe('REMOTE_REJECTED');
    expect(err.message).toMatch(
      /^GET http:\/\/127\.0\.0\.1:\d+\/dicom-web\/studies\/1\.2\.3\/series\/4\.5\.6: HTTP 404 Not Found \(server: "Accessing an inexistent item: Accessing an inexistent series with WADO-RS: 4\.5\.6"\): the server rejected the request\. Check the DICOMweb root URL/,
    );
    expect(Date.now() - started).toBeLessThan(2000); // not retried
  });
});

describe.skipIf(!hasOrthanc)('DICOMweb client with basic authentication (Orthanc RegisteredUsers)', () => {
  let orthanc: OrthancInstance;
  beforeAll(async () => {
    orthanc = await startOrthanc({ users: { medseg: 'right-horse-battery' } });
  });
  afterAll(async () => {
    await orthanc?.stop();
  });
  const quick = { retries: 2, baseDelayMs: 10 };

  it('fails with REMOTE_AUTH, without retrying and without the password in the message, when the password is wrong', async () => {
    const client = new DicomWebClient({ url: orthanc.dicomWebRoot, auth: { type: 'basic', username: 'medseg', password: 'wrong-staple' }, retry: quick });
    const err = await rejection(client.searchStudies());
    expect(err.code).toBe('REMOTE_AUTH');
    expect(err.message).toMatch(/^GET http:\/\/127\.0\.0\.1:\d+\/dicom-web\/studies: HTTP 401 Unauthorized.*authentication failed; check the user name and password/);
    expect(err.message).not.toContain('wrong-staple');
    expect(err.message).not.toContain('attempts');
  });

  it('fails with REMOTE_AUTH without credentials, and hides credentials given in the URL', async () => {
    const none = new DicomWebClient({ url: orthanc.dicomWebRoot, retry: quick });
    expect((await rejection(none.searchStudies())).code).toBe('REMOTE_AUTH');
    const inUrl = new DicomWebClient({ url: orthanc.dicomWebRoot.replace('://', '://medseg:wrong-staple@'), retry: quick });
    const err = await rejection(inUrl.searchStudies());
    expect(err.code).toBe('REMOTE_AUTH');
    expect(err.message).not.toContain('wrong-staple');
    expect(err.message).not.toContain('medseg@');
  });

  it('works with the right password (as auth and in the URL)', async () => {
    const client = new DicomWebClient({ url: orthanc.dicomWebRoot, auth: { type: 'basic', username: 'medseg', password: 'right-horse-battery' } });
    expect((await client.store([JPEG_LS])).stored).toHaveLength(1);
    const inUrl = new DicomWebClient({ url: orthanc.dicomWebRoot.replace('://', '://medseg:right-horse-battery@') });
    expect(await inUrl.searchStudies()).toHaveLength(1);
  });
});

describe.skipIf(!hasOrthanc)('DICOMweb client over TLS with a custom CA', () => {
  let orthanc: OrthancInstance;
  beforeAll(async () => {
    orthanc = await startOrthanc({ tls: true });
  });
  afterAll(async () => {
    await orthanc?.stop();
  });

  it('stores and retrieves over https when given the CA that signed the server certificate', async () => {
    expect(orthanc.dicomWebRoot).toMatch(/^https:/);
    const client = new DicomWebClient({ url: orthanc.dicomWebRoot, caFile: orthanc.caFile });
    await client.store([JPEG_LS]);
    const [study] = (await client.searchStudies()).map(studySummary);
    const files = await client.retrieve({ study: study!.studyInstanceUid }, tmp());
    expect(files.map((f) => f.transferSyntaxUid)).toEqual([JPEG_LS_UID]);
  });

  it('fails at once with a clear REMOTE_UNAVAILABLE naming caFile when the CA is not given', async () => {
    const client = new DicomWebClient({ url: orthanc.dicomWebRoot, retry: { retries: 3, baseDelayMs: 1000 } });
    const started = Date.now();
    const err = await rejection(client.searchStudies());
    expect(err.code).toBe('REMOTE_UNAVAILABLE');
    expect(err.message).toMatch(
      /^GET https:\/\/127\.0\.0\.1:\d+\/dicom-web\/studies: the server's TLS certificate is not trusted \(UNABLE_TO_VERIFY_LEAF_SIGNATURE: .*\)\. Pass caFile/,
    );
    expect(Date.now() - started).toBeLessThan(1000); // a trust failure is not retried
  });
});
