import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import https from 'node:https';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { freePorts } from './ports.ts';
import { spawnServe, type ServeProcess } from './process.ts';

const exec = promisify(execFile);

/** The ports one `fingerpost serve` node listens on (each with the PROXY protocol). */
export interface NodePorts {
  https: number;
  imap: number;
  imaps: number;
  smtp: number;
  submission: number;
  submissions: number;
}

/** One node: its data directory (with its own fingerpost.toml), ports and, while it runs, its process. */
export interface ClusterNode {
  readonly name: string;
  readonly dataDir: string;
  readonly ports: NodePorts;
  proc?: ServeProcess;
}

/** The HAProxy fronts: shared (round robin over every node) and pinned to one node each. */
export interface Fronts {
  https: number;
  imaps: number;
  submissions: number;
  smtp: number;
  /** Per node: IMAPS, submissions and HTTPS fronts that reach only that node. */
  pinned: Array<{ imaps: number; submissions: number; https: number }>;
}

/** A self-signed certificate for `localhost` and 127.0.0.1, made with openssl; the one every node serves. */
export async function makeCertificate(dir: string): Promise<{ cert: string; key: string; combined: string; pem: string }> {
  const cert = path.join(dir, 'cert.pem');
  const key = path.join(dir, 'key.pem');
  await exec('openssl', [
    'req',
    '-x509',
    '-newkey',
    'ec',
    '-pkeyopt',
    'ec_paramgen_curve:P-256',
    '-nodes',
    '-keyout',
    key,
    '-out',
    cert,
    '-days',
    '2',
    '-subj',
    '/CN=localhost',
    '-addext',
    'subjectAltName=DNS:localhost,IP:127.0.0.1',
  ]);
  const pem = await readFile(cert, 'utf8');
  // HAProxy's `crt` takes the certificate and its key in one file.
  const combined = path.join(dir, 'haproxy.pem');
  await writeFile(combined, pem + (await readFile(key, 'utf8')), { mode: 0o600 });
  return { cert, key, combined, pem };
}

/**
 * fingerpost.toml of one node: one PostgreSQL, blobs in it, the shared certificate and public URL,
 * PROXY on, and no hourly sending limit (the load tests submit more than the default 500 an hour).
 */
export function nodeConfig(o: { storeUrl: string; cert: string; key: string; publicUrl: string; ports: NodePorts }): string {
  const p = o.ports;
  return `[server]
hostname = "localhost"

[store]
url = "${o.storeUrl}"
blobs = "database"

[tls]
cert = "${o.cert}"
key = "${o.key}"

[http]
bind = "127.0.0.1"
port = ${p.https}
public_url = "${o.publicUrl}"
proxy_protocol = true

[imap]
bind = "127.0.0.1"
port = ${p.imap}
tls_port = ${p.imaps}
proxy_protocol = true

[submission]
bind = "127.0.0.1"
port = ${p.submission}
tls_port = ${p.submissions}
proxy_protocol = true
max_messages_per_hour = 0
max_recipients_per_hour = 0

[smtp]
bind = "127.0.0.1"
port = ${p.smtp}
proxy_protocol = true

[pop3]
enabled = false

[managesieve]
enabled = false

[inbound]
dns_servers = ["127.0.0.1:9"]

[log]
level = "warn"
`;
}

/**
 * haproxy.cfg for the nodes: TCP mode with PROXY v2 for IMAPS and SMTP/submission, HTTP mode
 * with TLS terminated at HAProxy and re-encrypted (PROXY v2 as well) to each node's HTTPS port.
 * One health check per node (backend `health`: the IMAP greeting on its STARTTLS port, with a
 * PROXY header, every 200 ms; one failure marks it down), which every other server line tracks:
 * a TLS handshake per check would cost more than the 200 ms HAProxy allows a check to connect.
 */
export function haproxyConfig(o: { nodes: readonly ClusterNode[]; fronts: Fronts; combined: string; cert: string }): string {
  const tcp = (name: string, port: number, key: keyof NodePorts, nodes: readonly ClusterNode[]) =>
    `listen ${name}
  mode tcp
  bind 127.0.0.1:${port}
  balance roundrobin
${nodes.map((n) => `  server ${n.name} 127.0.0.1:${n.ports[key]} send-proxy-v2 track health/${n.name}`).join('\n')}
`;
  const http = (name: string, port: number, nodes: readonly ClusterNode[]) =>
    `listen ${name}
  mode http
  bind 127.0.0.1:${port} ssl crt ${o.combined}
  balance roundrobin
${nodes
  .map(
    (n) =>
      `  server ${n.name} 127.0.0.1:${n.ports.https} ssl verify required ca-file ${o.cert} sni str(localhost) send-proxy-v2 track health/${n.name}`,
  )
  .join('\n')}
`;
  const f = o.fronts;
  return `global
  maxconn 2000

defaults
  timeout connect 2s
  timeout client 10m
  timeout server 10m
  timeout check 5s
  timeout tunnel 10m
  # a connection refused by a node that just went away is tried again on another one
  retries 3
  option redispatch 1

backend health
  mode tcp
  option tcp-check
  tcp-check expect rstring ^\\*\\ OK
${o.nodes.map((n) => `  server ${n.name} 127.0.0.1:${n.ports.imap} check check-send-proxy inter 200 fall 1 rise 1`).join('\n')}

${tcp('imaps', f.imaps, 'imaps', o.nodes)}
${tcp('submissions', f.submissions, 'submissions', o.nodes)}
${tcp('smtp', f.smtp, 'smtp', o.nodes)}
${http('https', f.https, o.nodes)}
${o.nodes
  .map((n, i) =>
    [
      tcp(`imaps_${n.name}`, f.pinned[i]!.imaps, 'imaps', [n]),
      tcp(`submissions_${n.name}`, f.pinned[i]!.submissions, 'submissions', [n]),
      http(`https_${n.name}`, f.pinned[i]!.https, [n]),
    ].join('\n'),
  )
  .join('\n')}`;
}

