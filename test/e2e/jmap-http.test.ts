// JMAP over HTTPS as clients meet it: discovery from nothing (401 → RFC 9728 metadata → issuer
// metadata → a token from the embedded provider → session), Bearer and Basic failures, request-
// level problem types with nothing changed, per-account blob isolation, and EventSource push
// (state, ping, closeafter, Last-Event-ID, and a revoked app password closing the stream), and the
// trusted gateway header of a single-sign-on proxy.
import assert from 'node:assert/strict';
import https from 'node:https';
import { after, before, describe, it } from 'node:test';
import * as oidc from 'openid-client';
import { parseWwwAuthenticate } from '../../src/auth/sasl/www-authenticate.ts';
import { resourceIds } from '../../src/config/resources.ts';
import { openEventStream, stateEvents } from '../helpers/event-stream.ts';
import { caFetch } from '../helpers/https-fetch.ts';
import { issueToken, signInWithForms } from '../helpers/idp.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';

const ALICE = 'alice@example.test';
const BOB = 'bob@example.test';
const PASSWORD = 'jmap http test password';
const MAIL = ['urn:ietf:params:jmap:core', 'urn:ietf:params:jmap:mail'];

// biome-ignore lint/suspicious/noExplicitAny: JMAP answers are checked field by field
type Json = any;

