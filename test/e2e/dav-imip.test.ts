// Incoming iMIP (RFC 6047) between two servers on loopback: one.test (alice) signs its mail with
// DKIM and publishes SPF -all, two.test (carol) has no DKIM key and SPF that lists 127.0.0.1, so
// one direction is vouched for by DKIM alone and the other by SPF alone. Both MXs check senders
// against a loopback DNS server. alice invites carol from CalDAV (curl): the REQUEST mail lands in
// carol's calendar as NEEDS-ACTION; carol accepts from CalDAV: the REPLY mail updates alice's copy;
// alice removes the event: the CANCEL mail cancels carol's copy. Forged replies (wrong From, an
// unaligned DKIM signature by dkimpy, an unaligned SPF pass) stay plain mail.
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import nodemailer from 'nodemailer';
import { DkimKeys } from '../../src/mail/queue/dkim.ts';
import { curlHttp } from '../helpers/curl-http.ts';
import { dkimpySign, hasDkimpy, rsaKey } from '../helpers/dkimpy.ts';
import { startTestDns, type TestDns } from '../helpers/dns-server.ts';
import { commandSkip, peerSkip } from '../helpers/peers.ts';
import { freePorts } from '../helpers/ports.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';
import { inboxOf, waitFor } from './smtp-helpers.ts';

const PASSWORD = 'correct horse battery staple';
const UID = 'lunch-91c2@one.test';

const event = (partstat: string) =>
  [
    'BEGIN:VCALENDAR',
    'VERSION:2.0',
    'PRODID:-//test//EN',
    'BEGIN:VEVENT',
    `UID:${UID}`,
    'DTSTAMP:20261020T080000Z',
    'DTSTART:20261105T120000Z',
    'DTEND:20261105T130000Z',
    'SUMMARY:Lunch',
    'ORGANIZER;CN=Alice:mailto:alice@one.test',
    'ATTENDEE;CN=Alice;PARTSTAT=ACCEPTED:mailto:alice@one.test',
    `ATTENDEE;CN=Carol;PARTSTAT=${partstat};RSVP=TRUE:mailto:carol@two.test`,
    'END:VEVENT',
    'END:VCALENDAR',
    '',
  ].join('\r\n');

/** A REPLY as another calendar program would mail it (RFC 6047 §2.4, one text/calendar body). */
const replyMail = (from: string, partstat: string, subject: string) =>
  Buffer.from(
    [
      `From: ${from}`,
      'To: alice@one.test',
      `Subject: ${subject}`,
      'Date: Mon, 02 Nov 2026 10:00:00 +0000',
      `Message-ID: <${subject.replace(/\W/g, '')}@test>`,
      'MIME-Version: 1.0',
      'Content-Type: text/calendar; charset=utf-8; method=REPLY',
      '',
      'BEGIN:VCALENDAR',
      'VERSION:2.0',
      'PRODID:-//forger//EN',
      'METHOD:REPLY',
      'BEGIN:VEVENT',
      `UID:${UID}`,
      'DTSTAMP:20261021T080000Z',
      'DTSTART:20261105T120000Z',
      'ORGANIZER:mailto:alice@one.test',
      `ATTENDEE;PARTSTAT=${partstat}:mailto:carol@two.test`,
      'END:VEVENT',
      'END:VCALENDAR',
      '',
    ].join('\r\n'),
  );

const unfold = (s: string) => s.replace(/\r?\n[ \t]/g, '');

