/**
 * Orthanc's own REST API, for what DICOMweb has no word for: the change feed (`GET /changes?since=&limit=`) and
 * Orthanc study ids → StudyInstanceUID (`GET /studies/{id}`). Requests go through the DICOMweb client's connection
 * (same authentication, TLS trust, timeouts and retries).
 */
import { SegError } from '../errors.js';
import { createConnection, type ConnectionOptions } from './dicomweb/client.js';
import { readText, requestWithRetries, type Connection, type DicomWebAuth } from './dicomweb/request.js';
import type { Change, ChangeFeed } from './watch.js';

const MAX_JSON_BYTES = 64 * 1024 * 1024;

export class OrthancFeed implements ChangeFeed {
  /** The REST root without credentials (as recorded in the watch state and used in messages). */
  readonly root: string;
  /** The authentication in effect (from the options or from `user:password@` in the URL), for a DICOMweb client. */
  readonly auth: DicomWebAuth | undefined;
  private readonly base: URL;
  private readonly conn: Connection;

  /** @throws TypeError for a URL that is not http(s) or credentials given twice. */
  constructor(options: ConnectionOptions & { url: string }) {
    const { base, root, conn } = createConnection(options);
    this.base = base;
    this.root = root.replace(/\/+$/, '');
    this.conn = conn;
    this.auth = conn.auth;
  }

  async changes(since: number, limit: number): Promise<{ changes: Change[]; last: number; done: boolean }> {
    const body = await this.getJson(['changes'], { since: String(since), limit: String(limit) });
    const o = body as { Changes?: unknown; Last?: unknown; Done?: unknown };
    if (!Array.isArray(o.Changes) || typeof o.Last !== 'number' || typeof o.Done !== 'boolean') {
      throw new SegError('REMOTE_UNAVAILABLE', `GET ${this.root}/changes: not Orthanc's change list (Changes, Last, Done); is ${this.root} an Orthanc REST root?`);
    }
    const changes: Change[] = [];
    for (const c of o.Changes as { Seq?: unknown; ChangeType?: unknown; ID?: unknown }[]) {
      if (typeof c.Seq === 'number' && typeof c.ChangeType === 'string' && typeof c.ID === 'string') changes.push({ seq: c.Seq, type: c.ChangeType, id: c.ID });
    }
    return { changes, last: o.Last, done: o.Done };
  }

  async studyInstanceUid(id: string): Promise<string | undefined> {
    if (!/^[0-9a-f-]+$/i.test(id)) throw new SegError('REMOTE_REJECTED', `Orthanc study id "${id}" is not an Orthanc id`);
    try {
      const study = (await this.getJson(['studies', id], {})) as { MainDicomTags?: { StudyInstanceUID?: unknown } };
      const uid = study.MainDicomTags?.StudyInstanceUID;
      if (typeof uid !== 'string') throw new SegError('REMOTE_UNAVAILABLE', `GET ${this.root}/studies/${id}: no MainDicomTags.StudyInstanceUID in the answer`);
      return uid;
    } catch (e) {
      // Deleted since the change was recorded.
      if (e instanceof SegError && e.code === 'REMOTE_REJECTED' && /HTTP 404/.test(e.message)) return undefined;
      throw e;
    }
  }

  close(): void {
    this.conn.httpAgent.destroy();
    this.conn.httpsAgent.destroy();
  }

  private getJson(path: readonly string[], query: Record<string, string>): Promise<unknown> {
    const url = new URL(this.base.toString());
    url.pathname = `${url.pathname}/${path.map(encodeURIComponent).join('/')}`;
    for (const [k, v] of Object.entries(query)) url.searchParams.set(k, v);
    return requestWithRetries(this.conn, { method: 'GET', url, headers: { accept: 'application/json' } }, async (res) => {
      const text = await readText(res, MAX_JSON_BYTES);
      try {
        return JSON.parse(text) as unknown;
      } catch {
        throw new SegError('REMOTE_UNAVAILABLE', `GET ${this.root}/${path.join('/')}: expected JSON, got ${JSON.stringify(text.slice(0, 120))}`);
      }
    });
  }
}
