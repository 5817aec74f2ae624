/**
 * An incremental parser for server-sent events (the WHATWG "event stream" format), for reading
 * GET /api/jobs/:id/events through fetch(): EventSource cannot send the Authorization header the API needs.
 * Handles chunks split anywhere (even inside a CRLF), LF/CR/CRLF line ends, comments, multi-line data and ids.
 */

export interface SseEvent {
  /** The `event:` field; "message" when absent. */
  event: string;
  /** `data:` lines joined with "\n". */
  data: string;
  /** The last `id:` seen (it persists across events, as the spec says). */
  id: string | undefined;
}

export class SseParser {
  private buffer = '';
  private eventType = '';
  private dataLines: string[] = [];
  private hasData = false;
  private lastId: string | undefined;
  /** A chunk ended with CR: a following LF belongs to the same line end. */
  private skipLf = false;
  private readonly decoder = new TextDecoder();

  /** Feeds raw bytes (UTF-8, possibly split inside a character) or text; returns the events completed by it. */
  push(chunk: Uint8Array | string): SseEvent[] {
    let text = typeof chunk === 'string' ? chunk : this.decoder.decode(chunk, { stream: true });
    if (this.skipLf && text.startsWith('\n')) text = text.slice(1);
    this.skipLf = false;
    this.buffer += text;
    const events: SseEvent[] = [];
    for (;;) {
      const m = /\r\n|\r|\n/.exec(this.buffer);
      if (!m) break;
      // A CR at the very end may be the first half of a CRLF split across chunks.
      if (m[0] === '\r' && m.index === this.buffer.length - 1) this.skipLf = true;
      const line = this.buffer.slice(0, m.index);
      this.buffer = this.buffer.slice(m.index + m[0].length);
      const ev = this.line(line);
      if (ev) events.push(ev);
    }
    return events;
  }

  private line(line: string): SseEvent | undefined {
    if (line === '') {
      if (!this.hasData) {
        this.eventType = '';
        return undefined;
      }
      const ev: SseEvent = { event: this.eventType || 'message', data: this.dataLines.join('\n'), id: this.lastId };
      this.eventType = '';
      this.dataLines = [];
      this.hasData = false;
      return ev;
    }
    if (line.startsWith(':')) return undefined;
    const colon = line.indexOf(':');
    const field = colon < 0 ? line : line.slice(0, colon);
    let value = colon < 0 ? '' : line.slice(colon + 1);
    if (value.startsWith(' ')) value = value.slice(1);
    if (field === 'event') this.eventType = value;
    else if (field === 'data') {
      this.dataLines.push(value);
      this.hasData = true;
    } else if (field === 'id' && !value.includes('\0')) this.lastId = value;
    return undefined;
  }
}
