/**
 * A real Orthanc (Debian `orthanc` + `orthanc-dicomweb`) for tests: its own free loopback ports, a temporary storage
 * and index folder, the DICOMweb plugin at /dicom-web, optional basic-auth users and optional TLS with a throwaway CA
 * made by `openssl`. Remote access is off, so it only answers on 127.0.0.1. Never the system service.
 *
 * TLS is terminated by a small node:https reverse proxy in front of Orthanc, not by Orthanc's own SslEnabled: Debian
 * 12's Orthanc 1.10.1 with libcivetweb1 1.15 and OpenSSL 3 segfaults (a NULL function pointer in a civetweb worker
 * thread) on the first HTTPS request, with any certificate or cipher setting (reproduced with curl; same crash as
 * civetweb issue #1316). The client under test still meets a real TLS server with a certificate from a private CA.
 *
 * Usage:
 *   const hasOrthanc = orthancAvailable();           // skips locally with a message, fails under CI=true
 *   describe.skipIf(!hasOrthanc)('…', () => { let o: OrthancInstance; beforeAll(async () => { o = await startOrthanc(); });
 *     afterAll(() => o?.stop()); … });
 */
import { spawn, execFile, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, promises as fsp, writeFileSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { systemFile } from '../helpers.js';

export const ORTHANC_BIN = '/usr/sbin/Orthanc';
export const DICOMWEB_PLUGIN = '/usr/share/orthanc/plugins/libOrthancDicomWeb.so';
export const OPENSSL_BIN = '/usr/bin/openssl';

const execFileAsync = promisify(execFile);

export interface OrthancOptions {
  /** Basic-auth users (name → password); enables AuthenticationEnabled. */
  users?: Readonly<Record<string, string>>;
  /** Serve https with a certificate for 127.0.0.1/localhost signed by a fresh test CA (`caFile` of the instance),
   *  through a TLS-terminating proxy (see the file comment). */
  tls?: boolean;
  /** Seconds after its last instance before a study is "stable" in /changes (default 2, Orthanc's own is 60). */
  stableAgeSeconds?: number;
  /** Further configuration keys, merged over the defaults. */
  config?: Readonly<Record<string, unknown>>;
  /** Milliseconds to wait for GET /system to answer (default 30 000). */
  startTimeoutMs?: number;
  /**
   * Restart on the storage and index of an earlier instance stopped with `stop({ keepFiles: true })`: pass its `dir`,
   * and its `httpPort`/`dicomPort` to keep its URLs (e.g. to test that a watcher survives a PACS restart).
   */
  dir?: string;
  httpPort?: number;
  dicomPort?: number;
}

export interface OrthancInstance {
  /** REST API root, e.g. `http://127.0.0.1:40123` (https with `tls`, through the TLS proxy). */
  url: string;
  /** DICOMweb root, `${url}/dicom-web`. */
  dicomWebRoot: string;
  httpPort: number;
  dicomPort: number;
  /** The AE title of its DICOM server. */
  aet: string;
  /** Temporary folder holding the configuration, storage, index and (with tls) the certificates. */
  dir: string;
  /** PEM of the CA that signed the server certificate (tls only). */
  caFile?: string;
  /** The first configured user, for convenience. */
  user?: { username: string; password: string };
  /** Orthanc's log so far (stdout + stderr). */
  log(): string;
  /** GET on the REST API (with the first user's credentials), parsed as JSON. */
  rest<T = unknown>(path: string): Promise<T>;
  /**
   * SIGTERM, wait for exit (SIGKILL after 10 s; Orthanc 1.10 takes 2–3 s to stop), then delete the temporary folder
   * unless `keepFiles`. Safe to call twice.
   */
  stop(options?: { keepFiles?: boolean }): Promise<void>;
}

/** Whether Orthanc and its DICOMweb plugin are installed: skips locally with a message, throws under CI. */
export function orthancAvailable(): boolean {
  const why = 'Debian packages orthanc and orthanc-dicomweb; tests start their own instance';
  return systemFile(ORTHANC_BIN, why) && systemFile(DICOMWEB_PLUGIN, why);
}

/** A free TCP port on 127.0.0.1 (bound then released: another process could take it, so startOrthanc retries). */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      srv.close(() => (typeof addr === 'object' && addr ? resolve(addr.port) : reject(new Error('no port'))));
    });
  });
}

