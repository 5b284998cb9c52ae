// JMAP blob management over raw HTTPS (RFC 9404 Blob/upload, Blob/get, Blob/lookup; RFC 8620 §6.3
// Blob/copy): bytes created from text, base64 and ranges of other blobs download byte for byte
// (compared by SHA-256), digests and ranges are right, lookups find the Email, Thread and Mailbox
// of a message blob, and another account's blobs stay out of reach.
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { resourceIds } from '../../src/config/resources.ts';
import { caFetch } from '../helpers/https-fetch.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';

const ALICE = 'alice@example.test';
const BOB = 'bob@example.test';
const PASSWORD = 'jmap blob test password';
const USING = ['urn:ietf:params:jmap:core', 'urn:ietf:params:jmap:mail', 'urn:ietf:params:jmap:blob'];
const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');

// biome-ignore lint/suspicious/noExplicitAny: JMAP answers are checked field by field
type Json = any;

describe('JMAP blob management', () => {
  let t: TestServer;
  let fetchCa: ReturnType<typeof caFetch>;
  const session: Record<string, Json> = {};
  const basic = (user: string) => `Basic ${Buffer.from(`${user}:${PASSWORD}`).toString('base64')}`;

  async function jmap(user: string, methodCalls: unknown[], using = USING): Promise<Json[]> {
    const res = await fetchCa(`${t.baseUrl}/jmap/api`, {
      method: 'POST',
      headers: { authorization: basic(user), 'content-type': 'application/json' },
      body: JSON.stringify({ using, methodCalls }),
    });
    assert.equal(res.status, 200);
    return ((await res.json()) as Json).methodResponses;
  }

  async function download(user: string, blobId: string): Promise<Buffer> {
    const s = session[user];
    const url = s.downloadUrl
      .replace('{accountId}', s.primaryAccounts['urn:ietf:params:jmap:blob'])
      .replace('{blobId}', blobId)
      .replace('{name}', 'x.bin')
      .replace('{type}', 'application/octet-stream');
    const res = await new Promise<Buffer>((resolve, reject) => {
      // caFetch decodes text; read the raw bytes through node:https instead.
      import('node:https').then(({ default: https }) =>
        https
          .get(url, { ca: t.ca, headers: { authorization: basic(user) } }, (r) => {
            const chunks: Buffer[] = [];
            r.on('data', (c: Buffer) => chunks.push(c));
            r.on('end', () => (r.statusCode === 200 ? resolve(Buffer.concat(chunks)) : reject(new Error(`download ${r.statusCode}`))));
          })
          .on('error', reject),
      );
    });
    return res;
  }

  before(async () => {
    t = await startTestServer();
    fetchCa = caFetch(t.ca);
    for (const user of [ALICE, BOB]) {
      await t.services.accounts.addUser({ address: user, password: PASSWORD });
      session[user] = await (await fetchCa(resourceIds(t.config).jmap, { headers: { authorization: basic(user) } })).json();
    }
  });
  after(() => t.close());

  it('announces urn:ietf:params:jmap:blob with its limits', () => {
    const s = session[ALICE];
    const caps = s.accounts[s.primaryAccounts['urn:ietf:params:jmap:blob']].accountCapabilities['urn:ietf:params:jmap:blob'];
    assert.deepEqual(caps.supportedTypeNames, ['Mailbox', 'Thread', 'Email']);
    assert.ok(caps.supportedDigestAlgorithms.includes('sha-256'));
    assert.ok(caps.maxSizeBlobSet > 0 && caps.maxDataSources > 0);
  });

  it('Blob/upload joins text, base64 and blob ranges byte for byte; Blob/get reads them back exactly', async () => {
    const accountId = session[ALICE].primaryAccounts['urn:ietf:params:jmap:blob'];
    const binary = Buffer.concat([Buffer.from([0, 0xff, 0x0d, 0x0a, 0x80]), randomBytes(3000)]);
    const [[, up]] = await jmap(ALICE, [
      [
        'Blob/upload',
        {
          accountId,
          create: {
            text: { data: [{ 'data:asText': 'Hello there' }], type: 'text/plain' },
            bin: { data: [{ 'data:asBase64': binary.toString('base64') }] },
            joined: {
              data: [{ blobId: '#text', offset: 6, length: 5 }, { 'data:asText': ' & ' }, { blobId: '#bin', offset: 0, length: 5 }],
            },
            bad: { data: [{ 'data:asBase64': 'not base64!' }] },
            outside: { data: [{ blobId: '#text', offset: 6, length: 50 }] },
          },
        },
        'u',
      ],
    ]);
    assert.equal(up.created.text.size, 11);
    assert.equal(up.created.text.type, 'text/plain');
    assert.equal(up.notCreated.bad.type, 'invalidProperties');
    assert.equal(up.notCreated.outside.type, 'invalidProperties');
    const joinedBytes = Buffer.concat([Buffer.from('there & '), binary.subarray(0, 5)]);
    assert.equal(up.created.joined.size, joinedBytes.length);

    for (const [cid, bytes] of [
      ['text', Buffer.from('Hello there')],
      ['bin', binary],
      ['joined', joinedBytes],
    ] as const)
      assert.equal(sha256(await download(ALICE, up.created[cid].id)), sha256(bytes), `${cid} downloads byte for byte`);

    const [[, got]] = await jmap(ALICE, [
      [
        'Blob/get',
        { accountId, ids: [up.created.text.id, up.created.bin.id, 'Bffff'], properties: ['data', 'size', 'digest:sha-256', 'digest:sha'] },
        'g',
      ],
    ]);
    const [text, bin] = got.list;
    assert.equal(text['data:asText'], 'Hello there', 'no line break added');
    assert.equal(text['digest:sha-256'], createHash('sha256').update('Hello there').digest('base64'));
    assert.equal(text['digest:sha'], createHash('sha1').update('Hello there').digest('base64'));
    assert.equal(bin.isEncodingProblem, true);
    assert.equal(sha256(Buffer.from(bin['data:asBase64'], 'base64')), sha256(binary));
    assert.deepEqual(got.notFound, ['Bffff']);

    const [[, range]] = await jmap(ALICE, [
      ['Blob/get', { accountId, ids: [up.created.text.id], properties: ['data:asText', 'digest:sha-256'], offset: 6, length: 100 }, 'r'],
    ]);
    assert.equal(range.list[0]['data:asText'], 'there');
    assert.equal(range.list[0]['digest:sha-256'], createHash('sha256').update('there').digest('base64'));
    assert.equal(range.list[0].isTruncated, true);
  });

  it('Blob/lookup finds the Email, Thread and Mailbox of a message blob', async () => {
    const accountId = session[ALICE].primaryAccounts['urn:ietf:params:jmap:blob'];
    const raw = 'From: bob@example.test\r\nSubject: look me up\r\nMessage-ID: <lookup@example.test>\r\n\r\nbody\r\n';
    const [[, up], [, inbox]] = await jmap(ALICE, [
      ['Blob/upload', { accountId, create: { m: { data: [{ 'data:asText': raw }], type: 'message/rfc822' } } }, 'u'],
      ['Mailbox/query', { accountId, filter: { role: 'inbox' } }, 'q'],
    ]);
    const [[, imported]] = await jmap(ALICE, [
      ['Email/import', { accountId, emails: { e: { blobId: up.created.m.id, mailboxIds: { [inbox.ids[0]]: true } } } }, 'i'],
    ]);
    const email = imported.created.e;
    const [[, found], [, unknown]] = await jmap(ALICE, [
      ['Blob/lookup', { accountId, typeNames: ['Email', 'Thread', 'Mailbox'], ids: [email.blobId, 'B' + '0'.repeat(64)] }, 'l'],
      ['Blob/lookup', { accountId, typeNames: ['Calendar'], ids: [email.blobId] }, 'x'],
    ]);
    assert.deepEqual(found.list, [
      { id: email.blobId, matchedIds: { Email: [email.id], Thread: [email.threadId], Mailbox: [inbox.ids[0]] } },
    ]);
    assert.deepEqual(found.notFound, ['B' + '0'.repeat(64)]);
    assert.equal(unknown.type, 'unknownDataType');
  });

  it("Blob/copy copies within the caller's reach only", async () => {
    const alice = session[ALICE].primaryAccounts['urn:ietf:params:jmap:mail'];
    const bob = session[BOB].primaryAccounts['urn:ietf:params:jmap:mail'];
    const [[, up]] = await jmap(ALICE, [
      ['Blob/upload', { accountId: alice, create: { a: { data: [{ 'data:asText': 'copy me' }] } } }, 'u'],
    ]);
    const id = up.created.a.id;
    const [[, copied]] = await jmap(
      ALICE,
      [['Blob/copy', { fromAccountId: alice, accountId: alice, blobIds: [id, 'B' + '1'.repeat(64)] }, 'c']],
      ['urn:ietf:params:jmap:core'],
    );
    assert.equal(sha256(await download(ALICE, copied.copied[id])), sha256(Buffer.from('copy me')));
    assert.equal(copied.notCopied['B' + '1'.repeat(64)].type, 'blobNotFound');
    const [[kind, refused]] = await jmap(
      BOB,
      [['Blob/copy', { fromAccountId: alice, accountId: bob, blobIds: [id] }, 'c']],
      ['urn:ietf:params:jmap:core'],
    );
    assert.equal(kind, 'error');
    assert.equal(refused.type, 'fromAccountNotFound');
    const [[, bobGet]] = await jmap(BOB, [['Blob/get', { accountId: bob, ids: [id] }, 'g']]);
    assert.deepEqual(bobGet.notFound, [id], "Bob cannot read Alice's upload");
  });
});
