// fingerpost token without a network: cached tokens while fresh, per-service keys, the three
// output formats checked against fixed test vectors, and sign-in needed (exit 2) when a refresh
// would be required but no refresh token exists.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { clientExitCode } from '../../../src/client/errors.ts';
import { formatToken } from '../../../src/client/format.ts';
import { keepalive } from '../../../src/client/keepalive.ts';
import { accessToken, mergeTokenResponse, tokenKey } from '../../../src/client/tokens.ts';
import { account, type Home, tempHome } from './fixture.ts';

const ALICE = 'alice@example.test';
const NOW = 1_800_000_000_000;
const clock = { now: () => NOW };

describe('access tokens from the store', () => {
  let home: Home;
  before(async () => {
    home = await tempHome();
  });
  after(() => home.close());

  it('hands out a cached token while it is comfortably valid, per service resource', async () => {
    const store = home.store();
    const a = account(ALICE, { kind: 'file', reason: 't' });
    await store.save(a, {
      refreshToken: 'rt',
      tokens: {
        'imap://mail.example.test': { token: 'imap-token', expiresAt: NOW + 3_600_000, obtainedAt: NOW - 1000 },
        'smtp://mail.example.test': { token: 'smtp-token', expiresAt: NOW + 3_600_000, obtainedAt: NOW - 1000 },
      },
    });
    assert.equal((await accessToken({ address: ALICE, service: 'imap' }, { store, clock })).token.token, 'imap-token');
    assert.equal((await accessToken({ address: ALICE, service: 'smtp' }, { store, clock })).token.token, 'smtp-token');
    // No --service: the first resource (IMAP) of the account.
    assert.equal((await accessToken({ address: ALICE }, { store, clock })).token.token, 'imap-token');
    assert.equal(tokenKey(a, 'pop3'), '*', 'a service without a resource uses the token of the whole grant');
  });

  it('refuses a token for a service the sign-in did not learn (no audience to give it), exit 1', async () => {
    const store = home.store();
    await store.save(account(ALICE, { kind: 'file', reason: 't' }), {
      refreshToken: 'rt',
      tokens: { 'imap://mail.example.test': { token: 'imap-token', expiresAt: NOW + 3_600_000, obtainedAt: NOW - 1000 } },
    });
    await assert.rejects(accessToken({ address: ALICE, service: 'calendar' }, { store, clock }), (err: Error) => {
      assert.match(err.message, /has no calendar service/);
      assert.equal(clientExitCode(err), 1);
      return true;
    });
  });

  it('wants a refresh ahead of expiry and says sign-in needed when there is no refresh token', async () => {
    const store = home.store();
    await store.save(account(ALICE, { kind: 'file', reason: 't' }), {
      tokens: { 'imap://mail.example.test': { token: 'old', expiresAt: NOW + 60_000, obtainedAt: NOW - 3_540_000 } },
    });
    await assert.rejects(accessToken({ address: ALICE, service: 'imap' }, { store, clock }), (err: Error) => {
      assert.equal(clientExitCode(err), 2);
      assert.match(err.message, /no refresh token/);
      return true;
    });
    // --min-valid 30 accepts the same token.
    assert.equal((await accessToken({ address: ALICE, service: 'imap', minValiditySeconds: 30 }, { store, clock })).token.token, 'old');
  });

  it('keeps the rotated refresh token and other cached tokens when merging a response', () => {
    const before = { refreshToken: 'rt-1', refreshIssuedAt: 1, tokens: { a: { token: 'A', expiresAt: 5 } } };
    const after = mergeTokenResponse(before, { access_token: 'B', token_type: 'bearer', expires_in: 600, refresh_token: 'rt-2' }, 'b', NOW);
    assert.equal(after.refreshToken, 'rt-2');
    assert.equal(after.refreshIssuedAt, NOW);
    assert.deepEqual(after.tokens.a, { token: 'A', expiresAt: 5 });
    assert.equal(after.tokens.b?.expiresAt, NOW + 600_000);
    const same = mergeTokenResponse(after, { access_token: 'C', token_type: 'bearer' } as never, 'b', NOW + 1);
    assert.equal(same.refreshToken, 'rt-2', 'no new refresh token: the old one stays');
    assert.equal(same.tokens.b?.expiresAt, NOW + 1 + 300_000, 'no expires_in: assume five minutes');
    const keycloak = mergeTokenResponse(before, { access_token: 'D', token_type: 'bearer', refresh_expires_in: 1800 } as never, 'b', NOW);
    assert.equal(keycloak.refreshExpiresAt, NOW + 1_800_000);
  });

  it('keepalive reports a sign-in that is about to expire and the worst exit code', async () => {
    const store = home.store();
    await store.save(account('bob@example.test', { kind: 'file', reason: 't' }), { tokens: {} });
    const lines: string[] = [];
    const write = process.stderr.write;
    process.stderr.write = ((s: string) => lines.push(s)) as never;
    try {
      assert.equal(await keepalive(store, ['bob@example.test'], { warnDays: 14 }), 2);
    } finally {
      process.stderr.write = write;
    }
    assert.match(lines.join(''), /bob@example\.test: .*no refresh token/);
  });
});

describe('token output formats', () => {
  const issued = {
    account: account('alice@example.com', { kind: 'file', reason: 't' }),
    token: { token: 'vF9dft4qmTc2Nvb3RlckBhbHRhdmlzdGEuY29tCg==', expiresAt: NOW + 3_600_000 },
    resource: 'imap://mail.example.test',
    refreshed: false,
    refreshExpiresAt: undefined,
  };

  it('prints the bare token, the OAUTHBEARER and XOAUTH2 initial responses, or JSON', async () => {
    assert.equal(await formatToken(issued, 'token'), 'vF9dft4qmTc2Nvb3RlckBhbHRhdmlzdGEuY29tCg==');
    const ob = Buffer.from(await formatToken(issued, 'oauthbearer'), 'base64').toString('latin1');
    assert.equal(ob, 'n,a=alice@example.com,\x01auth=Bearer vF9dft4qmTc2Nvb3RlckBhbHRhdmlzdGEuY29tCg==\x01\x01');
    const withHost = Buffer.from(await formatToken(issued, 'oauthbearer', 'imap'), 'base64').toString('latin1');
    assert.match(withHost, /\x01host=mail\.example\.test\x01port=993\x01auth=Bearer /);
    const google = {
      ...issued,
      account: { ...issued.account, address: 'someuser@example.com' },
      token: { ...issued.token, token: 'ya29.vF9dft4qmTc2Nvb3RlckBhdHRhdmlzdGEuY29tCg' },
    };
    assert.equal(
      await formatToken(google, 'xoauth2'),
      'dXNlcj1zb21ldXNlckBleGFtcGxlLmNvbQFhdXRoPUJlYXJlciB5YTI5LnZGOWRmdDRxbVRjMk52YjNSbGNrQmhkSFJoZG1semRHRXVZMjl0Q2cBAQ==',
    );
    const json = JSON.parse(await formatToken(issued, 'json')) as Record<string, unknown>;
    assert.equal(json.access_token, issued.token.token);
    assert.equal(json.token_type, 'Bearer');
    assert.equal(json.resource, 'imap://mail.example.test');
    assert.match(String(json.expires_at), /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
  });
});
