// Auth core benchmark (issue 3 step 7): verifications per second for a fresh JWT, a repeated JWT,
// and a password with and without the verified-password cache, through AuthService.authenticate
// (policy, limits, directory lookup on SQLite, audit) and for the bare verifiers.
//   ./node_modules/.bin/node bench/auth.ts [--seconds 3] [--concurrency 8]
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { generateKeyPair, exportJWK, SignJWT } from 'jose';
import { AccountAdmin } from '../src/admin/accounts.ts';
import { AuthService } from '../src/auth/service.ts';
import type { AuthContext, Credentials } from '../src/auth/types.ts';
import { hashPassword, verifyPassword } from '../src/directory/password-hash.ts';
import { loadConfig } from '../src/config/load.ts';
import { resourceIds, SCOPES } from '../src/config/resources.ts';
import { createLogger } from '../src/core/log.ts';
import { SqlDirectory } from '../src/directory/sql.ts';
import { openDb } from '../src/store/db.ts';

const { values } = parseArgs({ options: { seconds: { type: 'string', default: '3' }, concurrency: { type: 'string', default: '8' } } });
const SECONDS = Number(values.seconds);
const CONCURRENCY = Number(values.concurrency);

/** Runs `op` with `concurrency` callers for `seconds`; returns operations per second. */
async function rate(op: (i: number) => Promise<unknown>, concurrency: number): Promise<number> {
  let n = 0;
  const until = performance.now() + SECONDS * 1000;
  const worker = async () => {
    while (performance.now() < until) await op(n++);
  };
  const start = performance.now();
  await Promise.all(Array.from({ length: concurrency }, worker));
  return n / ((performance.now() - start) / 1000);
}

const dir = await mkdtemp(path.join(os.tmpdir(), 'fp-bench-auth-'));
const db = await openDb({ url: '', sqlitePath: path.join(dir, 'fp.db') });
const directory = new SqlDirectory(db);
const accounts = new AccountAdmin(db, directory);
await accounts.addDomain('example.test');
await accounts.addUser({ address: 'alice@example.test', password: 'correct horse battery' });
const config = loadConfig({ dataDir: dir, env: {}, overrides: { auth: { limits: { exempt: ['0.0.0.0/0'] } } } });
const auth = new AuthService({ config, directory, logger: createLogger('silent') });

const ISSUER = 'https://idp.bench.test';
const { privateKey, publicKey } = await generateKeyPair('ES256');
const jwk = { ...(await exportJWK(publicKey)), kid: 'k1', alg: 'ES256' };
auth.trustEmbeddedIssuer({ issuer: ISSUER, jwks: () => ({ keys: [jwk] }) });
const aud = resourceIds(config).imap;
const sign = (i: number) =>
  new SignJWT({ iss: ISSUER, sub: 'alice', email: 'alice@example.test', aud, scope: SCOPES.mail, jti: `j${i}` })
    .setProtectedHeader({ alg: 'ES256', kid: 'k1', typ: 'at+jwt' })
    .setIssuedAt()
    .setExpirationTime('1h')
    .sign(privateKey);

const ctx: AuthContext = { protocol: 'imap', listener: 'imaps', remote: '127.0.0.1', tls: true };
const bearer = (token: string): Credentials => ({ kind: 'bearer', token, mechanism: 'OAUTHBEARER' });
const must = async (p: Promise<{ ok: boolean }>) => {
  if (!(await p).ok) throw new Error('verification failed');
};

const results: Array<[string, number]> = [];
const report = (name: string, perSecond: number) => {
  results.push([name, perSecond]);
  process.stdout.write(`${name.padEnd(58)} ${perSecond.toFixed(0).padStart(8)} /s\n`);
};

process.stdout.write(`auth bench: ${SECONDS}s per case, concurrency ${CONCURRENCY}, node ${process.version}, ${os.cpus().length} CPUs\n`);

// Fresh tokens: signed beforehand so only verification is timed.
const expected = Math.ceil(SECONDS * 6000);
const fresh = await Promise.all(Array.from({ length: expected }, (_, i) => sign(i)));
let next = 0;
report(
  'JWT ES256, fresh token each time (authenticate)',
  await rate(async () => {
    const token = fresh[next++ % fresh.length]!;
    await must(auth.authenticate(bearer(token), ctx));
  }, CONCURRENCY),
);
if (next > fresh.length)
  process.stdout.write(`  (note: ${next} verifications reused ${fresh.length} tokens; raise the pre-signed count)\n`);

const repeated = await sign(-1);
report('JWT ES256, the same token again (authenticate)', await rate(() => must(auth.authenticate(bearer(repeated), ctx)), CONCURRENCY));

const pw: Credentials = { kind: 'password', username: 'alice@example.test', password: 'correct horse battery', mechanism: 'PLAIN' };
await must(auth.authenticate(pw, ctx));
report('password, verified-password cache hit (authenticate)', await rate(() => must(auth.authenticate(pw, ctx)), CONCURRENCY));

const hash = await hashPassword('correct horse battery');
report(
  'password, argon2id verify, no cache (19 MiB, t=2)',
  await rate(async () => {
    if (!(await verifyPassword(hash, 'correct horse battery'))) throw new Error('argon2 failed');
  }, CONCURRENCY),
);
report(
  'password, wrong (argon2id + same answer path, authenticate)',
  await rate(async () => {
    const o = await auth.authenticate({ ...pw, password: 'wrong horse battery' }, ctx);
    if (o.ok) throw new Error('accepted a wrong password');
  }, CONCURRENCY),
);

process.stdout.write(`RESULT ${JSON.stringify(Object.fromEntries(results.map(([k, v]) => [k, Math.round(v)])))}\n`);
await db.close();
await rm(dir, { recursive: true, force: true });
