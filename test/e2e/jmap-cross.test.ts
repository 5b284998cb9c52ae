// One truth across protocols: a flag set over JMAP reaches an IMAP IDLE session (imapflow); a
// message APPENDed over IMAP shows up in Email/changes and as a push StateChange; a JMAP
// EmailSubmission to a local user is readable over IMAP, and one to a remote domain leaves
// through the outbound queue to a real SMTP peer (Postfix's smtp-sink) without its Bcc header.
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { chmod, mkdtemp, readFile, rm } from 'node:fs/promises';
import https from 'node:https';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { ImapFlow } from 'imapflow';
import nodemailer from 'nodemailer';
import { caFetch } from '../helpers/https-fetch.ts';
import { peerSkip } from '../helpers/peers.ts';
import { freePorts } from '../helpers/ports.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';

const SINK = existsSync('/usr/sbin/smtp-sink') ? '/usr/sbin/smtp-sink' : 'smtp-sink';
const sinkSkip = peerSkip('smtp-sink', existsSync('/usr/sbin/smtp-sink'), 'apt-get install postfix');
const ALICE = 'alice@example.test';
const BOB = 'bob@example.test';
const PASSWORD = 'cross protocol password';
const USING = [
  'urn:ietf:params:jmap:core',
  'urn:ietf:params:jmap:mail',
  'urn:ietf:params:jmap:submission',
  'urn:ietf:params:jmap:vacationresponse',
];

// biome-ignore lint/suspicious/noExplicitAny: JMAP answers are checked field by field
type Json = any;

