// JMAP with a real client library: jmap-jam (npm) against a running node over HTTPS with a
// bearer token from the embedded provider — session discovery through /.well-known/jmap,
// Mailbox and Email methods with result references, upload, import and download.
import assert from 'node:assert/strict';
import tls from 'node:tls';
import { after, before, describe, it } from 'node:test';
import { resourceIds } from '../../src/config/resources.ts';
import { issueToken } from '../helpers/idp.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';

const USER = 'jam@example.test';

// biome-ignore lint/suspicious/noExplicitAny: JMAP responses are checked field by field
type Json = any;
/** The part of jmap-jam's client these tests use. */
interface Jam {
  readonly session: Promise<Json>;
  readonly api: Json;
  getPrimaryAccount(): Promise<string>;
  request(invocation: [string, Json], options?: { using?: string[] }): Promise<[Json, Json]>;
  requestMany(drafts: (t: Json) => Record<string, Json>): Promise<[Json, Json]>;
  uploadBlob(accountId: string, body: Blob): Promise<{ blobId: string; size: number; type: string }>;
  downloadBlob(options: { accountId: string; blobId: string; mimeType: string; fileName: string }): Promise<Response>;
}
// jmap-jam's type declarations pull in jmap-rfc-types' TypeScript sources, which use enums (not
// erasable syntax, so `tsc` refuses them): load the package without its types.
const jamModule = 'jmap-jam';
const { default: JamClient } = (await import(jamModule)) as { default: new (config: { sessionUrl: string; bearerToken: string }) => Jam };

