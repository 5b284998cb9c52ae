// IMAP on the wire, by hand: capabilities before/after TLS, STARTTLS injection
// defence, bad and oversized input (BAD/NO [TOOBIG], the session goes on), the RFC 7628 failure
// exchange, auth-failure limits, IDLE pushes, revocation and token expiry ending a live session,
// and the same flows on PostgreSQL.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import tls from 'node:tls';
import { after, before, describe, test } from 'node:test';
import { ImapFlow } from 'imapflow';
import { exportJWK, generateKeyPair, SignJWT } from 'jose';
import { pgAvailable, peerSkip } from '../helpers/peers.ts';
import { tempPgDatabase } from '../helpers/pg.ts';
import { issueToken } from '../helpers/idp.ts';
import { runCli, startTestServer, type TestServer } from '../helpers/server.ts';
import { LineClient } from '../helpers/wire.ts';

const ALICE = 'alice@example.test';
const PASSWORD = 'alice-password-1';
const ISSUER = 'https://idp.example.test';
const pgSkip = peerSkip('PostgreSQL', await pgAvailable(), 'start it: pg_ctlcluster 15 main start');

const b64 = (s: string | Buffer) => Buffer.from(s).toString('base64');

/** Sends a tagged command and returns every line up to and including its tagged answer. */
async function cmd(c: LineClient, tag: string, text: string): Promise<string[]> {
  c.write(`${tag} ${text}\r\n`);
  return c.until(new RegExp(`^${tag} (OK|NO|BAD)`));
}

async function tlsClient(t: TestServer): Promise<LineClient> {
  const c = await LineClient.connect(t.ports.imaps, { tls: true, ca: t.ca });
  assert.match((await c.line())!, /^\* OK /);
  return c;
}

async function loggedIn(t: TestServer): Promise<LineClient> {
  const c = await tlsClient(t);
  assert.match((await cmd(c, 'l', `LOGIN ${ALICE} ${PASSWORD}`)).at(-1)!, /^l OK/);
  return c;
}

async function upgrade(c: LineClient, ca: string): Promise<LineClient> {
  const secure = tls.connect({ socket: c.socket, ca, servername: 'localhost' });
  await new Promise<void>((resolve, reject) => {
    secure.once('secureConnect', resolve);
    secure.once('error', reject);
  });
  c.socket.removeAllListeners('data');
  return new LineClient(secure);
}

