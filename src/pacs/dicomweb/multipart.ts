/**
 * Incremental multipart (RFC 2046) parser for WADO-RS `multipart/related` responses, plus the boundary helpers STOW-RS
 * needs to build a request.
 *
 * Why hand-written: the maintained npm parsers either handle only multipart/form-data (busboy needs a
 * Content-Disposition per part), or hand each part over as one buffer (@mjackson/multipart-parser caps parts at
 * `maxFileSize`, multipart-related and dicomweb-client collect `Uint8Array`s), or are unmaintained (dicer). A WADO-RS
 * part is a whole DICOM instance (an enhanced multi-frame CT can be gigabytes), so parts must flow to disk chunk by
 * chunk. The parser below is push-based and pure: `push(chunk)` returns events whose data are views into the
 * chunk (no copy, except for the few bytes held back because they might start a boundary).
 */
import { SegError } from '../../errors.js';

/** Headers of one part, names lower-cased. */
export type PartHeaders = Readonly<Record<string, string>>;

export type MultipartEvent =
  | { readonly type: 'part'; readonly headers: PartHeaders }
  | { readonly type: 'data'; readonly bytes: Uint8Array }
  | { readonly type: 'end' };

/** A response that is not the multipart body it claims to be. `truncated`: the body ended early (a dropped connection). */
export class MultipartError extends Error {
  override name = 'MultipartError';
  constructor(
    readonly truncated: boolean,
    message: string,
  ) {
    super(message);
  }
}

const CRLF = Buffer.from('\r\n');
const HEADER_END = Buffer.from('\r\n\r\n');
const MAX_HEADER_BYTES = 16 * 1024;

type State = 'preamble' | 'afterDelimiter' | 'headers' | 'body' | 'done';

/**
 * Streaming multipart parser. Feed the body with `push`, then call `finish` at its end.
 * @example
 * const parser = new MultipartParser(boundaryFromContentType(res.headers['content-type']));
 * for await (const chunk of res) for (const ev of parser.push(chunk)) handle(ev);
 * parser.finish();
 */
export class MultipartParser {
  /** "\r\n--boundary": every boundary line but possibly the first is preceded by CRLF (which belongs to it). */
  private readonly delimiter: Buffer;
  private state: State = 'preamble';
  /** Unconsumed bytes: in 'body' only a possible prefix of the delimiter (shorter than it). */
  private pending: Buffer;
  private partCount = 0;