describe('incoming iMIP between two servers', {
  skip: peerSkip('python3-dkim', hasDkimpy, 'apt-get install python3-dkim') || commandSkip('curl', 'curl'),
}, () => {
  let tmp: string;
  let dns: TestDns;
  let one: TestServer;
  let two: TestServer;
  const evilKey = rsaKey();
  let mx: [number, number];

  const curl = (t: TestServer, user: string, method: string, p: string, body?: string, headers: Record<string, string> = {}) =>
    curlHttp(
      t.caFile,
      tmp,
      ['-X', method, '-u', `${user}:${PASSWORD}`, ...Object.entries(headers).flatMap(([k, v]) => ['-H', `${k}: ${v}`]), `${t.baseUrl}${p}`],
      body,
    );

  const copyOf = async (t: TestServer, address: string) => {
    const account = (await t.services.directory.findByAddress(address))!;
    const found = await t.services.calendar.store.findByUid(account.id, UID);
    return found ? unfold(found.object.ics) : undefined;
  };

  /** Hands a message to one.test's MX as an outside sender; the hook has run when this returns. */
  const toOne = async (from: string, raw: Buffer) => {
    const transport = nodemailer.createTransport({ host: '127.0.0.1', port: mx[0], secure: false, ignoreTLS: true, name: 'mx.evil.test' });
    return (await transport.sendMail({ envelope: { from, to: ['alice@one.test'] }, raw })).response;
  };

  before(async () => {
    tmp = await mkdtemp(path.join(os.tmpdir(), 'fp-imip-'));
    dns = await startTestDns();
    // Each MX port is chosen before either server starts: each queue routes to the other's.
    mx = (await freePorts(2)) as [number, number];
    const overrides = (host: string, port: number, peer: string, peerPort: number) => ({
      server: { hostname: host },
      smtp: { port },
      inbound: { dns_servers: [dns.server], dns_timeout: '2s', check_timeout: '10s' },
      queue: { routes: [`${peer}=127.0.0.1:${peerPort}`], poll_interval: '200ms' },
    });
    two = await startTestServer({
      dataDir: path.join(tmp, 'two'),
      domain: 'two.test',
      overrides: overrides('two.test', mx[1], 'one.test', mx[0]),
    });
    one = await startTestServer({
      dataDir: path.join(tmp, 'one'),
      domain: 'one.test',
      overrides: overrides('one.test', mx[0], 'two.test', mx[1]),
    });
    await one.services.accounts.addUser({ address: 'alice@one.test', password: PASSWORD });
    await two.services.accounts.addUser({ address: 'carol@two.test', password: PASSWORD });
    const key = await new DkimKeys(one.services.db).create('one.test', 'sel');
    dns.set(key.dnsName, 'TXT', [key.dnsValue]);
    dns.set('one.test', 'TXT', ['v=spf1 -all']);
    dns.set('two.test', 'TXT', ['v=spf1 ip4:127.0.0.1 -all']);
    dns.set('evil.test', 'TXT', ['v=spf1 ip4:127.0.0.1 -all']);
    dns.set('sel._domainkey.evil.test', 'TXT', [evilKey.txt]);
  });

  after(async () => {
    await one?.close();
    await two?.close();
    await dns?.close();
    await rm(tmp, { recursive: true, force: true });
  });

  it('a DKIM-signed REQUEST from alice lands in carol’s calendar as NEEDS-ACTION, and stays in her INBOX', async () => {
    // alice's calendar app looks at her calendar home first (which makes the default calendar).
    await curl(one, 'alice@one.test', 'PROPFIND', '/dav/calendars/alice@one.test/', '', { depth: '1' });
    const put = await curl(one, 'alice@one.test', 'PUT', `/dav/calendars/alice@one.test/default/${UID}.ics`, event('NEEDS-ACTION'), {
      'content-type': 'text/calendar',
    });
    assert.equal(put.status, 201, put.body);
    const copy = await waitFor(() => copyOf(two, 'carol@two.test'), 'carol’s copy from the iMIP REQUEST', 30_000);
    assert.match(copy, /ATTENDEE;[^\r\n]*PARTSTAT=NEEDS-ACTION[^\r\n]*:mailto:carol@two\.test/);
    assert.doesNotMatch(copy, /METHOD:/);
    const mail = (await inboxOf(two, 'carol@two.test')).find((m) => m.includes('Subject: Invitation: Lunch'));
    assert.ok(mail, 'the invitation is also a mail message');
    assert.match(unfold(mail), /dkim=pass [^;]*header\.[id]=@?one\.test/);
    assert.match(unfold(mail), /spf=fail /);
    // carol's CalDAV client sees it in her calendar and her scheduling inbox.
    const got = await curl(two, 'carol@two.test', 'GET', `/dav/calendars/carol@two.test/default/${UID}.ics`);
    assert.equal(got.status, 200);
    const inbox = await curl(two, 'carol@two.test', 'PROPFIND', '/dav/calendars/carol@two.test/inbox/', '', { depth: '1' });
    assert.match(inbox.body, /\.ics</);
  });

  it('carol accepts from CalDAV: her REPLY (SPF-aligned) updates alice’s copy', async () => {
    const got = await curl(two, 'carol@two.test', 'GET', `/dav/calendars/carol@two.test/default/${UID}.ics`);
    const accepted = unfold(got.body).replace(
      /(ATTENDEE;[^\r\n]*)PARTSTAT=NEEDS-ACTION([^\r\n]*:mailto:carol@two\.test)/,
      '$1PARTSTAT=ACCEPTED$2',
    );
    const put = await curl(two, 'carol@two.test', 'PUT', `/dav/calendars/carol@two.test/default/${UID}.ics`, accepted, {
      'content-type': 'text/calendar',
    });
    assert.ok(put.status === 204 || put.status === 201, put.body);
    const copy = await waitFor(
      async () => {
        const c = await copyOf(one, 'alice@one.test');
        return c && /PARTSTAT=ACCEPTED[^\r\n]*:mailto:carol@two\.test/.test(c) ? c : undefined;
      },
      'alice’s copy updated by the iMIP REPLY',
      30_000,
    );
    assert.match(copy, /ATTENDEE;[^\r\n]*SCHEDULE-STATUS=2\.0[^\r\n]*:mailto:carol@two\.test/);
  });

  it('forged replies stay mail: wrong From, unaligned DKIM, unaligned SPF', async () => {
    // From names someone else than the attendee that answers.
    assert.match(await toOne('carol@two.test', replyMail('mallory@two.test', 'DECLINED', 'forged from')), /^250 /);
    // A valid DKIM signature, but by evil.test, and MAIL FROM evil.test passes SPF: neither aligns with two.test.
    const signed = dkimpySign(replyMail('carol@two.test', 'DECLINED', 'forged dkim'), {
      selector: 'sel',
      domain: 'evil.test',
      key: evilKey,
    });
    assert.match(await toOne('attacker@evil.test', signed), /^250 /);
    const inbox = await inboxOf(one, 'alice@one.test');
    for (const subject of ['forged from', 'forged dkim'])
      assert.ok(
        inbox.some((m) => m.includes(`Subject: ${subject}`)),
        subject,
      );
    assert.match(unfold(inbox.find((m) => m.includes('forged dkim'))!), /dkim=pass [^;]*evil\.test/);
    const copy = (await copyOf(one, 'alice@one.test'))!;
    assert.match(copy, /PARTSTAT=ACCEPTED[^\r\n]*:mailto:carol@two\.test/);
    assert.doesNotMatch(copy, /DECLINED/);
  });

  it('an aligned reply from the attendee’s domain is applied (SPF pass for two.test)', async () => {
    assert.match(await toOne('carol@two.test', replyMail('Carol <carol@two.test>', 'TENTATIVE', 'tentative')), /^250 /);
    assert.match((await copyOf(one, 'alice@one.test'))!, /PARTSTAT=TENTATIVE[^\r\n]*:mailto:carol@two\.test/);
  });

  it('alice removes the event: the CANCEL mail cancels carol’s copy', async () => {
    const del = await curl(one, 'alice@one.test', 'DELETE', `/dav/calendars/alice@one.test/default/${UID}.ics`);
    assert.equal(del.status, 204);
    await waitFor(
      async () => ((await copyOf(two, 'carol@two.test'))?.includes('STATUS:CANCELLED') ? true : undefined),
      'carol’s copy cancelled by the iMIP CANCEL',
      30_000,
    );
  });
});
