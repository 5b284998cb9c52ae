// Free/busy across domains: two Fingerpost servers on loopback serving one.test and two.test (names
// mapped by calendar.resolve, each trusting the other's CA). alice@one.test asks her server about
// bob@two.test; two.test finds one.test's issuer through WebFinger, fetches its JWKS and verifies
// the assertion. Allowed, denied and unverifiable askers, replay, key rotation at the asking server,
// and a WebFinger answer pointing at a private address.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { exportJWK, generateKeyPair, SignJWT } from 'jose';
import { ASSERTION_TYP, type AssertionSigner, jwkSigner, newestPublished, signAssertion } from '../../src/calendar/federation/assertion.ts';
import { createFederation, createOutbound } from '../../src/calendar/setup.ts';
import { ACCOUNT_FORMAT } from '../../src/client/store/account.ts';
import { clientPaths } from '../../src/client/store/paths.ts';
import { TokenStore } from '../../src/client/store/token-store.ts';
import { resourceIds, SCOPES } from '../../src/config/resources.ts';
import { ensureLocalTls } from '../../src/net/local-ca.ts';
import { icsEvent } from '../helpers/curl-http.ts';
import { commandSkip } from '../helpers/peers.ts';
import { freePorts } from '../helpers/ports.ts';
import { runCli, startTestServer, type TestServer } from '../helpers/server.ts';

const exec = promisify(execFile);
const PASSWORD = 'correct horse battery staple';
const DAY = { start: '2026-11-02T00:00:00Z', end: '2026-11-03T00:00:00Z' };

const event = (uid: string, start: string, end: string) => icsEvent(uid, `DTSTART:${start}`, `DTEND:${end}`);

