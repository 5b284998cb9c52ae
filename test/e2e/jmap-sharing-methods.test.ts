// The JMAP methods on a shared account (RFC 9670 §1.4), through raw HTTP and jmap-jam: alice shares
// "Team" read-only and "Work" with every right but `a` with bob. Bob queries and changes only what
// the grant allows (forbidden otherwise, notFound for what he cannot see), uploads, imports and
// copies into alice's account byte for byte (SHA-256), and alice's changes reach bob's WebSocket.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import tls from 'node:tls';
import { after, before, describe, it } from 'node:test';
import { resourceIds } from '../../src/config/resources.ts';
import { caFetch } from '../helpers/https-fetch.ts';
import { jmapApi } from '../helpers/jmap-api.ts';
import { issueToken } from '../helpers/idp.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';

const ALICE = 'alice@example.test';
const BOB = 'bob@example.test';
const PASSWORD = 'shared methods test password';
const USING = ['urn:ietf:params:jmap:core', 'urn:ietf:params:jmap:mail', 'urn:ietf:params:jmap:blob'];

// biome-ignore lint/suspicious/noExplicitAny: JMAP answers are checked field by field
type Json = any;
interface Jam {
  readonly api: Json;
}
const jamModule = 'jmap-jam';
const { default: JamClient } = (await import(jamModule)) as { default: new (config: { sessionUrl: string; bearerToken: string }) => Jam };

const sha = (b: Buffer | Uint8Array) => createHash('sha256').update(b).digest('hex');

