// JMAP as clients meet it, through jmap-jam (npm) and raw HTTPS where the library does not reach:
// the message bytes a draft is stored and sent as (RFC 8621 §4.6 Date), what goes in comes out
// byte for byte (RFC 8620 §6), /set echoes of server-set properties (RFC 8620 §5.3), SetError
// shapes (RFC 8621 §4.6, §4.8), word matching in text filters, the API URL's methods, and the
// budgets on result references and responses.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import tls from 'node:tls';
import { after, before, describe, it } from 'node:test';
import { resourceIds } from '../../src/config/resources.ts';
import { parseMailDate } from '../../src/mail/mime/date.ts';
import { issueToken } from '../helpers/idp.ts';
import { prng } from '../helpers/prng.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';
import { CLIENT_MESSAGES } from '../unit/jmap/client-messages.ts';

const ALICE = 'alice@example.test';
const BOB = 'bob@example.test';

// biome-ignore lint/suspicious/noExplicitAny: JMAP responses are checked field by field
type Json = any;
/** The part of jmap-jam's client these tests use. */
interface Jam {
  readonly api: Json;
  getPrimaryAccount(): Promise<string>;
  request(invocation: [string, Json], options?: { using?: string[] }): Promise<[Json, Json]>;
  requestMany(drafts: (t: Json) => Record<string, Json>): Promise<[Json, Json]>;
  uploadBlob(accountId: string, body: Blob): Promise<{ blobId: string; size: number; type: string }>;
  downloadBlob(options: { accountId: string; blobId: string; mimeType: string; fileName: string }): Promise<Response>;
}
// jmap-jam's type declarations pull in TypeScript sources with enums (not erasable): load it untyped.
const jamModule = 'jmap-jam';
const { default: JamClient } = (await import(jamModule)) as { default: new (config: { sessionUrl: string; bearerToken: string }) => Jam };

const sha256 = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex');

/** An RFC 5322 §3.3 date-time as the server writes it (day name, no obsolete forms). */
const RFC5322_DATE =
  /^(Mon|Tue|Wed|Thu|Fri|Sat|Sun), \d{1,2} (Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) \d{4} \d{2}:\d{2}:\d{2} [+-]\d{4}$/;

/** The values of a header field in a raw message's top-level header block, unfolded. */
function headerValues(raw: string, name: string): string[] {
  const head = raw.slice(0, raw.indexOf('\r\n\r\n'));
  const unfolded = head.replace(/\r\n(?=[ \t])/g, '');
  return unfolded
    .split('\r\n')
    .filter((l) => l.toLowerCase().startsWith(`${name.toLowerCase()}:`))
    .map((l) => l.slice(name.length + 1).trim());
}

