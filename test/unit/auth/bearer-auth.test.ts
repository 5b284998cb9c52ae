// Bearer tokens from configured and in-process issuers: every verifier path as
// a table — rotation, wrong aud, expired, alg confusion, unknown issuer, introspection inactive.
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { base64url, SignJWT } from 'jose';
import { AuthService } from '../../../src/auth/service.ts';
import type { AuthContext, AuthOutcome, Credentials } from '../../../src/auth/types.ts';
import { SCOPES } from '../../../src/config/resources.ts';
import { ensureLocalTls } from '../../../src/net/local-ca.ts';
import { type AuthFixture, authFixture } from './fixture.ts';
import { IssuerFixture } from './issuer-fixture.ts';

const HOST = 'mail.example.test';
const IMAP: AuthContext = { protocol: 'imap', listener: 'imaps', remote: '192.0.2.20', tls: true, localPort: 1993 };
const bearer = (token: string, extra: Partial<Extract<Credentials, { kind: 'bearer' }>> = {}): Credentials => ({
  kind: 'bearer',
  token,
  mechanism: 'OAUTHBEARER',
  ...extra,
});
const now = () => Math.floor(Date.now() / 1000);
const good = { sub: 'alice', email: 'alice@example.test', aud: `imap://${HOST}`, scope: `openid ${SCOPES.mail}`, client_id: 'thunderbird' };

function failure(o: AuthOutcome): { code: string; tokenError?: string; status?: string; scope?: string; conf?: string; expired?: string } {
  if (o.ok) return { code: 'ok' };
  return {
    code: o.code,
    tokenError: o.tokenError,
    status: o.oauth?.status,
    scope: o.oauth?.scope,
    conf: o.oauth?.openidConfiguration,
    expired: o.expired ? 'yes' : 'no',
  };
}

