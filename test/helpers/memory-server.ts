import { mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { Duplex } from 'node:stream';
import tls from 'node:tls';
import { loadConfig } from '../../src/config/load.ts';
import { createLogger } from '../../src/core/log.ts';
import { ensureFirstStart, openServices, type Services } from '../../src/main.ts';
import { ensureLocalTls } from '../../src/net/local-ca.ts';
import { loadTls, type TlsMaterial } from '../../src/net/tls.ts';
import type { StreamLines } from './memory-connection.ts';

/** What the in-memory session tests share: the real services on a temporary data directory, one user, the local CA. */
export interface MemoryServer {
  readonly services: Services;
  readonly material: TlsMaterial;
  /** The local CA (PEM) a client trusts. */
  readonly ca: string;
  close(): Promise<void>;
}

/** Opens the services (`example.test`, `user` with `password`) and the local CA for `localhost`; no listener. */
export async function memoryServer(user: string, password: string, overrides: Record<string, unknown> = {}): Promise<MemoryServer> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'fp-mem-'));
  const config = loadConfig({ dataDir: dir, env: {}, overrides: { log: { level: 'silent' }, ...overrides } });
  const services = await openServices(config, { logger: createLogger('silent') });
  await ensureFirstStart(services, 'example.test');
  await services.accounts.addUser({ address: user, password });
  const files = await ensureLocalTls(dir, ['localhost']);
  return {
    services,
    material: loadTls(files.cert, files.key, 'TLSv1.2', files.caCert),
    ca: await readFile(files.caCert, 'utf8'),
    async close() {
      await services.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/** After the server's go-ahead for STARTTLS/STLS: stops `lines` reading `peer` and runs a TLS client over it. */
export async function startTlsOver(peer: Duplex, lines: StreamLines, ca: string): Promise<tls.TLSSocket> {
  lines.stop();
  const secure = tls.connect({ socket: peer, ca, servername: 'localhost' });
  await new Promise<void>((resolve, reject) => {
    secure.once('secureConnect', resolve);
    secure.once('error', reject);
  });
  return secure;
}