  constructor(readonly boundary: string) {
    if (!/^[0-9A-Za-z'()+_,\-./:=? ]{1,70}$/.test(boundary) || boundary.endsWith(' ')) {
      throw new MultipartError(false, `invalid multipart boundary ${JSON.stringify(boundary)} (RFC 2046: 1–70 characters)`);
    }
    this.delimiter = Buffer.from(`\r\n--${boundary}`, 'latin1');
    // A leading CRLF lets the first boundary line, which has none before it, match the same delimiter.
    this.pending = Buffer.from(CRLF);
  }

  /** Number of parts started so far. */
  get parts(): number {
    return this.partCount;
  }

  /** Parses one chunk; the returned data events view `chunk` (or a small copy of it) and stay valid. */
  push(chunk: Uint8Array): MultipartEvent[] {
    const events: MultipartEvent[] = [];
    if (this.state === 'done') return events; // the epilogue is ignored (RFC 2046 §5.1.1)
    const input = Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
    let buf = this.pending.length > 0 ? Buffer.concat([this.pending, input]) : input;
    for (;;) {
      const next = this.step(buf, events);
      if (next === undefined) break;
      buf = next;
    }
    return events;
  }

  /** Checks that the closing boundary was seen. @throws MultipartError (truncated) when the body ended early. */
  finish(): void {
    if (this.state === 'done') return;
    const where =
      this.state === 'preamble'
        ? `no boundary "--${this.boundary}" found`
        : `the body ended inside part ${this.partCount} before the closing boundary "--${this.boundary}--"`;
    throw new MultipartError(true, `truncated multipart body: ${where}`);
  }

  /** Consumes what it can of `buf`; returns the rest to continue with, or undefined when more input is needed. */
  private step(buf: Buffer, events: MultipartEvent[]): Buffer | undefined {
    switch (this.state) {
      case 'preamble': {
        const at = buf.indexOf(this.delimiter);
        if (at < 0) {
          this.pending = keepTail(buf, this.delimiter);
          return undefined;
        }
        this.state = 'afterDelimiter';
        return buf.subarray(at + this.delimiter.length);
      }
      case 'afterDelimiter': {
        // "--" closes the body; otherwise optional transport padding (spaces, tabs), then CRLF, then headers.
        let i = 0;
        if (buf.length >= 2 && buf[0] === 0x2d && buf[1] === 0x2d) {
          this.state = 'done';
          this.pending = Buffer.alloc(0);
          return undefined;
        }
        while (i < buf.length && (buf[i] === 0x20 || buf[i] === 0x09)) i++;
        if (buf.length - i < 2) {
          this.pending = Buffer.from(buf);
          return undefined;
        }
        if (buf[i] !== 0x0d || buf[i + 1] !== 0x0a) {
          throw new MultipartError(false, `malformed multipart body: boundary line "--${this.boundary}" is not followed by CRLF or "--"`);
        }
        this.state = 'headers';
        return buf.subarray(i); // keep the CRLF: an empty header block is then "\r\n\r\n" at 0
      }
      case 'headers': {
        const end = buf.indexOf(HEADER_END);
        if (end < 0) {
          if (buf.length > MAX_HEADER_BYTES) {
            throw new MultipartError(false, `malformed multipart body: headers of part ${this.partCount + 1} exceed ${MAX_HEADER_BYTES} bytes`);
          }
          this.pending = Buffer.from(buf);
          return undefined;
        }
        events.push({ type: 'part', headers: parsePartHeaders(buf.subarray(2, end).toString('latin1')) });
        this.partCount++;
        this.state = 'body';
        return buf.subarray(end + HEADER_END.length);
      }
      case 'body': {
        const at = buf.indexOf(this.delimiter);
        if (at >= 0) {
          if (at > 0) events.push({ type: 'data', bytes: buf.subarray(0, at) });
          events.push({ type: 'end' });
          this.state = 'afterDelimiter';
          return buf.subarray(at + this.delimiter.length);
        }
        const held = partialMatchLength(buf, this.delimiter);
        if (buf.length > held) events.push({ type: 'data', bytes: buf.subarray(0, buf.length - held) });
        // Copy the held-back bytes: they are few, and the caller may reuse its chunk.
        this.pending = Buffer.from(buf.subarray(buf.length - held));
        return undefined;
      }
      case 'done':
        return undefined;
    }
  }
}

/**
 * Length of the longest suffix of `buf` that is a proper prefix of `needle` (the bytes that may start a delimiter
 * completed by the next chunk). Example: buf "abc\r\n-", needle "\r\n--b" → 3.
 */
export function partialMatchLength(buf: Uint8Array, needle: Uint8Array): number {
  const max = Math.min(needle.length - 1, buf.length);
  for (let k = max; k > 0; k--) {
    let match = true;
    const start = buf.length - k;
    for (let j = 0; j < k; j++) {
      if (buf[start + j] !== needle[j]) {
        match = false;
        break;
      }
    }
    if (match) return k;
  }
  return 0;
}

function keepTail(buf: Buffer, needle: Buffer): Buffer {
  return Buffer.from(buf.subarray(buf.length - partialMatchLength(buf, needle)));
}

/** Parses "Name: value" lines (CRLF-separated, folded continuation lines joined) into lower-cased names. */
export function parsePartHeaders(block: string): PartHeaders {
  const headers: Record<string, string> = {};
  let last: string | undefined;
  for (const line of block.split('\r\n')) {
    if (line === '') continue;
    if ((line.startsWith(' ') || line.startsWith('\t')) && last !== undefined) {
      headers[last] = `${headers[last]} ${line.trim()}`;
      continue;
    }
    const colon = line.indexOf(':');
    if (colon <= 0) throw new MultipartError(false, `malformed multipart part header line ${JSON.stringify(line.slice(0, 80))}`);
    last = line.slice(0, colon).trim().toLowerCase();
    headers[last] = line.slice(colon + 1).trim();
  }
  return headers;
}

/** A media type and its parameters (names lower-cased, quotes removed). */
export interface MediaType {
  type: string;
  params: Record<string, string>;
}

/** Parses a Content-Type header value, e.g. `multipart/related; type="application/dicom"; boundary=abc`. */
export function parseMediaType(value: string): MediaType {
  const [head = '', ...rest] = splitParams(value);
  const params: Record<string, string> = {};
  for (const p of rest) {
    const eq = p.indexOf('=');
    if (eq <= 0) continue;
    let v = p.slice(eq + 1).trim();
    if (v.startsWith('"') && v.endsWith('"') && v.length >= 2) v = v.slice(1, -1).replace(/\\(.)/g, '$1');
    params[p.slice(0, eq).trim().toLowerCase()] = v;
  }
  return { type: head.trim().toLowerCase(), params };
}

/** Splits on ';' outside double quotes. */
function splitParams(value: string): string[] {
  const out: string[] = [];
  let cur = '';
  let quoted = false;
  for (let i = 0; i < value.length; i++) {
    const c = value[i]!;
    if (c === '"' && value[i - 1] !== '\\') quoted = !quoted;
    if (c === ';' && !quoted) {
      out.push(cur);
      cur = '';
    } else cur += c;
  }
  out.push(cur);
  return out;
}

/**
 * The boundary of a multipart Content-Type header.
 * @throws SegError REMOTE_UNAVAILABLE when the header is not multipart or has no boundary (the server did not answer
 *   with what WADO-RS requires).
 */
export function boundaryFromContentType(contentType: string | undefined): string {
  const media = parseMediaType(contentType ?? '');
  const boundary = media.params['boundary'];
  if (!media.type.startsWith('multipart/') || !boundary) {
    throw new SegError(
      'REMOTE_UNAVAILABLE',
      `expected a multipart/related response with a boundary, got Content-Type ${JSON.stringify(contentType ?? '(none)')}`,
    );
  }
  return boundary;
}