/** An EventSource stream read with node:https (the browser API cannot send Authorization). */
describe('JMAP over HTTPS', () => {
  let server: TestServer;
  let fetchCa: ReturnType<typeof caFetch>;
  let session: string;
  const basic = (user: string, password = PASSWORD) => `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;

  async function api(
    auth: string,
    body: unknown,
    contentType = 'application/json',
  ): Promise<{ status: number; json: Json; headers: Headers }> {
    const res = await fetchCa(`${server.baseUrl}/jmap/api`, {
      method: 'POST',
      headers: { authorization: auth, 'content-type': contentType },
      body: typeof body === 'string' ? body : JSON.stringify(body),
    });
    return { status: res.status, json: (await res.json()) as Json, headers: res.headers };
  }

  async function accountOf(user: string): Promise<string> {
    const r = await fetchCa(session, { headers: { authorization: basic(user) } });
    return ((await r.json()) as Json).primaryAccounts['urn:ietf:params:jmap:mail'];
  }

  before(async () => {
    server = await startTestServer({ overrides: { jmap: { max_size_upload: 4096, max_size_request: 8192 } } });
    await server.services.accounts.addUser({ address: ALICE, password: PASSWORD });
    await server.services.accounts.addUser({ address: BOB, password: PASSWORD });
    fetchCa = caFetch(server.ca);
    session = resourceIds(server.config).jmap;
  });
  after(() => server.close());

  it('discovery from nothing: 401 → resource metadata → issuer metadata → token → session', async () => {
    const wellKnown = await fetchCa(`${server.baseUrl}/.well-known/jmap`);
    assert.equal(wellKnown.status, 307);
    const sessionUrl = wellKnown.headers.get('location')!;
    assert.equal(sessionUrl, session);

    const anonymous = await fetchCa(sessionUrl);
    assert.equal(anonymous.status, 401);
    const challenges = parseWwwAuthenticate(anonymous.headers.get('www-authenticate') ?? '');
    const bearer = challenges.find((c) => c.scheme.toLowerCase() === 'bearer');
    assert.ok(bearer, 'a Bearer challenge');
    assert.ok(
      challenges.some((c) => c.scheme.toLowerCase() === 'basic'),
      'and a Basic one',
    );
    assert.equal(bearer.params['error'], undefined, 'no error without credentials (RFC 6750 §3.1)');
    assert.equal(bearer.params['scope'], 'urn:ietf:params:oauth:scope:mail');

    const metadata = (await (await fetchCa(bearer.params['resource_metadata']!)).json()) as Json;
    assert.equal(metadata.resource, sessionUrl, 'RFC 9728 §3.3: resource is the URL that was asked');
    const issuer: string = metadata.authorization_servers[0];
    assert.equal(issuer, `${server.config.publicUrl}/oidc`);
    const asMeta = (await (await fetchCa(`${issuer}/.well-known/openid-configuration`)).json()) as Json;
    assert.equal(asMeta.issuer, issuer, 'RFC 8414 §3.3: issuer is identical');
    assert.ok(asMeta.token_endpoint && asMeta.jwks_uri);

    // A client that knows nothing else registers itself (RFC 7591) with the discovered issuer, signs
    // the user in (authorization code + PKCE, RFC 8707 resource = the protected resource) and
    // gets its token from the provider's token endpoint.
    const cfg = await oidc.dynamicClientRegistration(
      new URL(issuer),
      { redirect_uris: ['http://127.0.0.1/cb'], token_endpoint_auth_method: 'none', client_name: 'JMAP discovery test' },
      oidc.None(),
      { [oidc.customFetch]: fetchCa },
    );
    cfg[oidc.customFetch] = fetchCa;
    const verifier = oidc.randomPKCECodeVerifier();
    const authUrl = oidc.buildAuthorizationUrl(cfg, {
      redirect_uri: 'http://127.0.0.1/cb',
      scope: `openid ${bearer.params['scope']}`,
      resource: metadata.resource,
      state: 'st',
      code_challenge: await oidc.calculatePKCECodeChallenge(verifier),
      code_challenge_method: 'S256',
    });
    const { url: callback } = await signInWithForms(server.ca, authUrl, { email: ALICE, password: PASSWORD });
    const tokens = await oidc.authorizationCodeGrant(cfg, callback, { pkceCodeVerifier: verifier, expectedState: 'st' });
    const token = tokens.access_token;
    const claims = JSON.parse(Buffer.from(token.split('.')[1]!, 'base64url').toString()) as Json;
    assert.equal(claims.iss, issuer);
    assert.deepEqual([claims.aud].flat(), [sessionUrl]);
    const authed = await fetchCa(sessionUrl, { headers: { authorization: `Bearer ${token}` } });
    assert.equal(authed.status, 200);
    assert.equal(authed.headers.get('cache-control'), 'no-cache, no-store, must-revalidate');
    const s = (await authed.json()) as Json;
    assert.equal(s.username, ALICE);
    const echo = await api(`Bearer ${token}`, { using: MAIL, methodCalls: [['Core/echo', { ping: 'pong' }, 'e']] });
    assert.deepEqual(echo.json.methodResponses, [['Core/echo', { ping: 'pong' }, 'e']]);
    assert.equal(echo.json.sessionState, s.state);
  });

  it('a failed token gets invalid_token with a reason; a token without the mail scope gets 403', async () => {
    const wrongAudience = await issueToken(server, ALICE, { resource: `imap://${server.config.server.hostname}` });
    for (const [token, why] of [
      [wrongAudience, /audience|resource/i],
      ['not.a.jwt', /./],
    ] as const) {
      const r = await fetchCa(session, { headers: { authorization: `Bearer ${token}` } });
      assert.equal(r.status, 401);
      const lines = r.headers.get('www-authenticate') ?? '';
      const bearer = parseWwwAuthenticate(lines).find((c) => c.scheme.toLowerCase() === 'bearer')!;
      assert.equal(bearer.params['error'], 'invalid_token');
      assert.match(bearer.params['error_description'] ?? '', why);
      assert.ok(bearer.params['resource_metadata']);
    }
    const noScope = await issueToken(server, ALICE, { resource: session, scope: 'openid' });
    const r = await fetchCa(session, { headers: { authorization: `Bearer ${noScope}` } });
    assert.equal(r.status, 403);
    const bearer = parseWwwAuthenticate(r.headers.get('www-authenticate') ?? '')[0]!;
    assert.equal(bearer.params['error'], 'insufficient_scope');
    const wrongPassword = await fetchCa(session, { headers: { authorization: basic(ALICE, 'wrong password!') } });
    assert.equal(wrongPassword.status, 401);
    assert.equal(parseWwwAuthenticate(wrongPassword.headers.get('www-authenticate') ?? '').length, 2);
  });

  it('answers request-level problems with problem JSON and changes nothing', async () => {
    const auth = basic(ALICE);
    const accountId = await accountOf(ALICE);
    const state = async () =>
      (await api(auth, { using: MAIL, methodCalls: [['Mailbox/get', { accountId, ids: [] }, 'm']] })).json.methodResponses[0][1].state;
    const before = await state();
    const create = ['Mailbox/set', { accountId, create: { x: { name: 'Should not exist' } } }, 's'];
    const cases: Array<[string, unknown, string, number, string, string?]> = [
      ['text/plain', { using: MAIL, methodCalls: [create] }, 'text/plain', 400, 'notJSON'],
      ['malformed JSON', `{"using":${JSON.stringify(MAIL)},"methodCalls":[`, 'application/json', 400, 'notJSON'],
      [
        'duplicate keys',
        `{"using":${JSON.stringify(MAIL)},"methodCalls":[],"methodCalls":[${JSON.stringify(create)}]}`,
        'application/json',
        400,
        'notJSON',
      ],
      [
        'an integer beyond 2^53',
        `{"using":${JSON.stringify(MAIL)},"methodCalls":[["Mailbox/set",{"accountId":"${accountId}","create":{"x":{"name":"n","sortOrder":9007199254740993}}},"s"]]}`,
        'application/json',
        400,
        'notJSON',
      ],
      ['not a Request', { using: MAIL }, 'application/json', 400, 'notRequest'],
      [
        'an unknown capability',
        { using: [...MAIL, 'urn:example:extension'], methodCalls: [create] },
        'application/json',
        400,
        'unknownCapability',
      ],
      [
        'too many calls',
        { using: MAIL, methodCalls: Array.from({ length: 17 }, (_, i) => ['Core/echo', {}, `c${i}`]) },
        'application/json',
        400,
        'limit',
        'maxCallsInRequest',
      ],
      [
        'too large a body',
        { using: MAIL, methodCalls: [['Core/echo', { pad: 'x'.repeat(9000) }, 'c']] },
        'application/json',
        400,
        'limit',
        'maxSizeRequest',
      ],
    ];
    for (const [name, body, type, status, problem, limit] of cases) {
      const r = await api(auth, body, type);
      assert.equal(r.status, status, name);
      assert.match(r.headers.get('content-type') ?? '', /^application\/problem\+json/, name);
      assert.equal(r.json.type, `urn:ietf:params:jmap:error:${problem}`, name);
      assert.equal(r.json.status, status, name);
      if (limit) assert.equal(r.json.limit, limit, name);
    }
    assert.equal(await state(), before, 'no refused request changed anything');
    const bigUpload = await fetchCa(`${server.baseUrl}/jmap/upload/${accountId}`, {
      method: 'POST',
      headers: { authorization: auth, 'content-type': 'application/octet-stream' },
      body: 'x'.repeat(5000),
    });
    assert.equal(bigUpload.status, 413);
    const problem = (await bigUpload.json()) as Json;
    assert.deepEqual([problem.type, problem.limit], ['urn:ietf:params:jmap:error:limit', 'maxSizeUpload']);
    const methodError = await api(auth, {
      using: MAIL,
      methodCalls: [
        ['Mailbox/get', { accountId, ids: 'nope' }, 'a'],
        ['Core/echo', { still: 'running' }, 'b'],
      ],
    });
    assert.equal(methodError.status, 200, 'method-level errors come inside a 200');
    assert.deepEqual(
      methodError.json.methodResponses.map((r: Json) => r[0]),
      ['error', 'Core/echo'],
    );
  });

  it('enforces maxConcurrentRequests per account from the moment a request arrives', async () => {
    const auth = basic(ALICE);
    const body = JSON.stringify({ using: MAIL, methodCalls: [['Core/echo', { held: true }, 'h']] });
    // Four requests whose bodies are still on the way hold all four slots.
    const held = Array.from({ length: 4 }, () => {
      const req = https.request(`${server.baseUrl}/jmap/api`, {
        method: 'POST',
        ca: server.ca,
        headers: { authorization: auth, 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(body)) },
      });
      const answered = new Promise<number>((resolve, reject) => {
        req.on('response', (res) => {
          res.resume();
          resolve(res.statusCode ?? 0);
        });
        req.on('error', reject);
      });
      req.write(body.slice(0, 10));
      return { req, answered };
    });
    let refused: { status: number; json: Json } | undefined;
    for (let i = 0; i < 100 && !refused; i++) {
      const r = await api(auth, { using: MAIL, methodCalls: [['Core/echo', {}, 'x']] });
      if (r.status === 429) refused = r;
      else await new Promise((resolve) => setTimeout(resolve, 50));
    }
    assert.ok(refused, 'a fifth concurrent request is refused');
    assert.deepEqual([refused.json.type, refused.json.limit], ['urn:ietf:params:jmap:error:limit', 'maxConcurrentRequests']);
    for (const h of held) h.req.end(body.slice(10));
    assert.deepEqual(await Promise.all(held.map((h) => h.answered)), [200, 200, 200, 200]);
    assert.equal((await api(auth, { using: MAIL, methodCalls: [['Core/echo', {}, 'x']] })).status, 200, 'the slots are free again');
  });

  it('keeps uploads per account: another account cannot download, import or parse them by id', async () => {
    const alice = await accountOf(ALICE);
    const bob = await accountOf(BOB);
    const secret = 'From: a@remote.test\r\nSubject: secret\r\n\r\nonly for alice\r\n';
    const up = await fetchCa(`${server.baseUrl}/jmap/upload/${alice}`, {
      method: 'POST',
      headers: { authorization: basic(ALICE), 'content-type': 'message/rfc822' },
      body: secret,
    });
    assert.equal(up.status, 201);
    const { blobId } = (await up.json()) as Json;
    const own = await fetchCa(`${server.baseUrl}/jmap/download/${alice}/${blobId}/m.eml?accept=message/rfc822`, {
      headers: { authorization: basic(ALICE) },
    });
    assert.equal(await own.text(), secret);
    assert.equal(own.headers.get('content-security-policy'), "sandbox; default-src 'none'");
    const viaOwnAccount = await fetchCa(`${server.baseUrl}/jmap/download/${bob}/${blobId}/m.eml`, {
      headers: { authorization: basic(BOB) },
    });
    assert.equal(viaOwnAccount.status, 404);
    const viaAlicesAccount = await fetchCa(`${server.baseUrl}/jmap/download/${alice}/${blobId}/m.eml`, {
      headers: { authorization: basic(BOB) },
    });
    assert.equal(viaAlicesAccount.status, 404);
    const uploadToAlice = await fetchCa(`${server.baseUrl}/jmap/upload/${alice}`, {
      method: 'POST',
      headers: { authorization: basic(BOB) },
      body: 'x',
    });
    assert.equal(uploadToAlice.status, 404);
    const inbox = (
      await api(basic(BOB), { using: MAIL, methodCalls: [['Mailbox/query', { accountId: bob, filter: { role: 'inbox' } }, 'q']] })
    ).json.methodResponses[0][1].ids[0];
    const r = await api(basic(BOB), {
      using: MAIL,
      methodCalls: [
        ['Email/import', { accountId: bob, emails: { i: { blobId, mailboxIds: { [inbox]: true } } } }, 'i'],
        ['Email/parse', { accountId: bob, blobIds: [blobId] }, 'p'],
      ],
    });
    assert.deepEqual(r.json.methodResponses[0][1].notCreated.i.properties, ['blobId'], "another account's upload is not found");
    assert.deepEqual(r.json.methodResponses[1][1].notFound, [blobId]);
  });

  it('pushes StateChange events with state ids, pings, honours closeafter and replays from Last-Event-ID', async () => {
    const auth = basic(ALICE);
    const accountId = await accountOf(ALICE);
    const url = (q: string) => `${server.baseUrl}/jmap/eventsource?${q}`;
    const live = await openEventStream(url('types=Email,Mailbox&closeafter=no&ping=1'), server.ca, { authorization: auth });
    assert.equal(live.status, 200);
    const ping = await live.waitFor(/event: ping\ndata: ([^\n]+)\n\n/);
    assert.deepEqual(JSON.parse(ping[1]!), { interval: 1 });
    const once = await openEventStream(url('types=*&closeafter=state&ping=0'), server.ca, { authorization: auth });

    const inbox = (await api(auth, { using: MAIL, methodCalls: [['Mailbox/query', { accountId, filter: { role: 'inbox' } }, 'q']] })).json
      .methodResponses[0][1].ids[0];
    const created = await api(auth, {
      using: MAIL,
      methodCalls: [
        [
          'Email/set',
          {
            accountId,
            create: {
              e: { mailboxIds: { [inbox]: true }, subject: 'push me', textBody: [{ partId: 'b' }], bodyValues: { b: { value: 'x' } } },
            },
          },
          's',
        ],
      ],
    });
    const newState = created.json.methodResponses[0][1].newState;
    await live.waitFor(/event: state\n/);
    const [event] = stateEvents(live.text);
    assert.equal(event!.data['@type'], 'StateChange');
    assert.equal(event!.data.changed[accountId].Email, newState);
    assert.ok(event!.data.changed[accountId].Mailbox, 'the inbox counts changed too');
    assert.equal(event!.data.changed[accountId].Thread, undefined, 'only the requested types');

    await once.ended;
    assert.equal(stateEvents(once.text).length, 1, 'closeafter=state ends the response after one state event');
    assert.ok(stateEvents(once.text)[0]!.data.changed[accountId].EmailDelivery, 'a new Email moves EmailDelivery');

    // A client that reconnects with the id of an older state hears what it missed at once.
    live.close();
    await api(auth, {
      using: MAIL,
      methodCalls: [
        ['Email/set', { accountId, update: { [created.json.methodResponses[0][1].created.e.id]: { 'keywords/$seen': true } } }, 'u'],
      ],
    });
    const again = await openEventStream(url('types=Email,Mailbox&closeafter=state&ping=0'), server.ca, {
      authorization: auth,
      'last-event-id': event!.id,
    });
    await again.ended;
    const replay = stateEvents(again.text);
    assert.equal(replay.length, 1);
    assert.notEqual(replay[0]!.data.changed[accountId].Email, newState);

    const bad = await openEventStream(url('types=Nonsense&closeafter=no&ping=0'), server.ca, { authorization: auth });
    assert.equal(bad.status, 400);
    bad.close();
  });

  it('a revoked app password closes its EventSource stream', async () => {
    const { info, secret } = await server.services.accounts.createAppPassword({
      address: BOB,
      name: 'push',
      protocols: ['http'],
      expiresAt: null,
    });
    const stream = await openEventStream(`${server.baseUrl}/jmap/eventsource?types=*&closeafter=no&ping=0`, server.ca, {
      authorization: basic(BOB, secret),
    });
    assert.equal(stream.status, 200);
    await stream.waitFor(/: connected/);
    await server.services.accounts.revokeAppPassword(BOB, String(info.id));
    await stream.waitFor(/event: close/, 20_000);
    await stream.ended;
    assert.match(stream.text, /event: close\ndata: \{"reason":"revoked"\}/);
    const after = await fetchCa(session, { headers: { authorization: basic(BOB, secret) } });
    assert.equal(after.status, 401);
  });
});

