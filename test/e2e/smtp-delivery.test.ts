// Delivery end to end: a message submitted over SMTP to a local user is read back over IMAP
// (imapflow) and POP3 (Python poplib), the same bytes through both.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { ImapFlow } from 'imapflow';
import nodemailer from 'nodemailer';
import { commandSkip } from '../helpers/peers.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';
import { run } from './smtp-helpers.ts';

const PASSWORD = 'delivery-password-1';

describe('submitted over SMTP, read over IMAP and POP3', () => {
  let t: TestServer;
  before(async () => {
    t = await startTestServer({ domain: 'example.test' });
    await t.services.accounts.addUser({ address: 'ivy@example.test', password: PASSWORD });
    await t.services.accounts.addUser({ address: 'jon@example.test', password: PASSWORD });
  });
  after(() => t.close());

  test('nodemailer → submission → INBOX → imapflow FETCH and poplib RETR', { skip: commandSkip('python3', 'python3') }, async () => {
    const transport = nodemailer.createTransport({
      host: '127.0.0.1',
      port: t.ports.submissions,
      secure: true,
      tls: { ca: t.ca, servername: 'localhost' },
      auth: { user: 'ivy@example.test', pass: PASSWORD },
    });
    await transport.sendMail({
      from: 'Ivy <ivy@example.test>',
      to: 'jon@example.test',
      subject: 'Grüße über SMTP',
      text: 'Line one\n.Line with a dot\nEnd\n',
    });
    transport.close();

    const imap = new ImapFlow({
      host: '127.0.0.1',
      port: t.ports.imaps,
      secure: true,
      tls: { ca: t.ca, servername: 'localhost' },
      auth: { user: 'jon@example.test', pass: PASSWORD },
      logger: false,
    });
    await imap.connect();
    let imapSource: Buffer;
    try {
      const lock = await imap.getMailboxLock('INBOX');
      try {
        const msg = await imap.fetchOne('*', { envelope: true, source: true });
        if (msg === false || !msg.envelope || !msg.source) throw new Error('message not fetched');
        assert.equal(msg.envelope.subject, 'Grüße über SMTP');
        assert.equal(msg.envelope.from?.[0]?.address, 'ivy@example.test');
        imapSource = msg.source;
      } finally {
        lock.release();
      }
    } finally {
      await imap.logout();
    }
    assert.match(imapSource.toString(), /^Received: from [^\r]+\r\n\tby localhost with ESMTPSA/);

    const script = `
import poplib, ssl, sys
ctx = ssl.create_default_context(cafile=sys.argv[2])
ctx.check_hostname = False
p = poplib.POP3_SSL('127.0.0.1', int(sys.argv[1]), context=ctx)
p.user('jon@example.test')
p.pass_(sys.argv[3])
n = p.stat()[0]
sys.stdout.buffer.write(b'\\r\\n'.join(p.retr(n)[1]) + b'\\r\\n')
p.quit()
`;
    const r = await run('python3', ['-c', script, String(t.ports.pop3s), t.caFile, PASSWORD]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, imapSource.toString(), 'POP3 and IMAP return the same message');
  });
});
