// Auth core benchmark: verifications per second for a fresh JWT, a repeated JWT, and a password
// with and without the verified-password cache, through AuthService.authenticate (policy, limits,
// directory lookup on SQLite, audit at level info to /dev/null) and for the bare verifiers. The
// fresh-token case is interleaved with a bare node:crypto ES256 verify of the same kind of token
// (two call forms: the ieee-p1363 option, and DER with the KeyObject, the faster) and with jose's
// jwtVerify alone; the ratios printed are medians over `--rounds`.
//   ./node_modules/.bin/node bench/auth.ts [--seconds 3] [--concurrency 8] [--rounds 3] [--profile FILE]
import { createPublicKey, sign as cryptoSign, verify as cryptoVerify, createPrivateKey } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { Session } from 'node:inspector/promises';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { createLocalJWKSet, exportJWK, generateKeyPair, jwtVerify } from 'jose';
import { pino } from 'pino';
import { AccountAdmin } from '../src/admin/accounts.ts';
import { AuthService } from '../src/auth/service.ts';
import { ecdsaDer } from '../src/auth/verifiers/jwt.ts';
import type { AuthContext, Credentials } from '../src/auth/types.ts';
import { hashPassword, verifyPassword } from '../src/directory/password-hash.ts';
import { loadConfig } from '../src/config/load.ts';
import { resourceIds, SCOPES } from '../src/config/resources.ts';
import { createLogger } from '../src/core/log.ts';
import { SqlDirectory } from '../src/directory/sql.ts';
import { openDb } from '../src/store/db.ts';

const { values } = parseArgs({
  options: {
    seconds: { type: 'string', default: '3' },
    concurrency: { type: 'string', default: '8' },
    rounds: { type: 'string', default: '3' },
    /** After the rounds, runs the auth core alone on fresh tokens for `--seconds` and writes its V8 CPU profile here. */
    profile: { type: 'string' },
  },
});
const SECONDS = Number(values.seconds);
const CONCURRENCY = Number(values.concurrency);
const ROUNDS = Number(values.rounds);