/** Three (or `count`) nodes on one PostgreSQL behind one HAProxy, all started by the test. */
export class HaproxyCluster {
  readonly nodes: ClusterNode[] = [];
  fronts!: Fronts;
  ca = '';
  publicUrl = '';
  cfgFile = '';
  #dir = '';
  #storeUrl = '';
  #haproxy?: ChildProcess;
  #haproxyLog = '';

  async setup(storeUrl: string, count = 3): Promise<void> {
    this.#storeUrl = storeUrl;
    this.#dir = await mkdtemp(path.join(os.tmpdir(), 'fp-haproxy-'));
    const cert = await makeCertificate(this.#dir);
    this.ca = cert.pem;
    // One call: the ports are distinct (ports asked for one at a time may repeat once released).
    const all = await freePorts(4 + 3 * count + 6 * count);
    const [https, imaps, submissions, smtp, ...pinned] = all.slice(0, 4 + 3 * count);
    const nodePorts = all.slice(4 + 3 * count);
    this.fronts = {
      https: https!,
      imaps: imaps!,
      submissions: submissions!,
      smtp: smtp!,
      pinned: Array.from({ length: count }, (_, i) => ({
        imaps: pinned[3 * i]!,
        submissions: pinned[3 * i + 1]!,
        https: pinned[3 * i + 2]!,
      })),
    };
    this.publicUrl = `https://localhost:${this.fronts.https}`;
    for (let i = 1; i <= count; i++) {
      const [a, b, c, d, e, f] = nodePorts.slice(6 * (i - 1), 6 * i) as [number, number, number, number, number, number];
      const node: ClusterNode = {
        name: `n${i}`,
        dataDir: path.join(this.#dir, `n${i}`),
        ports: { https: a, imap: b, imaps: c, smtp: d, submission: e, submissions: f },
      };
      await mkdir(node.dataDir);
      await writeFile(
        path.join(node.dataDir, 'fingerpost.toml'),
        nodeConfig({ storeUrl, cert: cert.cert, key: cert.key, publicUrl: this.publicUrl, ports: node.ports }),
      );
      this.nodes.push(node);
    }
    this.cfgFile = path.join(this.#dir, 'haproxy.cfg');
    await writeFile(this.cfgFile, haproxyConfig({ nodes: this.nodes, fronts: this.fronts, combined: cert.combined, cert: cert.cert }));
    await exec('haproxy', ['-c', '-f', this.cfgFile]);
  }

  /** The environment the admin CLI runs with against the shared database. */
  get cliEnv(): Record<string, string> {
    return { FINGERPOST_STORE_URL: this.#storeUrl, FINGERPOST_LOG_LEVEL: 'silent' };
  }

  /** Starts node `i` (0-based) with `fingerpost serve`; the first start creates the domain. */
  async start(i: number): Promise<void> {
    const node = this.nodes[i]!;
    // A start takes seconds on a loaded machine (migrations check, TLS, the IdP's keys).
    node.proc = await spawnServe(['--data', node.dataDir, '--domain', 'example.test'], {}, 120_000);
    if (node.proc.child.exitCode !== null) throw new Error(`${node.name} exited: ${node.proc.stderr}`);
  }

  /** Starts HAProxy in the foreground (`-db`) and waits until every node passes its health check. */
  async startHaproxy(): Promise<void> {
    const child = spawn('haproxy', ['-f', this.cfgFile, '-db'], { stdio: ['ignore', 'pipe', 'pipe'] });
    this.#haproxy = child;
    child.stdout!.on('data', (d) => (this.#haproxyLog += d));
    child.stderr!.on('data', (d) => (this.#haproxyLog += d));
    await this.waitHealthy(this.nodes.map((n) => n.name));
  }

  get haproxyLog(): string {
    return this.#haproxyLog;
  }

  /** Waits until each node of `names` answers /healthz through its own HTTPS front (HAProxy counts it up). */
  async waitHealthy(names: readonly string[], timeoutMs = 30_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    for (const name of names) {
      const i = this.nodes.findIndex((n) => n.name === name);
      for (;;) {
        const ok = await fetchStatus(`https://localhost:${this.fronts.pinned[i]!.https}/healthz`, this.ca).catch(() => 0);
        if (ok === 200) break;
        if (Date.now() > deadline) throw new Error(`${name} never became healthy behind HAProxy:\n${this.#haproxyLog}`);
        await new Promise((r) => setTimeout(r, 100));
      }
    }
  }

  async close(): Promise<void> {
    await Promise.all(this.nodes.map((n) => n.proc?.stop('SIGTERM', 5_000)));
    if (this.#haproxy && this.#haproxy.exitCode === null) {
      const exited = new Promise((r) => this.#haproxy!.once('exit', r));
      this.#haproxy.kill('SIGTERM');
      await exited;
    }
    if (this.#dir) await rm(this.#dir, { recursive: true, force: true });
  }
}

function fetchStatus(url: string, ca: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = https.get(url, { ca }, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.on('error', reject);
    req.setTimeout(5_000, () => req.destroy(new Error('timeout')));
  });
}
