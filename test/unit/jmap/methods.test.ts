// JMAP methods against the real mail store on SQLite and PostgreSQL (RFC 8620 §5, RFC 8621):
// requests run through the same dispatcher the API endpoint uses.
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { AccountAdmin } from '../../../src/admin/accounts.ts';
import { loadConfig } from '../../../src/config/load.ts';
import { createLogger } from '../../../src/core/log.ts';
import type { DirectoryAccount } from '../../../src/directory/directory.ts';
import { SqlDirectory } from '../../../src/directory/sql.ts';
import { mimeParser } from '../../../src/mail/mime/parse.ts';
import { OutboundQueue } from '../../../src/mail/queue/queue.ts';
import { MailStore } from '../../../src/mail/store.ts';
import { readBlob } from '../../../src/protocols/jmap/blob/access.ts';
import { storeUpload } from '../../../src/protocols/jmap/blob/upload.ts';
import { limitsFrom } from '../../../src/protocols/jmap/capabilities.ts';
import type { JmapServices } from '../../../src/protocols/jmap/context.ts';
import { processRequest } from '../../../src/protocols/jmap/dispatch.ts';
import { MailSubmission } from '../../../src/mail/submission/submission.ts';
import { METHODS } from '../../../src/protocols/jmap/methods.ts';
import { FsBlobStore } from '../../../src/store/blobs.ts';
import { type Db, openDb } from '../../../src/store/db.ts';
import { pgAvailable, peerSkip } from '../../helpers/peers.ts';
import { tempPgDatabase } from '../../helpers/pg.ts';

const pgSkip = peerSkip('PostgreSQL', await pgAvailable(), 'start it: pg_ctlcluster 15 main start');
const USING = [
  'urn:ietf:params:jmap:core',
  'urn:ietf:params:jmap:mail',
  'urn:ietf:params:jmap:submission',
  'urn:ietf:params:jmap:vacationresponse',
];

// biome-ignore lint/suspicious/noExplicitAny: responses are checked field by field
type Json = Record<string, any>;

function message(o: {
  subject: string;
  id: string;
  from?: string;
  to?: string;
  inReplyTo?: string;
  body?: string;
  date?: string;
  extra?: string[];
}): Buffer {
  return Buffer.from(
    [
      `From: ${o.from ?? 'Alice Example <alice@remote.test>'}`,
      `To: ${o.to ?? 'bob@example.test'}`,
      `Subject: ${o.subject}`,
      `Date: ${o.date ?? 'Mon, 02 Nov 2026 09:00:00 +0100'}`,
      `Message-ID: <${o.id}>`,
      ...(o.inReplyTo ? [`In-Reply-To: <${o.inReplyTo}>`, `References: <${o.inReplyTo}>`] : []),
      ...(o.extra ?? []),
      'Received: from remote.test by example.test',
      'Content-Type: text/plain; charset=utf-8',
      '',
      o.body ?? 'Hello there.',
      '',
    ].join('\r\n'),
  );
}

