/** The streaming multipart parser, the Part 10 meta reader and the STOW-RS body, without a server. */
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { SegError } from '../../src/errors.js';
import {
  MultipartError,
  MultipartParser,
  boundaryFromContentType,
  parseMediaType,
  partialMatchLength,
  type MultipartEvent,
} from '../../src/pacs/dicomweb/multipart.js';
import { isDicomUid, readPart10Meta } from '../../src/pacs/dicomweb/part10-meta.js';
import { saveMultipartParts } from '../../src/pacs/dicomweb/save-parts.js';
import { describeStowFiles, parseStowResponse, stowBatches, stowBody, stowBodyLength } from '../../src/pacs/dicomweb/stow.js';
import { fixture } from '../helpers.js';

const BOUNDARY = 'b0undary-42';

interface Part {
  headers: Record<string, string>;
  body: Buffer;
}

function multipartBody(parts: readonly Part[], { preamble = '', epilogue = '' } = {}): Buffer {
  const chunks: Buffer[] = [Buffer.from(preamble ? `${preamble}\r\n` : '')];
  for (const p of parts) {
    const head = Object.entries(p.headers).map(([k, v]) => `${k}: ${v}\r\n`).join('');
    chunks.push(Buffer.from(`--${BOUNDARY}\r\n${head}\r\n`), p.body, Buffer.from('\r\n'));
  }
  chunks.push(Buffer.from(`--${BOUNDARY}--\r\n${epilogue}`));
  return Buffer.concat(chunks);
}

/** Feeds `body` cut at `cuts` and reassembles the parts from the events. */
function parseChunked(body: Buffer, cuts: readonly number[]): Part[] {
  const parser = new MultipartParser(BOUNDARY);
  const events: MultipartEvent[] = [];
  const points = [...new Set(cuts.map((c) => Math.max(0, Math.min(body.length, c))))].sort((a, b) => a - b);
  let from = 0;
  for (const at of [...points, body.length]) {
    events.push(...parser.push(body.subarray(from, at)));
    from = at;
  }
  parser.finish();
  const parts: Part[] = [];
  for (const ev of events) {
    if (ev.type === 'part') parts.push({ headers: { ...ev.headers }, body: Buffer.alloc(0) });
    else if (ev.type === 'data') parts[parts.length - 1]!.body = Buffer.concat([parts[parts.length - 1]!.body, ev.bytes]);
  }
  return parts;
}

const SAMPLE: Part[] = [
  { headers: { 'content-type': 'application/dicom' }, body: Buffer.from('first\r\n--b0undary-4 near miss \r\n-') },
  { headers: {}, body: Buffer.alloc(0) },
  { headers: { 'content-type': 'application/dicom', 'content-length': '3' }, body: Buffer.from([0x0d, 0x0a, 0x2d]) },
];