describe('free/busy federation between two servers', { skip: commandSkip('curl', 'curl') }, () => {
  let tmp: string;
  let bundle: string;
  let one: TestServer;
  let two: TestServer;
  let rogue: https.Server;
  let ports: number[];
  let oneSigner: AssertionSigner;
  let resolve: string[];

  const bobUrl = () => `https://two.test:${ports[1]}/freebusy/bob@two.test`;
  const query = `?start=${DAY.start}&end=${DAY.end}`;

  /** curl against two.test (or one.test) with the mapped names and the CA bundle. */
  async function curl(url: string, headers: Record<string, string> = {}, data?: string): Promise<{ status: number; body: string }> {
    const args = ['-sS', '--cacert', bundle, '-o', '-', '-w', '\n%{http_code}'];
    for (const r of resolve) {
      const [host, target] = r.split('=') as [string, string];
      const [addr, port] = target.split(':');
      args.push('--resolve', `${host}:${port}:${addr}`);
    }
    for (const [k, v] of Object.entries(headers)) args.push('-H', `${k}: ${v}`);
    if (data !== undefined) args.push('--data-binary', data);
    const { stdout } = await exec('curl', [...args, url]);
    const nl = stdout.lastIndexOf('\n');
    return { status: Number(stdout.slice(nl + 1)), body: stdout.slice(0, nl) };
  }

  const assertionFrom = (signer: AssertionSigner, asker: string, aud = bobUrl(), lifetimeMs = 120_000, now?: number) =>
    signAssertion(signer, asker, aud, lifetimeMs, now);
  const askTwo = (assertion: string, url = bobUrl()) =>
    curl(`${url}${query}`, { authorization: `Assertion ${assertion}`, accept: 'application/json' });
  const availability = (attendees: string[]) =>
    curl(
      `https://one.test:${ports[0]}/calendar/availability`,
      { authorization: `Basic ${Buffer.from(`alice@one.test:${PASSWORD}`).toString('base64')}`, 'content-type': 'application/json' },
      JSON.stringify({ attendees, ...DAY }),
    ).then((r) => ({ status: r.status, body: JSON.parse(r.body) }));

  before(async () => {
    tmp = await mkdtemp(path.join(os.tmpdir(), 'fp-fed-'));
    ports = await freePorts(3);
    const dirs = ['one', 'two', 'rogue'].map((n) => path.join(tmp, n));
    const tlsFiles = await Promise.all(dirs.map((d, i) => ensureLocalTls(d, [['one.test', 'two.test', 'rogue.test'][i]!])));
    bundle = path.join(tmp, 'cas.pem');
    await writeFile(bundle, (await Promise.all(tlsFiles.map((f) => readFile(f.caCert, 'utf8')))).join('\n'));
    resolve = [`one.test=127.0.0.1:${ports[0]}`, `two.test=127.0.0.1:${ports[1]}`, `rogue.test=127.0.0.1:${ports[2]}`];
    const overrides = (host: string, port: number) => ({
      server: { hostname: host },
      http: { port },
      calendar: { resolve, ca_file: bundle },
    });
    one = await startTestServer({ dataDir: dirs[0], domain: 'one.test', overrides: overrides('one.test', ports[0]!) });
    two = await startTestServer({ dataDir: dirs[1], domain: 'two.test', overrides: overrides('two.test', ports[1]!) });
    await one.services.accounts.addUser({ address: 'alice@one.test', password: PASSWORD });
    for (const u of ['bob', 'carol']) await two.services.accounts.addUser({ address: `${u}@two.test`, password: PASSWORD });
    const bob = (await two.services.directory.findByAddress('bob@two.test'))!;
    const carol = (await two.services.directory.findByAddress('carol@two.test'))!;
    await two.services.calendar.importIcs(bob, 'default', event('b1', '20261102T090000Z', '20261102T100000Z'));
    await two.services.calendar.importIcs(carol, 'default', event('c1', '20261102T110000Z', '20261102T120000Z'));
    await two.services.calendar.store.setSharing(bob.id, { policy: 'list', allow: ['one.test'] });
    const alice = (await one.services.directory.findByAddress('alice@one.test'))!;
    await one.services.calendar.importIcs(alice, 'default', event('a1', '20261102T093000Z', '20261102T103000Z'));
    const idp = one.services.idp;
    oneSigner = jwkSigner(idp.issuer, async () => newestPublished((await idp.keys.load()).published, await idp.publicJwks()));

    // rogue.test: a WebFinger server whose issuer link points at a loopback address.
    const rogueTls = tlsFiles[2]!;
    rogue = https.createServer({ cert: await readFile(rogueTls.cert), key: await readFile(rogueTls.key) }, (_req, res) => {
      res.setHeader('content-type', 'application/jrd+json');
      res.end(
        JSON.stringify({
          subject: 'acct:eve@rogue.test',
          links: [{ rel: 'http://openid.net/specs/connect/1.0/issuer', href: `https://localhost:${ports[0]}/oidc` }],
        }),
      );
    });
    await new Promise<void>((r) => rogue.listen(ports[2], '127.0.0.1', r));
  });

  after(async () => {
    rogue?.closeAllConnections();
    await new Promise((r) => rogue?.close(r));
    await one?.close();
    await two?.close();
    await rm(tmp, { recursive: true, force: true });
  });

  it('allowed: alice@one.test sees bob@two.test, merged with her own calendar', async () => {
    const r = await availability(['alice@one.test', 'bob@two.test']);
    assert.equal(r.status, 200, JSON.stringify(r.body));
    assert.deepEqual(r.body.attendees[1], {
      address: 'bob@two.test',
      status: 'known',
      source: 'remote',
      busy: [{ start: '2026-11-02T09:00:00Z', end: '2026-11-02T10:00:00Z', type: 'BUSY' }],
      truncated: false,
    });
    assert.deepEqual(r.body.busy, [{ start: '2026-11-02T09:00:00Z', end: '2026-11-02T10:30:00Z', type: 'BUSY' }]);
    assert.deepEqual(r.body.free, [
      { start: '2026-11-02T00:00:00Z', end: '2026-11-02T09:00:00Z' },
      { start: '2026-11-02T10:30:00Z', end: '2026-11-03T00:00:00Z' },
    ]);
  });

  it('denied: carol@two.test shares with nobody; unknown domains are not discoverable', async () => {
    const r = await availability(['carol@two.test', 'nobody@two.test', 'zed@nowhere.invalid']);
    assert.deepEqual(
      r.body.attendees.map((a: { address: string; status: string; reason: string }) => [a.address, a.status, a.reason]),
      [
        ['carol@two.test', 'unknown', 'not-shared'],
        ['nobody@two.test', 'unknown', 'not-shared'],
        ['zed@nowhere.invalid', 'unknown', 'not-discoverable'],
      ],
    );
  });

  it('unverifiable askers get the same answer as unknown ones', async () => {
    const unknownAccount = await askTwo(
      await assertionFrom(oneSigner, 'alice@one.test', `https://two.test:${ports[1]}/freebusy/ghost@two.test`),
      `https://two.test:${ports[1]}/freebusy/ghost@two.test`,
    );
    assert.equal(unknownAccount.status, 404);
    const { privateKey } = await generateKeyPair('ES256', { extractable: true });
    const strayKey = jwkSigner(one.services.idp.issuer, async () => ({
      kid: 'stray',
      alg: 'ES256',
      privateJwk: await exportJWK(privateKey),
    }));
    const otherIssuer = jwkSigner('https://evil.test/oidc', async () => ({
      kid: 'x',
      alg: 'ES256',
      privateJwk: await exportJWK(privateKey),
    }));
    const hmac = await new SignJWT({ iss: one.services.idp.issuer, sub: 'alice@one.test', aud: bobUrl(), jti: 'h1' })
      .setProtectedHeader({ alg: 'HS256', typ: ASSERTION_TYP })
      .setIssuedAt()
      .setExpirationTime('2m')
      .sign(new TextEncoder().encode('a shared secret nobody agreed on'));
    const accessToken = (
      await one.services.idp.issueAdminToken({
        address: 'alice@one.test',
        resources: [bobUrl()],
        scopes: [SCOPES.calendars],
        ttlMs: 60_000,
      })
    ).token;
    const cases: Array<[string, string, RegExp]> = [
      ['signed by a key one.test does not publish', await assertionFrom(strayKey, 'alice@one.test'), /ERR_JWKS_NO_MATCHING_KEY/],
      [
        'from an issuer one.test does not name',
        await assertionFrom(otherIssuer, 'alice@one.test'),
        /iss https:\/\/evil\.test\/oidc is not the issuer one\.test names/,
      ],
      [
        'for a domain without WebFinger',
        await assertionFrom(oneSigner, 'mallory@nowhere.invalid'),
        /WebFinger for mallory@nowhere\.invalid failed/,
      ],
      ['expired', await assertionFrom(oneSigner, 'alice@one.test', bobUrl(), 60_000, Date.now() - 10 * 60_000), /expired/],
      ['too long-lived', await assertionFrom(oneSigner, 'alice@one.test', bobUrl(), 3_600_000), /lifetime 3600s is longer than allowed/],
      [
        'for another free/busy URL',
        await assertionFrom(oneSigner, 'alice@one.test', `https://two.test:${ports[1]}/freebusy/carol@two.test`),
        /aud is not this free\/busy URL/,
      ],
      ['claiming a user of two.test itself', await assertionFrom(oneSigner, 'carol@two.test'), /two\.test is served here/],
      ['HMAC-signed', hmac, /algorithm HS256 is not accepted/],
      ['an access token instead of an assertion', accessToken, /typ is "at\+jwt"/],
      ['garbage', 'not.a.jwt', /not a JWT|not a compact JWS/],
    ];
    // Each is refused for its own reason (asked of a verifier with two.test's configuration) …
    const fed = createFederation(two.config, {
      calendar: two.services.calendar,
      directory: two.services.directory,
      outbound: createOutbound(two.config),
    });
    for (const [name, token, reason] of cases) {
      const outcome = await fed.verifier.verify(token, [bobUrl()]);
      assert.equal(outcome.ok, false, name);
      assert.match((outcome as { reason: string }).reason, reason, name);
    }
    // … and over HTTP every one of them gets exactly the answer an unknown account gets.
    for (const [name, token] of cases) {
      const r = await askTwo(token);
      assert.deepEqual([r.status, r.body], [unknownAccount.status, unknownAccount.body], name);
    }
    // Without any credentials the answer is a challenge, not data.
    assert.equal((await curl(`${bobUrl()}${query}`)).status, 401);
    // When bob shares with anyone, an unverifiable asker gets what an anonymous one gets.
    const bob = (await two.services.directory.findByAddress('bob@two.test'))!;
    await two.services.calendar.store.setSharing(bob.id, { policy: 'anyone', allow: [] });
    try {
      const anon = await curl(`${bobUrl()}${query}`, { accept: 'application/json' });
      const forged = await askTwo(cases[0]![1]);
      assert.deepEqual([forged.status, forged.body], [200, anon.body]);
    } finally {
      await two.services.calendar.store.setSharing(bob.id, { policy: 'list', allow: ['one.test'] });
    }
  });

  it('a replayed assertion is refused', async () => {
    const token = await assertionFrom(oneSigner, 'alice@one.test');
    const first = await askTwo(token);
    assert.equal(first.status, 200, first.body);
    assert.deepEqual(JSON.parse(first.body).busy, [{ start: '2026-11-02T09:00:00Z', end: '2026-11-02T10:00:00Z', type: 'BUSY' }]);
    const again = await askTwo(token);
    assert.equal(again.status, 404);
  });

  it('key rotation at the asking server: two.test fetches the new JWKS for the unknown kid', async () => {
    // two.test has one.test's keys cached from the earlier requests.
    const { kid } = await one.services.idp.keys.rotate();
    // Wait until one.test publishes the new key (its provider re-reads keys; publicJwks() prompts it).
    for (let i = 0; ; i++) {
      await one.services.idp.publicJwks();
      const jwks = JSON.parse((await curl(`https://one.test:${ports[0]}/oidc/jwks`)).body) as { keys: Array<{ kid: string }> };
      if (jwks.keys.some((k) => k.kid === kid)) break;
      assert.ok(i < 100, 'one.test never published the rotated key');
      await new Promise((r) => setTimeout(r, 100));
    }
    const current = jwkSigner(one.services.idp.issuer, async () => (await one.services.idp.keys.load()).current);
    const token = await assertionFrom(current, 'alice@one.test');
    assert.equal(JSON.parse(Buffer.from(token.split('.')[0]!, 'base64url').toString()).kid, kid);
    const r = await askTwo(token);
    assert.equal(r.status, 200, r.body);
    // And the asking side's own path signs with the new key now that it is published.
    const viaOne = await availability(['bob@two.test']);
    assert.equal(viaOne.body.attendees[0].status, 'known', JSON.stringify(viaOne.body));
  });

  it('a WebFinger answer pointing at a private address is refused, with the reason', async () => {
    const { privateKey } = await generateKeyPair('ES256', { extractable: true });
    const rogueSigner = jwkSigner(`https://localhost:${ports[0]}/oidc`, async () => ({
      kid: 'r',
      alg: 'ES256',
      privateJwk: await exportJWK(privateKey),
    }));
    const token = await assertionFrom(rogueSigner, 'eve@rogue.test');
    const r = await askTwo(token);
    assert.equal(r.status, 404);
    // The same configuration, asked directly, says why.
    const fed = createFederation(two.config, {
      calendar: two.services.calendar,
      directory: two.services.directory,
      outbound: createOutbound(two.config),
    });
    const outcome = await fed.verifier.verify(await assertionFrom(rogueSigner, 'eve@rogue.test'), [bobUrl()]);
    assert.equal(outcome.ok, false);
    assert.match((outcome as { reason: string }).reason, /localhost resolves to 127\.0\.0\.1, which is not a public address/);
  });

  it("fingerpost freebusy asks the user's own server and prints who is busy, who is unknown and the free gaps", async () => {
    const args = [
      'freebusy',
      'bob@two.test',
      'alice@one.test',
      'carol@two.test',
      '--as',
      'alice@one.test',
      '--server',
      `https://localhost:${ports[0]}/calendar/`,
    ];
    const env = { XDG_CONFIG_HOME: path.join(tmp, 'xdg') };
    const r = await runCli([...args, '--from', '2026-11-02T08:00:00Z', '--to', '20261102T120000Z', '--password-stdin', '--ca', bundle], {
      input: `${PASSWORD}\n`,
      env,
    });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(
      r.stdout,
      [
        '2026-11-02 08:00Z – 2026-11-02 12:00Z (UTC)',
        '  bob@two.test: busy 2026-11-02 09:00Z–10:00Z',
        '  alice@one.test: busy 2026-11-02 09:30Z–10:30Z',
        '  carol@two.test: unknown (not-shared: not shared with you, or no such account (HTTP 404))',
        'free for everyone known:',
        '  2026-11-02 08:00Z – 2026-11-02 09:00Z',
        '  2026-11-02 10:30Z – 2026-11-02 12:00Z',
        '',
      ].join('\n'),
    );
    assert.match(r.stderr, /some attendees are unknown/);
    const json = await runCli([...args, '--from', '2026-11-02', '--to', '2026-11-03', '--password-stdin', '--ca', bundle, '--json'], {
      input: PASSWORD,
      env,
    });
    assert.equal(JSON.parse(json.stdout).attendees.length, 3);
    const wrong = await runCli([...args, '--from', '2026-11-02', '--to', '2026-11-03', '--password-stdin', '--ca', bundle], {
      input: 'wrong password',
      env,
    });
    assert.notEqual(wrong.code, 0);
    assert.match(wrong.stderr, /refused the sign-in \(401\)/);
    const bad = await runCli([...args, '--from', '2026-11-03', '--to', '2026-11-02', '--password-stdin', '--ca', bundle], {
      input: PASSWORD,
      env,
    });
    assert.match(bad.stderr, /inverted/);
  });

  it('fingerpost freebusy with nobody known says that nothing is known and exits non-zero, never "free"', async () => {
    const env = { XDG_CONFIG_HOME: path.join(tmp, 'xdg') };
    const args = [
      'freebusy',
      'carol@two.test',
      'nobody@two.test',
      '--as',
      'alice@one.test',
      '--server',
      `https://localhost:${ports[0]}/calendar`,
    ];
    const common = ['--from', '2026-11-02T08:00:00Z', '--to', '2026-11-02T12:00:00Z', '--password-stdin', '--ca', bundle];
    const r = await runCli([...args, ...common], { input: `${PASSWORD}\n`, env });
    assert.equal(r.code, 1, r.stderr);
    assert.match(r.stdout, /carol@two\.test: unknown \(not-shared/);
    assert.doesNotMatch(r.stdout, /free for everyone known/);
    assert.match(r.stderr, /nothing is known: no attendee's free\/busy could be read, so nobody is shown as free/);
    const json = await runCli([...args, ...common, '--json'], { input: `${PASSWORD}\n`, env });
    assert.equal(json.code, 1, 'the JSON answer is printed, and the exit code still says nothing is known');
    assert.equal(JSON.parse(json.stdout).attendees.length, 2);
  });

  it('fingerpost freebusy uses the calendar token of a signed-in account', async () => {
    const xdg = path.join(tmp, 'xdg-token');
    const env = { XDG_CONFIG_HOME: xdg };
    const resource = resourceIds(one.config).calendar;
    const issued = await one.services.idp.issueAdminToken({
      address: 'alice@one.test',
      resources: [resource],
      scopes: [SCOPES.calendars],
      ttlMs: 600_000,
    });
    // The account file `fingerpost login` writes: the calendar service and a cached token for its resource.
    const store = new TokenStore({ paths: clientPaths(env), env });
    await store.save(
      {
        format: ACCOUNT_FORMAT,
        version: 1,
        address: 'alice@one.test',
        issuer: one.services.idp.issuer,
        metadata: { issuer: one.services.idp.issuer, token_endpoint: `${one.services.idp.issuer}/token` },
        clientId: 'test-client',
        clientAuth: 'none',
        scopes: [SCOPES.calendars],
        resources: [resource],
        services: [{ protocol: 'calendar', url: `https://localhost:${ports[0]}/calendar`, auth: ['OAUTHBEARER'], resource }],
        sasl: 'OAUTHBEARER',
        store: { kind: 'file', reason: 'test' },
        createdAt: Date.now(),
        sealed: '',
      },
      { tokens: { [resource]: { token: issued.token, expiresAt: issued.expiresAt, obtainedAt: Date.now() } } },
    );
    const r = await runCli(
      ['freebusy', 'bob@two.test', '--from', '2026-11-02T08:00:00Z', '--to', '2026-11-02T12:00:00Z', '--ca', bundle, '--json'],
      { env },
    );
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(JSON.parse(r.stdout).attendees[0].busy, [
      { start: '2026-11-02T09:00:00Z', end: '2026-11-02T10:00:00Z', type: 'BUSY' },
    ]);
  });

  it('the resource identifiers line up: the free/busy URL WebFinger links is the assertion audience', async () => {
    const wf = await curl(
      `https://two.test:${ports[1]}/.well-known/webfinger?resource=acct%3Abob%40two.test&rel=http%3A%2F%2Fietf.org%2Ficalendar%2Ffreebusy`,
    );
    assert.equal(wf.status, 200, wf.body);
    assert.equal(JSON.parse(wf.body).links[0].href, bobUrl());
    assert.equal(resourceIds(two.config).calendar, `https://two.test:${ports[1]}/calendar`);
    assert.ok((rogue.address() as AddressInfo).port > 0);
  });
});