describe('JMAP conformance as clients see it', () => {
  let server: TestServer;
  let alice: Jam;
  let bob: Jam;
  let A: string;
  let B: string;
  const tokens: Record<string, string> = {};

  async function role(jam: Jam, accountId: string, name: string): Promise<string> {
    const [r] = await jam.api.Mailbox.query({ accountId, filter: { role: name } });
    return r.ids[0];
  }

  /** Downloads a blob through jmap-jam and returns its bytes. */
  async function download(jam: Jam, accountId: string, blobId: string, type = 'application/octet-stream'): Promise<Buffer> {
    const res = await jam.downloadBlob({ accountId, blobId, mimeType: type, fileName: 'blob' });
    assert.equal(res.status, 200);
    return Buffer.from(await res.arrayBuffer());
  }

  /** The raw bytes of an Email, through its blobId. */
  async function rawEmail(jam: Jam, accountId: string, emailId: string): Promise<Buffer> {
    const [got] = await jam.api.Email.get({ accountId, ids: [emailId], properties: ['blobId'] });
    return download(jam, accountId, got.list[0].blobId, 'message/rfc822');
  }

  before(async () => {
    server = await startTestServer();
    tls.setDefaultCACertificates([...tls.getCACertificates('default'), server.ca]);
    for (const [address, name] of [
      [ALICE, 'Alice'],
      [BOB, 'Bob'],
    ] as const) {
      await server.services.accounts.addUser({ address, password: `${name} conformance password`, displayName: name });
      tokens[address] = await issueToken(server, address, { resource: resourceIds(server.config).jmap });
    }
    alice = new JamClient({ sessionUrl: `${server.baseUrl}/.well-known/jmap`, bearerToken: tokens[ALICE]! });
    bob = new JamClient({ sessionUrl: `${server.baseUrl}/.well-known/jmap`, bearerToken: tokens[BOB]! });
    A = await alice.getPrimaryAccount();
    B = await bob.getPrimaryAccount();
  });
  after(() => server.close());

  describe('Date (RFC 8621 §4.6, RFC 5322 §3.6.1)', () => {
    it('a draft created without sentAt is stored and sent with a valid Date the server added', async () => {
      const drafts = await role(alice, A, 'drafts');
      const [identities] = await alice.api.Identity.get({ accountId: A });
      const before = Date.now();
      const [result] = await alice.requestMany((t: Json) => {
        const draft = t.Email.set({
          accountId: A,
          create: {
            d: {
              mailboxIds: { [drafts]: true },
              from: [{ name: 'Alice', email: ALICE }],
              to: [{ name: 'Bob', email: BOB }],
              subject: 'No sentAt given',
              bodyValues: { b: { value: 'The server dates this.' } },
              textBody: [{ partId: 'b', type: 'text/plain' }],
            },
          },
        });
        const send = t.EmailSubmission.set({ accountId: A, create: { s: { identityId: identities.list[0].id, emailId: '#d' } } });
        return { draft, send };
      });
      const after = Date.now();
      assert.ok(result.send.created?.s, JSON.stringify(result.send.notCreated));
      const stored = (await rawEmail(alice, A, result.draft.created.d.id)).toString('utf8');
      const dates = headerValues(stored, 'Date');
      assert.equal(dates.length, 1, stored);
      assert.match(dates[0]!, RFC5322_DATE);
      const at = parseMailDate(dates[0]!)!;
      assert.ok(at >= Math.floor(before / 1000) * 1000 && at <= after, `${dates[0]} is the time of creation`);
      const [got] = await alice.api.Email.get({ accountId: A, ids: [result.draft.created.d.id], properties: ['sentAt'] });
      assert.equal(Date.parse(got.list[0].sentAt), at);

      // The copy delivered to a local recipient carries the same Date.
      const [found] = await bob.api.Email.query({ accountId: B, filter: { subject: 'No sentAt given' } });
      assert.equal(found.ids.length, 1);
      const delivered = (await rawEmail(bob, B, found.ids[0])).toString('utf8');
      assert.deepEqual(headerValues(delivered, 'Date'), dates);
    });

    it("keeps the client's UTC offset from sentAt and header:Date:asDate", async () => {
      const drafts = await role(alice, A, 'drafts');
      const [set] = await alice.api.Email.set({
        accountId: A,
        create: {
          east: { mailboxIds: { [drafts]: true }, subject: 'east', sentAt: '2026-07-10T11:05:08+10:00' },
          west: { mailboxIds: { [drafts]: true }, subject: 'west', 'header:Date:asDate': '2026-01-31T23:59:59-03:30' },
          utc: { mailboxIds: { [drafts]: true }, subject: 'utc', sentAt: '2026-02-28T08:00:00.250Z' },
        },
      });
      const expected: Record<string, [string, string]> = {
        east: ['Fri, 10 Jul 2026 11:05:08 +1000', '2026-07-10T11:05:08+10:00'],
        west: ['Sat, 31 Jan 2026 23:59:59 -0330', '2026-01-31T23:59:59-03:30'],
        utc: ['Sat, 28 Feb 2026 08:00:00 +0000', '2026-02-28T08:00:00Z'],
      };
      for (const [cid, [header, sentAt]] of Object.entries(expected)) {
        const id = set.created?.[cid]?.id;
        assert.ok(id, `${cid}: ${JSON.stringify(set.notCreated?.[cid])}`);
        assert.deepEqual(headerValues((await rawEmail(alice, A, id)).toString('utf8'), 'Date'), [header], cid);
        const [got] = await alice.api.Email.get({ accountId: A, ids: [id], properties: ['sentAt'] });
        assert.equal(got.list[0].sentAt, sentAt, cid);
      }
    });
  });

  describe('textBody, htmlBody and attachments (RFC 8621 §4.1.4)', () => {
    it('Email/get and Email/parse split client-written messages and the RFC example as the RFC does', async () => {
      const inbox = await role(alice, A, 'inbox');
      for (const m of CLIENT_MESSAGES) {
        const upload = await alice.uploadBlob(A, new Blob([m.raw], { type: 'message/rfc822' }));
        const [imported] = await alice.api.Email.import({
          accountId: A,
          emails: { m: { blobId: upload.blobId, mailboxIds: { [inbox]: true } } },
        });
        const lists = { properties: ['textBody', 'htmlBody', 'attachments'], bodyProperties: ['partId'] };
        const [got] = await alice.api.Email.get({ accountId: A, ids: [imported.created.m.id], ...lists });
        const [parsed] = await alice.api.Email.parse({ accountId: A, blobIds: [upload.blobId], ...lists });
        const partIds = (e: Json) => ({
          textBody: e.textBody.map((p: Json) => p.partId),
          htmlBody: e.htmlBody.map((p: Json) => p.partId),
          attachments: e.attachments.map((p: Json) => p.partId),
        });
        const expected = { textBody: m.textBody, htmlBody: m.htmlBody, attachments: m.attachments };
        assert.deepEqual(partIds(got.list[0]), expected, `Email/get: ${m.name}`);
        assert.deepEqual(partIds(parsed.parsed[upload.blobId]), expected, `Email/parse: ${m.name}`);
      }
    });
  });

  describe('bytes in are bytes out (RFC 8620 §6, RFC 8621 §4.1.4)', () => {
    /** Contents a client uploads: each must download with the same SHA-256 on every path. */
    const BLOBS: Array<{ name: string; type: string; bytes: Buffer }> = [
      { name: 'no final line break', type: 'text/plain', bytes: Buffer.from('Hello there') },
      { name: 'a final CRLF', type: 'text/plain', bytes: Buffer.from('ends with CRLF\r\n') },
      { name: 'bare LF line breaks', type: 'text/plain', bytes: Buffer.from('line one\nline two\n') },
      { name: 'a bare CR', type: 'text/plain', bytes: Buffer.from('a\rb') },
      { name: 'trailing white space', type: 'text/plain', bytes: Buffer.from('spaces   \r\ntab\t\r\n \t') },
      { name: 'UTF-8 text', type: 'text/plain', bytes: Buffer.from('Grüße aus Köln – 東京\r\n') },
      { name: 'a 2000-octet line', type: 'text/csv', bytes: Buffer.from('x,'.repeat(1000)) },
      { name: 'every octet value', type: 'application/octet-stream', bytes: Buffer.from(Array.from({ length: 512 }, (_, i) => i % 256)) },
      { name: 'nothing', type: 'application/octet-stream', bytes: Buffer.alloc(0) },
      { name: 'a boundary look-alike', type: 'text/plain', bytes: Buffer.from('--=_fp_\r\n--\r\n') },
    ];

    it('upload → download, and every uploaded blob attached to a draft downloads identically', async () => {
      const drafts = await role(alice, A, 'drafts');
      const uploads = [];
      for (const b of BLOBS) {
        const up = await alice.uploadBlob(A, new Blob([b.bytes], { type: b.type }));
        assert.equal(up.size, b.bytes.length, b.name);
        assert.equal(sha256(await download(alice, A, up.blobId)), sha256(b.bytes), `upload → download: ${b.name}`);
        uploads.push({ ...b, blobId: up.blobId });
      }
      const [set] = await alice.api.Email.set({
        accountId: A,
        create: {
          d: {
            mailboxIds: { [drafts]: true },
            subject: 'attachments',
            bodyValues: { t: { value: 'see attached' } },
            textBody: [{ partId: 't', type: 'text/plain' }],
            attachments: uploads.map((u, i) => ({ blobId: u.blobId, type: u.type, name: `file${i}` })),
          },
        },
      });
      const id = set.created?.d?.id;
      assert.ok(id, JSON.stringify(set.notCreated));
      const [got] = await alice.api.Email.get({ accountId: A, ids: [id], properties: ['attachments'] });
      const attachments = got.list[0].attachments;
      assert.deepEqual(
        attachments.map((a: Json) => a.name),
        uploads.map((_, i) => `file${i}`),
      );
      for (const [i, u] of uploads.entries()) {
        assert.equal(attachments[i].size, u.bytes.length, `size: ${u.name}`);
        assert.equal(sha256(await download(alice, A, attachments[i].blobId)), sha256(u.bytes), `attachment: ${u.name}`);
      }
    });

    it('a blob as the single part of bodyStructure, and body values, come back unchanged', async () => {
      const drafts = await role(alice, A, 'drafts');
      const up = await alice.uploadBlob(A, new Blob(['Hello there'], { type: 'text/plain' }));
      const [set] = await alice.api.Email.set({
        accountId: A,
        create: {
          blob: { mailboxIds: { [drafts]: true }, subject: 'blob', bodyStructure: { blobId: up.blobId, type: 'text/plain' } },
          single: {
            mailboxIds: { [drafts]: true },
            subject: 'single',
            bodyValues: { t: { value: 'this is a text part' } },
            textBody: [{ partId: 't', type: 'text/plain' }],
          },
          both: {
            mailboxIds: { [drafts]: true },
            subject: 'both',
            bodyValues: { t: { value: 'two\nlines' }, h: { value: '<p>Grüße</p>' } },
            textBody: [{ partId: 't', type: 'text/plain' }],
            htmlBody: [{ partId: 'h', type: 'text/html' }],
          },
        },
      });
      const ids = ['blob', 'single', 'both'].map((c) => {
        assert.ok(set.created?.[c], `${c}: ${JSON.stringify(set.notCreated?.[c])}`);
        return set.created[c].id;
      });
      const [got] = await alice.api.Email.get({
        accountId: A,
        ids,
        properties: ['textBody', 'htmlBody', 'bodyValues'],
        fetchAllBodyValues: true,
      });
      const [blob, single, both] = got.list;
      assert.equal(sha256(await download(alice, A, blob.textBody[0].blobId)), sha256(Buffer.from('Hello there')));
      assert.equal(blob.textBody[0].size, 11);
      assert.equal(blob.bodyValues[blob.textBody[0].partId].value, 'Hello there');
      assert.equal(single.bodyValues[single.textBody[0].partId].value, 'this is a text part');
      assert.equal(both.bodyValues[both.textBody[0].partId].value, 'two\nlines');
      assert.equal(both.bodyValues[both.htmlBody[0].partId].value, '<p>Grüße</p>');
      assert.equal(await (await download(alice, A, single.textBody[0].blobId)).toString(), 'this is a text part');
    });

    it('Email/import stores the uploaded message as it is: its blob, size and parts', async () => {
      const inbox = await role(alice, A, 'inbox');
      const messages = [
        'From: a@remote.test\r\nSubject: no final CRLF\r\n\r\nlast line without a break',
        'From: a@remote.test\r\nSubject: with final CRLF\r\n\r\nbody\r\n',
        'From: a@remote.test\r\nSubject: multipart\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\n\r\nthis is a text part\r\n--b\r\nContent-Type: application/octet-stream\r\nContent-Transfer-Encoding: base64\r\n\r\nAAEC/w==\r\n--b--\r\n',
      ].map((m) => Buffer.from(m));
      for (const raw of messages) {
        const up = await alice.uploadBlob(A, new Blob([raw], { type: 'message/rfc822' }));
        const [imported] = await alice.api.Email.import({
          accountId: A,
          emails: { m: { blobId: up.blobId, mailboxIds: { [inbox]: true } } },
        });
        const created = imported.created.m;
        assert.equal(created.size, raw.length);
        assert.equal(sha256(await rawEmail(alice, A, created.id)), sha256(raw), raw.toString());
        const [parsed] = await alice.api.Email.parse({ accountId: A, blobIds: [up.blobId], fetchAllBodyValues: true });
        const [got] = await alice.api.Email.get({ accountId: A, ids: [created.id], properties: ['bodyValues'], fetchAllBodyValues: true });
        assert.deepEqual(got.list[0].bodyValues, parsed.parsed[up.blobId].bodyValues);
      }
      const [got] = await alice.api.Email.query({ accountId: A, filter: { subject: 'multipart' } });
      const [email] = await alice.api.Email.get({
        accountId: A,
        ids: got.ids,
        properties: ['textBody', 'attachments', 'bodyValues'],
        fetchTextBodyValues: true,
      });
      const e = email.list[0];
      assert.equal(e.bodyValues[e.textBody[0].partId].value, 'this is a text part');
      assert.deepEqual([...(await download(alice, A, e.attachments[0].blobId))], [0, 1, 2, 255]);
    });
  });

  describe('/set takes back what /get gave (RFC 8620 §5.3)', () => {
    /** Sends `patch` as the update of `id` and returns [updated, notUpdated] for it. */
    async function update(type: string, id: string, patch: Json, accountId = A): Promise<[Json, Json]> {
      const [r] = await alice.request([`${type}/set`, { accountId, update: { [id]: patch } }]);
      return [r.updated?.[id], r.notUpdated?.[id]];
    }

    it('Mailbox: the whole object back is an update; a changed server-set value is invalidProperties', async () => {
      const [created] = await alice.api.Mailbox.set({ accountId: A, create: { e: { name: 'Echo' } } });
      const id = created.created.e.id;
      const [got] = await alice.api.Mailbox.get({ accountId: A, ids: [id] });
      const whole = got.list[0];
      assert.ok('totalEmails' in whole && 'myRights' in whole && 'id' in whole);
      const [ok, refused] = await update('Mailbox', id, { ...whole, name: 'Echoed', sortOrder: 3 });
      assert.equal(refused, undefined, JSON.stringify(refused));
      assert.equal(ok, null);
      const [after] = await alice.api.Mailbox.get({ accountId: A, ids: [id], properties: ['name', 'sortOrder'] });
      assert.deepEqual(after.list[0], { id, name: 'Echoed', sortOrder: 3 });
      for (const [patch, property] of [
        [{ totalEmails: 7 }, 'totalEmails'],
        [{ myRights: { ...whole.myRights, mayDelete: false } }, 'myRights'],
        [{ 'myRights/mayRename': false }, 'myRights'],
        [{ id: 'M999999' }, 'id'],
      ] as const) {
        const [, error] = await update('Mailbox', id, patch);
        assert.deepEqual([error?.type, error?.properties], ['invalidProperties', [property]], JSON.stringify(patch));
      }
    });

    it('Identity and VacationResponse: the whole object back is an update', async () => {
      const [identities] = await alice.api.Identity.get({ accountId: A });
      const identity = identities.list[0];
      const [ok, refused] = await update('Identity', identity.id, { ...identity, name: 'Alice A.' });
      assert.equal(refused, undefined, JSON.stringify(refused));
      assert.equal(ok, null);
      const [, changed] = await update('Identity', identity.id, { mayDelete: !identity.mayDelete });
      assert.deepEqual([changed?.type, changed?.properties], ['invalidProperties', ['mayDelete']]);

      const [vacation] = await alice.request(['VacationResponse/get', { accountId: A }], {
        using: ['urn:ietf:params:jmap:core', 'urn:ietf:params:jmap:vacationresponse'],
      });
      const v = vacation.list[0];
      const [set] = await alice.request(
        ['VacationResponse/set', { accountId: A, update: { singleton: { ...v, subject: 'Away', isEnabled: false } } }],
        { using: ['urn:ietf:params:jmap:core', 'urn:ietf:params:jmap:vacationresponse'] },
      );
      assert.deepEqual(set.updated, { singleton: null }, JSON.stringify(set.notUpdated));
    });

    it('EmailSubmission: the whole object back is an update; a changed sendAt is invalidProperties', async () => {
      const drafts = await role(alice, A, 'drafts');
      const [identities] = await alice.api.Identity.get({ accountId: A });
      const [result] = await alice.requestMany((t: Json) => {
        const draft = t.Email.set({
          accountId: A,
          create: { d: { mailboxIds: { [drafts]: true }, from: [{ email: ALICE }], to: [{ email: BOB }], subject: 'echo submission' } },
        });
        const send = t.EmailSubmission.set({ accountId: A, create: { s: { identityId: identities.list[0].id, emailId: '#d' } } });
        return { draft, send };
      });
      const id = result.send.created?.s?.id;
      assert.ok(id, JSON.stringify(result.send.notCreated));
      const [got] = await alice.api.EmailSubmission.get({ accountId: A, ids: [id] });
      const whole = got.list[0];
      const [ok, refused] = await update('EmailSubmission', id, whole);
      assert.equal(refused, undefined, JSON.stringify(refused));
      assert.equal(ok, null);
      const [, changed] = await update('EmailSubmission', id, { ...whole, sendAt: '2020-01-01T00:00:00Z' });
      assert.deepEqual([changed?.type, changed?.properties], ['invalidProperties', ['sendAt']]);
      const [, cancel] = await update('EmailSubmission', id, { undoStatus: 'canceled' });
      assert.equal(cancel?.type, 'cannotUnsend');
    });

    it('Email: the whole object back (default properties, body values) changes only keywords and mailboxIds', async () => {
      const drafts = await role(alice, A, 'drafts');
      const [set] = await alice.api.Email.set({
        accountId: A,
        create: {
          e: {
            mailboxIds: { [drafts]: true },
            keywords: { $draft: true },
            from: [{ name: 'Alice', email: ALICE }],
            subject: 'whole object',
            bodyValues: { t: { value: 'a body long enough to be truncated' }, h: { value: '<p>html</p>' } },
            textBody: [{ partId: 't', type: 'text/plain' }],
            htmlBody: [{ partId: 'h', type: 'text/html' }],
          },
        },
      });
      const id = set.created.e.id;
      const [got] = await alice.api.Email.get({ accountId: A, ids: [id], fetchTextBodyValues: true, maxBodyValueBytes: 10 });
      const whole = got.list[0];
      const [ok, refused] = await update('Email', id, { ...whole, keywords: { $draft: true, $seen: true } });
      assert.equal(refused, undefined, JSON.stringify(refused));
      assert.equal(ok, null);
      const [after] = await alice.api.Email.get({ accountId: A, ids: [id], properties: ['keywords'] });
      assert.deepEqual(after.list[0].keywords, { $draft: true, $seen: true });
      const [full] = await alice.api.Email.get({
        accountId: A,
        ids: [id],
        properties: ['bodyStructure', 'headers', 'header:Subject:asText', 'preview'],
        bodyProperties: ['partId', 'type', 'size'],
      });
      const [ok2, refused2] = await update('Email', id, full.list[0]);
      assert.equal(refused2, undefined, JSON.stringify(refused2));
      assert.equal(ok2, null);
      for (const [patch, property] of [
        [{ subject: 'changed' }, 'subject'],
        [{ size: 1 }, 'size'],
        [
          { bodyValues: { [whole.textBody[0].partId]: { value: 'not the body', isTruncated: false, isEncodingProblem: false } } },
          'bodyValues',
        ],
        [{ 'header:Subject:asText': 'changed' }, 'header:Subject:asText'],
      ] as const) {
        const [, error] = await update('Email', id, patch);
        assert.deepEqual([error?.type, error?.properties], ['invalidProperties', [property]], JSON.stringify(patch));
      }
    });
  });

  describe('SetError shapes (RFC 8620 §5.3, RFC 8621 §4.6, §4.8)', () => {
    const sorted = (e: Json) => [e?.type, [...(e?.properties ?? [])].sort()];

    it('Email/import: an unknown blobId is invalidProperties ["blobId"]; every bad property is named', async () => {
      const inbox = await role(alice, A, 'inbox');
      const [r] = await alice.api.Email.import({
        accountId: A,
        emails: {
          unknown: { blobId: `B${'0'.repeat(64)}`, mailboxIds: { [inbox]: true } },
          notAString: { blobId: 42, mailboxIds: { [inbox]: true } },
          all: { blobId: `B${'1'.repeat(64)}`, mailboxIds: { M999999: true }, keywords: { 'bad keyword': true }, receivedAt: 'yesterday' },
        },
      });
      assert.deepEqual(sorted(r.notCreated.unknown), ['invalidProperties', ['blobId']]);
      assert.deepEqual(sorted(r.notCreated.notAString), ['invalidProperties', ['blobId']]);
      assert.deepEqual(sorted(r.notCreated.all), ['invalidProperties', ['blobId', 'keywords', 'mailboxIds', 'receivedAt']]);
    });

    it('Email/set create: every invalid property at once; partId with size or charset refused; every missing blob', async () => {
      const drafts = await role(alice, A, 'drafts');
      const [r] = await alice.api.Email.set({
        accountId: A,
        create: {
          many: {
            mailboxIds: { M999999: true },
            keywords: { 'no spaces': true },
            subject: 5,
            from: 'not a list',
            unknownProperty: true,
            bodyValues: { t: { value: 'x' } },
            textBody: [{ partId: 't', type: 'text/plain', size: 1 }],
          },
          size: { mailboxIds: { [drafts]: true }, bodyValues: { t: { value: 'x' } }, textBody: [{ partId: 't', size: 1 }] },
          charset: {
            mailboxIds: { [drafts]: true },
            bodyValues: { t: { value: 'x' } },
            bodyStructure: { partId: 't', type: 'text/plain', charset: 'iso-8859-1' },
          },
          blobs: {
            mailboxIds: { [drafts]: true },
            attachments: [{ blobId: `B${'2'.repeat(64)}` }, { blobId: `B${'3'.repeat(64)}` }],
          },
        },
      });
      assert.deepEqual(sorted(r.notCreated.many), [
        'invalidProperties',
        ['from', 'keywords', 'mailboxIds', 'subject', 'textBody', 'unknownProperty'],
      ]);
      assert.deepEqual(sorted(r.notCreated.size), ['invalidProperties', ['textBody']]);
      assert.deepEqual(sorted(r.notCreated.charset), ['invalidProperties', ['bodyStructure']]);
      assert.equal(r.notCreated.blobs.type, 'blobNotFound');
      assert.deepEqual([...r.notCreated.blobs.notFound].sort(), [`B${'2'.repeat(64)}`, `B${'3'.repeat(64)}`]);
    });

    it('malformed creations (seeded) are refused per record, never serverFail', async () => {
      const drafts = await role(alice, A, 'drafts');
      const random = prng(8621);
      const junk: Json[] = [null, 0, -1, 1.5, true, '', 'x', [], [1], ['a', 2], {}, { a: 1 }, 'a\r\nb', '\u0000', 'é'.repeat(3)];
      const pick = () => junk[Math.floor(random() * junk.length)];
      const partKeys = [
        'partId',
        'blobId',
        'size',
        'type',
        'charset',
        'disposition',
        'name',
        'cid',
        'language',
        'location',
        'subParts',
        'header:X-A',
      ];
      const topKeys = [
        'from',
        'to',
        'subject',
        'sentAt',
        'messageId',
        'header:X-B:asText',
        'header:List-Post:asURLs',
        'bodyValues',
        'keywords',
      ];
      const create: Record<string, Json> = {};
      for (let i = 0; i < 120; i++) {
        const part: Json = { partId: 't' };
        for (const k of partKeys) if (random() < 0.3) part[k] = pick();
        const email: Json = { mailboxIds: { [drafts]: true }, bodyValues: { t: { value: 'x' } } };
        for (const k of topKeys) if (random() < 0.3) email[k] = pick();
        const where = ['textBody', 'htmlBody', 'attachments', 'bodyStructure'][i % 4]!;
        email[where] = where === 'bodyStructure' ? part : [part];
        create[`c${i}`] = email;
      }
      const [r] = await alice.request(['Email/set', { accountId: A, create }]);
      const errors = Object.values(r.notCreated ?? {}) as Json[];
      assert.ok(errors.length > 0);
      for (const e of errors) assert.ok(['invalidProperties', 'blobNotFound'].includes(e.type), JSON.stringify(e));
    });

    it('junk in every /set create and update (seeded) is refused per record, never serverFail', async () => {
      const random = prng(5303);
      const junk: Json[] = [null, 0, -1, 2 ** 40, 1.5, true, '', 'x', [], [1], [{}], {}, { a: 1 }, { email: 1 }, 'a\r\nb', '*', '#c0'];
      const pick = () => junk[Math.floor(random() * junk.length)];
      const [boxes] = await alice.api.Mailbox.get({ accountId: A, ids: null, properties: ['id'] });
      const [identities] = await alice.api.Identity.get({ accountId: A });
      const [emails] = await alice.api.Email.query({ accountId: A, limit: 3 });
      const [subs] = await alice.api.EmailSubmission.query({ accountId: A, limit: 3 });
      const types: Record<string, { keys: string[]; ids: string[] }> = {
        Mailbox: {
          keys: ['name', 'parentId', 'role', 'sortOrder', 'isSubscribed', 'myRights', 'myRights/mayDelete', 'totalEmails'],
          ids: boxes.list.map((b: Json) => b.id),
        },
        Identity: {
          keys: ['name', 'email', 'replyTo', 'bcc', 'textSignature', 'htmlSignature', 'mayDelete'],
          ids: [identities.list[0].id],
        },
        Email: {
          keys: [
            'keywords',
            'keywords/$seen',
            'mailboxIds',
            `mailboxIds/${boxes.list[0].id}`,
            'subject',
            'bodyValues',
            'textBody',
            'header:X:asText',
          ],
          ids: emails.ids,
        },
        EmailSubmission: { keys: ['undoStatus', 'identityId', 'emailId', 'envelope', 'sendAt', 'deliveryStatus'], ids: subs.ids },
      };
      for (const [type, { keys, ids }] of Object.entries(types)) {
        const create: Record<string, Json> = {};
        const update: Record<string, Json> = {};
        for (let i = 0; i < 40; i++) {
          const o: Json = {};
          for (const k of keys) if (random() < 0.4) o[k] = pick();
          if (type !== 'EmailSubmission' && type !== 'Identity')
            create[`c${i}`] = Object.fromEntries(Object.entries(o).filter(([k]) => !k.includes('/')));
          if (ids.length) update[ids[i % ids.length]!] = random() < 0.1 ? pick() : o;
        }
        const [r] = await alice.request([`${type}/set`, { accountId: A, create, update }]);
        const errors = [...Object.values(r.notCreated ?? {}), ...Object.values(r.notUpdated ?? {})] as Json[];
        for (const e of errors) assert.ok(!['serverFail'].includes(e.type), `${type}: ${JSON.stringify(e)}`);
      }
    });

    it('Identity, Mailbox, VacationResponse and EmailSubmission name every invalid property', async () => {
      const [identity] = await alice.api.Identity.set({ accountId: A, create: { i: { name: 7, email: 'no at sign', textSignature: [] } } });
      assert.deepEqual(sorted(identity.notCreated.i), ['invalidProperties', ['email', 'name', 'textSignature']]);
      const [mailbox] = await alice.api.Mailbox.set({ accountId: A, create: { m: { name: '', sortOrder: -1, role: 'nonsense' } } });
      assert.deepEqual(sorted(mailbox.notCreated.m), ['invalidProperties', ['name', 'role', 'sortOrder']]);
      const [vacation] = await alice.request(
        ['VacationResponse/set', { accountId: A, update: { singleton: { isEnabled: 'yes', fromDate: 'soon', subject: 3 } } }],
        { using: ['urn:ietf:params:jmap:core', 'urn:ietf:params:jmap:vacationresponse'] },
      );
      assert.deepEqual(sorted(vacation.notUpdated.singleton), ['invalidProperties', ['fromDate', 'isEnabled', 'subject']]);
      const [submission] = await alice.api.EmailSubmission.set({
        accountId: A,
        create: { s: { identityId: 'I999999', emailId: 'E999999', envelope: 'nope' } },
      });
      assert.deepEqual(sorted(submission.notCreated.s), ['invalidProperties', ['emailId', 'envelope', 'identityId']]);
    });
  });

  describe('text filters match words (RFC 8621 §4.4.1)', () => {
    const messages: Record<string, string> = {
      one: 'From: Ann <ann@remote.test>\r\nSubject: wordsearch one\r\nX-Note: hidden\r\n\r\nIs anybody there? Nowhere to be found.\r\n',
      two: 'From: Ann <ann@remote.test>\r\nSubject: wordsearch two\r\n\r\nHere we go again, heretofore unseen.\r\n',
      three: 'From: Jane Doe <jane@example.org>\r\nSubject: wordsearch three Business plan\r\n\r\nthe buses run late\r\n',
      four: 'From: Ann <ann@remote.test>\r\nTo: =?UTF-8?Q?Zo=C3=AB?= <zoe@remote.test>\r\nSubject: wordsearch four\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n東京で会いましょう\r\n',
    };
    const ids: Record<string, string> = {};

    before(async () => {
      const inbox = await role(alice, A, 'inbox');
      for (const [name, raw] of Object.entries(messages)) {
        const up = await alice.uploadBlob(A, new Blob([raw], { type: 'message/rfc822' }));
        const [r] = await alice.api.Email.import({ accountId: A, emails: { m: { blobId: up.blobId, mailboxIds: { [inbox]: true } } } });
        ids[name] = r.created.m.id;
      }
    });

    async function found(condition: Json): Promise<string[]> {
      const [r] = await alice.api.Email.query({
        accountId: A,
        filter: { operator: 'AND', conditions: [{ subject: 'wordsearch' }, condition] },
      });
      const byId = Object.fromEntries(Object.entries(ids).map(([k, v]) => [v, k]));
      return r.ids.map((id: string) => byId[id] ?? id).sort();
    }

    it('"here" does not find "there"; prefixes, phrases, every token, addresses and CJK', async () => {
      const cases: Array<[Json, string[], string?]> = [
        [{ text: 'here' }, ['two']],
        [{ body: 'her' }, ['two']],
        [{ text: 'bus' }, ['three']],
        [{ body: 'bus' }, ['three']],
        [{ text: '"run late"' }, ['three']],
        [{ text: '"late run"' }, []],
        [{ text: '"the bus"' }, []],
        [{ text: 'again unseen' }, ['two']],
        [{ text: 'again nowhere' }, []],
        [{ text: '会い' }, ['four']],
        [{ from: 'example' }, ['three']],
        [{ from: 'ample' }, []],
        [{ to: 'zoë' }, ['four']],
        [{ header: ['Subject', 'busi'] }, ['three']],
        [{ text: 'hidden' }, [], 'text looks in From, To, Cc, Bcc, Subject and the body only'],
        [{ header: ['X-Note', 'hidden'] }, ['one']],
        [{ header: ['x-note'] }, ['one']],
      ];
      for (const [condition, expected, why] of cases) assert.deepEqual(await found(condition), expected, why ?? JSON.stringify(condition));
    });

    it('SearchSnippet/get marks the words that matched', async () => {
      const [r] = await alice.api.SearchSnippet.get({ accountId: A, filter: { text: 'here' }, emailIds: [ids['one'], ids['two']] });
      assert.deepEqual(
        r.list.map((x: Json) => x.preview),
        [null, '<mark>Here</mark> we go again, <mark>heretofore</mark> unseen.'],
      );
    });

    it('GET (and PUT, DELETE) on the API and upload URLs answer 405 with Allow: POST', async () => {
      const headers = { authorization: `Bearer ${tokens[ALICE]}` };
      for (const [method, url] of [
        ['GET', '/jmap/api'],
        ['HEAD', '/jmap/api'],
        ['PUT', '/jmap/api'],
        ['DELETE', '/jmap/api'],
        ['GET', `/jmap/upload/${A}`],
      ] as const) {
        const res = await fetch(`${server.baseUrl}${url}`, { method, headers });
        assert.equal(res.status, 405, `${method} ${url}`);
        assert.equal(res.headers.get('allow'), 'POST', `${method} ${url}`);
        if (method !== 'HEAD') assert.equal(((await res.json()) as Json).status, 405);
      }
      const anonymous = await fetch(`${server.baseUrl}/jmap/api`);
      assert.equal(anonymous.status, 401, 'credentials are still checked first');
    });
  });

  describe('result-reference amplification (RFC 8620 §3.7, §8.5)', () => {
    async function post(body: unknown): Promise<{ status: number; text: string }> {
      const res = await fetch(`${server.baseUrl}/jmap/api`, {
        method: 'POST',
        headers: { authorization: `Bearer ${tokens[ALICE]}`, 'content-type': 'application/json' },
        body: JSON.stringify(body),
      });
      return { status: res.status, text: await res.text() };
    }

    it('a 4 KB request of doubling echoes gets requestTooLarge, not a response of tens of megabytes', async () => {
      const calls: Json[] = [['Core/echo', { s: 'x'.repeat(2_000) }, 'c0']];
      for (let i = 1; i < 16; i++) {
        const ref = { resultOf: `c${i - 1}`, name: 'Core/echo', path: '' };
        calls.push(['Core/echo', { '#a': ref, '#b': ref }, `c${i}`]);
      }
      const request = { using: ['urn:ietf:params:jmap:core'], methodCalls: calls };
      assert.ok(JSON.stringify(request).length < 5_000);
      const r = await post(request);
      assert.equal(r.status, 200);
      const responses = (JSON.parse(r.text) as Json).methodResponses as Json[];
      const refused = responses.find((x) => x[0] === 'error');
      assert.deepEqual([refused?.[1].type, refused?.[1].limit], ['requestTooLarge', 'maxSizeRequest']);
      // Resolved references are held to maxSizeRequest (10 MB by default): two copies at most in the answer.
      assert.ok(r.text.length < 2 * server.config.jmap.max_size_request + 100_000, `response of ${r.text.length} characters`);
      const echo = await post({ using: ['urn:ietf:params:jmap:core'], methodCalls: [['Core/echo', { ok: true }, 'e']] });
      assert.equal(echo.status, 200, 'the server still answers');
      const metrics = await (await fetch(`${server.baseUrl}/metrics`)).text();
      assert.match(metrics, /fingerpost_jmap_limit_refusals_total\{limit="maxSizeRequest"\} [1-9]/, 'the refusal is counted');
    });

    it('a * path over 150,000 items resolves (no serverFail)', async () => {
      const items = Array.from({ length: 150_000 }, (_, i) => i % 10);
      const r = await post({
        using: ['urn:ietf:params:jmap:core'],
        methodCalls: [
          ['Core/echo', { list: [items, [7]] }, 'a'],
          ['Core/echo', { '#all': { resultOf: 'a', name: 'Core/echo', path: '/list/*/*' } }, 'b'],
        ],
      });
      assert.equal(r.status, 200);
      const [, second] = (JSON.parse(r.text) as Json).methodResponses;
      assert.equal(second[0], 'Core/echo', r.text.slice(-300));
      assert.equal(second[1].all.length, 150_001);
    });
  });
});
