// A bounded, seeded fuzz run over bearer tokens (issue 3, "Bad input": malformed JWTs): garbage
// and mutated tokens, and tokens correctly signed by a trusted issuer whose claims have the wrong
// types, all end as a typed refusal through the auth core: never an exception (which the core
// would turn into `temporary`), never `ok`, and never the token in a message a client sees.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { base64url } from 'jose';
import { AuthService } from '../../../src/auth/service.ts';
import type { AuthContext } from '../../../src/auth/types.ts';
import { SCOPES } from '../../../src/config/resources.ts';
import { type AuthFixture, authFixture } from './fixture.ts';
import { IssuerFixture } from './issuer-fixture.ts';
import { prng } from '../../helpers/prng.ts';

const ITERATIONS = 600;
const SEED = Number(process.env.FP_FUZZ_SEED ?? 0x1f2e);
const HOST = 'mail.example.test';
const IMAP: AuthContext = { protocol: 'imap', listener: 'imaps', remote: '192.0.2.30', tls: true, localPort: 1993 };
// Not `temporary`: the auth core turns an exception into `temporary` (and logs it), which is what this run looks for.
const REFUSALS = ['invalid_token', 'insufficient_scope', 'authorization_failed'];

const rand = prng(SEED);
const int = (n: number) => Math.floor(rand() * n);
const pick = <T>(list: readonly T[]): T => list[int(list.length)]!;

// Values of the wrong type or shape for any claim or header member.
const ODD: readonly unknown[] = [
  null,
  0,
  -1,
  1e308,
  '',
  ' ',
  'alice',
  '@',
  'x'.repeat(5000),
  [],
  [null],
  [1, 2],
  {},
  { a: 1 },
  true,
  '\u0000',
  'é@exämple.test',
  `imap://${HOST}`,
];
const CLAIMS = [
  'iss',
  'aud',
  'exp',
  'nbf',
  'iat',
  'sub',
  'email',
  'email_verified',
  'scope',
  'scp',
  'client_id',
  'jti',
  'sid',
  'preferred_username',
];
const HEADER = ['alg', 'kid', 'typ', 'crit', 'b64', 'jku', 'x5u', 'jwk'];

function randomSegment(): string {
  switch (int(4)) {
    case 0:
      return base64url.encode(Uint8Array.from({ length: int(48) }, () => int(256)));
    case 1:
      return base64url.encode(JSON.stringify(Object.fromEntries(Array.from({ length: int(4) }, () => [pick(CLAIMS), pick(ODD)]))));
    case 2:
      return pick(['', '=', 'e30', 'bnVsbA', 'WzFd', '!!', 'eyJ', '.']);
    default:
      return base64url.encode(JSON.stringify(pick(ODD)));
  }
}

