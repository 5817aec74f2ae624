/**
 * Timeouts, retries and error messages of the DICOMweb client against tiny local HTTP servers that misbehave on
 * purpose (503 twice, 400, 401, a hang, a body that breaks off). Small timeouts and backoffs keep it fast.
 */
import http from 'node:http';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { rejection } from '../helpers.js';
import { DicomWebClient, parseRetryAfterMs, redactUrl, retryDelayMs, isRetryableStatus } from '../../src/pacs/dicomweb/index.js';

const STUDY = [{ '0020000D': { vr: 'UI', Value: ['1.2.3'] } }];
const servers: http.Server[] = [];
const tmpDirs: string[] = [];

afterEach(async () => {
  for (const s of servers.splice(0)) {
    s.closeAllConnections();
    await new Promise((r) => s.close(r));
  }
});
afterAll(() => tmpDirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

/** Starts a server whose handler gets the 1-based attempt number; returns its DICOMweb root and the attempt count. */
async function server(handler: (req: http.IncomingMessage, res: http.ServerResponse, attempt: number) => void) {
  const state = { attempts: 0, url: '' };
  const srv = http.createServer((req, res) => handler(req, res, ++state.attempts));
  servers.push(srv);
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  state.url = `http://127.0.0.1:${(srv.address() as AddressInfo).port}/dicom-web`;
  return state;
}

const fast = { retries: 3, baseDelayMs: 5, maxDelayMs: 50 };

describe('DICOMweb retries and errors', () => {
  it('retries 503 twice, then succeeds on the third attempt', async () => {
    const s = await server((_req, res, attempt) => {
      if (attempt <= 2) {
        res.writeHead(503, { 'content-type': 'text/plain' }).end('busy');
        return;
      }
      res.writeHead(200, { 'content-type': 'application/dicom+json' }).end(JSON.stringify(STUDY));
    });
    const client = new DicomWebClient({ url: s.url, retry: fast });
    expect(await client.searchStudies()).toEqual(STUDY);
    expect(s.attempts).toBe(3);
  });

  it('honours Retry-After (seconds) when it is longer than the backoff', async () => {
    const s = await server((_req, res, attempt) => {
      if (attempt === 1) {
        res.writeHead(429, { 'retry-after': '1' }).end();
        return;
      }
      res.writeHead(200).end('[]');
    });
    const client = new DicomWebClient({ url: s.url, retry: { retries: 1, baseDelayMs: 1, maxDelayMs: 5000 } });
    const started = Date.now();
    expect(await client.searchStudies()).toEqual([]);
    expect(Date.now() - started).toBeGreaterThanOrEqual(950);
    expect(s.attempts).toBe(2);
  });

  it('gives up with REMOTE_UNAVAILABLE after the last retry of a 5xx, quoting the server', async () => {
    const s = await server((_req, res) => res.writeHead(502, 'Bad Gateway', { 'content-type': 'text/html' }).end('<h1>upstream   down</h1>'));
    const client = new DicomWebClient({ url: s.url, retry: { ...fast, retries: 2 } });
    const err = await rejection(client.searchSeries('1.2.3', { Modality: 'CT' }));
    expect(err.code).toBe('REMOTE_UNAVAILABLE');
    expect(err.message).toMatch(
      /^GET http:\/\/127\.0\.0\.1:\d+\/dicom-web\/studies\/1\.2\.3\/series\?Modality=CT: HTTP 502 Bad Gateway \(server: "upstream down"\) after 3 attempts in \d+\.\d s; the server kept failing/,
    );
    expect(s.attempts).toBe(3);
  });

  it('does not retry a 400 and reports REMOTE_REJECTED with the server explanation', async () => {
    const s = await server((_req, res) =>
      res.writeHead(400, { 'content-type': 'application/json' }).end(JSON.stringify({ Message: 'Bad request', Details: 'Unknown tag: Foo' })),
    );
    const client = new DicomWebClient({ url: s.url, retry: fast });
    const err = await rejection(client.searchStudies({ Foo: 'x' }));
    expect(err.code).toBe('REMOTE_REJECTED');
    expect(err.message).toMatch(
      /^GET http:\/\/127\.0\.0\.1:\d+\/dicom-web\/studies\?Foo=x: HTTP 400 Bad Request \(server: "Bad request: Unknown tag: Foo"\): the server rejected the request\.$/,
    );
    expect(s.attempts).toBe(1);
  });

  it('does not retry a 401/403 and reports REMOTE_AUTH', async () => {
    const s = await server((_req, res, attempt) => res.writeHead(attempt === 1 ? 401 : 403).end());
    const client = new DicomWebClient({ url: s.url, retry: fast, auth: { type: 'bearer', token: 'tok-secret' } });
    const e401 = await rejection(client.searchStudies());
    expect(e401.code).toBe('REMOTE_AUTH');
    expect(e401.message).toMatch(/HTTP 401 Unauthorized: authentication failed; check the user name and password \(or bearer token\)/);
    const e403 = await rejection(client.searchStudies());
    expect(e403.message).toMatch(/HTTP 403 Forbidden: authentication failed; the credentials were accepted but lack permission/);
    expect(s.attempts).toBe(2);
  });

  it('times out a server that never answers, retries, then fails with REMOTE_UNAVAILABLE', async () => {
    const s = await server(() => undefined); // accepts the request and never responds
    const client = new DicomWebClient({ url: s.url, timeoutMs: 100, retry: { retries: 2, baseDelayMs: 5, maxDelayMs: 10 } });
    const started = Date.now();
    const err = await rejection(client.searchStudies());
    expect(err.code).toBe('REMOTE_UNAVAILABLE');
    expect(err.message).toMatch(/^GET http:\/\/127\.0\.0\.1:\d+\/dicom-web\/studies: no response within 100 ms \(timeoutMs\) after 3 attempts in \d\.\d s; /);
    expect(s.attempts).toBe(3);
    expect(Date.now() - started).toBeLessThan(2000);
  });

  it('retries connection refused and names it', async () => {
    const s = await server(() => undefined);
    const url = s.url;
    for (const srv of servers.splice(0)) await new Promise((r) => srv.close(r)); // nothing listens there now
    const client = new DicomWebClient({ url, retry: { retries: 1, baseDelayMs: 5 } });
    const err = await rejection(client.searchStudies());
    expect(err.code).toBe('REMOTE_UNAVAILABLE');
    expect(err.message).toMatch(/: connection refused \(ECONNREFUSED\) after 2 attempts in \d\.\d s; check that the server is running/);
  });

  it('retrieves again after a multipart body breaks off, leaving only whole files', async () => {
    const boundary = 'xyz';
    const part = (n: number) => `--${boundary}\r\nContent-Type: application/dicom\r\n\r\n${String(n).repeat(5000)}\r\n`;
    const s = await server((_req, res, attempt) => {
      res.writeHead(200, { 'content-type': `multipart/related; type="application/dicom"; boundary=${boundary}` });
      if (attempt === 1) {
        res.write(part(1) + part(2).slice(0, 3000));
        setTimeout(() => res.destroy(), 20); // the connection drops in the middle of part 2
        return;
      }
      res.end(`${part(1)}${part(2)}--${boundary}--\r\n`);
    });
    const out = mkdtempSync(join(tmpdir(), 'medseg-retry-'));
    tmpDirs.push(out);
    const client = new DicomWebClient({ url: s.url, retry: fast });
    const files = await client.retrieve({ study: '1.2.3', series: '4.5' }, out);
    expect(files.map((f) => f.bytes)).toEqual([5000, 5000]);
    expect(readdirSync(out).sort()).toEqual(['part-00001.dcm', 'part-00002.dcm']);
    expect(s.attempts).toBe(2);
  });

  it('fails a body that stalls mid-transfer by the idle timeout and retries it', async () => {
    const s = await server((_req, res, attempt) => {
      res.writeHead(200, { 'content-type': 'application/dicom+json' });
      if (attempt === 1) res.write('[{"0020000D": {"vr": "UI", "Va'); // then nothing
      else res.end(JSON.stringify(STUDY));
    });
    const client = new DicomWebClient({ url: s.url, timeoutMs: 100, retry: fast });
    expect(await client.searchStudies()).toEqual(STUDY);
    expect(s.attempts).toBe(2);
  });

  it('sends basic and bearer Authorization headers and query parameters as given', async () => {
    const seen: (string | undefined)[] = [];
    const s = await server((req, res) => {
      seen.push(`${req.headers.authorization} ${req.url}`);
      res.writeHead(204).end();
    });
    await new DicomWebClient({ url: s.url, auth: { type: 'bearer', token: 'abc.def' } }).searchStudies({ includefield: ['00081030', '00080060'], limit: 2 });
    await new DicomWebClient({ url: s.url.replace('://', '://us%40er:p%3Ass@') }).searchInstances('1.2', '3.4');
    expect(seen).toEqual([
      'Bearer abc.def /dicom-web/studies?includefield=00081030&includefield=00080060&limit=2',
      `Basic ${Buffer.from('us@er:p:ss').toString('base64')} /dicom-web/studies/1.2/series/3.4/instances`,
    ]);
  });

  it('cancels a pending request through the signal with CANCELLED, without retrying', async () => {
    const s = await server(() => undefined);
    const controller = new AbortController();
    const client = new DicomWebClient({ url: s.url, signal: controller.signal, retry: fast });
    setTimeout(() => controller.abort(), 50);
    const err = await rejection(client.searchStudies());
    expect(err.code).toBe('CANCELLED');
    expect(err.message).toMatch(/^GET http:\/\/127\.0\.0\.1:\d+\/dicom-web\/studies: cancelled$/);
    expect(s.attempts).toBe(1);
  });

  it('refuses malformed UIDs before sending anything', async () => {
    const client = new DicomWebClient({ url: 'http://127.0.0.1:1/dicom-web' });
    await expect(client.retrieve({ study: '1.2/../3' }, tmpdir())).rejects.toThrow(
      new RangeError('not a DICOM UID (digits and dots, at most 64 characters): "1.2/../3"'),
    );
  });
});

describe('retry policy and URL redaction', () => {
  it('computes the worked example of retryDelayMs: base 500, retry 3, random 0.5 → 1500 ms', () => {
    expect(retryDelayMs(3, { baseDelayMs: 500, maxDelayMs: 30_000 }, undefined, () => 0.5)).toBe(1500);
    expect(retryDelayMs(1, { baseDelayMs: 500, maxDelayMs: 30_000 }, 4000, () => 0)).toBe(4000);
    expect(retryDelayMs(10, { baseDelayMs: 500, maxDelayMs: 2000 }, 60_000, () => 1)).toBe(2000);
  });

  it('parses Retry-After as seconds or an HTTP date', () => {
    const now = Date.parse('2024-01-01T00:00:00Z');
    expect(parseRetryAfterMs('7', now)).toBe(7000);
    expect(parseRetryAfterMs('Mon, 01 Jan 2024 00:00:05 GMT', now)).toBe(5000);
    expect(parseRetryAfterMs('soon', now)).toBeUndefined();
    expect(parseRetryAfterMs(undefined, now)).toBeUndefined();
  });

  it('retries 408, 429 and 5xx but not other 4xx, 501 or 505', () => {
    expect([408, 429, 500, 502, 503, 504].every(isRetryableStatus)).toBe(true);
    expect([400, 401, 403, 404, 409, 413, 501, 505].some(isRetryableStatus)).toBe(false);
  });

  it('removes credentials and secret query values from URLs in messages', () => {
    expect(redactUrl('https://user:pw@pacs.example/dicom-web/studies?access_token=abc&PatientID=7&apiKey=k')).toBe(
      'https://pacs.example/dicom-web/studies?access_token=***&PatientID=7&apiKey=***',
    );
  });
});
