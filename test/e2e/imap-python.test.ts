// IMAP with Python's imaplib, a client nobody here wrote: AUTHENTICATE PLAIN over implicit TLS,
// and LOGINDISABLED on the cleartext port until STARTTLS.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { commandSkip } from '../helpers/peers.ts';
import { python } from '../helpers/python.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';

const ALICE = 'alice@example.test';
const PASSWORD = 'alice-password-1';
const skip = commandSkip('python3', 'python3');

const IMPLICIT = `
import imaplib, os, ssl
ctx = ssl.create_default_context(cafile=os.environ['CA'])
m = imaplib.IMAP4_SSL('localhost', int(os.environ['PORT']), ssl_context=ctx)
print('caps', ' '.join(sorted(m.capabilities)))
user, pw = os.environ['USER_NAME'], os.environ['PASSWORD']
typ, data = m.authenticate('PLAIN', lambda _: ('\\0' + user + '\\0' + pw).encode())
print('auth', typ)
typ, data = m.select('INBOX')
print('select', typ, data[0].decode())
typ, data = m.append('INBOX', '(\\\\Seen)', None, b'From: py@example.test\\r\\nSubject: from imaplib\\r\\n\\r\\nhello\\r\\n')
print('append', typ, data[0].decode())
m.noop()
typ, data = m.search(None, 'SUBJECT', '"from imaplib"')
print('search', data[0].decode())
typ, data = m.fetch(data[0].split()[-1], '(FLAGS BODY.PEEK[HEADER.FIELDS (SUBJECT)])')
print('fetch', data[0][0].decode(), data[0][1].decode().strip())
typ, data = m.list()
print('list', b' | '.join(data).decode())
m.logout()
`;

const CLEARTEXT = `
import imaplib, os, ssl
m = imaplib.IMAP4('localhost', int(os.environ['PORT']))
print('caps', ' '.join(sorted(m.capabilities)))
try:
    m.login(os.environ['USER_NAME'], os.environ['PASSWORD'])
    print('login', 'accepted')
except imaplib.IMAP4.error as e:
    print('login', 'refused', str(e))
m.starttls(ssl.create_default_context(cafile=os.environ['CA']))
print('tls caps', ' '.join(sorted(m.capabilities)))
typ, data = m.login(os.environ['USER_NAME'], os.environ['PASSWORD'])
print('login after tls', typ)
m.logout()
`;

// Mailbox life cycle and IMAP4rev1 state as imaplib sees it: UIDVALIDITY of a re-created name,
// subscriptions that outlive their mailbox, LSUB's \Noselect parent, \Recent owned by one
// session, MOVE within the selected mailbox, SENTON by the Date: as written.
const LIFECYCLE = `
import imaplib, os, ssl
ctx = ssl.create_default_context(cafile=os.environ['CA'])
def connect():
    m = imaplib.IMAP4_SSL('localhost', int(os.environ['PORT']), ssl_context=ctx)
    m.login(os.environ['USER_NAME'], os.environ['PASSWORD'])
    return m
m = connect()
msg = b'Date: Sun, 25 Mar 2007 00:00:00 +0200\\r\\nSubject: py life\\r\\n\\r\\nhello\\r\\n'
validities = []
for round in range(2):
    m.create('Py/Life')
    typ, data = m.append('Py/Life', None, None, msg)
    validities.append(data[0].decode())
    if round == 0:
        m.subscribe('Py/Life')
        m.delete('Py/Life')
print('appenduids', ' | '.join(validities))
typ, data = m.lsub('""', '%')
print('lsub%', ' | '.join(d.decode() for d in data if b'Py' in d))
typ, data = m.lsub('""', 'Py/*')
print('lsub*', ' | '.join(d.decode() for d in data))
m.append('Py/Life', None, None, msg)
typ, data = m.select('Py/Life')
print('recent', m.response('RECENT')[1][0].decode(), 'exists', data[0].decode())
other = connect()
other.select('Py/Life')
print('other recent', other.response('RECENT')[1][0].decode())
typ, data = m.fetch('1:*', '(FLAGS)')
print('flags', ' | '.join(d.decode() for d in data))
print('senton', m.search(None, 'SENTON', '25-Mar-2007')[1][0].decode(), 'recent', m.search(None, 'RECENT')[1][0].decode(), 'old', other.search(None, 'OLD')[1][0].decode())
typ, data = m.uid('MOVE', '1', 'Py/Life')
print('move', typ, m.response('COPYUID')[1][0].decode())
typ, data = m.uid('SEARCH', 'ALL')
print('uids', data[0].decode())
other.logout()
m.logout()
`;

// Paging with PARTIAL (RFC 9394) and a mailbox annotation (RFC 5464) as a script would: imaplib
// sends the commands (xatom for extensions) and keeps the untagged ESEARCH and METADATA answers.
const PAGING = `
import imaplib, os, ssl
ctx = ssl.create_default_context(cafile=os.environ['CA'])
m = imaplib.IMAP4_SSL('localhost', int(os.environ['PORT']), ssl_context=ctx)
m.login(os.environ['USER_NAME'], os.environ['PASSWORD'])
print('caps', ' '.join(sorted(m.capabilities)))
m.create('Py/Pages')
for i in range(7):
    m.append('Py/Pages', None, None, ('Subject: page %d\\r\\n\\r\\nx\\r\\n' % i).encode())
m.select('Py/Pages')
typ, data = m.uid('SEARCH', 'RETURN', '(PARTIAL -1:-3 COUNT)', 'ALL')
print('last3', typ, m.response('ESEARCH')[1][0].decode())
typ, data = m.uid('SEARCH', 'RETURN', '(PARTIAL 1:2)', 'ALL')
print('first2', typ, m.response('ESEARCH')[1][0].decode())
typ, data = m.uid('FETCH', '1:*', '(UID)', '(PARTIAL -1:-2)')
print('fetch', ' | '.join(d.decode() for d in data))
typ, data = m.xatom('SETMETADATA', 'Py/Pages', '(/private/comment "paged by python")')
print('setmetadata', typ)
typ, data = m.xatom('GETMETADATA', 'Py/Pages', '/private/comment')
print('getmetadata', typ, m.response('METADATA')[1][0].decode())
m.logout()
`;