/** Starts Orthanc; retries with new ports when one was taken in the meantime. */
export async function startOrthanc(options: OrthancOptions = {}): Promise<OrthancInstance> {
  let lastError: unknown;
  const fixedPorts = options.httpPort !== undefined || options.dicomPort !== undefined;
  for (let attempt = 0; attempt < (fixedPorts ? 1 : 3); attempt++) {
    try {
      return await startOnce(options);
    } catch (e) {
      lastError = e;
      if (!/address already in use|cannot bind|port.*in use/i.test((e as Error).message)) throw e;
    }
  }
  throw lastError;
}

async function startOnce(options: OrthancOptions): Promise<OrthancInstance> {
  const dir = options.dir ?? mkdtempSync(join(tmpdir(), 'medseg-orthanc-'));
  const httpPort = options.httpPort ?? (await freePort());
  const dicomPort = options.dicomPort ?? (await freePort());
  const scheme = options.tls ? 'https' : 'http';
  const url = `${scheme}://127.0.0.1:${httpPort}`;
  let tls: { caFile: string; serverPem: string; certFile: string; keyFile: string } | undefined;
  if (options.tls) tls = await makeTestCertificates(dir);
  const orthancPort = options.tls ? await freePort() : httpPort;
  // A unique name: readiness checks it, so an instance of someone else on a reused port is never taken for this one.
  const name = `medseg-test-${process.pid}-${randomBytes(4).toString('hex')}`;
  const users = options.users ?? {};
  const firstUser = Object.entries(users)[0];
  const config = {
    Name: name,
    HttpPort: orthancPort,
    DicomPort: dicomPort,
    DicomAet: 'MEDSEGTEST',
    StorageDirectory: join(dir, 'storage'),
    IndexDirectory: join(dir, 'index'),
    RemoteAccessAllowed: false,
    AuthenticationEnabled: firstUser !== undefined,
    RegisteredUsers: users,
    StableAge: options.stableAgeSeconds ?? 2,
    Plugins: [DICOMWEB_PLUGIN],
    DicomWeb: { Enable: true, Root: '/dicom-web/' },
    ConcurrentJobs: 1,
    SaveJobs: false,
    HttpThreadsCount: 8,
    ...options.config,
  };
  const configFile = join(dir, 'orthanc.json');
  writeFileSync(configFile, JSON.stringify(config, null, 2));

  const child = spawn(ORTHANC_BIN, [configFile], { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
  let log = '';
  const append = (b: Buffer) => {
    log = (log + b.toString('utf8')).slice(-200_000);
  };
  child.stdout?.on('data', append);
  child.stderr?.on('data', append);
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));

  let proxy: https.Server | undefined;
  const user = firstUser ? { username: firstUser[0], password: firstUser[1] } : undefined;
  const ca = tls ? await fsp.readFile(tls.caFile) : undefined;
  const get = (path: string) => httpGet(`${url}${path}`, { user, ca });

  let stopped = false;
  const stop = async ({ keepFiles = false }: { keepFiles?: boolean } = {}) => {
    if (stopped) return;
    stopped = true;
    if (proxy) await closeServer(proxy);
    await terminate(child, exited);
    if (!keepFiles) await fsp.rm(dir, { recursive: true, force: true });
  };

  try {
    if (tls) proxy = await startTlsProxy(tls, httpPort, orthancPort);
    await waitReady(get, name, exited, () => log, options.startTimeoutMs ?? 30_000);
  } catch (e) {
    await stop({ keepFiles: options.dir !== undefined });
    throw e;
  }
  return {
    url,
    dicomWebRoot: `${url}/dicom-web`,
    httpPort,
    dicomPort,
    aet: 'MEDSEGTEST',
    dir,
    ...(tls ? { caFile: tls.caFile } : {}),
    ...(user ? { user } : {}),
    log: () => log,
    rest: async <T>(path: string) => {
      const r = await get(path);
      if (r.status !== 200) throw new Error(`GET ${path}: HTTP ${r.status} ${r.body.slice(0, 300)}`);
      return JSON.parse(r.body) as T;
    },
    stop,
  };
}

