// DMARC aggregate report collection (RFC 7489 §7.2): reports as reporters send them (XML gzip'd,
// zipped by Python's zipfile, and bare XML) arrive over SMTP from nodemailer at the configured
// report address; they are stored once each and shown by `fingerpost admin dmarc reports|show`.
// Hostile reports (an XML entity bomb, a gzip bomb) are refused and the message is still delivered.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { gzipSync } from 'node:zlib';
import nodemailer from 'nodemailer';
import { commandSkip } from '../helpers/peers.ts';
import { runCli, startTestServer, type TestServer } from '../helpers/server.ts';
import { inboxOf } from './smtp-helpers.ts';

function report(org: string, id: string, rows: { ip: string; count: number; dkim: string; spf: string }[]): string {
  const records = rows
    .map(
      (r) =>
        `<record><row><source_ip>${r.ip}</source_ip><count>${r.count}</count><policy_evaluated><disposition>none</disposition>` +
        `<dkim>${r.dkim}</dkim><spf>${r.spf}</spf></policy_evaluated></row><identifiers><header_from>example.test</header_from></identifiers>` +
        `<auth_results><dkim><domain>example.test</domain><selector>fp1</selector><result>${r.dkim}</result></dkim>` +
        `<spf><domain>example.test</domain><scope>mfrom</scope><result>${r.spf}</result></spf></auth_results></record>`,
    )
    .join('\n');
  return `<?xml version="1.0" encoding="UTF-8" ?>
<feedback>
  <version>1.0</version>
  <report_metadata><org_name>${org}</org_name><email>noreply-dmarc@${org}</email><report_id>${id}</report_id>
    <date_range><begin>1764979200</begin><end>1765065599</end></date_range></report_metadata>
  <policy_published><domain>example.test</domain><adkim>r</adkim><aspf>r</aspf><p>quarantine</p><sp>none</sp><pct>100</pct></policy_published>
  ${records}
</feedback>
`;
}

const PY_ZIP = `
import io, sys, zipfile
buf = io.BytesIO()
with zipfile.ZipFile(buf, 'w', zipfile.ZIP_DEFLATED) as z:
    z.writestr(sys.argv[1], sys.stdin.buffer.read())
sys.stdout.buffer.write(buf.getvalue())
`;

describe('DMARC aggregate reports: collection and the admin CLI', { skip: commandSkip('python3', 'apt-get install python3') }, () => {
  let t: TestServer;
  let dataDir: string;
  let send: (subject: string, attachments: { filename: string; content: Buffer | string; contentType: string }[]) => Promise<string>;
  const cli = (...args: string[]) => runCli(['admin', 'dmarc', ...args, '--data', dataDir], { env: { FINGERPOST_LOG_LEVEL: 'silent' } });

  before(async () => {
    dataDir = await mkdtemp(path.join(os.tmpdir(), 'fp-dmarc-'));
    t = await startTestServer({
      domain: 'example.test',
      dataDir,
      overrides: { inbound: { sender_auth: false, dmarc_report_addresses: ['DMARC@example.test'] } },
    });
    await t.services.accounts.addUser({ address: 'dmarc@example.test', password: 'pw-dmarc-123456' });
    const transport = nodemailer.createTransport({ host: '127.0.0.1', port: t.ports.smtp, ignoreTLS: true, name: 'mx.reporter.test' });
    send = async (subject, attachments) =>
      (
        await transport.sendMail({
          from: 'noreply-dmarc@reporter.test',
          to: 'dmarc@example.test',
          subject,
          text: 'This is an aggregate report from reporter.test.',
          attachments,
        })
      ).response;
  });
  after(async () => {
    await t?.close();
    await rm(dataDir, { recursive: true, force: true });
  });

  test('gzip, zip and plain XML reports are stored once each; the messages stay in the mailbox', async () => {
    const gz = gzipSync(
      report('google.test', 'g-1', [
        { ip: '192.0.2.1', count: 12, dkim: 'pass', spf: 'pass' },
        { ip: '198.51.100.7', count: 3, dkim: 'fail', spf: 'fail' },
      ]),
    );
    assert.match(
      await send('Report domain: example.test Submitter: google.test', [
        { filename: 'google.test!example.test!1764979200!1765065599.xml.gz', content: gz, contentType: 'application/gzip' },
      ]),
      /^250 /,
    );
    const zipped = spawnSync('python3', ['-c', PY_ZIP, 'outlook.test!example.test!1.xml'], {
      input: report('outlook.test', 'o-1', [{ ip: '203.0.113.5', count: 4, dkim: 'pass', spf: 'fail' }]),
    });
    assert.equal(zipped.status, 0, zipped.stderr?.toString());
    assert.match(
      await send('Report domain: example.test Submitter: outlook.test', [
        { filename: 'outlook.test!example.test!1.zip', content: zipped.stdout, contentType: 'application/zip' },
      ]),
      /^250 /,
    );
    // The same report again (reporters resend): kept once.
    assert.match(
      await send('Report domain: example.test (again)', [{ filename: 'again.xml.gz', content: gz, contentType: 'application/gzip' }]),
      /^250 /,
    );
    assert.match(await send('plain', [{ filename: 'r.xml', content: report('plain.test', 'p-1', []), contentType: 'text/xml' }]), /^250 /);
    assert.equal((await inboxOf(t, 'dmarc@example.test')).length, 4);

    const listed = await cli('reports');
    assert.equal(listed.code, 0, listed.stderr);
    assert.match(listed.stdout, /^ID +DOMAIN +REPORTER +FROM +TO +MESSAGES +FAILED +POLICY/);
    assert.match(listed.stdout, /example\.test +google\.test +2025-12-06 00:00 +2025-12-06 23:59 +15 +3 +p=quarantine sp=none pct=100/);
    assert.match(listed.stdout, /example\.test +outlook\.test .* 4 +0 /);
    const json = JSON.parse((await cli('reports', '--json', '--domain', 'example.test')).stdout) as { id: number; orgName: string }[];
    assert.deepEqual(json.map((r) => r.orgName).sort(), ['google.test', 'outlook.test', 'plain.test']);
    const google = json.find((r) => r.orgName === 'google.test')!;
    const shown = await cli('show', String(google.id));
    assert.equal(shown.code, 0, shown.stderr);
    assert.match(shown.stdout, /198\.51\.100\.7 +3 +none +fail +fail +example\.test +example\.test=fail +example\.test=fail/);
    const missing = await cli('show', '999');
    assert.notEqual(missing.code, 0);
    assert.match(missing.stderr, /no DMARC report 999/);
  });

  test('an XML entity bomb and a gzip bomb are refused; the messages are still delivered', async () => {
    const bomb = `<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">]><feedback><report_metadata><report_id>&lol2;</report_id></report_metadata></feedback>`;
    assert.match(await send('bomb 1', [{ filename: 'bomb.xml', content: bomb, contentType: 'text/xml' }]), /^250 /);
    const zeros = gzipSync(Buffer.alloc(64 * 1024 * 1024));
    assert.ok(zeros.length < 200_000);
    assert.match(await send('bomb 2', [{ filename: 'bomb.xml.gz', content: zeros, contentType: 'application/gzip' }]), /^250 /);
    const inbox = await inboxOf(t, 'dmarc@example.test');
    assert.ok(inbox.some((m) => m.includes('Subject: bomb 1')) && inbox.some((m) => m.includes('Subject: bomb 2')));
    const json = JSON.parse((await cli('reports', '--json')).stdout) as unknown[];
    assert.equal(json.length, 3, 'nothing stored from the bombs');
  });
});
