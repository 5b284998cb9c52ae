// DMARC aggregate report sending (RFC 7489 §7.2): mail arriving at the MX over SMTP (nodemailer)
// is checked against SPF and DMARC records from a loopback DNS server, each result is counted, and
// the next day's report goes through the real outbound queue to the record's rua: the destination
// in the domain and the external one that publishes `_report._dmarc` (§7.1), not the one that does
// not. The gzipped XML is parsed back with Python's xml.etree (appendix C) and `admin dmarc pending`
// shows the plan.
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { gunzipSync } from 'node:zlib';
import nodemailer from 'nodemailer';
import { createLogger } from '../../src/core/log.ts';
import { DailyReports } from '../../src/mail/reports/daily-reports.ts';
import { ReportStore } from '../../src/mail/reports/report-store.ts';
import { OutboundQueue } from '../../src/mail/queue/queue.ts';
import { CachingResolver } from '../../src/mail/inbound/dns-cache.ts';
import { startTestDns, type TestDns } from '../helpers/dns-server.ts';
import { commandSkip } from '../helpers/peers.ts';
import { runCli, startTestServer, type TestServer } from '../helpers/server.ts';
import { run } from './smtp-helpers.ts';

const skip = commandSkip('python3', 'python3');
const DAY = 86_400_000;

/** Reads an aggregate report with Python's xml.etree and prints its fields as JSON. */
const PARSE = `
import sys, json, xml.etree.ElementTree as ET
root = ET.fromstring(sys.stdin.buffer.read())
assert root.tag == 'feedback'
md = root.find('report_metadata'); pp = root.find('policy_published')
print(json.dumps({
  'org': md.findtext('org_name'), 'id': md.findtext('report_id'),
  'begin': int(md.find('date_range').findtext('begin')), 'end': int(md.find('date_range').findtext('end')),
  'domain': pp.findtext('domain'), 'p': pp.findtext('p'), 'pct': pp.findtext('pct'),
  'records': [{
    'ip': r.find('row').findtext('source_ip'), 'count': int(r.find('row').findtext('count')),
    'disposition': r.find('row/policy_evaluated').findtext('disposition'),
    'dkim': r.find('row/policy_evaluated').findtext('dkim'), 'spf': r.find('row/policy_evaluated').findtext('spf'),
    'from': r.find('identifiers').findtext('header_from'),
    'spf_auth': [(s.findtext('domain'), s.findtext('result')) for s in r.findall('auth_results/spf')],
  } for r in root.findall('record')],
}))
`;

