import { spawnSync } from 'node:child_process';
import net from 'node:net';

/** True under `.ci/run`: a missing peer is a failure there, not a skip. */
export const REQUIRE_PEERS = process.env.FINGERPOST_REQUIRE_PEERS === '1';

/**
 * Returns `false` (run the test) when `present` holds, else a visible skip reason for node:test's
 * `skip` option. With FINGERPOST_REQUIRE_PEERS=1 a missing peer throws so the run fails.
 */
export function peerSkip(name: string, present: boolean, install: string): string | false {
  if (present) return false;
  const reason = `${name} is not installed (${install})`;
  if (REQUIRE_PEERS) throw new Error(`FINGERPOST_REQUIRE_PEERS=1 but ${reason}`);
  return reason;
}

/** True when `cmd` runs (e.g. `curl --version`). */
export function hasCommand(cmd: string, args: string[] = ['--version']): boolean {
  const r = spawnSync(cmd, args, { stdio: 'ignore', timeout: 10_000 });
  return r.status === 0 || (r.error === undefined && r.status !== null && r.status !== 127);
}

/** Skip reason for a Debian command-line peer. */
export function commandSkip(cmd: string, debianPackage: string, args?: string[]): string | false {
  return peerSkip(cmd, hasCommand(cmd, args), `apt-get install ${debianPackage}`);
}

export const PG_URL = process.env.FINGERPOST_TEST_PG ?? 'postgres://postgres@127.0.0.1:5432/test';

/** Whether PostgreSQL answers on the test URL's host and port. */
export async function pgAvailable(url = PG_URL): Promise<boolean> {
  const u = new URL(url);
  return new Promise((resolve) => {
    const s = net.connect({ host: u.hostname, port: Number(u.port || 5432) });
    s.setTimeout(2000);
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
    s.once('timeout', () => {
      s.destroy();
      resolve(false);
    });
  });
}
