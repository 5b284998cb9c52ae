// JMAP over WebSocket (RFC 8887) with Node's built-in WebSocket client (undici): the session
// advertises the endpoint; Requests get Responses with their requestId; bad messages get
// RequestError and the socket stays usable; push with pushState replay; the upgrade itself is
// authenticated (401 with challenges, the jmap subprotocol required); a revoked app password
// closes the socket with 1008; an oversized message closes it with 1009.
import assert from 'node:assert/strict';
import https from 'node:https';
import tls from 'node:tls';
import { after, before, describe, it } from 'node:test';
import { caFetch } from '../helpers/https-fetch.ts';
import { connectJmapSocket as connect } from '../helpers/jmap-websocket.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';

const USER = 'ws@example.test';
const PASSWORD = 'websocket test password';

// biome-ignore lint/suspicious/noExplicitAny: JMAP messages are checked field by field
type Json = any;

/** A raw upgrade request, to see the HTTP answer a WebSocket API hides. */
function rawUpgrade(
  url: string,
  ca: string,
  headers: Record<string, string>,
): Promise<{ status: number; headers: Record<string, string | string[] | undefined> }> {
  return new Promise((resolve, reject) => {
    const req = https.request(url.replace(/^wss:/, 'https:'), {
      ca,
      headers: {
        connection: 'Upgrade',
        upgrade: 'websocket',
        'sec-websocket-version': '13',
        'sec-websocket-key': 'dGhlIHNhbXBsZSBub25jZQ==',
        ...headers,
      },
    });
    req.on('response', (res) => {
      res.resume();
      resolve({ status: res.statusCode ?? 0, headers: res.headers });
    });
    req.on('upgrade', (res, socket) => {
      socket.destroy();
      resolve({ status: res.statusCode ?? 0, headers: res.headers });
    });
    req.on('error', reject);
    req.end();
  });
}