describe('DMARC aggregate reports sent', { skip }, () => {
  let t: TestServer;
  let dns: TestDns;
  let reports: DailyReports;
  let queue: OutboundQueue;

  before(async () => {
    dns = await startTestDns();
    dns.set('sender.test', 'TXT', ['v=spf1 ip4:127.0.0.1 -all']);
    dns.set('evil.test', 'TXT', ['v=spf1 -all']);
    dns.set('_dmarc.sender.test', 'TXT', [
      'v=DMARC1; p=quarantine; pct=100; rua=mailto:agg@sender.test,mailto:ext@reports.test!10m,mailto:no@other.test',
    ]);
    dns.set('sender.test._report._dmarc.reports.test', 'TXT', ['v=DMARC1']);
    t = await startTestServer({
      domain: 'example.test',
      overrides: {
        inbound: { dns_servers: [dns.server], dns_timeout: '2s', check_timeout: '10s', dmarc_report_sending: true },
        queue: { enabled: false, dns_servers: [dns.server], report_from: 'postmaster@example.test' },
      },
    });
    await t.services.accounts.addUser({ address: 'bob@example.test', password: 'pw-bob-123456' });
    const transport = nodemailer.createTransport({
      host: '127.0.0.1',
      port: t.ports.smtp,
      secure: false,
      ignoreTLS: true,
      name: 'mx.sender.test',
    });
    const send = (from: string, headerFrom: string, subject: string) =>
      transport.sendMail({
        envelope: { from, to: ['bob@example.test'] },
        raw: `From: <${headerFrom}>\r\nTo: <bob@example.test>\r\nSubject: ${subject}\r\nMessage-ID: <${subject}@sender.test>\r\n\r\nhello\r\n`,
      });
    await send('sam@sender.test', 'sam@sender.test', 'one');
    await send('sam@sender.test', 'sam@sender.test', 'two');
    await send('eve@evil.test', 'sam@sender.test', 'forged');
    queue = new OutboundQueue(t.services.db, t.services.blobs, { maxAgeMs: DAY });
    const resolver = new CachingResolver({ servers: [dns.server], timeoutMs: 2000, ttlMs: 0, maxEntries: 100 });
    reports = new DailyReports({
      store: new ReportStore(t.services.db),
      orgName: 'mx.example.test',
      from: 'postmaster@example.test',
      resolve: resolver.resolve,
      enqueue: (input) => queue.enqueue(input),
      dmarc: true,
      tlsRpt: false,
      timeoutMs: 2000,
      logger: createLogger('silent'),
    });
  });
  after(async () => {
    await t?.close();
    await dns?.close();
  });

  test('nothing is due on the day itself; `admin dmarc pending` shows the next day what will go where', async () => {
    assert.equal((await reports.plan(Date.now(), ['dmarc'])).length, 0);
    const config = path.join(t.dataDir, 'cli.toml');
    await writeFile(config, `[queue]\ndns_servers = ["${dns.server}"]\n`);
    const at = new Date(Date.now() + DAY).toISOString();
    const out = await runCli(['admin', 'dmarc', 'pending', '--at', at, '--json', '--data', t.dataDir, '--config', config], {
      env: { FINGERPOST_LOG_LEVEL: 'silent' },
    });
    assert.equal(out.code, 0, out.stderr);
    const [plan] = JSON.parse(out.stdout) as Array<{
      domain: string;
      rows: number;
      destinations: string[];
      refused: Array<{ uri: string }>;
    }>;
    assert.equal(plan?.domain, 'sender.test');
    assert.deepEqual(plan.destinations, ['mailto:agg@sender.test', 'mailto:ext@reports.test']);
    assert.deepEqual(
      plan.refused.map((r) => r.uri),
      ['mailto:no@other.test'],
    );
  });

  test('the next day the report goes through the queue, once, and parses as appendix C XML', async () => {
    const handled = await reports.sendDue(Date.now() + DAY);
    assert.equal(handled.length, 1);
    assert.equal((await reports.sendDue(Date.now() + DAY)).length, 0, 'sent once');
    const queued = await queue.list();
    const recipients = queued.flatMap((q) => q.recipients.map((r) => r.recipient)).sort();
    assert.deepEqual(recipients, ['agg@sender.test', 'ext@reports.test']);
    const blob = await t.services.db.kysely.selectFrom('queue_messages').select('blob_id').executeTakeFirstOrThrow();
    const raw = (await queue.readMessage(blob.blob_id)).toString('latin1');
    assert.match(raw, /^Subject: Report Domain: sender\.test Submitter: mx\.example\.test Report-ID: </m);
    const b64 =
      /Content-Type: application\/gzip;[^\r]*\r\n[^\r]*\r\nContent-Transfer-Encoding: base64\r\n\r\n([A-Za-z0-9+/=\r\n]+)\r\n--/.exec(raw);
    assert.ok(b64, raw.slice(0, 1500));
    const xml = gunzipSync(Buffer.from(b64[1]!.replace(/\r\n/g, ''), 'base64'));
    const parsed = await run('python3', ['-c', PARSE], xml.toString('utf8'));
    assert.equal(parsed.code, 0, parsed.stderr);
    const report = JSON.parse(parsed.stdout) as {
      domain: string;
      p: string;
      end: number;
      begin: number;
      records: Array<{ ip: string; count: number; disposition: string; dkim: string; spf: string; from: string; spf_auth: string[][] }>;
    };
    assert.equal(report.domain, 'sender.test');
    assert.equal(report.p, 'quarantine');
    assert.equal(report.end - report.begin, 86_399);
    const pass = report.records.find((r) => r.spf === 'pass');
    const fail = report.records.find((r) => r.spf === 'fail');
    assert.deepEqual(pass && { ...pass, spf_auth: pass.spf_auth }, {
      ip: '127.0.0.1',
      count: 2,
      disposition: 'none',
      dkim: 'fail',
      spf: 'pass',
      from: 'sender.test',
      spf_auth: [['sender.test', 'pass']],
    });
    assert.equal(fail?.count, 1);
    assert.equal(fail?.disposition, 'quarantine');
    assert.deepEqual(fail?.spf_auth, [['evil.test', 'fail']]);
  });
});