describe('IMAP protocol by hand', () => {
  let t: TestServer;
  let dir: string;
  let token: (user: string, opts?: { aud?: string; ttl?: string; jti?: string }) => Promise<string>;

  before(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'fp-imap-'));
    const { privateKey, publicKey } = await generateKeyPair('ES256');
    const jwk = { ...(await exportJWK(publicKey)), kid: 'k1', alg: 'ES256', use: 'sig' };
    const jwksFile = path.join(dir, 'jwks.json');
    await writeFile(jwksFile, JSON.stringify({ keys: [jwk] }));
    token = (user, opts = {}) =>
      new SignJWT({ scope: 'urn:ietf:params:oauth:scope:mail', email: user, client_id: 'tests' })
        .setProtectedHeader({ alg: 'ES256', typ: 'at+jwt', kid: 'k1' })
        .setIssuer(ISSUER)
        .setAudience(opts.aud ?? 'imap://localhost')
        .setSubject(user)
        .setIssuedAt()
        .setExpirationTime(opts.ttl ?? '10m')
        .setJti(opts.jti ?? randomUUID())
        .sign(privateKey);
    t = await startTestServer({
      domain: 'example.test',
      overrides: {
        auth: { issuers: [{ issuer: ISSUER, jwks_file: jwksFile }], leeway: 0 },
        imap: { max_line: 8192, max_literal: 4096, append_limit: 100_000, max_auth_failures: 3, commands_per_second: 50 },
      },
    });
    await t.services.accounts.addUser({ address: ALICE, password: PASSWORD });
  });
  after(async () => {
    await t.close();
    await rm(dir, { recursive: true, force: true });
  });

  test('cleartext: STARTTLS and LOGINDISABLED only, no AUTH=; credentials refused with PRIVACYREQUIRED', async () => {
    const c = await LineClient.connect(t.ports.imap);
    const greeting = (await c.line())!;
    assert.match(greeting, /^\* OK \[CAPABILITY IMAP4rev1 IMAP4rev2 STARTTLS LOGINDISABLED\] /);
    const caps = await cmd(c, 'a', 'CAPABILITY');
    assert.equal(caps[0], '* CAPABILITY IMAP4rev1 IMAP4rev2 STARTTLS LOGINDISABLED');
    assert.doesNotMatch(caps.join('\n'), /AUTH=/);
    assert.match((await cmd(c, 'b', `LOGIN ${ALICE} ${PASSWORD}`)).at(-1)!, /^b NO \[PRIVACYREQUIRED\]/);
    assert.match((await cmd(c, 'c', `AUTHENTICATE PLAIN ${b64(`\0${ALICE}\0${PASSWORD}`)}`)).at(-1)!, /^c NO \[PRIVACYREQUIRED\]/);
    c.close();
  });

  test('STARTTLS drops pipelined commands; after TLS the mechanisms appear and STARTTLS does not', async () => {
    const c = await LineClient.connect(t.ports.imap);
    await c.line();
    // The injected LOGIN travels in the same packet as STARTTLS; it must never run.
    c.write(`s STARTTLS\r\nx LOGIN ${ALICE} ${PASSWORD}\r\n`);
    assert.equal(await c.line(), 's OK Begin TLS negotiation now');
    const s = await upgrade(c, t.ca);
    const caps = await cmd(s, 'a', 'CAPABILITY');
    assert.match(caps[0]!, /^\* CAPABILITY IMAP4rev1 IMAP4rev2 SASL-IR AUTH=PLAIN AUTH=LOGIN AUTH=OAUTHBEARER AUTH=XOAUTH2 /);
    assert.doesNotMatch(caps[0]!, /STARTTLS|LOGINDISABLED/);
    // Still not authenticated: the injected LOGIN did not happen.
    assert.match((await cmd(s, 'b', 'SELECT INBOX')).at(-1)!, /^b BAD/);
    assert.match((await cmd(s, 'c', 'STARTTLS')).at(-1)!, /^c (BAD|NO)/);
    s.close();
  });

  test('bad input gets BAD and the session goes on', async () => {
    const c = await loggedIn(t);
    assert.match((await cmd(c, 'a1', 'FROBNICATE now')).at(-1)!, /^a1 BAD /);
    assert.match((await cmd(c, 'a2', 'FETCH 1:* (FLAGS')).at(-1)!, /^a2 BAD /);
    assert.match((await cmd(c, 'a3', 'SELECT')).at(-1)!, /^a3 BAD /);
    assert.match((await cmd(c, 'a4', 'FETCH 1 FLAGS')).at(-1)!, /^a4 BAD \[CLIENTBUG\]/);
    c.write('+++ NOOP\r\n');
    assert.match((await c.line())!, /^\* BAD /);
    c.write('\x00\x01\x02\xff garbage\r\n');
    assert.match((await c.line())!, /BAD/);
    assert.match((await cmd(c, 'a5', 'SEARCH CHARSET KOI8-R ALL')).at(-1)!, /^a5 BAD/);
    assert.match((await cmd(c, 'a6', 'SELECT INBOX')).at(-1)!, /^a6 OK \[READ-WRITE\]/);
    assert.match((await cmd(c, 'a7', 'SEARCH CHARSET KOI8-R ALL')).at(-1)!, /^a7 NO \[BADCHARSET/);
    assert.match((await cmd(c, 'a8', 'NOOP')).at(-1)!, /^a8 OK/);
    c.close();
  });

  test('twenty bad commands in a row end the connection with BYE; a good one in between resets the count', async () => {
    const c = await loggedIn(t);
    c.write('x FROB\r\n'.repeat(19));
    for (let i = 0; i < 19; i++) assert.match((await c.line())!, /^x BAD /);
    assert.match((await cmd(c, 'n', 'NOOP')).at(-1)!, /^n OK/);
    c.write('y FROB\r\n'.repeat(20));
    const lines = await c.until(/^\* BYE /);
    assert.equal(lines.filter((l) => l.startsWith('y BAD ')).length, 20);
    await c.closedByPeer();
  });

  test('an oversized literal is refused before its bytes are sent; long lines get BAD [TOOBIG]', async () => {
    const c = await loggedIn(t);
    c.write('a1 LOGIN {999999}\r\n');
    assert.equal(await c.line(), 'a1 BAD [TOOBIG] Literal too large');
    c.write('a2 APPEND INBOX {100001}\r\n');
    assert.equal(await c.line(), 'a2 NO [TOOBIG] Message too large');
    c.write(`a3 SEARCH SUBJECT "${'x'.repeat(9000)}"\r\n`);
    assert.equal(await c.line(), 'a3 BAD [TOOBIG] Command line too long');
    // A non-synchronizing literal over the limit is skipped, never executed as commands.
    const smuggled = `z DELETE Sent\r\n`.repeat(400);
    c.write(`a4 SEARCH SUBJECT {${smuggled.length}+}\r\n${smuggled}\r\n`);
    assert.equal(await c.line(), 'a4 BAD [TOOBIG] Literal too large');
    assert.match((await cmd(c, 'a5', 'LIST "" Sent')).join('\n'), /\* LIST .* Sent/);
    c.write('a6 APPEND INBOX {19}\r\n');
    assert.match((await c.line())!, /^\+ /);
    c.write('Subject: small\r\n\r\nx\r\n');
    assert.match((await c.line())!, /^a6 OK \[APPENDUID \d+ \d+\]/);
    c.close();
  });

  test('before sign-in, an APPEND literal over imap.max_literal is refused unread, on both ports', async () => {
    const plain = await LineClient.connect(t.ports.imap);
    assert.match((await plain.line())!, /^\* OK /);
    for (const c of [await tlsClient(t), plain]) {
      // Within the APPENDLIMIT but over max_literal: nobody signed in may make the server buffer it.
      c.write('p1 APPEND INBOX {50000}\r\n');
      assert.equal(await c.line(), 'p1 BAD [CLIENTBUG] APPEND: Authenticate first');
      const junk = 'q DELETE INBOX\r\n'.repeat(500);
      c.write(`p2 APPEND INBOX {${junk.length}+}\r\n${junk}\r\n`);
      assert.equal(await c.line(), 'p2 BAD [CLIENTBUG] APPEND: Authenticate first');
      assert.match((await cmd(c, 'p3', 'NOOP')).at(-1)!, /^p3 OK/);
      c.close();
    }
  });

  test('AUTHENTICATE: continuation, cancel, invalid base64, and the RFC 7628 failure exchange', async () => {
    const c = await tlsClient(t);
    c.write('a AUTHENTICATE PLAIN\r\n');
    assert.equal(await c.line(), '+ ');
    c.write('*\r\n');
    assert.match((await c.line())!, /^a BAD /);
    assert.match((await cmd(c, 'b', 'AUTHENTICATE PLAIN AG!!')).at(-1)!, /^b BAD /);
    const bad = await token(ALICE, { aud: 'imap://elsewhere.example' });
    c.write(
      `c AUTHENTICATE OAUTHBEARER ${b64(`n,a=${ALICE},\x01host=localhost\x01port=${t.ports.imaps}\x01auth=Bearer ${bad}\x01\x01`)}\r\n`,
    );
    const challenge = (await c.line())!;
    assert.match(challenge, /^\+ [A-Za-z0-9+/=]+$/);
    const json = JSON.parse(Buffer.from(challenge.slice(2), 'base64').toString());
    assert.equal(json.status, 'invalid_token');
    c.write('AQ==\r\n');
    assert.match((await c.line())!, /^c NO \[AUTHENTICATIONFAILED\]/);
    // A good token over continuation (no SASL-IR) signs in.
    c.write('d AUTHENTICATE XOAUTH2\r\n');
    assert.equal(await c.line(), '+ ');
    c.write(`${b64(`user=${ALICE}\x01auth=Bearer ${await token(ALICE)}\x01\x01`)}\r\n`);
    assert.match((await c.line())!, /^d OK \[CAPABILITY IMAP4rev1 IMAP4rev2 /);
    c.close();
    // AUTH=LOGIN: the username and password prompts, each answered on its own line.
    const l = await tlsClient(t);
    l.write('e AUTHENTICATE LOGIN\r\n');
    assert.equal(await l.line(), `+ ${b64('Username:')}`);
    l.write(`${b64(ALICE)}\r\n`);
    assert.equal(await l.line(), `+ ${b64('Password:')}`);
    l.write(`${b64(PASSWORD)}\r\n`);
    assert.match((await l.line())!, /^e OK \[CAPABILITY /);
    l.close();
  });

  test('extensions by hand: ID, NAMESPACE, LIST-EXTENDED/STATUS, mailbox names, ESEARCH/SAVE, COPYUID, BINARY, UID EXPUNGE, EXAMINE', async () => {
    const c = await loggedIn(t);
    assert.equal((await cmd(c, 'i', 'ID ("name" "hand")'))[0], '* ID ("name" "Fingerpost" "vendor" "Fingerpost")');
    assert.equal((await cmd(c, 'n', 'NAMESPACE'))[0], '* NAMESPACE (("" "/")) (("Other Users/" "/")) NIL');
    // IMAP4rev1 mailbox names are modified UTF-7 (RFC 3501 §5.1.3).
    assert.match((await cmd(c, 'c', 'CREATE "Entw&APw-rfe/2026"')).at(-1)!, /^c OK/);
    const listed = await cmd(c, 'l', 'LIST (SPECIAL-USE) "" "*" RETURN (STATUS (MESSAGES UIDNEXT) SUBSCRIBED)');
    assert.ok(listed.includes('* LIST (\\HasNoChildren \\Sent \\Subscribed) "/" Sent'), listed.join('\n'));
    assert.ok(listed.includes('* STATUS Sent (MESSAGES 0 UIDNEXT 1)'), listed.join('\n'));
    assert.ok(!listed.some((l) => l.includes('Entw')), 'SPECIAL-USE selection lists only special-use mailboxes');
    const all = await cmd(c, 'm', 'LIST "" "Entw*"');
    assert.deepEqual(all.slice(0, -1), ['* LIST (\\HasChildren) "/" Entw&APw-rfe', '* LIST (\\HasNoChildren) "/" Entw&APw-rfe/2026']);
    assert.match((await cmd(c, 'dp', 'DELETE "Entw&APw-rfe"')).at(-1)!, /^dp NO \[HASCHILDREN\]/, 'RFC 9051 §7.1');
    // IMAP4rev2 clients get UTF-8 names.
    assert.match((await cmd(c, 'e', 'ENABLE IMAP4rev2 QRESYNC')).join('\n'), /^\* ENABLED IMAP4rev2 QRESYNC/);
    assert.match((await cmd(c, 'm2', 'LIST "" "Entw%"')).join('\n'), /"Entwürfe"/);

    c.write('a APPEND "Entwürfe/2026" (\\Draft) ~{27+}\r\nSubject: bin\r\n\r\nnul:\x00 end\r\n\r\n');
    assert.match((await c.line())!, /^a OK \[APPENDUID \d+ 1\]/);
    c.write('b APPEND "Entwürfe/2026" {32+}\r\nSubject: second\r\n\r\nsecond body\r\n\r\n');
    assert.match((await c.line())!, /^b OK \[APPENDUID \d+ 2\]/);
    const sel = await cmd(c, 's', 'SELECT "Entwürfe/2026"');
    assert.ok(sel.includes('* 2 EXISTS'));
    assert.ok(
      sel.some((l) => l.startsWith('* LIST (\\HasNoChildren) "/" "Entwürfe/2026"')),
      'IMAP4rev2 SELECT sends LIST',
    );
    assert.ok(!sel.some((l) => /RECENT/.test(l)));
    const bin = await cmd(c, 'f', 'FETCH 1 (BINARY.PEEK[1] BINARY.SIZE[1])');
    // QRESYNC is enabled: every FETCH response carries UID (RFC 7162 §3.2.10).
    assert.match(bin[0]!, /^\* 1 FETCH \(UID 1 BINARY\[1\] ~\{\d+\}$/);
    assert.match(bin.join('\n'), /BINARY\.SIZE\[1\] 11\)/);
    assert.deepEqual((await cmd(c, 'q', 'SEARCH RETURN (MIN COUNT SAVE) UNDRAFT')).slice(0, -1), ['* ESEARCH (TAG "q") MIN 2 COUNT 1']);
    assert.match((await cmd(c, 'k', 'UID COPY $ INBOX')).at(-1)!, /^k OK \[COPYUID \d+ 2 \d+\] UID COPY completed/);
    assert.deepEqual((await cmd(c, 's2', 'SEARCH ALL')).slice(0, -1), ['* ESEARCH (TAG "s2") ALL 1:2']);
    await cmd(c, 'd', 'UID STORE 1:2 +FLAGS.SILENT (\\Deleted)');
    const x = await cmd(c, 'x', 'UID EXPUNGE 2');
    assert.deepEqual(x.slice(0, -1), ['* VANISHED 2']);
    const ex = await cmd(c, 'r', 'EXAMINE "Entwürfe/2026"');
    assert.ok(ex.includes('* OK [CLOSED] Previous mailbox closed'));
    assert.match(ex.at(-1)!, /^r OK \[READ-ONLY\]/);
    assert.match((await cmd(c, 'w', 'STORE 1 +FLAGS (\\Seen)')).at(-1)!, /^w NO \[CANNOT\]/);
    await cmd(c, 'p', 'FETCH 1 BODY[TEXT]');
    assert.match((await cmd(c, 'g', 'FETCH 1 FLAGS')).join('\n'), /FLAGS \(\\Deleted \\Draft\)/, 'no \\Seen in a read-only mailbox');
    c.close();
  });

  test('a client over imap.commands_per_second is slowed down, not cut off', async () => {
    const c = await loggedIn(t);
    // 150 pipelined commands: twice the burst of 100, so some of them wait for the bucket to refill.
    c.write(Array.from({ length: 150 }, (_, i) => `n${i} NOOP\r\n`).join(''));
    const lines = await c.until(/^n149 /, 20_000);
    assert.equal(lines.filter((l) => /^n\d+ OK/.test(l)).length, 150);
    assert.match((await cmd(c, 'z', 'NOOP')).at(-1)!, /^z OK/);
    c.close();
  });

  test('too many failed logins end the connection with BYE', async () => {
    const c = await tlsClient(t);
    for (const tag of ['a', 'b', 'c'])
      assert.match((await cmd(c, tag, `LOGIN ${ALICE} wrong-password`)).at(-1)!, new RegExp(`^${tag} NO \\[AUTHENTICATIONFAILED\\]`));
    assert.match((await c.line())!, /^\* BYE /);
    await c.closedByPeer();
  });

  test('IDLE pushes a delivered message; several sessions see each other’s changes', async () => {
    const watcher = await loggedIn(t);
    await cmd(watcher, 's', 'SELECT INBOX');
    const other = await loggedIn(t);
    const selected = await cmd(other, 's', 'SELECT INBOX');
    const count = Number(/^\* (\d+) EXISTS$/m.exec(selected.join('\n'))![1]);
    watcher.write('i IDLE\r\n');
    assert.equal(await watcher.line(), '+ idling');
    await t.services.mail.deliver((await t.services.directory.findByAddress(ALICE))!.id, Buffer.from('Subject: pushed\r\n\r\nhello\r\n'));
    // IDLE reports a new message within a second of its commit.
    assert.equal(await watcher.line(1000), `* ${count + 1} EXISTS`);
    // An IMAP4rev1 session: the watcher heard of it first, so it owns it as \Recent (RFC 3501 §2.3.2).
    assert.match((await watcher.line())!, /^\* \d+ RECENT$/);
    // The other session learns about it with its next command, then changes a flag the watcher sees.
    assert.match((await cmd(other, 'n', 'NOOP')).join('\n'), new RegExp(`\\* ${count + 1} EXISTS`));
    await cmd(other, 'f', `STORE ${count + 1} +FLAGS (\\Flagged)`);
    assert.match((await watcher.line())!, new RegExp(`^\\* ${count + 1} FETCH \\(UID \\d+ FLAGS \\(\\\\Recent \\\\Flagged\\)\\)$`));
    await cmd(other, 'e', `STORE ${count + 1} +FLAGS.SILENT (\\Deleted)`);
    await watcher.line();
    await cmd(other, 'x', 'EXPUNGE');
    assert.equal(await watcher.line(), `* ${count + 1} EXPUNGE`);
    // It took the watcher's \Recent message, so its count moved (RFC 3501 §7.3.2).
    assert.match((await watcher.line())!, /^\* \d+ RECENT$/);
    watcher.write('DONE\r\n');
    assert.match((await watcher.line())!, /^i OK/);
    watcher.close();
    other.close();
  });

  test('revoking a token with `fingerpost admin token revoke` ends its live session with BYE', async () => {
    const accessToken = await issueToken(t, ALICE, { resource: 'imap://localhost' });
    const jti = JSON.parse(Buffer.from(accessToken.split('.')[1]!, 'base64url').toString()).jti as string;
    const c = await tlsClient(t);
    assert.match(
      (await cmd(c, 'a', `AUTHENTICATE OAUTHBEARER ${b64(`n,a=${ALICE},\x01auth=Bearer ${accessToken}\x01\x01`)}`)).at(-1)!,
      /^a OK/,
    );
    await cmd(c, 's', 'SELECT INBOX');
    c.write('i IDLE\r\n');
    assert.equal(await c.line(), '+ idling');
    const r = await runCli(['admin', 'token', 'revoke', '--data', t.dataDir, '--', jti], {
      env: { FINGERPOST_HTTP_PUBLIC_URL: t.config.publicUrl, FINGERPOST_SERVER_HOSTNAME: 'localhost', FINGERPOST_LOG_LEVEL: 'silent' },
    });
    assert.equal(r.code, 0, r.stderr);
    assert.match((await c.line(10_000))!, /^\* BYE /);
    await c.closedByPeer();
  });

  test('a token that expires during IDLE ends the session (auth.end_session_on_expiry)', async () => {
    const c = await tlsClient(t);
    const short = await token(ALICE, { ttl: '2s' });
    assert.match((await cmd(c, 'a', `AUTHENTICATE OAUTHBEARER ${b64(`n,a=${ALICE},\x01auth=Bearer ${short}\x01\x01`)}`)).at(-1)!, /^a OK/);
    await cmd(c, 's', 'SELECT INBOX');
    c.write('i IDLE\r\n');
    assert.equal(await c.line(), '+ idling');
    assert.match((await c.line(10_000))!, /^\* BYE \[EXPIRED\]/);
    await c.closedByPeer();
  });
  test('mailbox management by hand: CREATE (USE), RENAME of a subtree and of INBOX, SUBSCRIBE/UNSUBSCRIBE/LSUB, DELETE', async () => {
    const c = await loggedIn(t);
    // CREATE-SPECIAL-USE (RFC 6154 §3): a free special use is taken, a used or unknown one is refused.
    assert.match((await cmd(c, 'c1', 'CREATE Starred (USE (\\Flagged))')).at(-1)!, /^c1 OK/);
    assert.match((await cmd(c, 'c2', 'CREATE Archive2 (USE (\\Archive))')).at(-1)!, /^c2 NO \[USEATTR\]/);
    assert.match((await cmd(c, 'c3', 'CREATE Other (USE (\\Bogus))')).at(-1)!, /^c3 NO \[USEATTR\]/);
    assert.ok((await cmd(c, 'l1', 'LIST "" Starred RETURN (SPECIAL-USE)')).includes('* LIST (\\HasNoChildren \\Flagged) "/" Starred'));
    assert.match((await cmd(c, 'c4', 'CREATE Starred')).at(-1)!, /^c4 NO \[ALREADYEXISTS\]/);
    // RENAME moves the whole subtree (RFC 9051 §6.3.6).
    await cmd(c, 'c5', 'CREATE Projects/2026/Q1');
    assert.match((await cmd(c, 'r1', 'RENAME Projects Work/Projects')).at(-1)!, /^r1 OK/);
    assert.deepEqual((await cmd(c, 'l2', 'LIST "" "Work*"')).slice(0, -1), [
      '* LIST (\\HasChildren) "/" Work',
      '* LIST (\\HasChildren) "/" Work/Projects',
      '* LIST (\\HasChildren) "/" Work/Projects/2026',
      '* LIST (\\HasNoChildren) "/" Work/Projects/2026/Q1',
    ]);
    assert.deepEqual((await cmd(c, 'l3', 'LIST "" "Projects*"')).slice(0, -1), []);
    assert.match((await cmd(c, 'r2', 'RENAME Nowhere Elsewhere')).at(-1)!, /^r2 NO \[NONEXISTENT\]/);
    assert.match((await cmd(c, 'r3', 'RENAME Starred Work')).at(-1)!, /^r3 NO \[ALREADYEXISTS\]/);
    // RENAME INBOX moves its messages to the new mailbox and leaves INBOX empty (§6.3.6).
    c.write('a APPEND INBOX {23+}\r\nSubject: moved out\r\n\r\nx\r\n');
    assert.match((await c.line())!, /^a OK \[APPENDUID/);
    const before = /MESSAGES (\d+)/.exec((await cmd(c, 's1', 'STATUS INBOX (MESSAGES)'))[0]!)![1];
    assert.match((await cmd(c, 'r4', 'RENAME INBOX "Old Inbox"')).at(-1)!, /^r4 OK/);
    assert.equal((await cmd(c, 's2', 'STATUS INBOX (MESSAGES)'))[0], '* STATUS INBOX (MESSAGES 0)');
    assert.equal((await cmd(c, 's3', 'STATUS "Old Inbox" (MESSAGES)'))[0], `* STATUS "Old Inbox" (MESSAGES ${before})`);
    // Subscriptions: UNSUBSCRIBE drops a mailbox from LSUB and from LIST (SUBSCRIBED).
    assert.match((await cmd(c, 'u1', 'UNSUBSCRIBE Starred')).at(-1)!, /^u1 OK/);
    assert.deepEqual((await cmd(c, 'u2', 'LSUB "" Starred')).slice(0, -1), []);
    assert.deepEqual((await cmd(c, 'u3', 'LIST (SUBSCRIBED) "" Starred')).slice(0, -1), []);
    assert.match((await cmd(c, 'u4', 'SUBSCRIBE Starred')).at(-1)!, /^u4 OK/);
    assert.deepEqual((await cmd(c, 'u5', 'LSUB "" Starred')).slice(0, -1), ['* LSUB () "/" Starred']);
    // DELETE: children first; the selected mailbox is closed when deleted.
    assert.match((await cmd(c, 'd1', 'DELETE Work/Projects/2026')).at(-1)!, /^d1 NO \[HASCHILDREN\]/);
    assert.match((await cmd(c, 'd2', 'DELETE Work/Projects/2026/Q1')).at(-1)!, /^d2 OK/);
    assert.match((await cmd(c, 'd3', 'DELETE Work/Projects/2026')).at(-1)!, /^d3 OK/);
    await cmd(c, 'sel', 'SELECT Starred');
    const gone = await cmd(c, 'd4', 'DELETE Starred');
    assert.ok(gone.includes('* OK [CLOSED] The selected mailbox was deleted'), gone.join('\n'));
    assert.match((await cmd(c, 'n', 'NOOP')).at(-1)!, /^n OK/);
    assert.match((await cmd(c, 'f', 'FETCH 1 FLAGS')).at(-1)!, /^f BAD/, 'no mailbox is selected any more');
    assert.match((await cmd(c, 'd5', 'DELETE Starred')).at(-1)!, /^d5 NO \[NONEXISTENT\]/);
    c.close();
  });
});

describe('IMAP with passwords off (imap.auth_plain = false)', () => {
  let t: TestServer;
  before(async () => {
    t = await startTestServer({ domain: 'example.test', overrides: { imap: { auth_plain: false } } });
    await t.services.accounts.addUser({ address: ALICE, password: PASSWORD });
  });
  after(() => t.close());

  test('even over TLS: LOGINDISABLED, no AUTH=PLAIN or AUTH=LOGIN, and LOGIN/AUTHENTICATE PLAIN refused with CANNOT', async () => {
    const c = await tlsClient(t);
    const caps = (await cmd(c, 'c', 'CAPABILITY'))[0]!;
    assert.match(caps, / LOGINDISABLED /);
    assert.match(caps, / AUTH=OAUTHBEARER /);
    assert.doesNotMatch(caps, /AUTH=PLAIN|AUTH=LOGIN/);
    assert.match((await cmd(c, 'l', `LOGIN ${ALICE} ${PASSWORD}`)).at(-1)!, /^l NO \[CANNOT\]/);
    assert.match((await cmd(c, 'p', `AUTHENTICATE PLAIN ${b64(`\0${ALICE}\0${PASSWORD}`)}`)).at(-1)!, /^p NO \[CANNOT\]/);
    c.close();
  });
});

describe('IMAP on PostgreSQL', { skip: pgSkip }, () => {
  test('append, fetch, search, flags and expunge with imapflow', async () => {
    const pg = await tempPgDatabase();
    const t = await startTestServer({ domain: 'example.test', overrides: { store: { url: pg.url } } });
    try {
      await t.services.accounts.addUser({ address: ALICE, password: PASSWORD });
      const c = new ImapFlow({
        host: '127.0.0.1',
        port: t.ports.imaps,
        secure: true,
        tls: { ca: t.ca, servername: 'localhost' },
        auth: { user: ALICE, pass: PASSWORD },
        logger: false,
      });
      await c.connect();
      await c.append('INBOX', 'Subject: on postgres\r\nFrom: a@example.test\r\n\r\nbody text\r\n');
      await c.append('INBOX', 'Subject: second\r\n\r\nother\r\n');
      const lock = await c.getMailboxLock('INBOX');
      const subjects = [];
      for await (const m of c.fetch('1:*', { envelope: true })) subjects.push(m.envelope!.subject);
      assert.deepEqual(subjects, ['on postgres', 'second']);
      assert.deepEqual(await c.search({ body: 'body text' }), [1]);
      await c.messageDelete('1');
      assert.ok(c.mailbox !== false);
      assert.equal(c.mailbox.exists, 1);
      lock.release();
      await c.logout();
    } finally {
      await t.close();
      await pg.drop();
    }
  });
});
