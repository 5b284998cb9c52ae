// Two nodes on one PostgreSQL: JMAP changes to objects kept beside the mail (Identity,
// VacationResponse) made through node A reach EventSource clients of node B (RFC 8620 §7.3), and
// node B reports the same state (RFC 8620 §5.1) as node A.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { resourceIds } from '../../src/config/resources.ts';
import { openEventStream, stateEvents } from '../helpers/event-stream.ts';
import { caFetch } from '../helpers/https-fetch.ts';
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
    const stream = await openEventStream(`${b.baseUrl}/jmap/eventsource?types=Identity&closeafter=state&ping=0`, b.ca, {
      authorization: auth,
    });
    assert.equal(stream.status, 200);
    const [[, created]] = await api(a, [['Identity/set', { accountId, create: { i: { name: 'Dora on A', email: USER } } }, 's']]);
    assert.ok(created.created?.i?.id, JSON.stringify(created));
    await stream.waitFor(/event: state\n/, 15_000).finally(() => stream.close());
    const [event] = stateEvents(stream.text);
    assert.equal(event?.data.changed[accountId].Identity, created.newState, 'node B pushed the state node A produced');
    const [[, got]] = await api(b, [['Identity/get', { accountId, ids: [created.created.i.id] }, 'g']]);
    assert.equal(got.state, created.newState);
    assert.equal(got.list[0].name, 'Dora on A');
  });

  it('a VacationResponse change on node B is pushed to node A', async () => {
    const stream = await openEventStream(`${a.baseUrl}/jmap/eventsource?types=VacationResponse&closeafter=state&ping=0`, a.ca, {
      authorization: auth,
    });
    const [[, set]] = await api(b, [
      ['VacationResponse/set', { accountId, update: { singleton: { isEnabled: true, textBody: 'away' } } }, 's'],
    ]);
    assert.deepEqual(Object.keys(set.updated ?? {}), ['singleton'], JSON.stringify(set));
    await stream.waitFor(/event: state\n/, 15_000).finally(() => stream.close());
    const [event] = stateEvents(stream.text);
    assert.equal(event?.data.changed[accountId].VacationResponse, set.newState);
  });
});
