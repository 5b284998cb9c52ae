// JMAP Sharing (RFC 9670) over raw HTTP, on the same grants IMAP ACL (RFC 4314) shows: alice
// shares a mailbox with bob through Mailbox/set shareWith; bob's session lists alice's account,
// he gets a ShareNotification, sees Principals, reads only what is shared and may change only
// what his rights allow; a right given through IMAP SETACL shows in JMAP at once.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { resourceIds } from '../../src/config/resources.ts';
import { openEventStream } from '../helpers/event-stream.ts';
import { caFetch } from '../helpers/https-fetch.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';
import { LineClient } from '../helpers/wire.ts';

const ALICE = 'alice@example.test';
const BOB = 'bob@example.test';
const CAROL = 'carol@other.test';
const PASSWORD = 'sharing test password';
const USING = ['urn:ietf:params:jmap:core', 'urn:ietf:params:jmap:mail', 'urn:ietf:params:jmap:principals'];

// biome-ignore lint/suspicious/noExplicitAny: JMAP answers are checked field by field
type Json = any;

describe('JMAP Sharing on the IMAP ACL grants', () => {
  let t: TestServer;
  let fetchCa: ReturnType<typeof caFetch>;
  const ids: Record<string, string> = {};
  let team = '';
  let aliceInboxEmail = '';

  const auth = (user: string) => `Basic ${Buffer.from(`${user}:${PASSWORD}`).toString('base64')}`;
  async function session(user: string): Promise<Json> {
    return (await fetchCa(resourceIds(t.config).jmap, { headers: { authorization: auth(user) } })).json();
  }
  async function jmap(user: string, methodCalls: unknown[]): Promise<Json[]> {
    const res = await fetchCa(`${t.baseUrl}/jmap/api`, {
      method: 'POST',
      headers: { authorization: auth(user), 'content-type': 'application/json' },
      body: JSON.stringify({ using: USING, methodCalls }),
    });
    assert.equal(res.status, 200);
    return ((await res.json()) as Json).methodResponses;
  }
  async function imap(user: string, commands: string[]): Promise<string[]> {
    const c = await LineClient.connect(t.ports.imaps, { tls: true, ca: t.ca });
    await c.line();
    const out: string[] = [];
    for (const [i, text] of [`LOGIN ${user} "${PASSWORD}"`, ...commands].entries()) {
      c.write(`c${i} ${text}\r\n`);
      out.push(...(await c.until(new RegExp(`^c${i} (OK|NO|BAD)`))));
    }
    c.socket.destroy();
    return out;
  }
  const literal = (subject: string) => {
    const m = `From: ${ALICE}\r\nSubject: ${subject}\r\n\r\n${subject}\r\n`;
    return `{${Buffer.byteLength(m)}+}\r\n${m}`;
  };

  before(async () => {
    t = await startTestServer();
    fetchCa = caFetch(t.ca);
    await t.services.accounts.addDomain('other.test');
    for (const address of [ALICE, BOB, CAROL]) {
      const { account } = await t.services.accounts.addUser({ address, password: PASSWORD });
      ids[address] = String(account.id);
    }
    await imap(ALICE, [
      'CREATE Team',
      `APPEND Team ${literal('team one')}`,
      `APPEND Team ${literal('team two')}`,
      `APPEND INBOX ${literal('private')}`,
    ]);
    const [[, boxes], [, inbox]] = await jmap(ALICE, [
      ['Mailbox/query', { accountId: `A${ids[ALICE]}`, filter: { name: 'Team' } }, 'q'],
      ['Email/query', { accountId: `A${ids[ALICE]}`, filter: { text: 'private' } }, 'e'],
    ]);
    team = boxes.ids[0];
    aliceInboxEmail = inbox.ids[0];
    assert.ok(team && aliceInboxEmail);
  });
  after(() => t.close());

  const alice = () => `A${ids[ALICE]}`;
  const bobPrincipal = () => `U${ids[BOB]}`;

  it("before sharing bob has one account and alice's is not found", async () => {
    const s = await session(BOB);
    assert.deepEqual(Object.keys(s.accounts), [`A${ids[BOB]}`]);
    assert.deepEqual(s.capabilities['urn:ietf:params:jmap:principals'], {});
    assert.deepEqual(s.accounts[`A${ids[BOB]}`].accountCapabilities['urn:ietf:params:jmap:principals'], {
      currentUserPrincipalId: `U${ids[BOB]}`,
    });
    assert.equal(s.primaryAccounts['urn:ietf:params:jmap:principals'], `A${ids[BOB]}`);
    const [[name, err]] = await jmap(BOB, [['Email/query', { accountId: alice() }, 'q']]);
    assert.equal(name, 'error');
    assert.equal(err.type, 'accountNotFound');
  });

  it('shareWith is checked: unknown principals and other domains are refused', async () => {
    const [[, r]] = await jmap(ALICE, [
      [
        'Mailbox/set',
        {
          accountId: alice(),
          update: { [team]: { [`shareWith/U${ids[CAROL]}`]: { mayReadItems: true } } },
        },
        's',
      ],
    ]);
    assert.equal(r.notUpdated[team].type, 'invalidProperties', JSON.stringify(r));
    const [[, r2]] = await jmap(ALICE, [
      ['Mailbox/set', { accountId: alice(), update: { [team]: { 'shareWith/U999999': { mayReadItems: true } } } }, 's'],
    ]);
    assert.equal(r2.notUpdated[team].type, 'invalidProperties');
    const [[, r3]] = await jmap(ALICE, [
      ['Mailbox/set', { accountId: alice(), update: { [team]: { [`shareWith/${bobPrincipal()}`]: { mayFly: true } } } }, 's'],
    ]);
    assert.equal(r3.notUpdated[team].type, 'invalidProperties');
  });

  it('alice shares Team read-only with shareWith; IMAP GETACL shows the same grant', async () => {
    const [[, set], [, got]] = await jmap(ALICE, [
      ['Mailbox/set', { accountId: alice(), update: { [team]: { [`shareWith/${bobPrincipal()}`]: { mayReadItems: true } } } }, 's'],
      ['Mailbox/get', { accountId: alice(), ids: [team], properties: ['shareWith', 'myRights'] }, 'g'],
    ]);
    assert.deepEqual(set.updated, { [team]: null }, JSON.stringify(set));
    assert.equal(got.list[0].shareWith[bobPrincipal()].mayReadItems, true);
    assert.equal(got.list[0].shareWith[bobPrincipal()].maySetSeen, false);
    assert.equal(got.list[0].myRights.mayDelete, true);
    const acl = await imap(ALICE, ['GETACL Team']);
    assert.ok(acl.includes(`* ACL Team ${ALICE} lrswipkxteacd ${BOB} lr`), acl.join('\n'));
  });

  it("bob's session lists alice's account, read-only, with the owner's principal", async () => {
    const s = await session(BOB);
    const entry = s.accounts[alice()];
    assert.equal(entry.name, ALICE);
    assert.equal(entry.isPersonal, false);
    assert.equal(entry.isReadOnly, true);
    assert.equal(entry.accountCapabilities['urn:ietf:params:jmap:mail'].mayCreateTopLevelMailbox, false);
    assert.deepEqual(entry.accountCapabilities['urn:ietf:params:jmap:principals:owner'], {
      accountIdForPrincipal: alice(),
      principalId: `U${ids[ALICE]}`,
    });
    assert.equal(entry.accountCapabilities['urn:ietf:params:jmap:submission'], undefined, 'no sending as alice');
  });

  it('bob is told with a ShareNotification and sees the Principals of his domain', async () => {
    const own = `A${ids[BOB]}`;
    const [[, notes], [, principals], [, query]] = await jmap(BOB, [
      ['ShareNotification/get', { accountId: own, ids: null }, 'n'],
      ['Principal/get', { accountId: own, ids: null }, 'p'],
      ['Principal/query', { accountId: own, filter: { email: 'alice' } }, 'q'],
    ]);
    assert.equal(notes.list.length, 1);
    const n = notes.list[0];
    assert.equal(n.objectType, 'Mailbox');
    assert.equal(n.objectAccountId, alice());
    assert.equal(n.objectId, team);
    assert.equal(n.name, 'Team');
    assert.equal(n.oldRights, null);
    assert.equal(n.newRights.mayReadItems, true);
    assert.equal(n.changedBy.email, ALICE);
    assert.equal(n.changedBy.principalId, `U${ids[ALICE]}`);
    assert.deepEqual(
      principals.list.map((p: Json) => p.email).sort(),
      [ALICE, BOB, t.admin.address].filter((a) => a.endsWith('@example.test')).sort(),
    );
    assert.ok(
      principals.list.every((p: Json) => p.email !== CAROL),
      'another domain is not shown',
    );
    assert.deepEqual(Object.keys(principals.list.find((p: Json) => p.email === ALICE).accounts), [alice()]);
    assert.deepEqual(query.ids, [`U${ids[ALICE]}`]);
    const [[name, err]] = await jmap(BOB, [['Principal/changes', { accountId: own, sinceState: 'old' }, 'c']]);
    assert.equal(name, 'error');
    assert.equal(err.type, 'cannotCalculateChanges');
  });

  it('bob reads only the shared mailbox and its Emails', async () => {
    const [[, boxes], [, found], [, got], [, hidden]] = await jmap(BOB, [
      ['Mailbox/get', { accountId: alice(), ids: null }, 'b'],
      ['Email/query', { accountId: alice(), sort: [{ property: 'subject' }] }, 'q'],
      [
        'Email/get',
        { accountId: alice(), '#ids': { resultOf: 'q', name: 'Email/query', path: '/ids' }, properties: ['subject', 'mailboxIds'] },
        'g',
      ],
      ['Email/get', { accountId: alice(), ids: [aliceInboxEmail], properties: ['subject'] }, 'h'],
    ]);
    assert.equal(boxes.accountId, alice());
    assert.deepEqual(
      boxes.list.map((b: Json) => b.name),
      ['Team'],
    );
    assert.equal(boxes.list[0].myRights.mayReadItems, true);
    assert.equal(boxes.list[0].myRights.maySetSeen, false);
    assert.equal(boxes.list[0].shareWith, null);
    assert.equal(found.ids.length, 2, JSON.stringify(found));
    assert.deepEqual(
      got.list.map((e: Json) => e.subject),
      ['team one', 'team two'],
    );
    assert.deepEqual(got.list[0].mailboxIds, { [team]: true });
    assert.deepEqual(hidden.notFound, [aliceInboxEmail], "alice's INBOX is not shared");
    const [[, blobs]] = await jmap(BOB, [['Email/get', { accountId: alice(), ids: found.ids, properties: ['blobId'] }, 'b']]);
    const [[, privateBlob]] = await jmap(ALICE, [
      ['Email/get', { accountId: alice(), ids: [aliceInboxEmail], properties: ['blobId'] }, 'p'],
    ]);
    const download = (blobId: string) =>
      fetchCa(`${t.baseUrl}/jmap/download/${alice()}/${blobId}/m.eml?accept=message/rfc822`, { headers: { authorization: auth(BOB) } });
    const shared = await download(blobs.list[0].blobId);
    assert.equal(shared.status, 200);
    assert.match(await shared.text(), /Subject: team/);
    assert.notEqual((await download(privateBlob.list[0].blobId)).status, 200, "a blob of alice's INBOX is not downloadable by bob");
  });

  it('without maySetSeen, mayRemoveItems or mayAddItems bob is refused with forbidden', async () => {
    const [[, q]] = await jmap(BOB, [['Email/query', { accountId: alice() }, 'q']]);
    const [[, r]] = await jmap(BOB, [
      [
        'Email/set',
        {
          accountId: alice(),
          update: { [q.ids[0]]: { 'keywords/$seen': true }, [aliceInboxEmail]: { 'keywords/$seen': true } },
          destroy: [q.ids[1]],
        },
        's',
      ],
    ]);
    assert.equal(r.notUpdated[q.ids[0]].type, 'forbidden', JSON.stringify(r));
    assert.equal(r.notUpdated[aliceInboxEmail].type, 'notFound');
    assert.equal(r.notDestroyed[q.ids[1]].type, 'forbidden');
    assert.equal(r.updated, null);
    const [[, created]] = await jmap(BOB, [['Mailbox/set', { accountId: alice(), create: { m: { name: 'Mine' } } }, 'm']]);
    assert.equal(created.notCreated.m.type, 'forbidden', 'no top-level mailboxes in a shared account');
  });

  it('a right given through IMAP SETACL shows in JMAP: bob sets his own $seen (RFC 4314 §4), alice keeps hers', async () => {
    const acl = await imap(ALICE, [`SETACL Team ${BOB} +s`]);
    assert.match(acl.at(-1)!, /OK/);
    const [[, boxes]] = await jmap(BOB, [['Mailbox/get', { accountId: alice(), ids: [team], properties: ['myRights'] }, 'b']]);
    assert.equal(boxes.list[0].myRights.maySetSeen, true);
    const [[, q]] = await jmap(BOB, [['Email/query', { accountId: alice(), sort: [{ property: 'subject' }] }, 'q']]);
    const [[, r]] = await jmap(BOB, [['Email/set', { accountId: alice(), update: { [q.ids[0]]: { 'keywords/$seen': true } } }, 's']]);
    assert.deepEqual(r.updated, { [q.ids[0]]: null }, JSON.stringify(r));
    const [[, seen]] = await jmap(BOB, [['Email/get', { accountId: alice(), ids: [q.ids[0]], properties: ['keywords'] }, 'g']]);
    assert.deepEqual(seen.list[0].keywords, { $seen: true });
    const [[, hers]] = await jmap(ALICE, [['Email/get', { accountId: alice(), ids: [q.ids[0]], properties: ['keywords'] }, 'g']]);
    assert.deepEqual(hers.list[0].keywords, {}, "bob's reading does not mark it read for alice");
    const [[, box]] = await jmap(BOB, [
      ['Mailbox/get', { accountId: alice(), ids: [team], properties: ['unreadEmails', 'totalEmails'] }, 'u'],
    ]);
    const [[, aliceBox]] = await jmap(ALICE, [['Mailbox/get', { accountId: alice(), ids: [team], properties: ['unreadEmails'] }, 'u']]);
    assert.equal(box.list[0].unreadEmails, box.list[0].totalEmails - 1);
    assert.equal(aliceBox.list[0].unreadEmails, box.list[0].totalEmails);
    const [[, flagged]] = await jmap(BOB, [
      ['Email/set', { accountId: alice(), update: { [q.ids[0]]: { 'keywords/$flagged': true } } }, 's'],
    ]);
    assert.equal(flagged.notUpdated[q.ids[0]].type, 'forbidden', 'maySetKeywords is still false');
  });

  it("Email/copy brings a shared Email into bob's own account; an unshared one is notFound", async () => {
    const own = `A${ids[BOB]}`;
    const [[, inbox], [, q]] = await jmap(BOB, [
      ['Mailbox/query', { accountId: own, filter: { role: 'inbox' } }, 'i'],
      ['Email/query', { accountId: alice(), sort: [{ property: 'subject' }] }, 'q'],
    ]);
    const [[, copied], [, got]] = await jmap(BOB, [
      [
        'Email/copy',
        {
          fromAccountId: alice(),
          accountId: own,
          create: {
            c: { id: q.ids[1], mailboxIds: { [inbox.ids[0]]: true } },
            x: { id: aliceInboxEmail, mailboxIds: { [inbox.ids[0]]: true } },
          },
        },
        'c',
      ],
      ['Email/get', { accountId: own, ids: ['#c'], properties: ['subject'] }, 'g'],
    ]);
    assert.equal(copied.fromAccountId, alice());
    assert.ok(copied.created?.c?.id, JSON.stringify(copied));
    assert.equal(copied.notCreated.x.type, 'notFound', "alice's INBOX Email is not readable for bob");
    assert.equal(got.list[0].subject, 'team two');
  });

  it("alice's change reaches bob's EventSource as a StateChange of her account", async () => {
    const stream = await openEventStream(`${t.baseUrl}/jmap/eventsource?types=Email&closeafter=no&ping=0`, t.ca, {
      authorization: auth(BOB),
    });
    try {
      assert.equal(stream.status, 200);
      await imap(ALICE, [`APPEND Team ${literal('team three')}`]);
      await stream.waitFor(new RegExp(`"changed":\\{"${alice()}":\\{"Email":"\\d+"\\}\\}`), 10_000);
    } finally {
      stream.close();
    }
  });

  it('bob destroys his ShareNotification; taking the share away removes the account', async () => {
    const own = `A${ids[BOB]}`;
    const [[, before]] = await jmap(BOB, [['ShareNotification/get', { accountId: own, ids: null, properties: ['id'] }, 'n']]);
    assert.equal(before.list.length, 2, 'one for lr, one for +s');
    const [[, destroyed], [, changes]] = await jmap(BOB, [
      ['ShareNotification/set', { accountId: own, destroy: [before.list[0].id], create: { x: {} } }, 'd'],
      ['ShareNotification/changes', { accountId: own, sinceState: before.state }, 'c'],
    ]);
    assert.deepEqual(destroyed.destroyed, [before.list[0].id]);
    assert.equal(destroyed.notCreated.x.type, 'forbidden');
    assert.deepEqual(changes.destroyed, [before.list[0].id]);

    const [[, unshared]] = await jmap(ALICE, [['Mailbox/set', { accountId: alice(), update: { [team]: { shareWith: null } } }, 's']]);
    assert.deepEqual(unshared.updated, { [team]: null }, JSON.stringify(unshared));
    const s = await session(BOB);
    assert.deepEqual(Object.keys(s.accounts), [own]);
    const [[name, err]] = await jmap(BOB, [['Email/get', { accountId: alice(), ids: null }, 'g']]);
    assert.equal(name, 'error');
    assert.equal(err.type, 'accountNotFound');
    const [[, notes]] = await jmap(BOB, [['ShareNotification/get', { accountId: own, ids: null }, 'n']]);
    assert.equal(notes.list.at(-1).newRights, null, 'the last notification tells of the removal');
  });
});
