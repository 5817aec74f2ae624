/** The server-sent event parser reads the job event stream however the network splits it. */
import { describe, expect, it } from 'vitest';
import { SseParser, type SseEvent } from '../../viewer/src/core/sse.js';

const STREAM = 'retry: 1000\n: keep-alive comment\nevent: job\ndata: {"id":"job_1","progress":0.5}\n\nevent: job\nid: 7\ndata: first line\ndata: second line — ü\n\ndata: plain\n\n';
const EXPECTED: SseEvent[] = [
  { event: 'job', data: '{"id":"job_1","progress":0.5}', id: undefined },
  { event: 'job', data: 'first line\nsecond line — ü', id: '7' },
  { event: 'message', data: 'plain', id: '7' },
];

describe('SseParser', () => {
  it('parses events, comments, multi-line data and ids (which persist)', () => {
    expect(new SseParser().push(STREAM)).toEqual(EXPECTED);
  });

  it('gives the same events for a byte stream split at every position, even inside a UTF-8 character', () => {
    const bytes = new TextEncoder().encode(STREAM);
    for (let cut = 1; cut < bytes.length; cut++) {
      const p = new SseParser();
      expect([...p.push(bytes.subarray(0, cut)), ...p.push(bytes.subarray(cut))]).toEqual(EXPECTED);
    }
  });

  it('treats CRLF, CR and LF alike, also when a CRLF is split between chunks', () => {
    const crlf = STREAM.replace(/\n/g, '\r\n');
    for (let cut = 1; cut < crlf.length; cut++) {
      const p = new SseParser();
      expect([...p.push(crlf.slice(0, cut)), ...p.push(crlf.slice(cut))]).toEqual(EXPECTED);
    }
    expect(new SseParser().push(STREAM.replace(/\n/g, '\r'))).toEqual(EXPECTED);
  });

  it('keeps an unfinished event until its blank line arrives', () => {
    const p = new SseParser();
    expect(p.push('event: job\ndata: {}')).toEqual([]);
    expect(p.push('\n')).toEqual([]);
    expect(p.push('\n')).toEqual([{ event: 'job', data: '{}', id: undefined }]);
  });
});
