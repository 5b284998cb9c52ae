// The automatic reply (RFC 8621 §8, RFC 3834) belongs to the mail store, not to JMAP: on a node
// with JMAP and the HTTPS listener switched off, a reply saved through the mail use case still
// answers mail delivered over SMTP (nodemailer to the MX listener), read back with imapflow.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { ImapFlow } from 'imapflow';
import nodemailer from 'nodemailer';
import { startTestServer, type TestServer } from '../helpers/server.ts';

const ALICE = 'alice@example.test';
const BOB = 'bob@example.test';
const PASSWORD = 'vacation test password';

describe('automatic replies without JMAP or HTTP', () => {
  let server: TestServer;

  before(async () => {
    server = await startTestServer({ overrides: { jmap: { enabled: false }, http: { enabled: false } } });
    await server.services.accounts.addUser({ address: ALICE, password: PASSWORD, displayName: 'Alice' });
    const bob = await server.services.accounts.addUser({ address: BOB, password: PASSWORD, displayName: 'Bob' });
    await server.services.mail.vacation.save(bob.account.id, {
      isEnabled: true,
      fromDate: null,
      toDate: null,
      subject: 'Away this week',
      textBody: 'Back on Monday.',
      htmlBody: null,
    });
  });
  after(async () => {
    await server.close();
  });

  it('mail delivered over SMTP is answered with the saved reply, marked Auto-Submitted', async () => {
    const mx = nodemailer.createTransport({ host: '127.0.0.1', port: server.ports.smtp, secure: false, ignoreTLS: true });
    const alice = new ImapFlow({
      host: '127.0.0.1',
      port: server.ports.imaps,
      secure: true,
      tls: { ca: server.ca, servername: 'localhost' },
      auth: { user: ALICE, pass: PASSWORD },
      logger: false,
    });
    alice.on('error', () => {});
    try {
      await mx.sendMail({ from: ALICE, to: BOB, subject: 'Lunch?', text: 'question', messageId: '<lunch@example.test>' });
      await alice.connect();
      const lock = await alice.getMailboxLock('INBOX');
      try {
        // IDLE until the reply's EXISTS arrives: the wait is on the server's own notification.
        const arrived = new Promise<void>((resolve) => alice.on('exists', () => resolve()));
        if (!alice.mailbox || alice.mailbox.exists === 0) await arrived;
        const msg = await alice.fetchOne('*', { source: true, envelope: true });
        assert.ok(msg);
        const source = msg.source?.toString() ?? '';
        assert.match(source, /^Subject: Away this week/m);
        assert.match(source, /^Auto-Submitted: auto-replied/m);
        assert.match(source, /^In-Reply-To: <lunch@example\.test>/m);
        assert.match(source, /Back on Monday\./);
      } finally {
        lock.release();
      }
    } finally {
      await alice.logout().catch(() => {});
      mx.close();
    }
  });
});