describe('IMAP with Python imaplib', { skip }, () => {
  let t: TestServer;

  before(async () => {
    t = await startTestServer({ domain: 'example.test' });
    await t.services.accounts.addUser({ address: ALICE, password: PASSWORD });
  });
  after(async () => {
    await t?.close();
  });

  test('AUTHENTICATE PLAIN over implicit TLS, then select, append, search, fetch, list', async () => {
    const r = await python(IMPLICIT, { CA: t.caFile, PORT: String(t.ports.imaps), USER_NAME: ALICE, PASSWORD });
    assert.equal(r.code, 0, r.stderr);
    const out = Object.fromEntries(
      r.stdout
        .trim()
        .split('\n')
        .map((l) => [l.slice(0, l.indexOf(' ')), l.slice(l.indexOf(' ') + 1)]),
    );
    assert.match(out['caps']!, /AUTH=PLAIN/);
    assert.equal(out['auth'], 'OK');
    assert.equal(out['select'], 'OK 0');
    assert.match(out['append']!, /^OK \[APPENDUID \d+ 1\]/);
    assert.equal(out['search'], '1');
    assert.equal(out['fetch'], '1 (FLAGS (\\Recent \\Seen) BODY[HEADER.FIELDS (SUBJECT)] {25} Subject: from imaplib');
    assert.match(out['list']!, /\(\\HasNoChildren\) "\/" INBOX/);
  });

  test('mailbox life cycle and IMAP4rev1 state: UIDVALIDITY, subscriptions, LSUB \\Noselect, \\Recent, MOVE in place, SENTON', async () => {
    const r = await python(LIFECYCLE, { CA: t.caFile, PORT: String(t.ports.imaps), USER_NAME: ALICE, PASSWORD });
    assert.equal(r.code, 0, r.stderr);
    const out = Object.fromEntries(
      r.stdout
        .trim()
        .split('\n')
        .map((l) => [l.slice(0, l.indexOf(' ')), l.slice(l.indexOf(' ') + 1)]),
    );
    const [first, second] = out['appenduids']!.split(' | ').map((a) => /\[APPENDUID (\d+) (\d+)\]/.exec(a)!.slice(1).map(Number));
    assert.equal(first![1], 1);
    assert.equal(second![1], 1);
    assert.ok(second![0]! > first![0]!, out['appenduids']);
    assert.equal(out['lsub%'], '(\\Noselect) "/" Py');
    assert.equal(out['lsub*'], '() "/" Py/Life');
    assert.equal(out['recent'], '2 exists 2');
    assert.equal(out['other'], 'recent 0');
    assert.equal(out['flags'], '1 (FLAGS (\\Recent)) | 2 (FLAGS (\\Recent))');
    assert.equal(out['senton'], '1 2 recent 1 2 old 1 2');
    assert.match(out['move']!, /^OK \d+ 1 3$/);
    assert.equal(out['uids'], '2 3');
  });

  test('PARTIAL (RFC 9394): paged UID SEARCH and UID FETCH; METADATA (RFC 5464) through xatom', async () => {
    const r = await python(PAGING, { CA: t.caFile, PORT: String(t.ports.imaps), USER_NAME: ALICE, PASSWORD });
    assert.equal(r.code, 0, r.stderr);
    const lines = r.stdout.trim().split('\n');
    assert.match(lines[0]!, / PARTIAL( |$)/);
    assert.match(lines[1]!, /^last3 OK \(TAG "[^"]+"\) UID COUNT 7 PARTIAL \(-1:-3 5:7\)$/);
    assert.match(lines[2]!, /^first2 OK \(TAG "[^"]+"\) UID PARTIAL \(1:2 1:2\)$/);
    assert.equal(lines[3], 'fetch 6 (UID 6) | 7 (UID 7)');
    assert.equal(lines[4], 'setmetadata OK');
    assert.equal(lines[5], 'getmetadata OK Py/Pages (/private/comment "paged by python")');
  });

  test('the cleartext port advertises LOGINDISABLED and refuses LOGIN until STARTTLS', async () => {
    const r = await python(CLEARTEXT, { CA: t.caFile, PORT: String(t.ports.imap), USER_NAME: ALICE, PASSWORD });
    assert.equal(r.code, 0, r.stderr);
    const lines = r.stdout.trim().split('\n');
    assert.match(lines[0]!, /^caps .*LOGINDISABLED/);
    assert.match(lines[0]!, /STARTTLS/);
    assert.doesNotMatch(lines[0]!, /AUTH=/);
    assert.match(lines[1]!, /^login refused .*PRIVACYREQUIRED/);
    assert.match(lines[2]!, /^tls caps .*AUTH=PLAIN/);
    assert.doesNotMatch(lines[2]!, /LOGINDISABLED|STARTTLS/);
    assert.equal(lines[3], 'login after tls OK');
  });
});
