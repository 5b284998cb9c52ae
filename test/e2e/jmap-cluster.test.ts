// Two nodes on one PostgreSQL: JMAP changes of every type (Mailbox, Email, Thread, Identity,
// EmailSubmission, VacationResponse, Quota) made through node A reach EventSource clients of
// node B (RFC 8620 §7.3) and its WebSocket push clients (RFC 8887 §4.3.5), and node B reports
// the same state (RFC 8620 §5.1) as node A. (PushSubscription delivery from several nodes, once
// each, is test/unit/jmap/push-delivery.test.ts.)
import assert from 'node:assert/strict';
import tls from 'node:tls';
import { after, before, describe, it } from 'node:test';
import { setAccountQuota } from '../../src/admin/quota.ts';
import { resourceIds } from '../../src/config/resources.ts';
import { openEventStream, stateEvents } from '../helpers/event-stream.ts';
import { caFetch } from '../helpers/https-fetch.ts';
import { connectJmapSocket } from '../helpers/jmap-websocket.ts';
import { pgAvailable, peerSkip } from '../helpers/peers.ts';
import { tempPgDatabase } from '../helpers/pg.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';

const skip = peerSkip('PostgreSQL', await pgAvailable(), 'start it: pg_ctlcluster 15 main start');
const USER = 'dora@example.test';
const PASSWORD = 'jmap cluster test password';
const USING = [
  'urn:ietf:params:jmap:core',
  'urn:ietf:params:jmap:mail',
  'urn:ietf:params:jmap:submission',
  'urn:ietf:params:jmap:vacationresponse',
  'urn:ietf:params:jmap:quota',
];
const auth = `Basic ${Buffer.from(`${USER}:${PASSWORD}`).toString('base64')}`;

// biome-ignore lint/suspicious/noExplicitAny: JMAP answers are checked field by field
type Json = any;

