/**
 * Runs a real single-member etcd (Debian's etcd-server) for tests: loopback only, free
 * ports, its own temp data directory. Optionally TLS with client-certificate auth, using a
 * CA, server and client certificate made here with openssl. `kill()`/`start()` let fault
 * tests take etcd away and bring it back with the same data, ports and certificates;
 * `stop()` kills it and removes everything.
 */
import { spawn, execFileSync } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import * as http from 'node:http';
import * as https from 'node:https';

export interface EtcdTlsFiles {
  readonly ca: string;
  readonly cert: string;
  readonly key: string;
}

export interface EtcdServer {
  /** Client URL, e.g. "https://127.0.0.1:40123". */
  readonly endpoint: string;
  readonly dir: string;
  /** Client certificate files signed by the test CA (TLS servers only). */
  readonly clientTls?: EtcdTlsFiles;
  /** SIGKILLs etcd (data kept); resolves once it is gone. */
  kill(): Promise<void>;
  /** (Re)starts etcd on the same ports and data; resolves once it reports healthy. */
  start(): Promise<void>;
  /** Kills etcd and removes its directory. Safe to call twice. */
  stop(): Promise<void>;
  /** Saves a snapshot of the data to `file` (etcdctl snapshot save). */
  snapshot(file: string): Promise<void>;
  /**
   * Kills etcd, replaces its data with the snapshot in `file` (etcdctl snapshot restore),
   * and starts it again: the store goes back to the state the snapshot was taken in.
   */
  restore(file: string): Promise<void>;
}