for (const dialect of ['sqlite', 'postgres'] as const) {
  describe(`JMAP methods (${dialect})`, { skip: dialect === 'postgres' ? pgSkip : false }, () => {
    let db: Db;
    let dir: string;
    let drop = async () => {};
    let services: JmapServices;
    let store: MailStore;
    let bob: DirectoryAccount;
    let queue: OutboundQueue;
    let A: string;

    async function call(
      methodCalls: Array<[string, Json, string]>,
      createdIds?: Record<string, string>,
    ): Promise<Array<[string, Json, string]>> {
      const r = await processRequest(
        { using: USING, methodCalls, ...(createdIds ? { createdIds } : {}) },
        services,
        { account: bob, auth: { ok: true, account: bob, method: 'password', scopes: [] } },
        METHODS,
        'st',
      );
      return r.methodResponses as Array<[string, Json, string]>;
    }
    async function one(name: string, args: Json): Promise<Json> {
      const [r] = await call([[name, { accountId: A, ...args }, 'c']]);
      assert.equal(r![0], name, `${name} failed: ${JSON.stringify(r![1])}`);
      return r![1];
    }
    async function mailbox(role: string): Promise<string> {
      const r = await one('Mailbox/query', { filter: { role } });
      return r['ids'][0];
    }

    before(async () => {
      dir = await mkdtemp(path.join(os.tmpdir(), 'fp-jmap-'));
      let url = '';
      if (dialect === 'postgres') ({ url, drop } = await tempPgDatabase());
      db = await openDb({ url, sqlitePath: path.join(dir, 'fp.db') });
      const directory = new SqlDirectory(db);
      const admin = new AccountAdmin(db, directory);
      await admin.addDomain('example.test');
      bob = (await admin.addUser({ address: 'bob@example.test', password: 'a long password', displayName: 'Bob' })).account;
      await admin.addUser({ address: 'carol@example.test', password: 'another long password' });
      const blobs = new FsBlobStore(path.join(dir, 'blobs'));
      const mail = new MailStore(db, blobs, mimeParser);
      store = mail;
      const config = loadConfig({ dataDir: dir, env: {}, overrides: { server: { hostname: 'example.test' } } });
      queue = new OutboundQueue(db, blobs, { maxAgeMs: 3_600_000 });
      services = {
        config,
        logger: createLogger(process.env.FP_TEST_LOG ?? 'silent'),
        mail,
        blobs,
        directory,
        limits: limitsFrom(config),
        submission: new MailSubmission({
          directory,
          mail,
          enqueue: (input) => queue.enqueue(input),
          senderPolicy: config.submission.sender_policy,
        }),
        now: Date.now,
      };
      A = `A${bob.id}`;
    });
    after(async () => {
      await db.close();
      await drop();
      await rm(dir, { recursive: true, force: true });
    });

    it('Core/echo, unknown methods, capabilities not in using, wrong accounts and bad argument types', async () => {
      const r = await processRequest(
        {
          using: ['urn:ietf:params:jmap:core'],
          methodCalls: [
            ['Core/echo', { hello: [1, { x: null }] }, 'a'],
            ['Mailbox/get', { accountId: A }, 'b'],
            ['Nope/get', {}, 'c'],
          ],
        },
        services,
        { account: bob, auth: { ok: true, account: bob, method: 'password', scopes: [] } },
        METHODS,
        'st',
      );
      assert.deepEqual(r.methodResponses, [
        ['Core/echo', { hello: [1, { x: null }] }, 'a'],
        ['error', { type: 'unknownMethod', description: 'Mailbox/get is not available with the capabilities in "using"' }, 'b'],
        ['error', { type: 'unknownMethod', description: 'Nope/get is not available with the capabilities in "using"' }, 'c'],
      ]);
      const errors = await call([
        ['Mailbox/get', { accountId: 'A999' }, 'x'],
        ['Mailbox/get', { accountId: A, ids: 'M1' }, 'y'],
        ['Email/query', { accountId: A, filter: { bogus: 1 } }, 'z'],
        ['Email/query', { accountId: A, sort: [{ property: 'color' }] }, 'w'],
        ['Email/get', { accountId: A, ids: Array.from({ length: 501 }, (_, i) => `E${i + 1}`) }, 'v'],
        ['Email/changes', { accountId: A, sinceState: 'garbage' }, 'u'],
        ['Mailbox/set', { accountId: A, destroy: Array.from({ length: 501 }, (_, i) => `M${i + 1000}`) }, 't'],
      ]);
      assert.deepEqual(
        errors.map((e) => [e[0], e[1]['type'], e[2]]),
        [
          ['error', 'accountNotFound', 'x'],
          ['error', 'invalidArguments', 'y'],
          ['error', 'unsupportedFilter', 'z'],
          ['error', 'unsupportedSort', 'w'],
          ['error', 'requestTooLarge', 'v'],
          ['error', 'cannotCalculateChanges', 'u'],
          ['error', 'requestTooLarge', 't'],
        ],
      );
    });

    it('Mailbox/set creates a tree with creation-id parents, renames and moves, refuses bad names and duplicate roles', async () => {
      const before = await one('Mailbox/get', { ids: null, properties: ['name'] });
      const r = await one('Mailbox/set', {
        create: {
          child: { name: 'Child', parentId: '#top' },
          top: { name: 'Projects', sortOrder: 7 },
          slash: { name: 'a/b' },
          dupe: { name: 'Inbox2', role: 'inbox' },
        },
      });
      assert.ok(r['created']['top']['id'] && r['created']['child']['id']);
      assert.equal(r['notCreated']['slash']['type'], 'invalidProperties');
      assert.deepEqual(r['notCreated']['dupe']['properties'], ['role']);
      assert.notEqual(r['newState'], before['state']);
      const top = r['created']['top']['id'];
      const child = r['created']['child']['id'];
      const got = await one('Mailbox/get', { ids: [child, top], properties: ['name', 'parentId', 'sortOrder'] });
      assert.deepEqual(got['list'], [
        { id: child, name: 'Child', parentId: top, sortOrder: 0 },
        { id: top, name: 'Projects', parentId: null, sortOrder: 7 },
      ]);
      const archive = await mailbox('archive');
      const loop = await one('Mailbox/set', { update: { [top]: { parentId: child } } });
      assert.equal(loop['notUpdated'][top]['type'], 'invalidProperties', 'a mailbox cannot move below its own child');
      const moved = await one('Mailbox/set', { update: { [child]: { name: 'Renamed', parentId: archive } } });
      assert.deepEqual(Object.keys(moved['updated']), [child]);
      const tree = await one('Mailbox/query', { filter: { parentId: archive }, sortAsTree: true });
      assert.deepEqual(tree['ids'], [child]);
      const changes = await one('Mailbox/changes', { sinceState: before['state'] });
      assert.deepEqual(new Set(changes['created']), new Set([top, child]));
      assert.equal(changes['updatedProperties'], null);
      const inbox = await mailbox('inbox');
      const forbidden = await one('Mailbox/set', { update: { [inbox]: { name: 'Elsewhere' } }, destroy: [inbox] });
      assert.equal(forbidden['notUpdated'][inbox]['type'], 'forbidden');
      assert.equal(forbidden['notDestroyed'][inbox]['type'], 'forbidden');
      const stale = await call([['Mailbox/set', { accountId: A, ifInState: before['state'], create: { x: { name: 'X' } } }, 's']]);
      assert.equal(stale[0]![1]['type'], 'stateMismatch');
    });

    it('Email/query: filters, sorts, collapseThreads, windows and totals agree between the SQL and in-memory paths', async () => {
      const inbox = await mailbox('inbox');
      const inboxN = Number(inbox.slice(1));
      const mail = services.mail;
      const bodies = [
        message({
          subject: 'Quarterly report',
          id: 'q1@remote.test',
          body: 'The numbers are in.',
          date: 'Mon, 02 Nov 2026 09:00:00 +0000',
        }),
        message({
          subject: 'Re: Quarterly report',
          id: 'q2@remote.test',
          inReplyTo: 'q1@remote.test',
          from: 'Zed <zed@remote.test>',
          date: 'Tue, 03 Nov 2026 09:00:00 +0000',
        }),
        message({
          subject: 'Lunch',
          id: 'l1@remote.test',
          from: 'Carol <carol@example.test>',
          body: 'Pizza on friday?',
          date: 'Wed, 04 Nov 2026 09:00:00 +0000',
        }),
        message({
          subject: 'Newsletter',
          id: 'n1@remote.test',
          extra: ['List-Id: <news.remote.test>'],
          body: 'x'.repeat(5000),
          date: 'Thu, 05 Nov 2026 09:00:00 +0000',
        }),
      ];
      const ids: number[] = [];
      for (const [i, b] of bodies.entries())
        ids.push(
          (await mail.append(bob.id, inboxN, b, { receivedAt: Date.UTC(2026, 10, 2 + i, 10), keywords: i === 2 ? ['$seen'] : [] }))
            .messageId,
        );
      const E = ids.map((n) => `E${n}`);
      const q = async (args: Json) => (await one('Email/query', args))['ids'];
      assert.deepEqual(await q({ filter: { inMailbox: inbox }, sort: [{ property: 'receivedAt', isAscending: false }] }), [
        E[3],
        E[2],
        E[1],
        E[0],
      ]);
      assert.deepEqual(
        await q({ filter: { inMailbox: inbox }, sort: [{ property: 'receivedAt', isAscending: false }], collapseThreads: true }),
        [E[3], E[2], E[1]],
      );
      assert.deepEqual(await q({ filter: { hasKeyword: '$seen' } }), [E[2]]);
      assert.deepEqual(await q({ filter: { notKeyword: '$seen', minSize: 1000 } }), [E[3]]);
      assert.deepEqual(
        await q({
          filter: { operator: 'OR', conditions: [{ hasKeyword: '$seen' }, { before: '2026-11-03T00:00:00Z' }] },
          sort: [{ property: 'receivedAt' }],
        }),
        [E[0], E[2]],
      );
      assert.deepEqual(await q({ filter: { operator: 'NOT', conditions: [{ after: '2026-11-03T00:00:00Z' }] } }), [E[0]]);
      assert.deepEqual(await q({ filter: { text: 'pizza' } }), [E[2]]);
      assert.deepEqual(await q({ filter: { from: 'zed' } }), [E[1]]);
      assert.deepEqual(await q({ filter: { subject: 'quarterly' }, sort: [{ property: 'receivedAt' }] }), [E[0], E[1]]);
      assert.deepEqual(await q({ filter: { header: ['List-Id'] } }), [E[3]]);
      assert.deepEqual(await q({ filter: { header: ['List-Id', 'news.remote'] } }), [E[3]]);
      assert.deepEqual(await q({ filter: { body: 'numbers' } }), [E[0]]);
      assert.deepEqual(await q({ filter: { someInThreadHaveKeyword: '$seen' } }), [E[2]]);
      assert.deepEqual(await q({ filter: { inMailbox: inbox }, sort: [{ property: 'subject' }, { property: 'receivedAt' }] }), [
        E[2],
        E[3],
        E[0],
        E[1],
      ]);
      assert.deepEqual(await q({ filter: { inMailbox: inbox }, sort: [{ property: 'size', isAscending: false }] }).then((r) => r[0]), E[3]);
      // The same query through SQL (column sort) and in memory (from sort forces it) must agree.
      const viaSql = await one('Email/query', {
        filter: { inMailbox: inbox, notKeyword: '$flagged' },
        sort: [{ property: 'receivedAt' }],
        position: 1,
        limit: 2,
        calculateTotal: true,
      });
      const viaMemory = await one('Email/query', {
        filter: { inMailbox: inbox, notKeyword: '$flagged', from: '@' },
        sort: [{ property: 'receivedAt' }],
        position: 1,
        limit: 2,
        calculateTotal: true,
      });
      assert.deepEqual([viaSql['ids'], viaSql['total'], viaSql['position']], [[E[1], E[2]], 4, 1]);
      assert.deepEqual([viaMemory['ids'], viaMemory['total'], viaMemory['position']], [[E[1], E[2]], 4, 1]);
      const anchored = await one('Email/query', {
        filter: { inMailbox: inbox },
        sort: [{ property: 'receivedAt' }],
        anchor: E[2],
        anchorOffset: -1,
        limit: 2,
      });
      assert.deepEqual([anchored['ids'], anchored['position']], [[E[1], E[2]], 1]);
      const tail = await one('Email/query', { filter: { inMailbox: inbox }, sort: [{ property: 'receivedAt' }], position: -1 });
      assert.deepEqual(tail['ids'], [E[3]]);
      const missing = await call([['Email/query', { accountId: A, anchor: 'E999999' }, 'a']]);
      assert.equal(missing[0]![1]['type'], 'anchorNotFound');
    });

    it('Email/get: header forms, body parts and values, and Thread/get', async () => {
      const raw = Buffer.from(
        [
          'From: "Doe, Jane" <jane@remote.test>',
          'Sender: sender@remote.test',
          'To: Team: bob@example.test, =?UTF-8?Q?J=C3=BCrgen?= <j@remote.test>;, other@remote.test',
          'Subject: =?UTF-8?Q?Gr=C3=BC=C3=9Fe?=',
          'Date: Tue, 03 Nov 2026 10:30:00 +0100',
          'Message-ID: <parts@remote.test>',
          'List-Unsubscribe: <mailto:leave@remote.test>, <https://remote.test/u>',
          'MIME-Version: 1.0',
          'Content-Type: multipart/mixed; boundary=outer',
          '',
          '--outer',
          'Content-Type: multipart/alternative; boundary=alt',
          '',
          '--alt',
          'Content-Type: text/plain; charset=utf-8',
          'Content-Transfer-Encoding: quoted-printable',
          '',
          'Gr=C3=BC=C3=9Fe aus Berlin, a long line that goes on',
          '--alt',
          'Content-Type: text/html; charset=utf-8',
          '',
          '<p>Gr&uuml;&szlig;e <b>aus</b> Berlin</p>',
          '--alt--',
          '--outer',
          'Content-Type: application/pdf; name="report.pdf"',
          'Content-Disposition: attachment; filename="report.pdf"',
          'Content-Transfer-Encoding: base64',
          '',
          Buffer.from('%PDF-1.4 fake').toString('base64'),
          '--outer--',
          '',
        ].join('\r\n'),
      );
      const inboxN = Number((await mailbox('inbox')).slice(1));
      const { messageId } = await services.mail.append(bob.id, inboxN, raw, { keywords: ['$flagged'] });
      const got = await one('Email/get', {
        ids: [`E${messageId}`],
        properties: [
          'subject',
          'from',
          'sender',
          'to',
          'sentAt',
          'header:To:asGroupedAddresses',
          'header:List-Unsubscribe:asURLs',
          'header:Subject',
          'textBody',
          'htmlBody',
          'attachments',
          'bodyValues',
          'bodyStructure',
          'keywords',
          'hasAttachment',
          'threadId',
        ],
        fetchAllBodyValues: true,
        maxBodyValueBytes: 12,
      });
      const e = got['list'][0];
      assert.equal(e['subject'], 'Grüße');
      assert.deepEqual(e['from'], [{ name: 'Doe, Jane', email: 'jane@remote.test' }]);
      assert.deepEqual(e['sender'], [{ name: null, email: 'sender@remote.test' }]);
      assert.deepEqual(
        e['to'].map((a: Json) => a['email']),
        ['bob@example.test', 'j@remote.test', 'other@remote.test'],
      );
      assert.deepEqual(e['header:To:asGroupedAddresses'], [
        {
          name: 'Team',
          addresses: [
            { name: null, email: 'bob@example.test' },
            { name: 'Jürgen', email: 'j@remote.test' },
          ],
        },
        { name: null, addresses: [{ name: null, email: 'other@remote.test' }] },
      ]);
      assert.deepEqual(e['header:List-Unsubscribe:asURLs'], ['mailto:leave@remote.test', 'https://remote.test/u']);
      assert.equal(e['header:Subject'], ' =?UTF-8?Q?Gr=C3=BC=C3=9Fe?=');
      assert.equal(e['sentAt'], '2026-11-03T10:30:00+01:00');
      assert.deepEqual(e['keywords'], { $flagged: true });
      assert.equal(e['hasAttachment'], true);
      assert.deepEqual(
        e['textBody'].map((p: Json) => [p['partId'], p['type']]),
        [['1.1', 'text/plain']],
      );
      assert.deepEqual(
        e['htmlBody'].map((p: Json) => [p['partId'], p['type']]),
        [['1.2', 'text/html']],
      );
      assert.deepEqual(
        e['attachments'].map((p: Json) => [p['name'], p['type'], p['size'], p['disposition']]),
        [['report.pdf', 'application/pdf', 13, 'attachment']],
      );
      assert.deepEqual(
        e['bodyValues']['1.1'],
        { value: 'Grüße aus ', isEncodingProblem: false, isTruncated: true },
        '12 octets, on a character boundary',
      );
      assert.equal(e['bodyValues']['1.2']['value'], '<p>Gr&uuml;', 'HTML is cut before a tag that does not fit');
      assert.equal(e['bodyStructure']['type'], 'multipart/mixed');
      assert.equal(e['bodyStructure']['subParts'][0]['subParts'].length, 2);
      const pdf = await readBlob(services, bob.id, e['attachments'][0]['blobId']);
      assert.equal(pdf?.bytes.toString(), '%PDF-1.4 fake');
      const thread = await one('Thread/get', { ids: [e['threadId']] });
      assert.deepEqual(thread['list'][0]['emailIds'], [`E${messageId}`]);
    });

    it('Email/set: a draft with text, html and an uploaded attachment; keywords and mailboxes by patch; destroy; changes', async () => {
      const drafts = await mailbox('drafts');
      const sent = await mailbox('sent');
      const state0 = (await one('Email/get', { ids: [] }))['state'];
      const upload = await storeUpload(services, bob.id, Buffer.from('attachment bytes'), 'text/csv');
      const r = await one('Email/set', {
        create: {
          d1: {
            mailboxIds: { [drafts]: true },
            keywords: { $draft: true, $seen: true },
            from: [{ name: 'Bob Ünïcode', email: 'bob@example.test' }],
            to: [{ name: null, email: 'carol@example.test' }],
            bcc: [{ email: 'hidden@remote.test' }],
            subject: 'Plans – ünïcode',
            'header:X-Custom:asText': 'custom value',
            textBody: [{ partId: 't', type: 'text/plain' }],
            htmlBody: [{ partId: 'h', type: 'text/html' }],
            attachments: [{ blobId: upload.blobId, type: 'text/csv', name: 'data.csv' }],
            bodyValues: { t: { value: 'Plain text\nsecond line' }, h: { value: '<p>HTML</p>' } },
          },
          bad: { mailboxIds: {}, subject: 'x' },
          both: { mailboxIds: { [drafts]: true }, subject: 'a', 'header:Subject:asText': 'b' },
          missingBlob: { mailboxIds: { [drafts]: true }, attachments: [{ blobId: `B${'0'.repeat(64)}` }] },
        },
      });
      assert.deepEqual(r['notCreated']['bad']['properties'], ['mailboxIds']);
      assert.equal(r['notCreated']['both']['type'], 'invalidProperties');
      assert.equal(r['notCreated']['missingBlob']['type'], 'blobNotFound');
      const id = r['created']['d1']['id'];
      const got = (
        await one('Email/get', {
          ids: [id],
          properties: [
            'subject',
            'from',
            'bcc',
            'keywords',
            'mailboxIds',
            'messageId',
            'header:X-Custom:asText',
            'textBody',
            'attachments',
            'bodyValues',
          ],
          fetchTextBodyValues: true,
        })
      )['list'][0];
      assert.equal(got['subject'], 'Plans – ünïcode');
      assert.deepEqual(got['from'], [{ name: 'Bob Ünïcode', email: 'bob@example.test' }]);
      assert.deepEqual(got['bcc'], [{ name: null, email: 'hidden@remote.test' }], 'drafts keep Bcc');
      assert.equal(got['header:X-Custom:asText'], 'custom value');
      assert.ok(got['messageId'][0].endsWith('@example.test'), 'the server added a Message-ID');
      assert.deepEqual(got['keywords'], { $draft: true, $seen: true });
      assert.equal(got['bodyValues'][got['textBody'][0]['partId']]['value'], 'Plain text\nsecond line');
      assert.deepEqual(
        got['attachments'].map((a: Json) => [a['name'], a['type']]),
        [['data.csv', 'text/csv']],
      );
      const changed = await one('Email/set', {
        update: {
          [id]: { 'keywords/$draft': null, 'keywords/$flagged': true, [`mailboxIds/${drafts}`]: null, [`mailboxIds/${sent}`]: true },
        },
      });
      assert.deepEqual(changed['updated'], { [id]: null });
      const after = (await one('Email/get', { ids: [id], properties: ['keywords', 'mailboxIds'] }))['list'][0];
      assert.deepEqual(after, { id, keywords: { $flagged: true, $seen: true }, mailboxIds: { [sent]: true } });
      const refused = await one('Email/set', { update: { [id]: { subject: 'nope' }, E999999: { keywords: {} } }, destroy: ['E999999'] });
      assert.equal(refused['notUpdated'][id]['type'], 'invalidProperties');
      assert.equal(refused['notUpdated']['E999999']['type'], 'notFound');
      assert.equal(refused['notDestroyed']['E999999']['type'], 'notFound');
      const changes = await one('Email/changes', { sinceState: state0 });
      assert.deepEqual(changes['created'], [id]);
      const gone = await one('Email/set', { destroy: [id] });
      assert.deepEqual(gone['destroyed'], [id]);
      const later = await one('Email/changes', { sinceState: state0 });
      assert.deepEqual([later['created'], later['destroyed']], [[], []], 'created and destroyed in the window is reported as neither');
    });

    it('Email/queryChanges reports what left and entered a query since its state', async () => {
      const inbox = await mailbox('inbox');
      const base = await one('Email/query', {
        filter: { inMailbox: inbox, notKeyword: '$seen' },
        sort: [{ property: 'receivedAt', isAscending: false }],
      });
      const first = base['ids'][0];
      await one('Email/set', { update: { [first]: { 'keywords/$seen': true } } });
      const { messageId } = await services.mail.append(bob.id, Number(inbox.slice(1)), message({ subject: 'New', id: 'new@remote.test' }), {
        receivedAt: Date.UTC(2030, 0, 1),
      });
      const qc = await one('Email/queryChanges', {
        filter: { inMailbox: inbox, notKeyword: '$seen' },
        sort: [{ property: 'receivedAt', isAscending: false }],
        sinceQueryState: base['queryState'],
        calculateTotal: true,
      });
      assert.ok(qc['removed'].includes(first));
      assert.deepEqual(qc['added'], [{ id: `E${messageId}`, index: 0 }]);
      // Applying the diff to the old list gives the new one.
      const now = await one('Email/query', {
        filter: { inMailbox: inbox, notKeyword: '$seen' },
        sort: [{ property: 'receivedAt', isAscending: false }],
      });
      const list = base['ids'].filter((x: string) => !qc['removed'].includes(x));
      for (const a of qc['added']) list.splice(a['index'], 0, a['id']);
      assert.deepEqual(list, now['ids']);
      assert.equal(qc['total'], now['ids'].length);
      assert.equal(qc['newQueryState'], now['queryState']);
    });

    it('Email/import, Email/parse (an attached message too), Email/copy and SearchSnippet/get', async () => {
      const inner = message({ subject: 'Inner message', id: 'inner@remote.test', body: 'inner body text' });
      const outer = Buffer.concat([
        Buffer.from(
          'From: a@remote.test\r\nTo: bob@example.test\r\nSubject: Fwd\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\nContent-Type: text/plain\r\n\r\nsee attached\r\n--b\r\nContent-Type: message/rfc822\r\nContent-Transfer-Encoding: base64\r\n\r\n',
        ),
        Buffer.from(inner.toString('base64').replace(/.{76}/g, '$&\r\n')),
        Buffer.from('\r\n--b--\r\n'),
      ]);
      const up = await storeUpload(services, bob.id, outer, 'message/rfc822');
      const archive = await mailbox('archive');
      const imported = await one('Email/import', {
        emails: {
          i1: { blobId: up.blobId, mailboxIds: { [archive]: true }, keywords: { $seen: true }, receivedAt: '2026-01-01T00:00:00Z' },
          i2: { blobId: `B${'1'.repeat(64)}`, mailboxIds: { [archive]: true } },
        },
      });
      assert.deepEqual(imported['notCreated']['i2']['properties'], ['blobId'], 'RFC 8621 §4.8: an unknown blob is invalidProperties');
      const id = imported['created']['i1']['id'];
      const got = (await one('Email/get', { ids: [id], properties: ['receivedAt', 'attachments', 'keywords'] }))['list'][0];
      assert.equal(got['receivedAt'], '2026-01-01T00:00:00Z');
      const attached = got['attachments'].find((a: Json) => a['type'] === 'message/rfc822');
      const parsed = await one('Email/parse', {
        blobIds: [attached['blobId'], 'Bnope'],
        fetchTextBodyValues: true,
        properties: ['subject', 'bodyValues', 'textBody', 'id'],
      });
      const p = parsed['parsed'][attached['blobId']];
      assert.equal(p['subject'], 'Inner message');
      assert.equal(p['id'], null);
      assert.equal(p['bodyValues'][p['textBody'][0]['partId']]['value'].trim(), 'inner body text');
      const innerPart = await readBlob(services, bob.id, p['textBody'][0]['blobId']);
      assert.equal(innerPart?.bytes.toString().trim(), 'inner body text', 'part ids inside a base64 attached message resolve');
      assert.deepEqual(parsed['notFound'], ['Bnope']);
      const copy = await one('Email/copy', {
        fromAccountId: A,
        create: { c1: { id, mailboxIds: { [await mailbox('inbox')]: true } } },
        onSuccessDestroyOriginal: true,
      });
      assert.ok(copy['created']['c1']['id']);
      const snippets = await one('SearchSnippet/get', { filter: { text: 'attached' }, emailIds: [copy['created']['c1']['id']] });
      assert.deepEqual(snippets['list'][0], { emailId: copy['created']['c1']['id'], subject: null, preview: 'see <mark>attached</mark>' });
      const all = await call([
        ['Email/copy', { accountId: A, fromAccountId: A, create: { c2: { id: 'E1', mailboxIds: {} } } }, 'x'],
        ['Email/get', { accountId: A, ids: [id], properties: ['id'] }, 'y'],
      ]);
      assert.equal(all.length, 2);
      assert.deepEqual(all[1]![1]['notFound'], [id], 'onSuccessDestroyOriginal removed the original');
    });

    it('Identity, EmailSubmission through the queue with onSuccessUpdateEmail, and VacationResponse', async () => {
      const ids = await one('Identity/get', {});
      assert.equal(ids['list'][0]['email'], 'bob@example.test');
      assert.equal(ids['list'][0]['mayDelete'], false);
      const identity = ids['list'][0]['id'];
      const forbidden = await one('Identity/set', {
        create: { x: { email: 'mallory@elsewhere.test' } },
        update: { [identity]: { name: 'Bob B.', textSignature: '-- Bob' } },
      });
      assert.equal(forbidden['notCreated']['x']['type'], 'forbiddenFrom');
      assert.deepEqual(forbidden['updated'], { [identity]: null });
      const drafts = await mailbox('drafts');
      const sent = await mailbox('sent');
      const r = await call([
        [
          'Email/set',
          {
            accountId: A,
            create: {
              draft: {
                mailboxIds: { [drafts]: true },
                keywords: { $draft: true },
                from: [{ email: 'bob@example.test' }],
                to: [{ email: 'carol@example.test' }, { email: 'dave@remote.test' }],
                bcc: [{ email: 'eve@remote.test' }],
                subject: 'Hi',
                textBody: [{ partId: 'b' }],
                bodyValues: { b: { value: 'hello' } },
              },
            },
          },
          'e',
        ],
        [
          'EmailSubmission/set',
          {
            accountId: A,
            create: { k1: { identityId: identity, emailId: '#draft' } },
            onSuccessUpdateEmail: { '#k1': { [`mailboxIds/${drafts}`]: null, [`mailboxIds/${sent}`]: true, 'keywords/$draft': null } },
          },
          's',
        ],
        ['EmailSubmission/get', { accountId: A, '#ids': { resultOf: 's', name: 'EmailSubmission/set', path: '/created/k1/id' } }, 'g'],
      ]);
      assert.deepEqual(
        r.map((x) => x[0]),
        ['Email/set', 'EmailSubmission/set', 'Email/set', 'error'],
        'the implicit Email/set follows its call',
      );
      assert.equal(r[3]![1]['type'], 'invalidArguments', 'a #ids reference resolving to a single id is not an Id list');
      const emailId = r[0]![1]['created']['draft']['id'];
      assert.deepEqual(r[2]![1]['updated'], { [emailId]: null });
      const subId = r[1]![1]['created']['k1']['id'];
      const status = (await one('EmailSubmission/get', { ids: [subId] }))['list'][0];
      assert.deepEqual(
        status['envelope']['rcptTo'].map((x: Json) => x['email']),
        ['carol@example.test', 'dave@remote.test', 'eve@remote.test'],
      );
      assert.equal(status['deliveryStatus']['carol@example.test']['delivered'], 'yes');
      assert.equal(status['deliveryStatus']['dave@remote.test']['delivered'], 'queued');
      // The local recipient has it, without the Bcc header; the remote ones are in the outbound queue.
      const carol = (await services.directory.findByAddress('carol@example.test'))!;
      const carolInbox = (await services.mail.getMailbox(carol.id, 'INBOX'))!;
      const [entry] = await store.listEntries(carolInbox.id);
      const delivered = (await services.mail.readRaw((await services.mail.getMessages(carol.id, [entry!.messageId]))[0]!)).toString();
      assert.match(delivered, /Subject: Hi/);
      assert.doesNotMatch(delivered, /^Bcc:/im);
      const queued = (await queue.list()).find((m) => m.recipients.some((x) => x.recipient === 'dave@remote.test'));
      assert.deepEqual(queued?.recipients.map((x) => x.recipient).sort(), ['dave@remote.test', 'eve@remote.test']);
      const moved = (await one('Email/get', { ids: [emailId], properties: ['mailboxIds', 'keywords'] }))['list'][0];
      assert.deepEqual([moved['mailboxIds'], moved['keywords']], [{ [sent]: true }, {}]);
      const cancel = await one('EmailSubmission/set', { update: { [subId]: { undoStatus: 'canceled' } } });
      assert.equal(cancel['notUpdated'][subId]['type'], 'cannotUnsend');
      const bad = await one('EmailSubmission/set', {
        create: {
          n: {
            identityId: identity,
            emailId,
            envelope: { mailFrom: { email: 'bob@example.test' }, rcptTo: [{ email: 'nobody@example.test' }] },
          },
        },
      });
      assert.equal(bad['notCreated']['n']['type'], 'invalidRecipients');
      const q = await one('EmailSubmission/query', { filter: { emailIds: [emailId] } });
      assert.deepEqual(q['ids'], [subId]);

      const v0 = await one('VacationResponse/get', {});
      assert.deepEqual(v0['list'], [
        { id: 'singleton', isEnabled: false, fromDate: null, toDate: null, subject: null, textBody: null, htmlBody: null },
      ]);
      const v1 = await one('VacationResponse/set', {
        update: { singleton: { isEnabled: true, subject: 'Away', textBody: 'Back soon' } },
        create: { x: {} },
      });
      assert.deepEqual(v1['updated'], { singleton: null });
      assert.equal(v1['notCreated']['x']['type'], 'singleton');
      assert.notEqual(v1['newState'], v1['oldState']);
      assert.equal((await one('VacationResponse/get', { properties: ['isEnabled'] }))['list'][0]['isEnabled'], true);
    });

    it('uploads over jmap.upload_quota drop the oldest, never the one just made', async () => {
      const small = {
        ...services,
        config: loadConfig({ dataDir: dir, env: {}, overrides: { server: { hostname: 'example.test' }, jmap: { upload_quota: 1024 } } }),
      };
      const older = await storeUpload(small, bob.id, Buffer.alloc(600, 'a'), 'text/plain');
      const newer = await storeUpload(small, bob.id, Buffer.alloc(600, 'b'), 'text/plain');
      assert.equal(await readBlob(small, bob.id, older.blobId), undefined, 'the oldest upload made room');
      assert.equal((await readBlob(small, bob.id, newer.blobId))?.bytes.length, 600);
      // An upload larger than the whole quota is still there to be used by the next call.
      const big = await storeUpload(small, bob.id, Buffer.alloc(2000, 'c'), 'text/plain');
      assert.equal((await readBlob(small, bob.id, big.blobId))?.bytes.length, 2000);
    });

    it('Mailbox/queryChanges, Thread/changes, Identity/changes, EmailSubmission/changes and queryChanges', async () => {
      // Mailbox/queryChanges: applying the diff to the old list gives the new one, for a create and a destroy.
      const sort = [{ property: 'name' }];
      const applies = async (old: Json, expect: (qc: Json) => void) => {
        const qc = await one('Mailbox/queryChanges', { sort, sinceQueryState: old['queryState'] });
        const now = await one('Mailbox/query', { sort });
        const list = old['ids'].filter((x: string) => !qc['removed'].includes(x));
        for (const a of qc['added']) list.splice(a['index'], 0, a['id']);
        assert.deepEqual(list, now['ids']);
        assert.equal(qc['newQueryState'], now['queryState']);
        expect(qc);
        return now;
      };
      const q0 = await one('Mailbox/query', { sort });
      const mid = (await one('Mailbox/set', { create: { m: { name: 'AAA sorts first' } } }))['created']['m']['id'];
      const q1 = await applies(q0, (qc) => assert.ok(qc['added'].some((a: Json) => a['id'] === mid)));
      await one('Mailbox/set', { destroy: [mid] });
      await applies(q1, (qc) => assert.ok(qc['removed'].includes(mid)));

      // Thread/changes: a first message creates its thread, a reply updates it.
      const inbox = Number((await mailbox('inbox')).slice(1));
      const t0 = (await one('Thread/get', { ids: [] }))['state'];
      const m0 = (await one('Mailbox/get', { ids: [] }))['state'];
      const first = await services.mail.append(bob.id, inbox, message({ subject: 'Thread test', id: 'thread-1@remote.test' }));
      const threadId = (await one('Email/get', { ids: [`E${first.messageId}`], properties: ['threadId'] }))['list'][0]['threadId'];
      // New mail changes only the inbox's counts: Mailbox/changes says so (RFC 8621 §2.2).
      const mc = await one('Mailbox/changes', { sinceState: m0 });
      assert.deepEqual([mc['created'], mc['updated'], mc['destroyed']], [[], [`M${inbox}`], []]);
      assert.deepEqual(mc['updatedProperties'], ['totalEmails', 'unreadEmails', 'totalThreads', 'unreadThreads']);
      const c1 = await one('Thread/changes', { sinceState: t0 });
      assert.ok(c1['created'].includes(threadId), JSON.stringify(c1));
      await services.mail.append(
        bob.id,
        inbox,
        message({ subject: 'Re: Thread test', id: 'thread-2@remote.test', inReplyTo: 'thread-1@remote.test' }),
      );
      const c2 = await one('Thread/changes', { sinceState: c1['newState'] });
      assert.deepEqual([c2['created'], c2['updated']], [[], [threadId]]);
      assert.equal((await one('Thread/get', { ids: [threadId] }))['list'][0]['emailIds'].length, 2);

      // Identity/changes follows Identity/set.
      const i0 = await one('Identity/get', {});
      const made = await one('Identity/set', { create: { n: { email: 'bob@example.test', name: 'Bob at work' } } });
      const newIdentity = made['created']['n']['id'];
      // A second identity with the account's own address is not the primary one: it may be destroyed.
      assert.equal(made['created']['n']['mayDelete'], true);
      const ic = await one('Identity/changes', { sinceState: i0['state'] });
      assert.deepEqual(ic['created'], [newIdentity]);
      assert.equal(ic['newState'], made['newState']);
      const gone = await one('Identity/set', { destroy: [newIdentity, i0['list'][0]['id']] });
      assert.deepEqual(gone['destroyed'], [newIdentity]);
      assert.equal(gone['notDestroyed'][i0['list'][0]['id']]['type'], 'forbidden');
      assert.deepEqual((await one('Identity/changes', { sinceState: ic['newState'] }))['destroyed'], [newIdentity]);

      // EmailSubmission/changes and /queryChanges see a new submission.
      const s0 = await one('EmailSubmission/get', { ids: [] });
      const sq0 = await one('EmailSubmission/query', {});
      const drafts = await mailbox('drafts');
      const r = await call([
        [
          'Email/set',
          {
            accountId: A,
            create: {
              d: {
                mailboxIds: { [drafts]: true },
                from: [{ email: 'bob@example.test' }],
                to: [{ email: 'carol@example.test' }],
                subject: 'changes',
                textBody: [{ partId: 'b' }],
                bodyValues: { b: { value: 'x' } },
              },
            },
          },
          'e',
        ],
        ['EmailSubmission/set', { accountId: A, create: { k: { identityId: i0['list'][0]['id'], emailId: '#d' } } }, 's'],
      ]);
      const subId = r[1]![1]['created']['k']['id'];
      const sc = await one('EmailSubmission/changes', { sinceState: s0['state'] });
      assert.deepEqual(sc['created'], [subId]);
      const sqc = await one('EmailSubmission/queryChanges', { sinceQueryState: sq0['queryState'] });
      assert.ok(
        sqc['added'].some((a: Json) => a['id'] === subId),
        JSON.stringify(sqc),
      );
    });
  });
}