describe('MultipartParser', () => {
  it('parses every part whatever single cut point splits the body, including inside each boundary', () => {
    const body = multipartBody(SAMPLE, { preamble: 'ignored preamble', epilogue: 'ignored epilogue' });
    for (let cut = 0; cut <= body.length; cut++) expect(parseChunked(body, [cut])).toEqual(SAMPLE);
  });

  it('parses the same parts for any chunking (property), also one byte at a time', () => {
    const body = multipartBody(SAMPLE);
    expect(parseChunked(body, Array.from({ length: body.length }, (_, i) => i))).toEqual(SAMPLE);
    fc.assert(
      fc.property(fc.array(fc.nat({ max: body.length }), { maxLength: 20 }), (cuts) => {
        expect(parseChunked(body, cuts)).toEqual(SAMPLE);
      }),
    );
  });

  it('streams a part larger than the chunk size in pieces without holding it, and with exact bytes', () => {
    const big = Buffer.alloc(1_000_003);
    for (let i = 0; i < big.length; i++) big[i] = (i * 7919) & 0xff;
    big.write(`\r\n--${BOUNDARY.slice(0, -1)}`, 500_000, 'latin1'); // a near-boundary inside the data
    const body = multipartBody([{ headers: { 'content-type': 'application/dicom' }, body: big }]);
    const parser = new MultipartParser(BOUNDARY);
    const hash = createHash('sha256');
    let largestEvent = 0;
    for (let at = 0; at < body.length; at += 4096) {
      for (const ev of parser.push(body.subarray(at, at + 4096))) {
        if (ev.type === 'data') {
          hash.update(ev.bytes);
          largestEvent = Math.max(largestEvent, ev.bytes.length);
        }
      }
    }
    parser.finish();
    expect(hash.digest('hex')).toBe(createHash('sha256').update(big).digest('hex'));
    expect(largestEvent).toBeLessThanOrEqual(4096 + BOUNDARY.length + 4);
  });

  it('accepts transport padding after a boundary and a part without headers', () => {
    const body = Buffer.from(`--${BOUNDARY} \t\r\n\r\nhello\r\n--${BOUNDARY}--`);
    expect(parseChunked(body, [])).toEqual([{ headers: {}, body: Buffer.from('hello') }]);
  });

  it('reports a body cut before its closing boundary as truncated', () => {
    const body = multipartBody(SAMPLE);
    const parser = new MultipartParser(BOUNDARY);
    parser.push(body.subarray(0, body.length - 10));
    expect(() => parser.finish()).toThrow(
      new MultipartError(true, `truncated multipart body: the body ended inside part 3 before the closing boundary "--${BOUNDARY}--"`),
    );
    const empty = new MultipartParser(BOUNDARY);
    empty.push(Buffer.from('no multipart here'));
    expect(() => empty.finish()).toThrow(`truncated multipart body: no boundary "--${BOUNDARY}" found`);
  });

  it('rejects a boundary line followed by garbage, and an invalid boundary', () => {
    const parser = new MultipartParser(BOUNDARY);
    expect(() => parser.push(Buffer.from(`--${BOUNDARY}xx\r\n`))).toThrow(`malformed multipart body: boundary line "--${BOUNDARY}" is not followed by CRLF or "--"`);
    expect(() => new MultipartParser('')).toThrow('invalid multipart boundary "" (RFC 2046: 1–70 characters)');
  });

  it('partialMatchLength finds the delimiter prefix at the end of a chunk (worked example: "abc\\r\\n-" → 3)', () => {
    expect(partialMatchLength(Buffer.from('abc\r\n-'), Buffer.from('\r\n--b'))).toBe(3);
    expect(partialMatchLength(Buffer.from('abc'), Buffer.from('\r\n--b'))).toBe(0);
    expect(partialMatchLength(Buffer.from('\r\n--'), Buffer.from('\r\n--b'))).toBe(4);
  });
});

describe('Content-Type parsing', () => {
  it('reads quoted and unquoted boundaries and the type parameter', () => {
    expect(parseMediaType('multipart/related; type="application/dicom"; boundary="a;b c"')).toEqual({
      type: 'multipart/related',
      params: { type: 'application/dicom', boundary: 'a;b c' },
    });
    expect(boundaryFromContentType('Multipart/Related; boundary=abc-123')).toBe('abc-123');
  });

  it('refuses a non-multipart response with REMOTE_UNAVAILABLE', () => {
    expect(() => boundaryFromContentType('application/json')).toThrow(
      new SegError('REMOTE_UNAVAILABLE', 'expected a multipart/related response with a boundary, got Content-Type "application/json"'),
    );
    expect(() => boundaryFromContentType(undefined)).toThrow('got Content-Type "(none)"');
  });
});

