// An SMTP session over an in-memory duplex (no port): the real session, the handlers the server
// builds (src/protocols/smtp/service.ts), the auth core and the message store, the client on the
// other end of the pair. MX: bad input answered 500/501/503 with the connection kept, then a
// delivery to a local mailbox; submission: AUTH refused in cleartext, STARTTLS through
// net/upgrade-tls.ts dropping what was pipelined after it (RFC 3207 §4.2), AUTH PLAIN over TLS.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { OutboundStorage } from '../../../src/mail/outbound-storage.ts';
import { createSmtpService } from '../../../src/protocols/smtp/service.ts';
import { memoryConnection, StreamLines } from '../../helpers/memory-connection.ts';
import { type MemoryServer, memoryServer, startTlsOver } from '../../helpers/memory-server.ts';

const ALICE = 'alice@example.test';
const PASSWORD = 'alice-memory-password';
const MX = { name: 'smtp', protocol: 'smtp', implicitTls: false, port: 25 } as const;
const SUBMISSION = { name: 'submission', protocol: 'submission', implicitTls: false, port: 587 } as const;

describe('SMTP session over an in-memory duplex', () => {
  let server: MemoryServer;
  let smtp: ReturnType<typeof createSmtpService>;

  before(async () => {
    // No sender authentication: its DNS lookups would leave the machine.
    server = await memoryServer(ALICE, PASSWORD, { inbound: { sender_auth: false } });
    smtp = createSmtpService({
      ...server.services,
      outboundStorage: new OutboundStorage(server.services.db, server.services.blobs),
      failures: server.services.auth.limits,
    });
  });
  after(async () => {
    await smtp?.stop();
    await server?.close();
  });

  function start(listener: typeof MX | typeof SUBMISSION) {
    const { conn, peer } = memoryConnection(listener, server.material);
    (listener === MX ? smtp.smtp : smtp.submission).accept(conn);
    return { peer, lines: new StreamLines(peer) };
  }

  /** A multi-line reply, up to its last line (`NNN ` rather than `NNN-`). */
  const reply = (lines: StreamLines) => lines.until(/^\d{3} /);

  it('MX: bad commands get 500/501/503 and the connection stays; then a message reaches the mailbox', async () => {
    const { peer, lines } = start(MX);
    assert.match((await lines.next())!, /^220 localhost ESMTP Fingerpost/);
    peer.write('EHLO client.test\r\n');
    const ehlo = await reply(lines);
    assert.ok(
      ehlo.some((l) => /^250[- ]STARTTLS$/.test(l)),
      ehlo.join('\n'),
    );
    assert.ok(!ehlo.some((l) => /AUTH/.test(l)), 'no AUTH on the MX port in cleartext');
    peer.write('FROB\r\nMAIL FROM:<broken\r\nRCPT TO:<alice@example.test>\r\nMAIL FROM:<x@remote.test> SIZE=abc\r\n');
    assert.match((await lines.next())!, /^500 /);
    assert.match((await lines.next())!, /^501 /);
    assert.match((await lines.next())!, /^503 /, 'RCPT before MAIL');
    assert.match((await lines.next())!, /^501 5\.5\.4 Bad SIZE parameter/);
    peer.write(`${'NOOP '.repeat(200)}\r\nNOOP\r\n`);
    assert.match((await lines.next())!, /^500 /, 'a line over 512 octets');
    assert.match((await lines.next())!, /^250 /);
    peer.write('MAIL FROM:<bob@remote.test>\r\nRCPT TO:<nobody@example.test>\r\nRCPT TO:<alice@example.test>\r\nDATA\r\n');
    assert.match((await lines.next())!, /^250 2\.1\.0 /);
    assert.match((await lines.next())!, /^550 /, 'unknown local recipient');
    assert.match((await lines.next())!, /^250 2\.1\.5 /);
    assert.match((await lines.next())!, /^354 /);
    peer.write('From: bob@remote.test\r\nSubject: over the pair\r\n\r\n..dot-stuffed line\r\n.\r\nQUIT\r\n');
    assert.match((await lines.next())!, /^250 /);
    assert.match((await lines.next())!, /^221 /);
    assert.equal(await lines.next(), undefined, 'the server closed the connection');
    const account = (await server.services.directory.findByAddress(ALICE))!;
    const inbox = (await server.services.mail.listMailboxes(account.id)).find((m) => m.role === 'inbox')!;
    const [entry] = await server.services.mail.mailboxChanges(inbox.id, 0).then((c) => c.changed);
    assert.ok(entry, 'delivered to the inbox');
    const [message] = await server.services.mail.getMessages(account.id, [entry.messageId]);
    const raw = (await server.services.mail.readRaw(message!)).toString('latin1');
    assert.match(raw, /Subject: over the pair\r\n\r\n\.dot-stuffed line\r\n$/);
  });

  it('submission: AUTH needs TLS; STARTTLS drops what was pipelined after it; AUTH PLAIN over TLS', async () => {
    const { peer, lines } = start(SUBMISSION);
    await lines.next();
    peer.write(`EHLO client.test\r\nAUTH PLAIN ${Buffer.from(`\0${ALICE}\0${PASSWORD}`).toString('base64')}\r\n`);
    assert.ok(!(await reply(lines)).some((l) => /AUTH/.test(l)), 'no AUTH offered in cleartext');
    assert.match((await lines.next())!, /^530 5\.7\.0 /);
    // The injected MAIL arrives with STARTTLS, in cleartext: it must never run.
    peer.write('STARTTLS\r\nMAIL FROM:<alice@example.test>\r\n');
    assert.match((await lines.next())!, /^220 2\.0\.0 Ready to start TLS/);
    const secure = await startTlsOver(peer, lines, server.ca);
    const t = new StreamLines(secure);
    secure.write('RCPT TO:<alice@example.test>\r\nEHLO client.test\r\n');
    assert.match((await t.next())!, /^503 /, 'no transaction was started by the injected MAIL');
    const ehlo = await reply(t);
    assert.ok(ehlo.some((l) => /^250[- ]AUTH .*PLAIN/.test(l)) && !ehlo.some((l) => /STARTTLS/.test(l)), ehlo.join('\n'));
    secure.write('AUTH PLAIN\r\n');
    assert.match((await t.next())!, /^334 ?$/);
    secure.write('not base64!\r\n');
    assert.match((await t.next())!, /^501 5\.5\.2 /);
    secure.write(`AUTH PLAIN ${Buffer.from(`\0${ALICE}\0${PASSWORD}`).toString('base64')}\r\nQUIT\r\n`);
    assert.match((await t.next())!, /^235 /);
    assert.match((await t.next())!, /^221 /);
    secure.destroy();
  });
});