async function waitReady(
  get: (path: string) => Promise<{ status: number; body: string }>,
  name: string,
  exited: Promise<number | null>,
  log: () => string,
  timeoutMs: number,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let done = false;
  let exitCode: number | null | undefined;
  void exited.then((c) => {
    done = true;
    exitCode = c;
  });
  for (;;) {
    if (done) throw new Error(`Orthanc exited (code ${exitCode}) before it was ready:\n${log().slice(-4000)}`);
    const r = await get('/system').catch(() => undefined); // undefined: not listening yet
    if (r?.status === 200) {
      if ((JSON.parse(r.body) as { Name?: string }).Name === name) return;
      throw new Error(`another Orthanc answers on this port (cannot bind: port in use):\n${r.body.slice(0, 300)}`);
    }
    if (Date.now() > deadline) throw new Error(`Orthanc did not answer GET /system within ${timeoutMs} ms:\n${log().slice(-4000)}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

async function terminate(child: ChildProcess, exited: Promise<number | null>): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
  await exited;
  clearTimeout(timer);
}

/** A plain GET for readiness and REST checks (independent of the client under test). */
export function httpGet(
  url: string,
  { user, ca }: { user?: { username: string; password: string } | undefined; ca?: Buffer | undefined } = {},
): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const headers: Record<string, string> = {};
    if (user) headers['authorization'] = `Basic ${Buffer.from(`${user.username}:${user.password}`).toString('base64')}`;
    const lib = url.startsWith('https:') ? https : http;
    const req = lib.get(url, { headers, agent: false, ...(ca ? { ca } : {}) }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }));
      res.on('error', reject);
    });
    req.setTimeout(5_000, () => req.destroy(new Error(`GET ${url}: no answer within 5 s`)));
    req.on('error', reject);
  });
}

/**
 * A throwaway CA and a server certificate for 127.0.0.1 and localhost signed by it, valid for 2 days.
 * Returns the CA's PEM, the certificate and key, and their concatenation (the form Orthanc's SslCertificate takes).
 */
export async function makeTestCertificates(
  dir: string,
): Promise<{ caFile: string; serverPem: string; certFile: string; keyFile: string }> {
  if (!systemFile(OPENSSL_BIN, 'Debian package openssl, to make a test CA for the TLS tests')) {
    throw new Error(`${OPENSSL_BIN} is missing: install openssl to run the TLS tests`);
  }
  const p = (name: string) => join(dir, name);
  const run = (...args: string[]) => execFileAsync(OPENSSL_BIN, args, { cwd: dir });
  await run('req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', p('ca.key'), '-out', p('ca.pem'), '-days', '2',
    '-subj', '/CN=medseg test CA', '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign');
  await run('req', '-newkey', 'rsa:2048', '-nodes', '-keyout', p('server.key'), '-out', p('server.csr'), '-subj', '/CN=127.0.0.1');
  writeFileSync(p('server.ext'), 'subjectAltName=IP:127.0.0.1,DNS:localhost\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n');
  await run('x509', '-req', '-in', p('server.csr'), '-CA', p('ca.pem'), '-CAkey', p('ca.key'), '-CAcreateserial',
    '-out', p('server.crt'), '-days', '2', '-extfile', p('server.ext'));
  const pem = Buffer.concat([await fsp.readFile(p('server.crt')), await fsp.readFile(p('server.key'))]);
  await fsp.writeFile(p('server.pem'), pem);
  return { caFile: p('ca.pem'), serverPem: p('server.pem'), certFile: p('server.crt'), keyFile: p('server.key') };
}

/** https on 127.0.0.1:`port` forwarding every request, streamed both ways, to Orthanc's plain http on `target`. */
async function startTlsProxy(tls: { certFile: string; keyFile: string }, port: number, target: number): Promise<https.Server> {
  const server = https.createServer({ cert: await fsp.readFile(tls.certFile), key: await fsp.readFile(tls.keyFile) }, (req, res) => {
    const upstream = http.request(
      { host: '127.0.0.1', port: target, method: req.method, path: req.url, headers: req.headers, agent: false },
      (up) => {
        res.writeHead(up.statusCode ?? 502, up.statusMessage, up.headers);
        up.pipe(res);
      },
    );
    upstream.on('error', () => res.destroy());
    req.pipe(upstream);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', resolve);
  });
  return server;
}

function closeServer(server: https.Server): Promise<void> {
  server.closeAllConnections();
  return new Promise((resolve) => server.close(() => resolve()));
}