describe('JMAP behind a single-sign-on proxy (trusted gateway header)', () => {
  let server: TestServer;
  let fetchCa: ReturnType<typeof caFetch>;
  const SECRET = 'gateway-secret-for-jmap-1234';
  before(async () => {
    server = await startTestServer({
      overrides: {
        auth: {
          http_schemes: ['gateway', 'bearer', 'basic'],
          gateway: { header: 'X-Remote-User', from: ['127.0.0.1/32', '::1/128'], secret: SECRET },
        },
      },
    });
    await server.services.accounts.addUser({ address: ALICE, password: PASSWORD });
    fetchCa = caFetch(server.ca);
  });
  after(() => server.close());

  it('the proxy-asserted user gets the session; a wrong secret falls through to the 401 challenges', async () => {
    const session = resourceIds(server.config).jmap;
    const ok = await fetchCa(session, { headers: { 'x-remote-user': ALICE, 'x-fingerpost-gateway-secret': SECRET } });
    assert.equal(ok.status, 200);
    assert.equal(((await ok.json()) as Json).username, ALICE);
    const wrong = await fetchCa(session, { headers: { 'x-remote-user': ALICE, 'x-fingerpost-gateway-secret': 'not the secret at all' } });
    assert.equal(wrong.status, 401);
    const schemes = parseWwwAuthenticate(wrong.headers.get('www-authenticate') ?? '').map((c) => c.scheme.toLowerCase());
    assert.deepEqual(schemes, ['bearer', 'basic'], 'the gateway is not a scheme clients can answer');
    const basic = `Basic ${Buffer.from(`${ALICE}:${PASSWORD}`).toString('base64')}`;
    assert.equal((await fetchCa(session, { headers: { authorization: basic } })).status, 200, 'the other schemes still work');
  });
});