describe('bearer tokens', () => {
  let f: AuthFixture;
  let idp: IssuerFixture;
  let auth: AuthService;
  // A shifted clock lets the JWKS refetch cool-down pass without waiting.
  let shift = 0;

  before(async () => {
    f = await authFixture();
    idp = await new IssuerFixture().start();
    auth = new AuthService({
      config: f.config({
        server: { hostname: HOST },
        auth: {
          issuers: [
            {
              issuer: idp.issuer,
              introspection_endpoint: '',
            },
          ],
        },
      }),
      directory: f.directory,
      logger: f.logger,
      now: () => Date.now() + shift,
    });
  });
  after(async () => {
    await idp.close();
    await f.close();
  });

  it('accepts a valid at+jwt and returns scopes, jti, sid, issuer and expiry', async () => {
    const token = await idp.sign({ ...good, sid: 'sess-1', jti: 'jti-1' });
    const o = await auth.authenticate(bearer(token), IMAP);
    assert.ok(o.ok, JSON.stringify(failure(o)));
    assert.equal(o.account.address, 'alice@example.test');
    assert.equal(o.method, 'bearer');
    assert.deepEqual(o.scopes, ['openid', SCOPES.mail]);
    assert.equal(o.credentialId, 'jti-1');
    assert.equal(o.sessionId, 'sess-1');
    assert.equal(o.issuer, idp.issuer);
    assert.ok(o.expiresAt! > Date.now());
  });

  it('accepts a repeated token without fetching keys again', async () => {
    const token = await idp.sign(good);
    assert.ok((await auth.authenticate(bearer(token), IMAP)).ok);
    const fetches = idp.jwksFetches;
    for (let i = 0; i < 5; i++) assert.ok((await auth.authenticate(bearer(token), IMAP)).ok);
    assert.equal(idp.jwksFetches, fetches);
  });

  it('advertises OAuth mechanisms now that an issuer is trusted', () => {
    assert.deepEqual(auth.policy('imaps').mechanisms(true), ['PLAIN', 'LOGIN', 'OAUTHBEARER', 'XOAUTH2']);
  });

  const cases: Array<[string, () => Promise<Credentials>, AuthContext, Record<string, string>]> = [
    [
      'wrong audience',
      async () => bearer(await idp.sign({ ...good, aud: `smtp://${HOST}` })),
      IMAP,
      { code: 'invalid_token', tokenError: 'The access token is for another audience' },
    ],
    [
      'an IMAP token on SMTP',
      async () => bearer(await idp.sign(good)),
      { ...IMAP, protocol: 'submission', listener: 'submissions' },
      { code: 'invalid_token', tokenError: 'The access token is for another audience' },
    ],
    [
      'expired beyond the leeway',
      async () => bearer(await idp.sign({ ...good, exp: now() - 120 })),
      IMAP,
      { code: 'invalid_token', tokenError: 'The access token expired', expired: 'yes' },
    ],
    [
      'not yet valid',
      async () => bearer(await idp.sign({ ...good, nbf: now() + 600 })),
      IMAP,
      { code: 'invalid_token', tokenError: 'The access token is not valid yet' },
    ],
    [
      'without exp, saying so instead of calling it expired (RFC 9068 §2.2)',
      async () => bearer(await idp.sign({ ...good, exp: undefined })),
      IMAP,
      { code: 'invalid_token', tokenError: 'The access token has no exp claim (RFC 9068 §2.2 requires one)', expired: 'no' },
    ],
    [
      'iat an hour in the future',
      async () => bearer(await idp.sign({ ...good, iat: now() + 3600 })),
      IMAP,
      { code: 'invalid_token', tokenError: 'The access token is issued in the future', expired: 'no' },
    ],
    [
      'a non-numeric iat',
      async () => bearer(await idp.sign({ ...good, iat: 'yesterday' as unknown as number })),
      IMAP,
      { code: 'invalid_token', tokenError: 'The access token has an invalid iat claim' },
    ],
    [
      'an IP-literal host when the protocol did not say which address was connected to',
      async () => bearer(await idp.sign(good), { host: '192.0.2.99' }),
      IMAP,
      { code: 'invalid_token', status: 'invalid_request', tokenError: 'The host does not name this server' },
    ],
    [
      'typ JWT when at+jwt is required',
      async () => bearer(await idp.sign(good, { typ: 'JWT' })),
      IMAP,
      { code: 'invalid_token', tokenError: 'The token is not a JWT access token (typ at+jwt)' },
    ],
    [
      'missing mail scope',
      async () => bearer(await idp.sign({ ...good, scope: 'openid profile' })),
      IMAP,
      { code: 'insufficient_scope', status: 'insufficient_scope', scope: SCOPES.mail },
    ],
    [
      'unknown issuer',
      async () => bearer(await idp.sign({ ...good, iss: 'https://evil.example' })),
      IMAP,
      { code: 'invalid_token', tokenError: 'The token issuer is not trusted here' },
    ],
    [
      'a bad signature',
      async () => {
        const t = await idp.sign(good);
        const [h, p, s] = t.split('.');
        const sig = Buffer.from(s!, 'base64url');
        sig[5]! ^= 1;
        return bearer(`${h}.${p}.${sig.toString('base64url')}`);
      },
      IMAP,
      { code: 'invalid_token', tokenError: 'The token signature is invalid' },
    ],
    [
      'alg none',
      async () => {
        const h = base64url.encode(JSON.stringify({ alg: 'none', typ: 'at+jwt' }));
        const p = base64url.encode(JSON.stringify({ ...good, iss: idp.issuer, exp: now() + 60 }));
        return bearer(`${h}.${p}.`);
      },
      IMAP,
      { code: 'invalid_token' },
    ],
    [
      'HS256 signed with the public key (alg confusion)',
      async () => {
        const jwk = idp.keys.at(-1)!.publicJwk;
        const secret = new TextEncoder().encode(JSON.stringify(jwk));
        return bearer(
          await new SignJWT({ ...good, iss: idp.issuer, exp: now() + 60 })
            .setProtectedHeader({ alg: 'HS256', kid: jwk.kid, typ: 'at+jwt' })
            .sign(secret),
        );
      },
      IMAP,
      { code: 'invalid_token', tokenError: 'The token signature algorithm is not allowed' },
    ],
    [
      'a token naming no account here',
      async () => bearer(await idp.sign({ ...good, email: 'mallory@example.test' })),
      IMAP,
      { code: 'invalid_token', tokenError: 'The access token names no account here' },
    ],
    [
      'an unverified email',
      async () => bearer(await idp.sign({ ...good, email_verified: false })),
      IMAP,
      { code: 'invalid_token', tokenError: 'The access token names no account here' },
    ],
    [
      'an unverified email given as the string "false"',
      async () => bearer(await idp.sign({ ...good, email_verified: 'false' })),
      IMAP,
      { code: 'invalid_token', tokenError: 'The access token names no account here' },
    ],
    [
      'an authzid naming someone else',
      async () => bearer(await idp.sign(good), { username: 'bob@example.test' }),
      IMAP,
      { code: 'authorization_failed' },
    ],
    [
      'a host that is not this server',
      async () => bearer(await idp.sign(good), { host: 'imap.other.test' }),
      IMAP,
      { code: 'invalid_token', status: 'invalid_request' },
    ],
    [
      'a port that is not this service',
      async () => bearer(await idp.sign(good), { port: 1234 }),
      IMAP,
      { code: 'invalid_token', status: 'invalid_request' },
    ],
    [
      'the empty probe token (RFC 7628 §4.3)',
      async () => bearer(''),
      IMAP,
      { code: 'invalid_token', status: 'invalid_token', scope: SCOPES.mail },
    ],
    [
      'garbage (no issuer checks opaque tokens)',
      async () => bearer('not.a.jwt!'),
      IMAP,
      { code: 'invalid_token', tokenError: 'The access token is not a JWT (RFC 7519 §3: three base64url parts separated by dots)' },
    ],
    [
      'three dotted parts that are not base64url JSON',
      async () => bearer('not.a.jwt'),
      IMAP,
      { code: 'invalid_token', tokenError: 'The access token is not a JWT (its header is not base64url JSON)' },
    ],
    [
      'a JSON header over a payload that is not JSON',
      async () => bearer(`${base64url.encode('{"alg":"ES256"}')}.${base64url.encode('[1]')}.c2ln`),
      IMAP,
      { code: 'invalid_token', tokenError: 'The access token is not a JWT (its payload is not a base64url JSON object)' },
    ],
    [
      'a JWT without iss',
      async () => bearer(await idp.sign({ ...good, iss: undefined })),
      IMAP,
      { code: 'invalid_token', tokenError: 'The access token has no iss claim (RFC 9068 §2.2 requires one)' },
    ],
    ...(['sub', 'client_id', 'iat', 'jti'] as const).map(
      (claim): [string, () => Promise<Credentials>, AuthContext, Record<string, string>] => [
        `a token without ${claim} (RFC 9068 §2.2)`,
        async () => bearer(await idp.sign({ ...good, [claim]: undefined })),
        IMAP,
        { code: 'invalid_token', tokenError: `The access token has no ${claim} claim (RFC 9068 §2.2 requires one)` },
      ],
    ),
  ];
  for (const [name, make, context, expected] of cases) {
    it(`refuses ${name}`, async () => {
      const got = failure(await auth.authenticate(await make(), context));
      for (const [k, v] of Object.entries(expected)) assert.equal(got[k as keyof typeof got], v, `${k} of ${JSON.stringify(got)}`);
    });
  }

  it('require_rfc9068_claims = false accepts tokens without sub, client_id, iat and jti (providers that leave them out)', async () => {
    const relaxed = new AuthService({
      config: f.config({ server: { hostname: HOST }, auth: { issuers: [{ issuer: idp.issuer, require_rfc9068_claims: false }] } }),
      directory: f.directory,
      logger: f.logger,
    });
    const token = await idp.sign({ ...good, sub: undefined, client_id: undefined, iat: undefined, jti: undefined });
    const o = await relaxed.authenticate(bearer(token), IMAP);
    assert.ok(o.ok, JSON.stringify(failure(o)));
    assert.equal(failure(await auth.authenticate(bearer(token), IMAP)).code, 'invalid_token', 'the strict default refuses it');
  });

  it('names the issuer configuration in the challenge', async () => {
    const got = failure(await auth.authenticate(bearer(await idp.sign({ ...good, aud: 'x' })), IMAP));
    assert.equal(got.conf, `${idp.issuer}/.well-known/openid-configuration`);
  });

  it('accepts a token expired within the leeway, and its session lives until exp + leeway, not ending at once', async () => {
    const exp = now() - 10;
    const o = await auth.authenticate(bearer(await idp.sign({ ...good, exp })), IMAP);
    assert.ok(o.ok, JSON.stringify(failure(o)));
    assert.equal(o.expiresAt, (exp + 60) * 1000, 'accepted until exp + auth.leeway (60 s)');
    const ended: string[] = [];
    const reg = auth.register(o, IMAP, (reason) => ended.push(reason));
    await new Promise((resolve) => setImmediate(resolve));
    assert.deepEqual(ended, [], 'an accepted token does not end its session at once');
    assert.equal(reg.session.expiresAt, (exp + 60) * 1000);
    reg.unregister();
  });

  it('accepts iat within the leeway (a clock a little ahead)', async () => {
    assert.ok((await auth.authenticate(bearer(await idp.sign({ ...good, iat: now() + 30 })), IMAP)).ok);
  });

  it('accepts an IP-literal host the client connected to, refuses another one', async () => {
    const token = await idp.sign(good);
    const at = { ...IMAP, localAddress: '127.0.0.1' };
    assert.ok((await auth.authenticate(bearer(token, { host: '127.0.0.1', port: 1993 }), at)).ok);
    assert.equal(failure(await auth.authenticate(bearer(token, { host: '192.0.2.99' }), at)).status, 'invalid_request');
    assert.ok((await auth.authenticate(bearer(token, { host: '[::1]' }), { ...IMAP, localAddress: '::1' })).ok);
  });

  it('accepts matching host and the listener or standard port', async () => {
    const token = await idp.sign(good);
    assert.ok((await auth.authenticate(bearer(token, { host: HOST.toUpperCase(), port: 1993, username: 'alice@example.test' }), IMAP)).ok);
    assert.ok((await auth.authenticate(bearer(token, { port: 993 }), IMAP)).ok);
  });

  it('refuses a disabled account', async () => {
    await f.accounts.addUser({ address: 'erin@example.test', password: 'erin password' });
    await f.accounts.setDisabled('erin@example.test', true);
    assert.equal(
      failure(await auth.authenticate(bearer(await idp.sign({ ...good, email: 'erin@example.test' })), IMAP)).code,
      'authorization_failed',
    );
  });

  it('checks HTTP tokens against the resource and the calendar scope', async () => {
    const jmap = `https://${HOST}:8443/jmap/session`;
    const cal = `https://${HOST}:8443/calendar`;
    const http: AuthContext = { protocol: 'http', listener: 'https', remote: '192.0.2.20', tls: true, resource: jmap };
    assert.ok((await auth.authenticate(bearer(await idp.sign({ ...good, aud: jmap }), { mechanism: 'BEARER' }), http)).ok);
    assert.equal(failure(await auth.authenticate(bearer(await idp.sign({ ...good, aud: `imap://${HOST}` })), http)).code, 'invalid_token');
    const calCtx = { ...http, resource: cal };
    assert.equal(failure(await auth.authenticate(bearer(await idp.sign({ ...good, aud: cal })), calCtx)).code, 'insufficient_scope');
    assert.ok((await auth.authenticate(bearer(await idp.sign({ ...good, aud: cal, scope: SCOPES.calendars })), calCtx)).ok);
  });

  it('refuses a token whose jti or sid was revoked', async () => {
    const t1 = await idp.sign({ ...good, jti: 'revoke-me' });
    assert.ok((await auth.authenticate(bearer(t1), IMAP)).ok);
    auth.revocations.revokeJti(idp.issuer, 'revoke-me', Date.now() + 3_600_000);
    assert.equal(failure(await auth.authenticate(bearer(t1), IMAP)).tokenError, 'The access token was revoked');
    const t2 = await idp.sign({ ...good, sid: 'op-session' });
    auth.revocations.revokeSid(idp.issuer, 'op-session', Date.now() + 3_600_000);
    assert.equal(failure(await auth.authenticate(bearer(t2), IMAP)).tokenError, 'The access token was revoked');
  });

  it('picks up a rotated key without a restart, and refuses tokens of the removed key', async () => {
    const oldKey = idp.keys.at(-1)!;
    await idp.rotate();
    shift += 31_000;
    const fresh = await idp.sign(good);
    const o = await auth.authenticate(bearer(fresh), IMAP);
    assert.ok(o.ok, JSON.stringify(failure(o)));
    const stale = await idp.sign(good, { key: oldKey });
    assert.equal(failure(await auth.authenticate(bearer(stale), IMAP)).tokenError, 'The token was signed with an unknown key');
  });

  it('does not refetch keys for every unknown kid (rate limit)', async () => {
    const rogue = new IssuerFixture();
    await rogue.start();
    rogue.issuer = idp.issuer; // same iss, keys the real issuer never published
    const before = idp.jwksFetches;
    for (let i = 0; i < 5; i++) {
      const t = await rogue.sign(good);
      assert.equal(failure(await auth.authenticate(bearer(t), IMAP)).code, 'invalid_token');
    }
    assert.ok(idp.jwksFetches - before <= 1, `fetched ${idp.jwksFetches - before} times`);
    await rogue.close();
  });
});

