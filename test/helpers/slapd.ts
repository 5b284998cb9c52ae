// A real OpenLDAP server (Debian `slapd`) started by a test: its own configuration, database and
// TLS certificate (from the project's local CA) in a temporary directory, the fixture tree of
// test/fixtures/ldap loaded with slapadd, listening on free loopback ports for ldap:// (StartTLS)
// and ldaps://. No system service is used or touched.
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { ensureLocalTls } from '../../src/net/local-ca.ts';
import { commandSkip } from './peers.ts';
import { freePorts } from './ports.ts';

const FIXTURES = path.resolve(import.meta.dirname, '..', 'fixtures', 'ldap');

/** Skip reason when slapd or the ldap-utils are missing (throws under FINGERPOST_REQUIRE_PEERS=1). */
export function slapdSkip(): string | false {
  return commandSkip('slapd', 'slapd', ['-VV']) || commandSkip('ldapmodify', 'ldap-utils', ['-VV']);
}

export interface TestSlapd {
  /** StartTLS URL (ldap://localhost:PORT). */
  readonly url: string;
  /** Implicit TLS URL (ldaps://localhost:PORT). */
  readonly ldapsUrl: string;
  /** The CA that issued slapd's certificate (PEM file). */
  readonly caFile: string;
  readonly suffix: string;
  readonly bindDn: string;
  readonly bindPassword: string;
  /** Applies an LDIF change (ldapmodify as the root DN over ldapi-less loopback). */
  modify(ldif: string): void;
  /** Freezes the server (SIGSTOP): connections are accepted by the kernel but nothing answers. */
  pause(): void;
  resume(): void;
  /** Stops the server; `start` brings it back on the same ports with the same data. */
  stop(): Promise<void>;
  start(): Promise<void>;
  close(): Promise<void>;
}

const SUFFIX = 'dc=example,dc=org';
const ROOT_DN = `cn=admin,${SUFFIX}`;
const ROOT_PW = 'root-secret-1';

/** Starts slapd with the fixture tree; close() stops it and removes its directory. */
export async function startSlapd(): Promise<TestSlapd> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'fp-slapd-'));
  const db = path.join(dir, 'db');
  await mkdir(db);
  const tls = await ensureLocalTls(dir, ['localhost']);
  const [plain, secure] = (await freePorts(2)) as [number, number];
  const conf = path.join(dir, 'slapd.conf');
  await writeFile(
    conf,
    `include /etc/ldap/schema/core.schema
include /etc/ldap/schema/cosine.schema
include /etc/ldap/schema/inetorgperson.schema
include ${path.join(FIXTURES, 'fingerpost-test.schema')}
modulepath /usr/lib/ldap
moduleload back_mdb
pidfile ${dir}/slapd.pid
TLSCACertificateFile ${tls.caCert}
TLSCertificateFile ${tls.cert}
TLSCertificateKeyFile ${tls.key}
database mdb
suffix "${SUFFIX}"
rootdn "${ROOT_DN}"
rootpw ${ROOT_PW}
directory ${db}
maxsize 16777216
index objectClass,mail,mailAlternateAddress,member eq
access to attrs=userPassword by anonymous auth by * none
access to * by dn.exact="cn=fingerpost,ou=services,${SUFFIX}" read by self read by anonymous auth by * none
`,
  );
  const added = spawnSync('slapadd', ['-f', conf, '-l', path.join(FIXTURES, 'tree.ldif')], { encoding: 'utf8' });
  if (added.status !== 0) throw new Error(`slapadd failed: ${added.stderr}`);
  const url = `ldap://localhost:${plain}`;
  let child: ChildProcess | undefined;
  let output = '';

  const start = async () => {
    output = '';
    // -d 0: stay in the foreground (the test owns the process) without debug output.
    child = spawn('slapd', ['-d', '0', '-f', conf, '-h', `ldap://127.0.0.1:${plain}/ ldaps://127.0.0.1:${secure}/`], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    child.stdout!.on('data', (d) => (output += d));
    child.stderr!.on('data', (d) => (output += d));
    for (let i = 0; ; i++) {
      if (child.exitCode !== null) throw new Error(`slapd exited (${child.exitCode}):\n${output.slice(-2000)}`);
      if (await answers(plain)) return;
      if (i > 400) throw new Error(`slapd did not listen:\n${output.slice(-2000)}`);
      await new Promise((r) => setTimeout(r, 25));
    }
  };
  const stop = async () => {
    const c = child;
    child = undefined;
    if (!c || c.exitCode !== null || c.signalCode !== null) return;
    const gone = new Promise((r) => c.once('exit', r));
    c.kill('SIGCONT');
    c.kill('SIGTERM');
    const timer = setTimeout(() => c.kill('SIGKILL'), 10_000);
    await gone;
    clearTimeout(timer);
  };
  await start();
  return {
    url,
    ldapsUrl: `ldaps://localhost:${secure}`,
    caFile: tls.caCert,
    suffix: SUFFIX,
    bindDn: `cn=fingerpost,ou=services,${SUFFIX}`,
    bindPassword: 'service-secret-1',
    modify(ldif) {
      const r = spawnSync('ldapmodify', ['-x', '-H', `ldap://127.0.0.1:${plain}`, '-D', ROOT_DN, '-w', ROOT_PW], {
        input: ldif,
        encoding: 'utf8',
      });
      if (r.status !== 0) throw new Error(`ldapmodify failed: ${r.stderr}`);
    },
    pause: () => child?.kill('SIGSTOP'),
    resume: () => child?.kill('SIGCONT'),
    stop,
    start,
    async close() {
      await stop();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

function answers(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect({ host: '127.0.0.1', port });
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
}