describe('JMAP on two nodes of one PostgreSQL', { skip }, () => {
  let a: TestServer;
  let b: TestServer;
  let drop = async () => {};
  let accountId = '';

  async function api(node: TestServer, methodCalls: unknown[]): Promise<Json> {
    const res = await caFetch(node.ca)(`${node.baseUrl}/jmap/api`, {
      method: 'POST',
      headers: { authorization: auth, 'content-type': 'application/json' },
      body: JSON.stringify({ using: USING, methodCalls }),
    });
    assert.equal(res.status, 200);
    return ((await res.json()) as Json).methodResponses;
  }

  before(async () => {
    const tmp = await tempPgDatabase();
    drop = tmp.drop;
    // A short poll so that a lost NOTIFY would still be caught, yet the NOTIFY is what wakes node B.
    const overrides = { store: { url: tmp.url }, auth: { events_poll: '30s' } };
    a = await startTestServer({ overrides });
    b = await startTestServer({ overrides });
    await a.services.accounts.addUser({ address: USER, password: PASSWORD });
    const session = (await (await caFetch(b.ca)(resourceIds(b.config).jmap, { headers: { authorization: auth } })).json()) as Json;
    accountId = session.primaryAccounts['urn:ietf:params:jmap:mail'];
  });
  after(async () => {
    await a?.close();
    await b?.close();
    await drop();
  });

  it('an Identity created on node A is pushed to node B and B reports the new state', async () => {
    const stream = await openEventStream(`${b.baseUrl}/jmap/eventsource?types=Identity&closeafter=no&ping=0`, b.ca, {
      authorization: auth,
    });
    assert.equal(stream.status, 200);
    const [[, created]] = await api(a, [['Identity/set', { accountId, create: { i: { name: 'Dora on A', email: USER } } }, 's']]);
    assert.ok(created.created?.i?.id, JSON.stringify(created));
    // Node A may make the default Identity first (its own change); node B must push A's final state.
    await stream.waitFor(new RegExp(`"Identity":"${created.newState}"`), 15_000).finally(() => stream.close());
    const events = stateEvents(stream.text);
    assert.equal(events.at(-1)?.data.changed[accountId].Identity, created.newState, 'node B pushed the state node A produced');
    const [[, got]] = await api(b, [['Identity/get', { accountId, ids: [created.created.i.id] }, 'g']]);
    assert.equal(got.state, created.newState);
    assert.equal(got.list[0].name, 'Dora on A');
  });

  it('a VacationResponse change on node B is pushed to node A', async () => {
    const stream = await openEventStream(`${a.baseUrl}/jmap/eventsource?types=VacationResponse&closeafter=no&ping=0`, a.ca, {
      authorization: auth,
    });
    const [[, set]] = await api(b, [
      ['VacationResponse/set', { accountId, update: { singleton: { isEnabled: true, textBody: 'away' } } }, 's'],
    ]);
    assert.deepEqual(Object.keys(set.updated ?? {}), ['singleton'], JSON.stringify(set));
    await stream.waitFor(new RegExp(`"VacationResponse":"${set.newState}"`), 15_000).finally(() => stream.close());
    assert.equal(stateEvents(stream.text).at(-1)?.data.changed[accountId].VacationResponse, set.newState);
  });

  it('every JMAP type changed through node A reaches node B with the state node A reports', async () => {
    // A storage limit makes the account's Quota object exist, so mail written below changes it.
    await setAccountQuota(a.services, USER, 50_000_000);
    const stream = await openEventStream(`${b.baseUrl}/jmap/eventsource?types=*&closeafter=no&ping=0`, b.ca, { authorization: auth });
    assert.equal(stream.status, 200);
    try {
      const [[, mailbox]] = await api(a, [['Mailbox/set', { accountId, create: { m: { name: 'Cluster' } } }, 'm']]);
      const box = mailbox.created?.m?.id;
      assert.ok(box, JSON.stringify(mailbox));
      const [[, identities]] = await api(a, [['Identity/get', { accountId }, 'i']]);
      const [[, renamed]] = await api(a, [
        ['Identity/set', { accountId, update: { [identities.list[0].id]: { name: 'Dora, renamed on A' } } }, 'r'],
      ]);
      assert.ok(renamed.updated, JSON.stringify(renamed));
      const draft = {
        mailboxIds: { [box]: true },
        keywords: { $draft: true },
        from: [{ email: USER }],
        to: [{ email: USER }],
        subject: 'from node A',
        bodyValues: { t: { value: 'hello from node A' } },
        textBody: [{ partId: 't', type: 'text/plain' }],
      };
      const [[, email]] = await api(a, [['Email/set', { accountId, create: { e: draft } }, 'e']]);
      const emailId = email.created?.e?.id;
      assert.ok(emailId, JSON.stringify(email));
      const [[, sent]] = await api(a, [
        ['EmailSubmission/set', { accountId, create: { s: { identityId: identities.list[0].id, emailId } } }, 's'],
      ]);
      assert.ok(sent.created?.s?.id, JSON.stringify(sent));
      await api(a, [['VacationResponse/set', { accountId, update: { singleton: { isEnabled: false, subject: 'cluster' } } }, 'v']]);
      const states = await api(a, [
        ['Mailbox/get', { accountId, ids: [] }, '1'],
        ['Email/get', { accountId, ids: [] }, '2'],
        ['Thread/get', { accountId, ids: [] }, '3'],
        ['Identity/get', { accountId, ids: [] }, '4'],
        ['EmailSubmission/get', { accountId, ids: [] }, '5'],
        ['VacationResponse/get', { accountId, ids: [] }, '6'],
        ['Quota/get', { accountId, ids: [] }, '7'],
      ]);
      const onA = new Map<string, string>(states.map(([name, r]: [string, Json]) => [name.split('/')[0], r.state]));
      assert.equal(onA.size, 7, JSON.stringify(states));
      for (const [type, state] of onA) {
        await stream.waitFor(new RegExp(`"${type}":"${state}"`), 15_000);
      }
      const latest = new Map<string, string>();
      for (const e of stateEvents(stream.text))
        for (const [t, v] of Object.entries(e.data.changed[accountId] ?? {})) latest.set(t, v as string);
      for (const [type, state] of onA) assert.equal(latest.get(type), state, `node B's last ${type} state is node A's`);
      const onB = await api(b, [
        ['Mailbox/get', { accountId, ids: [] }, '1'],
        ['Quota/get', { accountId, ids: [] }, '2'],
      ]);
      assert.equal(onB[0][1].state, onA.get('Mailbox'));
      assert.equal(onB[1][1].state, onA.get('Quota'));
    } finally {
      stream.close();
    }
  });

  it("a change through node A reaches node B's WebSocket push client as a StateChange with A's state", async () => {
    tls.setDefaultCACertificates([...tls.getCACertificates('default'), b.ca]);
    const session = (await (await caFetch(b.ca)(resourceIds(b.config).jmap, { headers: { authorization: auth } })).json()) as Json;
    const socket = await connectJmapSocket(session.capabilities['urn:ietf:params:jmap:websocket'].url, auth);
    try {
      socket.send({ '@type': 'WebSocketPushEnable', dataTypes: null });
      // A request answered on the socket shows the push is enabled before node A writes.
      socket.send({ '@type': 'Request', id: 'r', using: ['urn:ietf:params:jmap:core'], methodCalls: [['Core/echo', {}, 'e']] });
      const early: Json[] = [];
      for (let m = await socket.next(); m['@type'] !== 'Response'; m = await socket.next()) early.push(m);
      const [[, identities]] = await api(a, [['Identity/get', { accountId }, 'i']]);
      const answers = await api(a, [
        ['Mailbox/set', { accountId, create: { w: { name: 'Over the socket' } } }, 'm'],
        ['Identity/set', { accountId, update: { [identities.list[0].id]: { name: 'Dora, over the socket' } } }, 'r'],
        ['VacationResponse/set', { accountId, update: { singleton: { subject: 'socket' } } }, 'v'],
      ]);
      const wanted = new Map<string, string>([
        ['Mailbox', answers[0][1].newState],
        ['Identity', answers[1][1].newState],
        ['VacationResponse', answers[2][1].newState],
      ]);
      const latest = new Map<string, string>();
      const done = () => [...wanted].every(([type, state]) => latest.get(type) === state);
      while (!done()) {
        const m = await socket.next(15_000);
        if (m['@type'] !== 'StateChange') continue;
        for (const [type, state] of Object.entries(m.changed[accountId] ?? {})) latest.set(type, state as string);
      }
      for (const [type, state] of wanted) assert.equal(latest.get(type), state, `node B pushed node A's ${type} state`);
    } finally {
      socket.ws.close();
    }
  });
});