/** Runs `op` with `concurrency` callers for `seconds`; returns operations per second. */
async function rate(op: (i: number) => Promise<unknown>, concurrency: number, seconds = SECONDS): Promise<number> {
  let n = 0;
  const until = performance.now() + seconds * 1000;
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
// The audit line is written as in production (level info, JSON, redaction, pino's asynchronous
// destination as `createLogger` uses for stdout) to /dev/null.
const auth = new AuthService({
  config,
  directory,
  logger: createLogger('info', pino.destination({ dest: '/dev/null', sync: false }) as unknown as NodeJS.WritableStream, 'json'),
});

const ISSUER = 'https://idp.bench.test';
const { privateKey, publicKey } = await generateKeyPair('ES256', { extractable: true });
const jwk = { ...(await exportJWK(publicKey)), kid: 'k1', alg: 'ES256' };
auth.trustEmbeddedIssuer({ issuer: ISSUER, jwks: () => ({ keys: [jwk] }) });
const aud = resourceIds(config).imap;
// Signed with node:crypto (RFC 7518 §3.4: raw r||s) so tens of thousands are ready in seconds.
const nodePrivate = createPrivateKey({ key: await exportJWK(privateKey), format: 'jwk' });
const nodePublic = createPublicKey({ key: jwk, format: 'jwk' });
const b64 = (v: unknown) => Buffer.from(JSON.stringify(v)).toString('base64url');
const HEADER = b64({ alg: 'ES256', kid: 'k1', typ: 'at+jwt' });
let signed = 0;
const sign = (i: number): string => {
  const iat = Math.floor(Date.now() / 1000);
  const payload = { iss: ISSUER, sub: 'alice', client_id: 'bench', email: 'alice@example.test', aud, scope: SCOPES.mail };
  const input = `${HEADER}.${b64({ ...payload, jti: `j${i}.${signed++}`, iat, exp: iat + 3600 })}`;
  return `${input}.${cryptoSign('sha256', Buffer.from(input), { key: nodePrivate, dsaEncoding: 'ieee-p1363' }).toString('base64url')}`;
};

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

// Fresh tokens: signed beforehand so only verification is timed; each case gets its own tokens.
// The cases alternate in 250 ms slices so a busy machine's swings hit them alike.
const SLICE = 0.25;
const perCase = Math.ceil(SECONDS * 16_000);
const batch = () => Array.from({ length: perCase }, (_, i) => sign(i));
const interleaved = async (cases: Array<{ verify: (token: string) => Promise<unknown> | unknown }>): Promise<number[]> => {
  const state = cases.map((c) => ({ ...c, tokens: batch(), next: 0, ops: 0 }));
  for (let slice = 0; slice < SECONDS / SLICE; slice++) {
    for (const c of state) {
      const run = () =>
        rate(
          async () => {
            await c.verify(c.tokens[c.next++ % c.tokens.length]!);
          },
          CONCURRENCY,
          SLICE,
        );
      c.ops += (await run()) * SLICE;
    }
  }
  for (const c of state)
    if (c.next > c.tokens.length) process.stdout.write(`  (note: ${c.next} verifications reused ${c.tokens.length} tokens)\n`);
  return state.map((c) => c.ops / SECONDS);
};
const bareVerify = (token: string) => {
  const dot = token.lastIndexOf('.');
  const ok = cryptoVerify(
    'sha256',
    Buffer.from(token.slice(0, dot)),
    { key: nodePublic, dsaEncoding: 'ieee-p1363' },
    Buffer.from(token.slice(dot + 1), 'base64url'),
  );
  if (!ok) throw new Error('bare verify failed');
};
// The fastest bare form: the signature as DER with the KeyObject itself (no dsaEncoding option).
const bareVerifyDer = (token: string) => {
  const dot = token.lastIndexOf('.');
  const der = ecdsaDer(Buffer.from(token.slice(dot + 1), 'base64url'), 32)!;
  if (!cryptoVerify('sha256', Buffer.from(token.slice(0, dot)), nodePublic, der)) throw new Error('bare verify failed');
};
const joseKeys = createLocalJWKSet({ keys: [jwk] });
const joseVerify = (token: string) => jwtVerify(token, joseKeys, { issuer: ISSUER, audience: aud, algorithms: ['ES256'] });
const viaAuth = (token: string) => must(auth.authenticate(bearer(token), ctx));
await viaAuth(sign(-2)); // warm-up: loads the issuer's keys
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const bare: number[] = [];
const bareDer: number[] = [];
const core: number[] = [];
const jose: number[] = [];
for (let round = 0; round < ROUNDS; round++) {
  const [b, d, c, j] = await interleaved([{ verify: bareVerify }, { verify: bareVerifyDer }, { verify: viaAuth }, { verify: joseVerify }]);
  bare.push(b!);
  bareDer.push(d!);
  core.push(c!);
  jose.push(j!);
  process.stdout.write(
    `  round ${round + 1}: bare ${bare.at(-1)!.toFixed(0)}/s, bare DER ${bareDer.at(-1)!.toFixed(0)}/s, auth core ${core.at(-1)!.toFixed(0)}/s, jose ${jose.at(-1)!.toFixed(0)}/s\n`,
  );
}
if (values.profile) {
  // A run of the auth core alone, so every sample (including those after an await, whose stacks
  // no longer show the caller) belongs to the fresh-token path; the signing happens before.
  const tokens = Array.from({ length: perCase }, (_, i) => sign(i));
  const profiler = new Session();
  profiler.connect();
  await profiler.post('Profiler.enable');
  await profiler.post('Profiler.start');
  let next = 0;
  await rate(() => viaAuth(tokens[next++ % tokens.length]!), CONCURRENCY);
  const { profile } = await profiler.post('Profiler.stop');
  writeFileSync(values.profile, JSON.stringify(profile));
  profiler.disconnect();
}
if (ROUNDS === 0) {
  // `--rounds 0 --profile FILE`: the profile alone.
  await db.close();
  await rm(dir, { recursive: true, force: true });
  process.exit(0);
}
report('JWT ES256, bare node:crypto verify (signature only)', median(bare));
report('JWT ES256, bare node:crypto verify, DER + KeyObject', median(bareDer));
report('JWT ES256, jose jwtVerify alone (WebCrypto)', median(jose));
report('JWT ES256, fresh token each time (authenticate)', median(core));
const ratioLine = (name: string, over: number[]) => {
  const ratios = core.map((c, i) => c / over[i]!);
  return `RATIO auth core / ${name}: ${median(ratios).toFixed(2)}x (rounds: ${ratios.map((r) => r.toFixed(2)).join(', ')})\n`;
};
process.stdout.write(ratioLine('bare verify (ieee-p1363 option)', bare));
process.stdout.write(ratioLine('bare verify (DER + KeyObject)', bareDer));
process.stdout.write(`RATIO jose alone / bare verify: ${(median(jose) / median(bare)).toFixed(2)}x\n`);

const repeated = sign(-1);
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