describe('Part 10 meta and STOW-RS body', () => {
  const demoDir = fixture('demo', 'dicom');
  const demoFiles = readdirSync(demoDir).sort().map((f) => join(demoDir, f));
  const tmp = mkdtempSync(join(tmpdir(), 'medseg-multipart-'));
  afterAll(() => rmSync(tmp, { recursive: true, force: true }));

  it('reads the SOP instance and transfer syntax UIDs from a file head, and nothing from a non-DICOM file', async () => {
    const [file] = await describeStowFiles([demoFiles[0]!]);
    expect(file!.meta?.transferSyntaxUid).toBe('1.2.840.10008.1.2.1');
    expect(file!.meta?.sopClassUid).toBe('1.2.840.10008.5.1.4.1.1.2');
    expect(isDicomUid(file!.meta!.sopInstanceUid!)).toBe(true);
    expect(readPart10Meta(Buffer.alloc(300))).toBeUndefined();
  });

  it('writes a body of exactly the announced length, which the parser splits back into the same files', async () => {
    const files = await describeStowFiles(demoFiles.slice(0, 3));
    const boundary = 'medseg-test-boundary';
    const chunks: Buffer[] = [];
    for await (const c of stowBody(files, boundary)) chunks.push(c as Buffer);
    const body = Buffer.concat(chunks);
    expect(body.length).toBe(stowBodyLength(files, boundary));

    const out = join(tmp, 'split');
    rmSync(out, { recursive: true, force: true });
    mkdirSync(out);
    const saved = await saveMultipartParts(Readable.from([body]), `multipart/related; type="application/dicom"; boundary=${boundary}`, out);
    expect(saved.map((s) => s.sopInstanceUid)).toEqual(files.map((f) => f.meta?.sopInstanceUid));
    expect(saved.map((s) => s.bytes)).toEqual(files.map((f) => f.bytes));
    expect(readdirSync(out).sort()).toEqual(saved.map((s) => `${s.sopInstanceUid}.dcm`).sort());
  });

  it('removes the temporary file of a part cut off by a broken transfer', async () => {
    const out = join(tmp, 'broken');
    mkdirSync(out, { recursive: true });
    const body = multipartBody([{ headers: { 'content-type': 'application/dicom' }, body: Buffer.alloc(10_000, 1) }]);
    const source = Readable.from([body.subarray(0, 5000)]);
    await expect(saveMultipartParts(source, `multipart/related; boundary=${BOUNDARY}`, out)).rejects.toThrow(MultipartError);
    expect(readdirSync(out)).toEqual([]);
  });

  it('names a part without a Part 10 header by its position', async () => {
    const out = join(tmp, 'plain');
    mkdirSync(out, { recursive: true });
    const body = multipartBody([{ headers: {}, body: Buffer.from('x') }, { headers: {}, body: Buffer.from('y') }]);
    const saved = await saveMultipartParts(Readable.from([body]), `multipart/related; boundary=${BOUNDARY}`, out);
    expect(saved.map((s) => s.path)).toEqual([join(out, 'part-00001.dcm'), join(out, 'part-00002.dcm')]);
  });

  it('splits uploads into requests by size, a large file alone', () => {
    const f = (bytes: number) => ({ path: `${bytes}`, bytes });
    expect(stowBatches([f(4), f(4), f(10), f(1), f(2)], 8).map((b) => b.map((x) => x.bytes))).toEqual([[4, 4], [10], [1, 2]]);
  });

  it('matches a Store Instances Response to the files, and counts unlisted instances as failed', () => {
    const sent = [
      { path: 'a.dcm', bytes: 1, meta: { sopInstanceUid: '1.1' } },
      { path: 'b.dcm', bytes: 1, meta: { sopInstanceUid: '1.2' } },
      { path: 'c.dcm', bytes: 1, meta: { sopInstanceUid: '1.3' } },
    ];
    const response = {
      '00081199': { vr: 'SQ', Value: [{ '00081155': { vr: 'UI', Value: ['1.1'] }, '00081190': { vr: 'UR', Value: ['http://x/1.1'] } }] },
      '00081198': { vr: 'SQ', Value: [{ '00081155': { vr: 'UI', Value: ['1.2'] }, '00081197': { vr: 'US', Value: [0xc000] } }] },
    };
    expect(parseStowResponse(response, sent)).toEqual({
      stored: [{ sopInstanceUid: '1.1', retrieveUrl: 'http://x/1.1', file: 'a.dcm', sopClassUid: undefined, warningReason: undefined }],
      failed: [
        { sopInstanceUid: '1.2', failureReason: 0xc000, reason: '0xC000 cannot understand', file: 'b.dcm', sopClassUid: undefined },
        { sopInstanceUid: '1.3', reason: 'not listed as stored by the server', file: 'c.dcm' },
      ],
    });
  });
});