async function until<T>(fn: () => Promise<T | undefined>, what: string, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

describe('JMAP and IMAP/SMTP share one store', { skip: sinkSkip }, () => {
  let server: TestServer;
  let dir: string;
  let sinkPort: number;
  let sink: ChildProcess;
  let fetchCa: ReturnType<typeof caFetch>;
  const auth = (user: string) => `Basic ${Buffer.from(`${user}:${PASSWORD}`).toString('base64')}`;

  async function jmap(user: string, methodCalls: Json[]): Promise<Json[]> {
    const res = await fetchCa(`${server.baseUrl}/jmap/api`, {
      method: 'POST',
      headers: { authorization: auth(user), 'content-type': 'application/json' },
      body: JSON.stringify({ using: USING, methodCalls }),
    });
    assert.equal(res.status, 200);
    return ((await res.json()) as Json).methodResponses;
  }

  async function imap(user: string): Promise<ImapFlow> {
    const client = new ImapFlow({
      host: '127.0.0.1',
      port: server.ports.imaps,
      secure: true,
      tls: { ca: server.ca, servername: 'localhost' },
      auth: { user, pass: PASSWORD },
      logger: false,
    });
    client.on('error', () => {});
    await client.connect();
    return client;
  }

  before(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'fp-jmap-cross-'));
    await chmod(dir, 0o777);
    [sinkPort] = (await freePorts(1)) as [number];
    sink = spawn(SINK, ['-u', 'nobody', '-D', path.join(dir, 'sink'), `127.0.0.1:${sinkPort}`, '16'], { stdio: 'ignore' });
    await until(
      () =>
        new Promise<true | undefined>((resolve) => {
          const s = net.connect({ port: sinkPort, host: '127.0.0.1' });
          s.once('connect', () => {
            s.destroy();
            resolve(true);
          });
          s.once('error', () => resolve(undefined));
        }),
      'smtp-sink',
    );
    server = await startTestServer({ overrides: { queue: { routes: [`remote.test=127.0.0.1:${sinkPort}`], poll_interval: '200ms' } } });
    await server.services.accounts.addUser({ address: ALICE, password: PASSWORD, displayName: 'Alice' });
    await server.services.accounts.addUser({ address: BOB, password: PASSWORD });
    fetchCa = caFetch(server.ca);
  });
  after(async () => {
    await server.close();
    await new Promise<void>((resolve) => {
      if (sink.exitCode !== null) return resolve();
      sink.once('exit', () => resolve());
      sink.kill('SIGTERM');
    });
    await rm(dir, { recursive: true, force: true });
  });

  it('a flag set over JMAP is seen by an IMAP IDLE session', async () => {
    const session = (await (await fetchCa(`${server.baseUrl}/jmap/session`, { headers: { authorization: auth(ALICE) } })).json()) as Json;
    const A = session.primaryAccounts['urn:ietf:params:jmap:mail'];
    const inbox = (await jmap(ALICE, [['Mailbox/query', { accountId: A, filter: { role: 'inbox' } }, 'q']]))[0][1].ids[0];
    const created = await jmap(ALICE, [
      [
        'Email/set',
        {
          accountId: A,
          create: {
            e: { mailboxIds: { [inbox]: true }, subject: 'flag me', textBody: [{ partId: 'b' }], bodyValues: { b: { value: 'x' } } },
          },
        },
        's',
      ],
    ]);
    const emailId = created[0][1].created.e.id;
    const client = await imap(ALICE);
    try {
      await client.mailboxOpen('INBOX');
      const flagged = new Promise<Json>((resolve) => client.on('flags', resolve));
      const idling = client.idle();
      await new Promise((r) => setTimeout(r, 200));
      await jmap(ALICE, [
        ['Email/set', { accountId: A, update: { [emailId]: { 'keywords/$flagged': true, 'keywords/$seen': true } } }, 'u'],
      ]);
      const event = await flagged;
      assert.ok(event.flags.has('\\Flagged'), `IMAP saw ${[...event.flags].join(' ')}`);
      assert.ok(event.flags.has('\\Seen'));
      await client.noop();
      await idling.catch(() => {});
    } finally {
      await client.logout().catch(() => {});
    }
  });

  it('a message APPENDed over IMAP appears in Email/changes and in a push StateChange', async () => {
    const session = (await (await fetchCa(`${server.baseUrl}/jmap/session`, { headers: { authorization: auth(BOB) } })).json()) as Json;
    const A = session.primaryAccounts['urn:ietf:params:jmap:mail'];
    const before = (await jmap(BOB, [['Email/get', { accountId: A, ids: [] }, 'g']]))[0][1].state;
    let events = '';
    const stream = await new Promise<import('node:http').ClientRequest>((resolve, reject) => {
      const req = https.get(
        `${server.baseUrl}/jmap/eventsource?types=Email&closeafter=no&ping=0`,
        { ca: server.ca, headers: { authorization: auth(BOB) } },
        (res) => {
          res.setEncoding('utf8');
          res.on('data', (d: string) => (events += d));
          resolve(req);
        },
      );
      req.on('error', reject);
    });
    const client = await imap(BOB);
    try {
      const raw =
        'From: carol@remote.test\r\nTo: bob@example.test\r\nSubject: appended over IMAP\r\nMessage-ID: <appended@remote.test>\r\n\r\nhello from IMAP\r\n';
      const appended = await client.append('INBOX', raw, ['\\Seen']);
      assert.ok(appended !== false && (appended.uid ?? 0) > 0);
      const pushed = await until(async () => /event: state\nid: [^\n]+\ndata: ([^\n]+)/.exec(events)?.[1], 'a push StateChange');
      const change = JSON.parse(pushed);
      const changes = (await jmap(BOB, [['Email/changes', { accountId: A, sinceState: before }, 'c']]))[0][1];
      assert.equal(changes.created.length, 1);
      assert.equal(change.changed[A].Email, changes.newState);
      const got = (await jmap(BOB, [['Email/get', { accountId: A, ids: changes.created, properties: ['subject', 'keywords'] }, 'g']]))[0][1]
        .list[0];
      assert.deepEqual([got.subject, got.keywords], ['appended over IMAP', { $seen: true }]);
    } finally {
      stream.destroy();
      await client.logout().catch(() => {});
    }
  });

  it('a JMAP EmailSubmission reaches a local user over IMAP and a remote one through the queue, without Bcc', async () => {
    const session = (await (await fetchCa(`${server.baseUrl}/jmap/session`, { headers: { authorization: auth(ALICE) } })).json()) as Json;
    const A = session.primaryAccounts['urn:ietf:params:jmap:mail'];
    const [[, boxes], [, identities]] = await jmap(ALICE, [
      ['Mailbox/get', { accountId: A, properties: ['role'] }, 'm'],
      ['Identity/get', { accountId: A }, 'i'],
    ]);
    const role = (r: string) => boxes.list.find((b: Json) => b.role === r).id;
    const r = await jmap(ALICE, [
      [
        'Email/set',
        {
          accountId: A,
          create: {
            draft: {
              mailboxIds: { [role('drafts')]: true },
              keywords: { $draft: true, $seen: true },
              from: [{ name: 'Alice', email: ALICE }],
              to: [{ email: BOB }, { email: 'dave@remote.test' }],
              bcc: [{ email: 'secret@remote.test' }],
              subject: 'Sent with JMAP',
              textBody: [{ partId: 'b' }],
              bodyValues: { b: { value: 'Hello Bob and Dave' } },
            },
          },
        },
        'e',
      ],
      [
        'EmailSubmission/set',
        {
          accountId: A,
          create: { s: { identityId: identities.list[0].id, emailId: '#draft' } },
          onSuccessUpdateEmail: {
            '#s': { [`mailboxIds/${role('drafts')}`]: null, [`mailboxIds/${role('sent')}`]: true, 'keywords/$draft': null },
          },
        },
        's',
      ],
    ]);
    assert.deepEqual(
      r.map((x) => x[0]),
      ['Email/set', 'EmailSubmission/set', 'Email/set'],
    );
    const submissionId = r[1][1].created.s.id;

    const client = await imap(BOB);
    try {
      await client.mailboxOpen('INBOX');
      const found = await client.search({ subject: 'Sent with JMAP' });
      assert.equal((found || []).length, 1);
      const msg = await client.fetchOne(String((found as number[])[0]), { source: true });
      const source = msg === false ? '' : (msg.source?.toString() ?? '');
      assert.match(source, /Hello Bob and Dave/);
      assert.doesNotMatch(source, /^Bcc:/im, 'the Bcc header never leaves');
    } finally {
      await client.logout().catch(() => {});
    }

    const dumped = await until(async () => {
      const text = await readFile(path.join(dir, 'sink'), 'utf8').catch(() => '');
      return text.includes('Sent with JMAP') ? text : undefined;
    }, 'the remote copy at smtp-sink');
    assert.doesNotMatch(dumped, /^Bcc:/im);
    assert.match(dumped, /secret@remote\.test/, 'the Bcc recipient is in the envelope (RCPT TO)');
    const status = await until(async () => {
      const got = (await jmap(ALICE, [['EmailSubmission/get', { accountId: A, ids: [submissionId] }, 'g']]))[0][1].list[0];
      return got.deliveryStatus['dave@remote.test'].delivered === 'queued' ? undefined : got.deliveryStatus;
    }, 'a final delivery status');
    assert.equal(status[BOB].delivered, 'yes');
    assert.ok(['yes', 'unknown'].includes(status['dave@remote.test'].delivered), JSON.stringify(status));
  });

  it('a VacationResponse answers mail arriving over SMTP once per sender, and never list mail', async () => {
    const session = (await (await fetchCa(`${server.baseUrl}/jmap/session`, { headers: { authorization: auth(BOB) } })).json()) as Json;
    const B = session.primaryAccounts['urn:ietf:params:jmap:mail'];
    const set = await jmap(BOB, [
      [
        'VacationResponse/set',
        { accountId: B, update: { singleton: { isEnabled: true, subject: 'Out of office', textBody: 'Back on Monday.' } } },
        'v',
      ],
    ]);
    assert.deepEqual(set[0][1].updated, { singleton: null });
    // Inbound SMTP (the MX listener) from a local sender, so the automatic reply lands in a mailbox we can read.
    const mx = nodemailer.createTransport({ host: '127.0.0.1', port: server.ports.smtp, secure: false, ignoreTLS: true });
    await mx.sendMail({ from: ALICE, to: BOB, subject: 'Are you there?', text: 'question', messageId: '<q1@example.test>' });
    await mx.sendMail({ from: ALICE, to: BOB, subject: 'Second question', text: 'again' });
    await mx.sendMail({ from: ALICE, to: BOB, subject: 'Newsletter', text: 'list mail', headers: { 'List-Id': '<news.example.test>' } });
    const alice = await imap(ALICE);
    try {
      await alice.mailboxOpen('INBOX');
      const replies = await until(async () => {
        const found = await alice.search({ header: { 'auto-submitted': 'auto-replied' } });
        return Array.isArray(found) && found.length ? found : undefined;
      }, 'the automatic reply');
      const msg = await alice.fetchOne(String(replies[0]), { source: true });
      const source = msg === false ? '' : (msg.source?.toString() ?? '');
      assert.match(source, /^Subject: Out of office/m);
      assert.match(source, /^In-Reply-To: <q1@example\.test>/m);
      assert.match(source, /Back on Monday\./);
      // Messages are answered in order: once a later sender has its reply, the second and the
      // list message have been considered.
      await mx.sendMail({ from: server.admin.address, to: BOB, subject: 'From the admin', text: 'hello' });
      const admin = new ImapFlow({
        host: '127.0.0.1',
        port: server.ports.imaps,
        secure: true,
        tls: { ca: server.ca, servername: 'localhost' },
        auth: { user: server.admin.address, pass: server.admin.password },
        logger: false,
      });
      admin.on('error', () => {});
      await admin.connect();
      await admin.mailboxOpen('INBOX');
      await until(async () => {
        const found = await admin.search({ header: { 'auto-submitted': 'auto-replied' } });
        return Array.isArray(found) && found.length ? found : undefined;
      }, 'the reply to the later sender');
      await admin.logout().catch(() => {});
      await alice.noop();
      const all = (await alice.search({ header: { 'auto-submitted': 'auto-replied' } })) || [];
      assert.equal(all.length, 1, 'one reply per sender per period, none to list mail');
    } finally {
      await alice.logout().catch(() => {});
      mx.close();
    }
  });
});