describe('jmap-jam against the JMAP endpoint', () => {
  let server: TestServer;
  let jam: Jam;
  let accountId: string;

  before(async () => {
    server = await startTestServer();
    // jmap-jam uses the global fetch, which trusts the default CA store: add the test CA to it.
    tls.setDefaultCACertificates([...tls.getCACertificates('default'), server.ca]);
    await server.services.accounts.addUser({ address: USER, password: 'jam test password', displayName: 'Jam User' });
    const token = await issueToken(server, USER, { resource: resourceIds(server.config).jmap });
    jam = new JamClient({ sessionUrl: `${server.baseUrl}/.well-known/jmap`, bearerToken: token });
    accountId = await jam.getPrimaryAccount();
  });
  after(() => server.close());

  it('loads the session through /.well-known/jmap', async () => {
    const session = await jam.session;
    assert.equal(session.username, USER);
    assert.ok(session.capabilities['urn:ietf:params:jmap:core']);
    assert.equal(session.capabilities['urn:ietf:params:jmap:core'].maxCallsInRequest, 16);
    assert.equal(session.apiUrl, `${server.baseUrl}/jmap/api`);
    assert.equal(session.accounts[accountId]?.name, USER);
    assert.match(accountId, /^A\d+$/);
  });

  it('Mailbox/get and Mailbox/set', async () => {
    const [boxes] = await jam.api.Mailbox.get({ accountId, ids: null });
    assert.deepEqual(boxes.list.map((b: Json) => b.role).sort(), ['archive', 'drafts', 'inbox', 'junk', 'sent', 'trash']);
    const [created] = await jam.api.Mailbox.set({ accountId, create: { p: { name: 'Projects', parentId: null } } });
    const id = created.created!['p']!.id;
    const [renamed] = await jam.api.Mailbox.set({ accountId, update: { [id]: { name: 'Projects 2026' } } });
    assert.deepEqual(renamed.updated, { [id]: null });
    const [got] = await jam.api.Mailbox.get({ accountId, ids: [id], properties: ['name', 'totalEmails'] });
    assert.deepEqual(got.list, [{ id, name: 'Projects 2026', totalEmails: 0 }]);
  });

  it('creates a draft, finds it with Email/query and reads it with a back-referenced Email/get', async () => {
    const [boxes] = await jam.api.Mailbox.query({ accountId, filter: { role: 'drafts' } });
    const drafts = boxes.ids[0]!;
    const [set] = await jam.api.Email.set({
      accountId,
      create: {
        d: {
          mailboxIds: { [drafts]: true },
          keywords: { $draft: true },
          from: [{ name: 'Jam User', email: USER }],
          to: [{ name: 'Someone', email: 'someone@remote.test' }],
          subject: 'Draft from jmap-jam',
          bodyValues: { b: { value: 'Body text', isTruncated: false, isEncodingProblem: false } },
          textBody: [{ partId: 'b', type: 'text/plain' }],
        },
      },
    });
    const emailId = set.created!['d']!.id;
    const [result] = await jam.requestMany((t: Json) => {
      const query = t.Email.query({ accountId, filter: { inMailbox: drafts }, sort: [{ property: 'receivedAt', isAscending: false }] });
      const emails = t.Email.get({ accountId, ids: query.$ref('/ids'), properties: ['subject', 'from', 'keywords', 'preview'] });
      return { query, emails };
    });
    assert.deepEqual(result.query.ids, [emailId]);
    assert.deepEqual(result.emails.list, [
      {
        id: emailId,
        subject: 'Draft from jmap-jam',
        from: [{ name: 'Jam User', email: USER }],
        keywords: { $draft: true },
        preview: 'Body text',
      },
    ]);
    const [changed] = await jam.api.Email.set({ accountId, update: { [emailId]: { 'keywords/$seen': true } } });
    assert.deepEqual(changed.updated, { [emailId]: null });
    const [changes] = await jam.api.Email.changes({ accountId, sinceState: set.oldState! });
    assert.deepEqual(changes.created, [emailId]);
  });

  it('uploads a message, imports it, and downloads it and one of its parts', async () => {
    const raw = [
      'From: Sender <sender@remote.test>',
      `To: ${USER}`,
      'Subject: Imported',
      'Message-ID: <imported@remote.test>',
      'MIME-Version: 1.0',
      'Content-Type: multipart/mixed; boundary=x',
      '',
      '--x',
      'Content-Type: text/plain',
      '',
      'see the attachment',
      '--x',
      'Content-Type: application/octet-stream; name=data.bin',
      'Content-Disposition: attachment; filename=data.bin',
      'Content-Transfer-Encoding: base64',
      '',
      Buffer.from([0, 1, 2, 254, 255]).toString('base64'),
      '--x--',
      '',
    ].join('\r\n');
    const upload = await jam.uploadBlob(accountId, new Blob([raw], { type: 'message/rfc822' }));
    assert.equal(upload.size, Buffer.byteLength(raw));
    assert.equal(upload.type, 'message/rfc822');
    const [inbox] = await jam.api.Mailbox.query({ accountId, filter: { role: 'inbox' } });
    const [imported] = await jam.api.Email.import({
      accountId,
      emails: { m: { blobId: upload.blobId, mailboxIds: { [inbox.ids[0]!]: true }, keywords: {} } },
    });
    const id = imported.created!['m']!.id;
    const [emails] = await jam.api.Email.get({ accountId, ids: [id], properties: ['blobId', 'attachments', 'subject'] });
    const email = emails.list[0]!;
    assert.equal(email.subject, 'Imported');
    const whole = await jam.downloadBlob({ accountId, blobId: email.blobId!, mimeType: 'message/rfc822', fileName: 'mail.eml' });
    assert.equal(await whole.text(), raw);
    assert.equal(whole.headers.get('cache-control'), 'private, immutable, max-age=31536000');
    const attachment = email.attachments![0]!;
    assert.equal(attachment.name, 'data.bin');
    const part = await jam.downloadBlob({
      accountId,
      blobId: attachment.blobId!,
      mimeType: 'application/octet-stream',
      fileName: 'data.bin',
    });
    assert.deepEqual([...new Uint8Array(await part.arrayBuffer())], [0, 1, 2, 254, 255]);
    assert.match(part.headers.get('content-disposition') ?? '', /filename\*=UTF-8''data\.bin/);
  });

  it('surfaces method errors and request-level problems to the client', async () => {
    await assert.rejects(jam.api.Email.get({ accountId: 'A999999', ids: [] }), (err: unknown) => {
      const e = err as { type?: string };
      return e.type === 'accountNotFound';
    });
    await assert.rejects(jam.request(['Email/get', { accountId, ids: [] }], { using: ['urn:example:unknown'] }), (err: unknown) => {
      const e = err as { type?: string; status?: number };
      return e.type === 'urn:ietf:params:jmap:error:unknownCapability' && e.status === 400;
    });
  });
});