export async function startEtcd(options: { tls?: boolean } = {}): Promise<EtcdServer> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pod-ipam-etcd-'));
  const [clientPort, peerPort] = await freePorts(2);
  const scheme = options.tls ? 'https' : 'http';
  const endpoint = `${scheme}://127.0.0.1:${clientPort}`;
  const peer = `http://127.0.0.1:${peerPort}`;
  const certs = options.tls ? makeCerts(path.join(dir, 'pki')) : undefined;
  const args = [
    '--name', 'test',
    '--data-dir', path.join(dir, 'data'),
    '--listen-client-urls', endpoint,
    '--advertise-client-urls', endpoint,
    '--listen-peer-urls', peer,
    '--initial-advertise-peer-urls', peer,
    '--initial-cluster', `test=${peer}`,
    '--initial-cluster-state', 'new',
    // Tests restart etcd and expect it back within a second or two.
    '--heartbeat-interval', '50',
    '--election-timeout', '300',
    ...(certs ? ['--cert-file', certs.serverCert, '--key-file', certs.serverKey, '--trusted-ca-file', certs.ca, '--client-cert-auth'] : []),
  ];
  let child: ChildProcess | undefined;
  let logFd: number | undefined;

  const etcdctl = (...more: string[]) =>
    execFileSync('etcdctl', more, { env: { ...process.env, ETCDCTL_API: '3' }, stdio: ['ignore', 'pipe', 'pipe'] });
  const tlsArgs = () => (certs ? ['--cacert', certs.ca, '--cert', certs.clientCert, '--key', certs.clientKey] : []);

  const server: EtcdServer = {
    endpoint,
    dir,
    ...(certs ? { clientTls: { ca: certs.ca, cert: certs.clientCert, key: certs.clientKey } } : {}),
    async kill() {
      const c = child;
      child = undefined;
      if (!c || c.exitCode !== null || c.signalCode !== null) return;
      await new Promise<void>((resolve) => {
        c.once('exit', () => resolve());
        c.kill('SIGKILL');
      });
    },
    async start() {
      if (child) return;
      logFd ??= fs.openSync(path.join(dir, 'etcd.log'), 'a');
      child = spawn('etcd', args, { stdio: ['ignore', logFd, logFd] });
      const c = child;
      await waitHealthy(endpoint, server.clientTls, () => c.exitCode !== null, path.join(dir, 'etcd.log'));
    },
    async snapshot(file: string) {
      etcdctl('--endpoints', endpoint, ...tlsArgs(), 'snapshot', 'save', file);
    },
    async restore(file: string) {
      await server.kill();
      fs.rmSync(path.join(dir, 'data'), { recursive: true, force: true });
      etcdctl('snapshot', 'restore', file, '--name', 'test', '--data-dir', path.join(dir, 'data'), '--initial-cluster', `test=${peer}`, '--initial-advertise-peer-urls', peer);
      await server.start();
    },
    async stop() {
      await server.kill();
      if (logFd !== undefined) fs.closeSync(logFd);
      logFd = undefined;
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
  try {
    await server.start();
  } catch (e) {
    await server.stop();
    throw e;
  }
  return server;
}

async function freePorts(n: number): Promise<number[]> {
  const servers = await Promise.all(
    Array.from({ length: n }, () => new Promise<net.Server>((resolve, reject) => {
      const s = net.createServer();
      s.once('error', reject);
      s.listen(0, '127.0.0.1', () => resolve(s));
    })),
  );
  const ports = servers.map((s) => (s.address() as net.AddressInfo).port);
  await Promise.all(servers.map((s) => new Promise((r) => s.close(r))));
  return ports;
}

async function waitHealthy(endpoint: string, tls: EtcdTlsFiles | undefined, exited: () => boolean, log: string): Promise<void> {
  const deadline = Date.now() + 15000;
  while (Date.now() < deadline) {
    if (exited()) throw new Error(`etcd exited at start:\n${fs.readFileSync(log, 'utf8').slice(-2000)}`);
    if (await healthy(endpoint, tls)) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`etcd at ${endpoint} not healthy after 15 s:\n${fs.readFileSync(log, 'utf8').slice(-2000)}`);
}

function healthy(endpoint: string, tls: EtcdTlsFiles | undefined): Promise<boolean> {
  return new Promise((resolve) => {
    const opts = tls ? { ca: fs.readFileSync(tls.ca), cert: fs.readFileSync(tls.cert), key: fs.readFileSync(tls.key) } : {};
    const get = endpoint.startsWith('https') ? https.get : http.get;
    const req = get(`${endpoint}/health`, { ...opts, timeout: 1000, agent: false }, (res) => {
      let body = '';
      res.on('data', (c) => (body += String(c)));
      res.on('end', () => resolve(res.statusCode === 200 && body.includes('"true"')));
    });
    req.on('error', () => resolve(false));
    req.on('timeout', () => req.destroy());
  });
}

interface Certs {
  ca: string;
  serverCert: string;
  serverKey: string;
  clientCert: string;
  clientKey: string;
}

/** CA, a server certificate for 127.0.0.1 and a client certificate, all P-256 (fast to make). */
export function makeCerts(dir: string): Certs {
  fs.mkdirSync(dir, { recursive: true });
  const f = (name: string) => path.join(dir, name);
  const ssl = (...args: string[]) => execFileSync('openssl', args, { stdio: ['ignore', 'ignore', 'pipe'] });
  const ecKey = (out: string) => ssl('ecparam', '-name', 'prime256v1', '-genkey', '-noout', '-out', out);
  ecKey(f('ca.key'));
  ssl('req', '-x509', '-new', '-key', f('ca.key'), '-subj', '/CN=pod-ipam test CA', '-days', '2', '-out', f('ca.crt'));
  const leaf = (name: string, cn: string, ext: string) => {
    ecKey(f(`${name}.key`));
    ssl('req', '-new', '-key', f(`${name}.key`), '-subj', `/CN=${cn}`, '-out', f(`${name}.csr`));
    fs.writeFileSync(f(`${name}.ext`), ext);
    ssl('x509', '-req', '-in', f(`${name}.csr`), '-CA', f('ca.crt'), '-CAkey', f('ca.key'), '-CAcreateserial', '-days', '2', '-extfile', f(`${name}.ext`), '-out', f(`${name}.crt`));
  };
  leaf('server', '127.0.0.1', 'subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth,clientAuth\n');
  leaf('client', 'pod-ipam', 'extendedKeyUsage=clientAuth\n');
  return { ca: f('ca.crt'), serverCert: f('server.crt'), serverKey: f('server.key'), clientCert: f('client.crt'), clientKey: f('client.key') };
}
