// A POP3 session over an in-memory duplex (no port): the real session, auth core and message
// store, the client on the other end of the pair. STLS through net/upgrade-tls.ts drops what was
// pipelined after it (RFC 2595 §4), then USER/PASS signs in over the TLS layered on the pair.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createLogger } from '../../../src/core/log.ts';
import { MaildropLocks } from '../../../src/mail/maildrop-lock.ts';
import { Pop3Session } from '../../../src/protocols/pop3/session.ts';
import { memoryConnection, StreamLines } from '../../helpers/memory-connection.ts';
import { type MemoryServer, memoryServer, startTlsOver } from '../../helpers/memory-server.ts';

const ALICE = 'alice@example.test';
const PASSWORD = 'alice-memory-password';
const LISTENER = { name: 'pop3', protocol: 'pop3', implicitTls: false, port: 110 } as const;

describe('POP3 session over an in-memory duplex', () => {
  let server: MemoryServer;

  before(async () => {
    server = await memoryServer(ALICE, PASSWORD);
  });
  after(() => server?.close());

  function start() {
    const { conn, peer } = memoryConnection(LISTENER, server.material);
    const session = new Pop3Session(conn, {
      hostname: 'mail.example.test',
      auth: server.services.auth,
      mail: server.services.mail,
      locks: new MaildropLocks(server.services.db),
      logger: createLogger('silent'),
      tlsTimeoutMs: 10_000,
    });
    session.start();
    return { peer, lines: new StreamLines(peer) };
  }

  it('in cleartext offers STLS and refuses USER', async () => {
    const { peer, lines } = start();
    assert.match((await lines.next())!, /^\+OK mail\.example\.test Fingerpost POP3 ready/);
    peer.write('CAPA\r\nUSER alice\r\n');
    const capa = await lines.until(/^\.$/);
    assert.ok(capa.includes('STLS'));
    assert.ok(!capa.includes('USER'));
    assert.equal(await lines.next(), '-ERR [AUTH] Use STLS first: no passwords on cleartext');
    peer.write('QUIT\r\n');
    assert.equal(await lines.next(), '+OK mail.example.test signing off');
  });

  it('STLS drops the commands pipelined after it; USER/PASS then signs in over TLS', async () => {
    const { peer, lines } = start();
    await lines.next();
    // The injected USER/PASS arrive with STLS, in cleartext: they must never run.
    peer.write(`STLS\r\nUSER ${ALICE}\r\nPASS ${PASSWORD}\r\n`);
    assert.equal(await lines.next(), '+OK Begin TLS negotiation');
    const secure = await startTlsOver(peer, lines, server.ca);
    const tlsLines = new StreamLines(secure);
    // Not signed in by the injected lines: PASS without USER fails, CAPA still offers USER.
    secure.write(`PASS ${PASSWORD}\r\nCAPA\r\n`);
    assert.equal(await tlsLines.next(), '-ERR Send USER first');
    const capa = await tlsLines.until(/^\.$/);
    assert.ok(capa.includes('USER') && !capa.includes('STLS'), capa.join('\n'));
    secure.write(`USER ${ALICE}\r\nPASS ${PASSWORD}\r\nSTAT\r\nQUIT\r\n`);
    assert.equal(await tlsLines.next(), '+OK Send PASS');
    assert.match((await tlsLines.next())!, /^\+OK Maildrop locked and ready: 0 messages/);
    assert.equal(await tlsLines.next(), '+OK 0 0');
    assert.match((await tlsLines.next())!, /^\+OK mail\.example\.test signing off/);
    secure.destroy();
  });
});
