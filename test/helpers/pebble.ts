import { type ChildProcess, spawn } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
import https from 'node:https';
import net from 'node:net';
import path from 'node:path';
import { ensureLocalTls } from '../../src/net/local-ca.ts';
import { commandSkip } from './peers.ts';
import { freePorts } from './ports.ts';

/** Skip reason when Debian's `pebble` (the ACME test CA, RFC 8555) is missing. */
export const pebbleSkip = (): string | false => commandSkip('pebble', 'pebble', ['-help']);

/** A running Pebble: its directory, the CA file its HTTPS is signed by, and the chain it issues under. */
export interface Pebble {
  readonly directory: string;
  /** PEM of the CA that signed Pebble's own HTTPS certificate (for `tls.acme.ca_file`). */
  readonly caFile: string;
  /** PEM of the root Pebble issues certificates under. */
  readonly root: string;
  readonly intermediate: X509Certificate;
  log(): string;
  close(): Promise<void>;
}

function get(url: string, ca: string): Promise<string> {
  return new Promise((resolve, reject) => {
    https
      .get(url, { ca }, (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (d: string) => (body += d));
        res.on('end', () => (res.statusCode === 200 ? resolve(body) : reject(new Error(`${url}: HTTP ${res.statusCode}`))));
      })
      .on('error', reject);
  });
}

/** Resolves once something accepts connections on 127.0.0.1:`port` (a child we started). */
export async function waitForPort(port: number, child: ChildProcess, output: () => string): Promise<void> {
  for (let i = 0; i < 200; i++) {
    if (child.exitCode !== null) throw new Error(`${child.spawnfile} exited: ${output()}`);
    const open = await new Promise<boolean>((resolve) => {
      const s = net.connect({ host: '127.0.0.1', port }, () => {
        s.destroy();
        resolve(true);
      });
      s.on('error', () => resolve(false));
    });
    if (open) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`${child.spawnfile} did not listen on ${port}: ${output()}`);
}

/**
 * Starts Pebble on free loopback ports with its config in `dir`: it resolves names through
 * `dnsServer` and validates http-01 on `httpPort` and tls-alpn-01 on `tlsPort` of the address a
 * name resolves to. No validation delays, no bad-nonce rejections, no reused authorizations.
 */
export async function startPebble(dir: string, dnsServer: string, ports: { httpPort: number; tlsPort: number }): Promise<Pebble> {
  const own = await ensureLocalTls(path.join(dir, 'pebble-tls'), []);
  const [listen, management] = (await freePorts(2)) as [number, number];
  const config = path.join(dir, 'pebble.json');
  await writeFile(
    config,
    JSON.stringify({
      pebble: {
        listenAddress: `127.0.0.1:${listen}`,
        managementListenAddress: `127.0.0.1:${management}`,
        certificate: own.cert,
        privateKey: own.key,
        httpPort: ports.httpPort,
        tlsPort: ports.tlsPort,
        ocspResponderURL: '',
        externalAccountBindingRequired: false,
      },
    }),
  );
  let output = '';
  const child = spawn('pebble', ['-config', config, '-dnsserver', dnsServer], {
    env: { ...process.env, PEBBLE_VA_NOSLEEP: '1', PEBBLE_WFE_NONCEREJECT: '0', PEBBLE_AUTHZREUSE: '0' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const keep = (d: Buffer) => (output = (output + d).slice(-20_000));
  child.stdout!.on('data', keep);
  child.stderr!.on('data', keep);
  const close = async () => {
    if (child.exitCode === null) {
      const exited = new Promise((r) => child.once('exit', r));
      child.kill();
      await exited;
    }
  };
  try {
    await waitForPort(listen, child, () => output);
    await waitForPort(management, child, () => output);
    const ca = await readFile(own.caCert, 'utf8');
    const root = await get(`https://127.0.0.1:${management}/roots/0`, ca);
    const intermediate = new X509Certificate(await get(`https://127.0.0.1:${management}/intermediates/0`, ca));
    return { directory: `https://127.0.0.1:${listen}/dir`, caFile: own.caCert, root, intermediate, log: () => output, close };
  } catch (err) {
    await close();
    throw err;
  }
}
