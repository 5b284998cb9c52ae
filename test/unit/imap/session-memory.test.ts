// An IMAP session over an in-memory duplex (no port): the real session, auth core and message
// store, the client on the other end of the pair. Before login in cleartext: capabilities, bad
// input answered BAD with the connection kept, oversized lines and literals refused; STARTTLS
// through net/upgrade-tls.ts drops what was pipelined after it (RFC 9051 §6.2.1); then LOGIN,
// APPEND with a synchronizing literal, FETCH, IDLE and LOGOUT over the TLS layered on the pair.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createLogger } from '../../../src/core/log.ts';
import { imapHandler } from '../../../src/protocols/imap/handler.ts';
import { MessageCache } from '../../../src/protocols/imap/message-cache.ts';
import { memoryConnection, StreamLines } from '../../helpers/memory-connection.ts';
import { type MemoryServer, memoryServer, startTlsOver } from '../../helpers/memory-server.ts';

const ALICE = 'alice@example.test';
const PASSWORD = 'alice-memory-password';
const LISTENER = { name: 'imap', protocol: 'imap', implicitTls: false, port: 143 } as const;
const MAX_LINE = 8192;
const MAX_LITERAL = 4096;

describe('IMAP session over an in-memory duplex', () => {
  let server: MemoryServer;

  before(async () => {
    server = await memoryServer(ALICE, PASSWORD);
  });
  after(() => server?.close());

  function start() {
    const { conn, peer } = memoryConnection(LISTENER, server.material);
    const handler = imapHandler({
      hostname: 'mail.example.test',
      auth: server.services.auth,
      mail: server.services.mail,
      cache: new MessageCache(server.services.mail),
      logger: createLogger('silent'),
      tlsTimeoutMs: 10_000,
      limits: {
        maxLine: MAX_LINE,
        maxLiteral: MAX_LITERAL,
        appendLimit: 1 << 20,
        commandsPerSecond: 1000,
        maxAuthFailures: 3,
        literalPlus: true,
        metadataMaxSize: 1024,
        metadataMaxEntries: 10,
      },
    });
    handler.accept(conn);
    return { peer, lines: new StreamLines(peer) };
  }

  it('in cleartext: capabilities without AUTH=, LOGIN refused, bad input is BAD and the connection stays', async () => {
    const { peer, lines } = start();
    const greeting = (await lines.next())!;
    assert.match(greeting, /^\* OK \[CAPABILITY [^\]]*\bSTARTTLS\b[^\]]*\] /);
    assert.match(greeting, /\bLOGINDISABLED\b/);
    assert.doesNotMatch(greeting, /AUTH=/);
    peer.write(`a1 LOGIN ${ALICE} ${PASSWORD}\r\n`);
    assert.match((await lines.next())!, /^a1 NO \[PRIVACYREQUIRED\] /);
    peer.write('a2 FROBNICATE now\r\n+++ NOOP\r\na3 FETCH 1 FLAGS\r\na4 NOOP\r\n');
    assert.match((await lines.next())!, /^a2 BAD \[PARSE\] Unknown command/);
    assert.match((await lines.next())!, /^\* BAD \[PARSE\] /, 'an unreadable tag gets an untagged BAD');
    assert.match((await lines.next())!, /^a3 BAD \[CLIENTBUG\] FETCH: Authenticate first/);
    assert.match((await lines.next())!, /^a4 OK /);
    // A line over the limit is skipped to its end; a literal over the pre-login bound is refused before its bytes.
    peer.write(`a5 SEARCH ${'X'.repeat(MAX_LINE + 10)}\r\na6 APPEND INBOX {${MAX_LITERAL + 1}}\r\na7 CAPABILITY\r\n`);
    assert.match((await lines.next())!, /^a5 BAD \[TOOBIG\] Command line too long/);
    assert.match((await lines.next())!, /^a6 BAD \[CLIENTBUG\] APPEND: Authenticate first/);
    assert.match((await lines.next())!, /^\* CAPABILITY .*STARTTLS/);
    assert.match((await lines.next())!, /^a7 OK /);
    peer.write('a8 LOGOUT\r\n');
    assert.match((await lines.next())!, /^\* BYE /);
    assert.match((await lines.next())!, /^a8 OK /);
    assert.equal(await lines.next(), undefined, 'the server closed the connection');
  });

  it('STARTTLS drops the commands pipelined after it; LOGIN, APPEND, FETCH, IDLE over TLS', async () => {
    const { peer, lines } = start();
    await lines.next();
    // The injected LOGIN arrives with STARTTLS, in cleartext: it must never run.
    peer.write(`s1 STARTTLS\r\ns2 LOGIN ${ALICE} ${PASSWORD}\r\n`);
    assert.match((await lines.next())!, /^s1 OK /);
    const secure = await startTlsOver(peer, lines, server.ca);
    const t = new StreamLines(secure);
    secure.write('t1 SELECT INBOX\r\nt2 CAPABILITY\r\n');
    assert.match((await t.next())!, /^t1 BAD \[CLIENTBUG\] SELECT: Authenticate first/, 'not signed in by the injected LOGIN');
    const capa = await t.until(/^t2 /);
    assert.match(capa[0]!, /AUTH=PLAIN/);
    assert.doesNotMatch(capa[0]!, /STARTTLS|LOGINDISABLED/);
    secure.write(`t3 LOGIN ${ALICE} ${PASSWORD}\r\n`);
    assert.match((await t.until(/^t3 /)).at(-1)!, /^t3 OK /);
    const message = 'From: bob@example.test\r\nSubject: over the pair\r\n\r\nhello\r\n';
    secure.write(`t4 APPEND INBOX (\\Seen) {${message.length}}\r\n`);
    assert.match((await t.next())!, /^\+ /, 'a synchronizing literal waits for the continuation');
    secure.write(`${message}\r\n`);
    assert.match((await t.next())!, /^t4 OK \[APPENDUID \d+ 1\] /);
    secure.write('t5 SELECT INBOX\r\n');
    assert.ok((await t.until(/^t5 /)).includes('* 1 EXISTS'));
    secure.write('t6 FETCH 1 (FLAGS BODY.PEEK[HEADER.FIELDS (SUBJECT)])\r\nt7 FETCH x FLAGS\r\n');
    const fetched = await t.until(/^t6 /);
    assert.match(fetched[0]!, /^\* 1 FETCH \(FLAGS \(\\Recent \\Seen\) BODY\[HEADER\.FIELDS \(SUBJECT\)\] \{\d+\}$/);
    assert.equal(fetched[1], 'Subject: over the pair');
    assert.match((await t.next())!, /^t7 BAD /);
    secure.write('t8 IDLE\r\n');
    assert.match((await t.next())!, /^\+ idling/);
    await server.services.mail.deliver(
      (await server.services.directory.findByAddress(ALICE))!.id,
      Buffer.from('Subject: second\r\n\r\nx\r\n'),
    );
    assert.equal(await t.next(), '* 2 EXISTS', 'IDLE reports the new message');
    assert.equal(await t.next(), '* 2 RECENT');
    secure.write('DONE\r\nt9 LOGOUT\r\n');
    assert.match((await t.next())!, /^t8 OK /);
    assert.match((await t.next())!, /^\* BYE /);
    assert.match((await t.next())!, /^t9 OK /);
    secure.destroy();
  });

  it('AUTHENTICATE reads its response line through the same input; an over-long one cancels the exchange', async () => {
    const { peer, lines } = start();
    await lines.next();
    peer.write('s1 STARTTLS\r\n');
    await lines.next();
    const secure = await startTlsOver(peer, lines, server.ca);
    const t = new StreamLines(secure);
    secure.write('a1 AUTHENTICATE PLAIN\r\n');
    assert.match((await t.next())!, /^\+ ?$/);
    secure.write(`${'A'.repeat(MAX_LINE + 10)}\r\n`);
    assert.match((await t.next())!, /^a1 BAD /);
    secure.write('a2 AUTHENTICATE PLAIN\r\n');
    assert.match((await t.next())!, /^\+ ?$/);
    secure.write(`${Buffer.from(`\0${ALICE}\0${PASSWORD}`).toString('base64')}\r\n`);
    assert.match((await t.until(/^a2 /)).at(-1)!, /^a2 OK /);
    secure.write('a3 LOGOUT\r\n');
    await t.until(/^a3 /);
    secure.destroy();
  });
});