describe('JMAP over WebSocket', () => {
  let server: TestServer;
  let url: string;
  let accountId: string;
  const basic = (password = PASSWORD) => `Basic ${Buffer.from(`${USER}:${password}`).toString('base64')}`;

  before(async () => {
    server = await startTestServer({ overrides: { jmap: { max_size_request: 4096 } } });
    tls.setDefaultCACertificates([...tls.getCACertificates('default'), server.ca]);
    await server.services.accounts.addUser({ address: USER, password: PASSWORD });
    const session = (await (
      await caFetch(server.ca)(`${server.baseUrl}/jmap/session`, { headers: { authorization: basic() } })
    ).json()) as Json;
    const capability = session.capabilities['urn:ietf:params:jmap:websocket'];
    assert.deepEqual(capability, { url: `wss://localhost:${server.ports.https}/jmap/ws`, supportsPush: true });
    url = capability.url;
    accountId = session.primaryAccounts['urn:ietf:params:jmap:mail'];
  });
  after(() => server.close());

  it('answers Requests in order with their requestId, and RequestError for bad messages without closing', async () => {
    const c = await connect(url, basic());
    assert.equal(c.ws.protocol, 'jmap');
    c.send({
      '@type': 'Request',
      id: 'r1',
      using: ['urn:ietf:params:jmap:core', 'urn:ietf:params:jmap:mail'],
      methodCalls: [
        ['Mailbox/set', { accountId, create: { box: { name: 'Over WebSocket' } } }, 'm'],
        ['Mailbox/get', { accountId, ids: ['#box'], properties: ['name'] }, 'g'],
      ],
      createdIds: {},
    });
    c.send('{"@type":"Request","id":"r2","using":[],"using":[]}');
    c.send({ '@type': 'Nonsense', id: 'r3' });
    c.send({ '@type': 'Request', id: 'r4', using: ['urn:example:nope'], methodCalls: [] });
    const r1 = await c.next();
    assert.equal(r1['@type'], 'Response');
    assert.equal(r1.requestId, 'r1');
    const boxId = r1.createdIds.box;
    assert.deepEqual(r1.methodResponses[1], [
      'Mailbox/get',
      { accountId, state: r1.methodResponses[0][1].newState, list: [{ id: boxId, name: 'Over WebSocket' }], notFound: [] },
      'g',
    ]);
    const r2 = await c.next();
    assert.deepEqual([r2['@type'], r2.type], ['RequestError', 'urn:ietf:params:jmap:error:notJSON']);
    const r3 = await c.next();
    assert.deepEqual([r3['@type'], r3.type, r3.requestId], ['RequestError', 'urn:ietf:params:jmap:error:notRequest', 'r3']);
    const r4 = await c.next();
    assert.deepEqual([r4['@type'], r4.type, r4.requestId], ['RequestError', 'urn:ietf:params:jmap:error:unknownCapability', 'r4']);
    c.send({ '@type': 'Request', id: 'r5', using: ['urn:ietf:params:jmap:core'], methodCalls: [['Core/echo', { still: 'open' }, 'e']] });
    assert.deepEqual((await c.next()).methodResponses, [['Core/echo', { still: 'open' }, 'e']]);
    c.ws.close(1000);
    assert.equal((await c.closed).code, 1000);
  });

  it('pushes StateChange after WebSocketPushEnable and replays from a pushState', async () => {
    const c = await connect(url, basic());
    c.send({ '@type': 'WebSocketPushEnable', dataTypes: ['Mailbox'] });
    await new Promise((r) => setTimeout(r, 100));
    c.send({
      '@type': 'Request',
      id: 'a',
      using: ['urn:ietf:params:jmap:mail'],
      methodCalls: [['Mailbox/set', { accountId, create: { x: { name: 'Pushed' } } }, 's']],
    });
    const messages = [await c.next(), await c.next()];
    const change = messages.find((m) => m['@type'] === 'StateChange');
    const response = messages.find((m) => m['@type'] === 'Response');
    assert.ok(change && response, JSON.stringify(messages));
    assert.deepEqual(Object.keys(change.changed[accountId]), ['Mailbox']);
    assert.equal(change.changed[accountId].Mailbox, response.methodResponses[0][1].newState);
    c.ws.close();

    // Changes made while disconnected arrive at once on reconnect with the last pushState.
    await caFetch(server.ca)(`${server.baseUrl}/jmap/api`, {
      method: 'POST',
      headers: { authorization: basic(), 'content-type': 'application/json' },
      body: JSON.stringify({
        using: ['urn:ietf:params:jmap:mail'],
        methodCalls: [['Mailbox/set', { accountId, create: { y: { name: 'Missed' } } }, 's']],
      }),
    });
    const again = await connect(url, basic());
    again.send({ '@type': 'WebSocketPushEnable', dataTypes: ['Mailbox'], pushState: change.pushState });
    const replay = await again.next();
    assert.equal(replay['@type'], 'StateChange');
    assert.notEqual(replay.changed[accountId].Mailbox, change.changed[accountId].Mailbox);
    again.ws.close();
  });

  it('authenticates the upgrade and requires the jmap subprotocol', async () => {
    const anonymous = await rawUpgrade(url, server.ca, { 'sec-websocket-protocol': 'jmap' });
    assert.equal(anonymous.status, 401);
    assert.match(String(anonymous.headers['www-authenticate']), /Bearer .*resource_metadata=/);
    const noProtocol = await rawUpgrade(url, server.ca, { authorization: basic() });
    assert.equal(noProtocol.status, 400);
    const ok = await rawUpgrade(url, server.ca, { authorization: basic(), 'sec-websocket-protocol': 'jmap' });
    assert.equal(ok.status, 101);
    assert.equal(ok.headers['sec-websocket-accept'], 's3pPLMBiTxaQ9kYGzzhZRbK+xOo=', 'RFC 6455 §1.3 example key');
  });

  it('closes with 1008 when the app password is revoked, and with 1009 on an oversized message', async () => {
    const { info, secret } = await server.services.accounts.createAppPassword({
      address: USER,
      name: 'ws',
      protocols: ['http'],
      expiresAt: null,
    });
    const c = await connect(url, basic(secret));
    await server.services.accounts.revokeAppPassword(USER, String(info.id));
    assert.deepEqual(await c.closed, { code: 1008, reason: 'revoked' });
    const big = await connect(url, basic());
    big.send({ '@type': 'Request', using: [], methodCalls: [], pad: 'x'.repeat(5000) });
    assert.equal((await big.closed).code, 1009);
  });
});
