import { type ChildProcess, execFileSync, spawn, spawnSync } from 'node:child_process';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { peerSkip } from './peers.ts';
import { freePorts } from './ports.ts';

/** Debian's Python, where the `swift` packages install their modules (a pyenv `python3` first on PATH lacks them). */
const PYTHON = '/usr/bin/python3';

/**
 * Starts one Swift server (`kind` as in `swift-<kind>`) with its config: swift.conf and the rings
 * come from `swift_dir` rather than /etc/swift, so nothing outside the temp dir is read or written.
 */
const LAUNCHER = `
import sys
from swift.common import utils
utils.set_swift_dir(sys.argv[1])
from swift.common.wsgi import run_wsgi
kw = {}
if sys.argv[3] == 'object-server':
    from swift.obj import server
    kw['global_conf_callback'] = server.global_conf_callback
sys.exit(run_wsgi(sys.argv[2], sys.argv[3], **kw))
`;

const RINGS = `
import json, os, sys
from swift.common.ring import RingBuilder
for kind, port in json.loads(sys.argv[2]).items():
    b = RingBuilder(4, 1, 1)
    b.add_dev({'region': 1, 'zone': 1, 'ip': '127.0.0.1', 'port': port, 'device': 'd1', 'weight': 100})
    b.rebalance()
    b.get_ring().save(os.path.join(sys.argv[1], kind + '.ring.gz'))
`;

/** eventlet's DNS resolver is not needed on loopback and costs a second per process to load. */
const PY_ENV = { ...process.env, EVENTLET_NO_GREENDNS: 'yes' };

/** Skip reason unless OpenStack Swift with its S3 API can run here (Debian swift-proxy, swift-object, …). */
export function swiftSkip(): string | false {
  const r = spawnSync(
    PYTHON,
    [
      '-c',
      'import swift.proxy.server, swift.obj.server, swift.account.server, swift.container.server, swift.common.middleware.s3api.s3api, swift.common.ring',
    ],
    {
      stdio: 'ignore',
      env: PY_ENV,
      timeout: 20_000,
    },
  );
  return peerSkip('OpenStack Swift', r.status === 0, 'apt-get install swift-proxy swift-account swift-container swift-object');
}

/** A single-node Swift on loopback speaking S3 (s3api with tempauth), in a temp dir. */
export interface TestSwift {
  /** `http://127.0.0.1:PORT` of the proxy, the S3 endpoint (path-style buckets). */
  readonly endpoint: string;
  /** tempauth's `account:user` is the S3 access key, its key the secret. */
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
  close(): Promise<void>;
}

const SERVERS = ['account', 'container', 'object'] as const;

async function answers(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect(port, '127.0.0.1', () => {
      s.destroy();
      resolve(true);
    });
    s.on('error', () => resolve(false));
  });
}

/**
 * Starts Swift's account, container, object and proxy servers (one process each, `workers = 0`)
 * on a plain directory: `mount_check = false` needs no mounted device; the object server keeps its
 * metadata in user xattrs, which ext4, xfs and tmpfs all have. No memcached: tempauth checks each
 * S3 request's signature against its user table.
 */
export async function startSwift(): Promise<TestSwift> {
  const work = await mkdtemp(path.join(os.tmpdir(), 'fp-swift-'));
  const etc = path.join(work, 'etc');
  const devices = path.join(work, 'srv');
  await mkdir(etc);
  await mkdir(path.join(devices, 'd1'), { recursive: true });
  const [accountPort, containerPort, objectPort, proxyPort, noMemcache] = (await freePorts(5)) as [number, number, number, number, number];
  const ports = { account: accountPort, container: containerPort, object: objectPort };
  await writeFile(
    path.join(etc, 'swift.conf'),
    '[swift-hash]\nswift_hash_path_suffix = fingerpost-test\nswift_hash_path_prefix = fingerpost-test\n[storage-policy:0]\nname = Policy-0\ndefault = yes\n',
  );
  // The three rings in one Python process (swift-ring-builder would take nine): 2^4 partitions,
  // one replica, one device each, the smallest ring there is.
  execFileSync(PYTHON, ['-c', RINGS, etc, JSON.stringify(ports)], { stdio: 'ignore', env: PY_ENV });
  for (const kind of SERVERS) {
    await writeFile(
      path.join(etc, `${kind}-server.conf`),
      `[DEFAULT]
bind_ip = 127.0.0.1
bind_port = ${ports[kind]}
workers = 0
devices = ${devices}
mount_check = false
swift_dir = ${etc}
log_name = fp-swift-${kind}

[pipeline:main]
pipeline = ${kind}-server

[app:${kind}-server]
use = egg:swift#${kind}
`,
    );
  }
  const accessKeyId = 'test:tester';
  const secretAccessKey = `swift-${path.basename(work)}`;
  await writeFile(
    path.join(etc, 'proxy-server.conf'),
    `[DEFAULT]
bind_ip = 127.0.0.1
bind_port = ${proxyPort}
workers = 0
swift_dir = ${etc}
log_name = fp-swift-proxy

[pipeline:main]
pipeline = catch_errors gatekeeper proxy-logging cache listing_formats s3api tempauth copy slo dlo proxy-logging proxy-server

[app:proxy-server]
use = egg:swift#proxy
account_autocreate = true
allow_account_management = true

[filter:catch_errors]
use = egg:swift#catch_errors

[filter:gatekeeper]
use = egg:swift#gatekeeper

[filter:proxy-logging]
use = egg:swift#proxy_logging

# tempauth insists on a cache object; nothing listens here, so every lookup misses.
[filter:cache]
use = egg:swift#memcache
memcache_servers = 127.0.0.1:${noMemcache}

[filter:listing_formats]
use = egg:swift#listing_formats

[filter:s3api]
use = egg:swift#s3api

[filter:tempauth]
use = egg:swift#tempauth
user_test_tester = ${secretAccessKey} .admin

[filter:copy]
use = egg:swift#copy

[filter:slo]
use = egg:swift#slo

[filter:dlo]
use = egg:swift#dlo
`,
  );
  const children: ChildProcess[] = [];
  let output = '';
  for (const kind of [...SERVERS, 'proxy'] as const) {
    const child = spawn(PYTHON, ['-c', LAUNCHER, etc, path.join(etc, `${kind}-server.conf`), `${kind}-server`], {
      stdio: ['ignore', 'ignore', 'pipe'],
      env: PY_ENV,
    });
    child.stderr!.on('data', (d) => (output += d));
    children.push(child);
  }
  const close = async () => {
    await Promise.all(
      children.map(
        (c) =>
          new Promise((resolve) => {
            if (c.exitCode !== null || c.signalCode !== null) return resolve(null);
            c.once('exit', resolve);
            c.kill('SIGTERM');
          }),
      ),
    );
    await rm(work, { recursive: true, force: true });
  };
  for (let i = 0; ; i++) {
    const up = await Promise.all([...Object.values(ports), proxyPort].map(answers));
    if (up.every(Boolean)) break;
    if (i > 600 || children.some((c) => c.exitCode !== null)) {
      await close();
      throw new Error(`Swift did not start:\n${output.slice(-2000)}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  return { endpoint: `http://127.0.0.1:${proxyPort}`, accessKeyId, secretAccessKey, close };
}