describe('JMAP methods on a shared account', () => {
  let t: TestServer;
  let fetchCa: ReturnType<typeof caFetch>;
  let jmap: ReturnType<typeof jmapApi>;
  const ids: Record<string, string> = {};
  const box: Record<string, string> = {};
  const mail: Record<string, string> = {};
  const auth = (user: string) => `Basic ${Buffer.from(`${user}:${PASSWORD}`).toString('base64')}`;
  const alice = () => `A${ids[ALICE]}`;
  const bobAccount = () => `A${ids[BOB]}`;

  const email = (mailbox: string, subject: string, body: string) => ({
    mailboxIds: { [mailbox]: true },
    from: [{ email: ALICE }],
    subject,
    textBody: [{ partId: 'b', type: 'text/plain' }],
    bodyValues: { b: { value: body } },
  });

  before(async () => {
    t = await startTestServer();
    fetchCa = caFetch(t.ca);
    jmap = jmapApi(fetchCa, () => t.baseUrl, PASSWORD, USING);
    tls.setDefaultCACertificates([...tls.getCACertificates('default'), t.ca]);
    for (const address of [ALICE, BOB])
      ids[address] = String((await t.services.accounts.addUser({ address, password: PASSWORD })).account.id);
    const bob = `U${ids[BOB]}`;
    const [[, made]] = await jmap(ALICE, [
      ['Mailbox/set', { accountId: alice(), create: { team: { name: 'Team' }, work: { name: 'Work' } } }, 'm'],
    ]);
    box['team'] = made.created.team.id;
    box['work'] = made.created.work.id;
    const [[, inbox]] = await jmap(ALICE, [['Mailbox/query', { accountId: alice(), filter: { role: 'inbox' } }, 'i']]);
    box['inbox'] = inbox.ids[0];
    const all = { mayReadItems: true, mayAddItems: true, mayRemoveItems: true, maySetSeen: true, maySetKeywords: true };
    const [[, shared], [, emails]] = await jmap(ALICE, [
      [
        'Mailbox/set',
        {
          accountId: alice(),
          update: {
            [box['team']!]: { [`shareWith/${bob}`]: { mayReadItems: true } },
            [box['work']!]: { [`shareWith/${bob}`]: { ...all, mayCreateChild: true, mayRename: true, mayDelete: true } },
          },
        },
        's',
      ],
      [
        'Email/set',
        {
          accountId: alice(),
          create: {
            team: email(box['team']!, 'quarterly numbers', 'the quarterly numbers are in'),
            secret: email(box['inbox']!, 'private quarterly', 'private quarterly text'),
          },
        },
        'e',
      ],
    ]);
    assert.equal(Object.keys(shared.updated).length, 2, JSON.stringify(shared));
    mail['team'] = emails.created.team.id;
    mail['teamThread'] = emails.created.team.threadId;
    mail['secret'] = emails.created.secret.id;
    mail['secretThread'] = emails.created.secret.threadId;
    mail['secretBlob'] = emails.created.secret.blobId;
  });
  after(() => t.close());

  it('Mailbox/query and /queryChanges show only the shared mailboxes, through jmap-jam too', async () => {
    const [[, q], [, qc]] = await jmap(BOB, [
      ['Mailbox/query', { accountId: alice(), sort: [{ property: 'name' }] }, 'q'],
      ['Mailbox/queryChanges', { accountId: alice(), sinceQueryState: '0' }, 'c'],
    ]);
    assert.deepEqual(q.ids, [box['team'], box['work']], JSON.stringify(q));
    assert.equal(q.accountId, alice());
    assert.deepEqual(qc.added.map((a: Json) => a.id).sort(), [box['team'], box['work']].sort(), JSON.stringify(qc));
    const token = await issueToken(t, BOB, { resource: resourceIds(t.config).jmap });
    const jam = new JamClient({ sessionUrl: `${t.baseUrl}/.well-known/jmap`, bearerToken: token });
    const [viaJam] = await jam.api.Mailbox.query({ accountId: alice(), filter: { name: 'Work' } });
    assert.deepEqual(viaJam.ids, [box['work']]);
    const [snippets] = await jam.api.SearchSnippet.get({
      accountId: alice(),
      filter: { text: 'quarterly' },
      emailIds: [mail['team'], mail['secret']],
    });
    assert.equal(snippets.list.length, 1);
    assert.match(snippets.list[0].subject, /<mark>quarterly<\/mark>/);
    assert.deepEqual(snippets.notFound, [mail['secret']], 'an Email of an unshared mailbox is not found');
  });

  it('Mailbox/set within myRights: a child of Work, nothing at the top or under Team, no rename of Team', async () => {
    const [[, r]] = await jmap(BOB, [
      [
        'Mailbox/set',
        {
          accountId: alice(),
          create: {
            child: { name: 'Bob notes', parentId: box['work'] },
            top: { name: 'Top' },
            under: { name: 'Under', parentId: box['team'] },
          },
          update: { [box['team']!]: { name: 'Renamed' }, [box['inbox']!]: { name: 'Mine' } },
          destroy: [box['team']],
        },
        's',
      ],
    ]);
    assert.ok(r.created?.child?.id, JSON.stringify(r));
    assert.equal(r.created.child.myRights.mayCreateChild, true, "the child has Work's grant");
    assert.equal(r.created.child.myRights.maySubmit, false);
    assert.equal(r.notCreated.top.type, 'forbidden');
    assert.equal(r.notCreated.under.type, 'forbidden');
    assert.equal(r.notUpdated[box['team']!].type, 'forbidden');
    assert.equal(r.notUpdated[box['inbox']!].type, 'notFound', "alice's INBOX is not visible to bob");
    assert.equal(r.notDestroyed[box['team']!].type, 'forbidden');
    box['child'] = r.created.child.id;
    // The whole object as bob sees it, sent back unchanged (RFC 8620 §5.3), with a new name.
    const [[, got]] = await jmap(BOB, [['Mailbox/get', { accountId: alice(), ids: [box['child']] }, 'g']]);
    const { id: _id, ...whole } = got.list[0];
    const [[, renamed], [, aliceView]] = await jmap(BOB, [
      ['Mailbox/set', { accountId: alice(), update: { [box['child']!]: { ...whole, name: 'Bob archive' } } }, 'u'],
      ['Mailbox/get', { accountId: alice(), ids: [box['child']], properties: ['name', 'parentId'] }, 'g'],
    ]);
    assert.deepEqual(renamed.updated, { [box['child']!]: null }, JSON.stringify(renamed));
    assert.equal(aliceView.list[0].name, 'Bob archive');
    assert.equal(aliceView.list[0].parentId, box['work']);
    const [[, sub]] = await jmap(BOB, [['Mailbox/set', { accountId: alice(), update: { [box['child']!]: { isSubscribed: false } } }, 'u']]);
    assert.equal(sub.notUpdated[box['child']!].type, 'forbidden', "the subscription is the owner's");
    const [[, gone]] = await jmap(BOB, [['Mailbox/set', { accountId: alice(), destroy: [box['child']] }, 'd']]);
    assert.deepEqual(gone.destroyed, [box['child']], JSON.stringify(gone));
  });

  it('Thread/get and Thread/changes show only readable Emails', async () => {
    const [[, threads]] = await jmap(BOB, [['Thread/get', { accountId: alice(), ids: [mail['teamThread'], mail['secretThread']] }, 't']]);
    assert.deepEqual(threads.list, [{ id: mail['teamThread'], emailIds: [mail['team']] }]);
    assert.deepEqual(threads.notFound, [mail['secretThread']]);
    const ids = [mail['teamThread'], mail['secretThread']];
    const [[, bare]] = await jmap(BOB, [['Thread/get', { accountId: alice(), ids, properties: ['id'] }, 't']]);
    assert.deepEqual(bare.list, [{ id: mail['teamThread'] }], 'without emailIds a thread is still seen through its readable Emails');
    assert.deepEqual(bare.notFound, [mail['secretThread']]);
    const [[, changes]] = await jmap(BOB, [['Thread/changes', { accountId: alice(), sinceState: '0' }, 'c']]);
    assert.ok(changes.created.includes(mail['teamThread']), JSON.stringify(changes));
    assert.ok(!changes.created.includes(mail['secretThread']) && !changes.updated.includes(mail['secretThread']));
  });

  it('uploads into alice account are byte-exact on every path and import into Work only', async () => {
    const message = Buffer.from(`From: ${BOB}\r\nTo: ${ALICE}\r\nSubject: imported by bob\r\n\r\nno newline at the end`);
    // HTTP upload (RFC 8620 §6.1) into the shared account, and download of the same blob.
    const up = await fetchCa(`${t.baseUrl}/jmap/upload/${alice()}`, {
      method: 'POST',
      headers: { authorization: auth(BOB), 'content-type': 'message/rfc822' },
      body: message,
    });
    assert.equal(up.status, 201);
    const uploaded = (await up.json()) as Json;
    assert.equal(uploaded.accountId, alice());
    assert.equal(uploaded.size, message.length);
    const down = await fetchCa(`${t.baseUrl}/jmap/download/${alice()}/${uploaded.blobId}/m.eml`, { headers: { authorization: auth(BOB) } });
    assert.equal(down.status, 200);
    assert.equal(sha(Buffer.from(await down.arrayBuffer())), sha(message), 'download = upload, byte for byte');
    // Blob/upload, Blob/get, Email/import and Blob/copy from bob's own account.
    const [[, blob], [, got], [, imported], [, refused]] = await jmap(BOB, [
      ['Blob/upload', { accountId: alice(), create: { b: { data: [{ 'data:asBase64': message.toString('base64') }] } } }, 'u'],
      ['Blob/get', { accountId: alice(), ids: ['#b'], properties: ['data:asBase64', 'digest:sha-256'] }, 'g'],
      ['Email/import', { accountId: alice(), emails: { e: { blobId: uploaded.blobId, mailboxIds: { [box['work']!]: true } } } }, 'i'],
      ['Email/import', { accountId: alice(), emails: { e: { blobId: uploaded.blobId, mailboxIds: { [box['team']!]: true } } } }, 'r'],
    ]);
    assert.equal(blob.created.b.size, message.length, JSON.stringify(blob));
    assert.equal(sha(Buffer.from(got.list[0]['data:asBase64'], 'base64')), sha(message));
    assert.equal(got.list[0]['digest:sha-256'], createHash('sha256').update(message).digest('base64'));
    assert.ok(imported.created?.e?.id, JSON.stringify(imported));
    assert.equal(refused.notCreated.e.type, 'forbidden', 'Team has no mayAddItems');
    const [[, raw]] = await jmap(ALICE, [
      ['Email/get', { accountId: alice(), ids: [imported.created.e.id], properties: ['blobId', 'subject'] }, 'g'],
    ]);
    assert.equal(raw.list[0].subject, 'imported by bob');
    const stored = await fetchCa(`${t.baseUrl}/jmap/download/${alice()}/${raw.list[0].blobId}/m.eml`, {
      headers: { authorization: auth(ALICE) },
    });
    assert.equal(sha(Buffer.from(await stored.arrayBuffer())), sha(message), 'the imported Email is the uploaded bytes');

    const own = await fetchCa(`${t.baseUrl}/jmap/upload/${bobAccount()}`, {
      method: 'POST',
      headers: { authorization: auth(BOB), 'content-type': 'application/octet-stream' },
      body: Buffer.from('bob bytes\n\0\xff'),
    });
    const ownBlob = ((await own.json()) as Json).blobId;
    const [[, copied], [, secret]] = await jmap(BOB, [
      ['Blob/copy', { fromAccountId: bobAccount(), accountId: alice(), blobIds: [ownBlob] }, 'c'],
      ['Blob/get', { accountId: alice(), ids: [mail['secretBlob']] }, 's'],
    ]);
    assert.equal(copied.copied[ownBlob], ownBlob, JSON.stringify(copied));
    assert.deepEqual(secret.notFound, [mail['secretBlob']], "a blob of alice's INBOX is not readable by bob");
    // Only a grant with mayAddItems lets bob upload: carol has none.
    const none = await fetchCa(`${t.baseUrl}/jmap/upload/A999999`, {
      method: 'POST',
      headers: { authorization: auth(BOB), 'content-type': 'text/plain' },
      body: 'x',
    });
    assert.equal(none.status, 404);
  });

  it('Email/parse and Blob/lookup name only what the grant lets bob read', async () => {
    const [[, got]] = await jmap(BOB, [['Email/get', { accountId: alice(), ids: [mail['team']], properties: ['blobId'] }, 'g']]);
    const teamBlob = got.list[0].blobId as string;
    const [[, parsed], [, looked]] = await jmap(BOB, [
      ['Email/parse', { accountId: alice(), blobIds: [teamBlob, mail['secretBlob']], properties: ['subject'] }, 'p'],
      ['Blob/lookup', { accountId: alice(), typeNames: ['Email', 'Mailbox'], ids: [teamBlob, mail['secretBlob']] }, 'l'],
    ]);
    assert.equal(parsed.parsed[teamBlob]?.subject, 'quarterly numbers', JSON.stringify(parsed));
    assert.deepEqual(parsed.notFound, [mail['secretBlob']], "a blob of alice's INBOX is not parsable by bob");
    assert.deepEqual(
      looked.list,
      [{ id: teamBlob, matchedIds: { Email: [mail['team']], Mailbox: [box['team']] } }],
      JSON.stringify(looked),
    );
    assert.deepEqual(looked.notFound, [mail['secretBlob']]);
  });

  it('Email/copy into Work is allowed, into Team forbidden; Email/changes and /queryChanges see it', async () => {
    const [[, inbox]] = await jmap(BOB, [['Mailbox/query', { accountId: bobAccount(), filter: { role: 'inbox' } }, 'i']]);
    const [[, mine]] = await jmap(BOB, [
      [
        'Email/set',
        { accountId: bobAccount(), create: { m: { ...email(inbox.ids[0], 'from bob', 'hello alice'), from: [{ email: BOB }] } } },
        'e',
      ],
    ]);
    const [[, before]] = await jmap(BOB, [['Email/query', { accountId: alice() }, 'q']]);
    const [[, copy], [, changes], [, qc]] = await jmap(BOB, [
      [
        'Email/copy',
        {
          fromAccountId: bobAccount(),
          accountId: alice(),
          create: {
            ok: { id: mine.created.m.id, mailboxIds: { [box['work']!]: true } },
            no: { id: mine.created.m.id, mailboxIds: { [box['team']!]: true } },
          },
        },
        'c',
      ],
      ['Email/changes', { accountId: alice(), sinceState: before.queryState }, 'ch'],
      ['Email/queryChanges', { accountId: alice(), sinceQueryState: before.queryState }, 'qc'],
    ]);
    assert.ok(copy.created?.ok?.id, JSON.stringify(copy));
    assert.equal(copy.notCreated.no.type, 'forbidden');
    const source = await fetchCa(`${t.baseUrl}/jmap/download/${bobAccount()}/${mine.created.m.blobId}/m.eml`, {
      headers: { authorization: auth(BOB) },
    });
    const copied = await fetchCa(`${t.baseUrl}/jmap/download/${alice()}/${copy.created.ok.blobId}/m.eml`, {
      headers: { authorization: auth(ALICE) },
    });
    assert.equal(sha(Buffer.from(await copied.arrayBuffer())), sha(Buffer.from(await source.arrayBuffer())), 'Email/copy copies the bytes');
    assert.deepEqual(changes.created, [copy.created.ok.id], JSON.stringify(changes));
    assert.deepEqual(
      qc.added.map((a: Json) => a.id),
      [copy.created.ok.id],
      JSON.stringify(qc),
    );
  });

  it("alice's change reaches bob's WebSocket as a StateChange of her account", async () => {
    const url = `${t.baseUrl.replace('https:', 'wss:')}/jmap/ws`;
    const session = (await (await fetchCa(resourceIds(t.config).jmap, { headers: { authorization: auth(BOB) } })).json()) as Json;
    const wsUrl = session.capabilities['urn:ietf:params:jmap:websocket']?.url ?? url;
    const ws = new WebSocket(wsUrl, { protocols: ['jmap'], headers: { authorization: auth(BOB) } } as unknown as string[]);
    const got: Json[] = [];
    await new Promise<void>((resolve, reject) => {
      ws.addEventListener('open', () => resolve());
      ws.addEventListener('error', () => reject(new Error('WebSocket failed')));
    });
    ws.addEventListener('message', (e) => got.push(JSON.parse(String(e.data))));
    try {
      ws.send(JSON.stringify({ '@type': 'WebSocketPushEnable', dataTypes: ['Email'] }));
      // Enabling is answered by nothing; wait until the shared watcher is in place by asking once.
      ws.send(JSON.stringify({ '@type': 'Request', id: 'r', using: USING, methodCalls: [['Core/echo', {}, 'e']] }));
      for (let i = 0; i < 100 && !got.some((m) => m['@type'] === 'Response'); i++) await new Promise((r) => setTimeout(r, 50));
      await jmap(ALICE, [['Email/set', { accountId: alice(), create: { n: email(box['team']!, 'new for the team', 'news') } }, 'e']]);
      for (let i = 0; i < 200 && !got.some((m) => m['@type'] === 'StateChange' && m.changed[alice()]); i++)
        await new Promise((r) => setTimeout(r, 50));
      const change = got.find((m) => m['@type'] === 'StateChange' && m.changed[alice()]);
      assert.ok(change, JSON.stringify(got));
      assert.deepEqual(Object.keys(change.changed[alice()]), ['Email']);
    } finally {
      ws.close();
    }
  });
});