describe('bearer token fuzz', () => {
  let f: AuthFixture;
  let idp: IssuerFixture;
  let auth: AuthService;

  before(async () => {
    f = await authFixture();
    idp = await new IssuerFixture().start();
    auth = new AuthService({
      config: f.config({ server: { hostname: HOST }, auth: { issuers: [{ issuer: idp.issuer }] } }),
      directory: f.directory,
      logger: f.logger,
    });
  });
  after(async () => {
    await idp.close();
    await f.close();
    const unexpected = f.logLines.filter((l) => l.msg === 'authentication failed unexpectedly');
    assert.deepEqual(unexpected, [], 'no verifier threw');
  });

  /** Authenticates `token` and checks the refusal is typed and does not echo the token. */
  async function refused(token: string, what: string): Promise<string> {
    const outcome = await auth.authenticate({ kind: 'bearer', token, mechanism: 'OAUTHBEARER' }, IMAP);
    assert.equal(outcome.ok, false, `${what} was accepted: ${token.slice(0, 200)}`);
    if (outcome.ok) return 'ok';
    assert.ok(REFUSALS.includes(outcome.code), `${what}: unexpected code ${outcome.code}`);
    const shown = JSON.stringify([outcome.publicReason, outcome.tokenError, outcome.oauth]);
    if (token.length >= 16) assert.ok(!shown.includes(token), `${what}: the token appears in the answer`);
    return outcome.code;
  }

  it(`refuses ${ITERATIONS} garbage and mutated tokens with a typed answer (seed ${SEED})`, async () => {
    const valid = await idp.sign({ sub: 'alice', email: 'alice@example.test', aud: `imap://${HOST}`, scope: SCOPES.mail });
    const ok = await auth.authenticate({ kind: 'bearer', token: valid, mechanism: 'OAUTHBEARER' }, IMAP);
    assert.equal(ok.ok, true, 'the unmodified token is accepted (the fixture works)');
    const [h, p, s] = valid.split('.') as [string, string, string];
    for (let i = 0; i < ITERATIONS; i++) {
      let token: string;
      switch (int(5)) {
        case 0:
          token = Array.from({ length: 1 + int(5) }, randomSegment).join('.');
          break;
        case 1:
          token = [randomSegment(), p, s].join('.');
          break;
        case 2:
          token = [h, randomSegment(), s].join('.');
          break;
        case 3: {
          // flip characters anywhere in the valid token
          const chars = [...valid];
          for (let n = 0; n < 1 + int(3); n++) chars[int(chars.length)] = pick(['A', '-', '_', '.', '=', ' ', '+', '/', '\u00e9']);
          token = chars.join('');
          if (token === valid) continue;
          break;
        }
        default:
          token = valid.slice(0, int(valid.length));
      }
      await refused(token, `mutation ${i}`);
    }
  });

  it(`refuses ${ITERATIONS / 2} correctly signed tokens whose claims or header have the wrong types (seed ${SEED})`, async () => {
    const seen = new Set<string>();
    for (let i = 0; i < ITERATIONS / 2; i++) {
      const claims: Record<string, unknown> = { sub: 'alice', email: 'alice@example.test', aud: `imap://${HOST}`, scope: SCOPES.mail };
      // at least one claim the verifier must refuse: a wrong type in a claim it checks
      const broken = pick(['iss', 'aud', 'exp', 'nbf', 'email', 'scope', 'email_verified']);
      const bad = pick(ODD.filter((v) => !(broken === 'aud' && v === `imap://${HOST}`) && !(broken === 'email_verified' && v === true)));
      if (broken === 'nbf' && typeof bad === 'number' && bad <= Date.now() / 1000) claims.nbf = 'soon';
      else claims[broken] = bad;
      if (broken === 'email') {
        claims.sub = pick(ODD);
        claims.preferred_username = pick(ODD);
      }
      for (let n = 0; n < int(3); n++) claims[pick(CLAIMS.filter((c) => c !== broken))] = pick(ODD);
      const header: Record<string, unknown> = {};
      if (int(3) === 0) header[pick(HEADER.filter((k) => k !== 'alg' && k !== 'crit' && k !== 'b64'))] = pick(ODD);
      let token: string;
      try {
        token = await idp.sign(claims, { header });
      } catch {
        continue; // jose refuses to sign some headers at all; nothing to send then
      }
      // A far-future `exp` is still a valid NumericDate, and only `email_verified: false` refuses an
      // address (any other value is not a denial): those may pass; every other broken claim must not.
      const code = await auth
        .authenticate({ kind: 'bearer', token, mechanism: 'OAUTHBEARER' }, IMAP)
        .then((o) => (o.ok ? `ok:${broken}=${JSON.stringify(bad)}` : o.code));
      assert.ok(REFUSALS.includes(code) || code.startsWith('ok:'), `claim ${broken}: unexpected ${code}`);
      if (code.startsWith('ok:')) assert.ok(['exp', 'email_verified'].includes(broken), `accepted with ${code}`);
      seen.add(code);
    }
    assert.ok(seen.has('invalid_token'), 'the run reached the claim checks');
  });
});