describe('issuer configurations', () => {
  let f: AuthFixture;
  before(async () => {
    f = await authFixture();
  });
  after(() => f.close());

  const make = (issuers: unknown[], extra: Record<string, unknown> = {}, now?: () => number) =>
    new AuthService({
      config: f.config({ server: { hostname: HOST }, auth: { issuers, ...extra } }),
      directory: f.directory,
      logger: f.logger,
      now,
    });

  it('accepts the shared benchmark token shape with configured audiences and scope strings', async () => {
    const idp = await new IssuerFixture().start();
    try {
      const auth = make([{ issuer: idp.issuer, audiences: ['imap'], mail_scopes: ['mail'], require_at_jwt: false }]);
      const token = await idp.sign({ sub: 'alice@example.test', email: 'alice@example.test', aud: 'imap', scope: 'mail' }, { typ: 'JWT' });
      assert.ok((await auth.authenticate(bearer(token, { mechanism: 'XOAUTH2', username: 'alice@example.test' }), IMAP)).ok);
    } finally {
      await idp.close();
    }
  });

  it('maps preferred_username + claim_domain and honours the issuer domain list', async () => {
    const idp = await new IssuerFixture().start();
    try {
      await f.accounts.addDomain('other.test').catch(() => {});
      await f.accounts.addUser({ address: 'zed@other.test', password: 'zed password' }).catch(() => {});
      const auth = make([{ issuer: idp.issuer, claim: 'preferred_username', claim_domain: 'example.test', domains: ['example.test'] }]);
      const ok = await idp.sign({ ...good, email: undefined, preferred_username: 'alice' });
      assert.ok((await auth.authenticate(bearer(ok), IMAP)).ok);
      const other = await idp.sign({ ...good, email: undefined, preferred_username: 'zed@other.test' });
      assert.equal(failure(await auth.authenticate(bearer(other), IMAP)).tokenError, 'The access token names no account here');
    } finally {
      await idp.close();
    }
  });

  it('introspection: an inactive (revoked) token fails, an active one passes, opaque tokens work', async () => {
    const idp = await new IssuerFixture().start();
    try {
      const auth = make([
        {
          issuer: idp.issuer,
          introspection_endpoint: `${idp.issuer}/introspect`,
          client_id: idp.clientId,
          client_secret: idp.clientSecret,
          introspection_cache: '0s',
        },
      ]);
      const token = await idp.sign(good);
      idp.introspection.set(token, { active: true, scope: SCOPES.mail });
      assert.ok((await auth.authenticate(bearer(token), IMAP)).ok);
      idp.introspection.set(token, { active: false });
      assert.equal(failure(await auth.authenticate(bearer(token), IMAP)).tokenError, 'The access token was revoked');

      const opaque = 'opaque-token-0123456789';
      idp.introspection.set(opaque, {
        active: true,
        iss: idp.issuer,
        scope: SCOPES.mail,
        email: 'alice@example.test',
        aud: `imap://${HOST}`,
      });
      const o = await auth.authenticate(bearer(opaque), IMAP);
      assert.ok(o.ok && o.account.address === 'alice@example.test', JSON.stringify(failure(o)));
      idp.introspection.set('opaque-2', { active: true, scope: 'other', email: 'alice@example.test' });
      assert.equal(failure(await auth.authenticate(bearer('opaque-2'), IMAP)).code, 'insufficient_scope');
      assert.equal(failure(await auth.authenticate(bearer('opaque-unknown'), IMAP)).tokenError, 'The access token is not valid here');
    } finally {
      await idp.close();
    }
  });

  it('ends a live session when introspection later says its token is inactive', async () => {
    const idp = await new IssuerFixture().start();
    try {
      const auth = make([
        {
          issuer: idp.issuer,
          introspection_endpoint: `${idp.issuer}/introspect`,
          client_id: idp.clientId,
          client_secret: idp.clientSecret,
          introspection_cache: '0s',
        },
      ]);
      const token = await idp.sign(good);
      idp.introspection.set(token, { active: true });
      const o = await auth.authenticate(bearer(token), IMAP);
      assert.ok(o.ok);
      const ended: string[] = [];
      auth.register(o, IMAP, (why) => ended.push(why));
      assert.equal(await auth.recheckTokens(), 0);
      idp.introspection.set(token, { active: false });
      assert.equal(await auth.recheckTokens(), 1);
      assert.deepEqual(ended, ['revoked']);
      assert.equal(auth.sessions.size, 0);
    } finally {
      await idp.close();
    }
  });

  it('caches introspection answers for introspection_cache', async () => {
    const idp = await new IssuerFixture().start();
    try {
      const auth = make([
        {
          issuer: idp.issuer,
          introspection_endpoint: `${idp.issuer}/introspect`,
          client_id: idp.clientId,
          client_secret: idp.clientSecret,
          introspection_cache: '1h',
        },
      ]);
      const token = await idp.sign(good);
      idp.introspection.set(token, { active: true });
      for (let i = 0; i < 3; i++) assert.ok((await auth.authenticate(bearer(token), IMAP)).ok);
      assert.equal(idp.introspections, 1);
    } finally {
      await idp.close();
    }
  });

  it('introspection with wrong client credentials is a temporary failure, not a pass', async () => {
    const idp = await new IssuerFixture().start();
    try {
      const auth = make([
        { issuer: idp.issuer, introspection_endpoint: `${idp.issuer}/introspect`, client_id: idp.clientId, client_secret: 'wrong' },
      ]);
      assert.equal(failure(await auth.authenticate(bearer(await idp.sign(good)), IMAP)).code, 'temporary');
    } finally {
      await idp.close();
    }
  });

  it('userinfo resolves opaque tokens when enabled', async () => {
    const idp = await new IssuerFixture().start();
    try {
      const auth = make([{ issuer: idp.issuer, userinfo: true }]);
      idp.userinfo.set('ya29.opaque', { sub: '123', email: 'alice@example.test', email_verified: true });
      const o = await auth.authenticate(bearer('ya29.opaque'), IMAP);
      assert.ok(o.ok, JSON.stringify(failure(o)));
      assert.equal(failure(await auth.authenticate(bearer('ya29.other'), IMAP)).code, 'invalid_token');
    } finally {
      await idp.close();
    }
  });

  it('discovers keys through RFC 8414 metadata for an issuer with a path', async () => {
    const idp = await new IssuerFixture({ path: '/tenant1', metadata: 'rfc8414' }).start();
    try {
      const auth = make([{ issuer: idp.issuer }]);
      assert.ok((await auth.authenticate(bearer(await idp.sign(good)), IMAP)).ok);
    } finally {
      await idp.close();
    }
  });

  it('ignores metadata that names another issuer (temporary failure)', async () => {
    const idp = await new IssuerFixture({ wrongIssuerInMetadata: true }).start();
    try {
      const auth = make([{ issuer: idp.issuer }]);
      assert.equal(failure(await auth.authenticate(bearer(await idp.sign(good)), IMAP)).code, 'temporary');
    } finally {
      await idp.close();
    }
  });

  it('an unreachable issuer is a temporary failure', async () => {
    const idp = await new IssuerFixture().start();
    const token = await idp.sign(good);
    const issuer = idp.issuer;
    await idp.close();
    const auth = make([{ issuer }]);
    assert.equal(failure(await auth.authenticate(bearer(token), IMAP)).code, 'temporary');
  });

  it('fetches over HTTPS from a private CA given in ca_file', async () => {
    const tlsFiles = await ensureLocalTls(path.join(f.dir, 'issuer-tls'), ['localhost']);
    const { readFile } = await import('node:fs/promises');
    const idp = await new IssuerFixture({
      tls: { cert: await readFile(tlsFiles.cert, 'utf8'), key: await readFile(tlsFiles.key, 'utf8') },
    }).start();
    try {
      const without = make([{ issuer: idp.issuer }]);
      assert.equal(failure(await without.authenticate(bearer(await idp.sign(good)), IMAP)).code, 'temporary');
      const withCa = make([{ issuer: idp.issuer, ca_file: tlsFiles.caCert }]);
      assert.ok((await withCa.authenticate(bearer(await idp.sign(good)), IMAP)).ok);
    } finally {
      await idp.close();
    }
  });

  it('reads keys from jwks_file and re-reads it on rotation', async () => {
    const idp = new IssuerFixture();
    await idp.start();
    await idp.close(); // only its keys and signer are used
    const file = path.join(f.dir, 'jwks.json');
    await writeFile(file, JSON.stringify(idp.jwks()));
    let shift = 0;
    const auth = make([{ issuer: idp.issuer, jwks_file: file }], {}, () => Date.now() + shift);
    assert.ok((await auth.authenticate(bearer(await idp.sign(good)), IMAP)).ok);
    await idp.rotate();
    await writeFile(file, JSON.stringify(idp.jwks()));
    shift += 5_001; // the file is re-read at most every 5 s
    const o = await auth.authenticate(bearer(await idp.sign(good)), IMAP);
    assert.ok(o.ok, JSON.stringify(failure(o)));
  });

  it('trusts an in-process issuer (the embedded provider) without HTTP', async () => {
    const idp = new IssuerFixture();
    await idp.start();
    await idp.close();
    const auth = make([]);
    assert.deepEqual(auth.policy('imaps').mechanisms(true), ['PLAIN', 'LOGIN']);
    assert.equal(auth.trustEmbeddedIssuer({ issuer: idp.issuer, jwks: () => idp.jwks() }), true);
    assert.deepEqual(auth.policy('imaps').mechanisms(true), ['PLAIN', 'LOGIN', 'OAUTHBEARER', 'XOAUTH2']);
    assert.ok((await auth.authenticate(bearer(await idp.sign(good)), IMAP)).ok);
    await idp.rotate();
    assert.ok((await auth.authenticate(bearer(await idp.sign(good)), IMAP)).ok, 'rotation is seen at once');
    const off = make([], { embedded_issuer: false });
    assert.equal(off.trustEmbeddedIssuer({ issuer: idp.issuer, jwks: () => idp.jwks() }), false);
  });
});
