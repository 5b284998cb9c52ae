// The IMAP server's pure parts: the selected-mailbox view and its updates, sequence-set targets,
// body sections and BINARY decoding, flags, and capabilities before/after TLS.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import type { ListenerPolicy } from '../../../src/auth/types.ts';
import { parseMessage } from '../../../src/mail/mime/parse.ts';
import type { Mailbox, MailboxEntry } from '../../../src/mail/types.ts';
import { capabilities, EXTENSIONS } from '../../../src/protocols/imap/capabilities.ts';
import { COMMANDS } from '../../../src/protocols/imap/commands/index.ts';
import { flagToKeyword, keywordsToFlags } from '../../../src/protocols/imap/flags.ts';
import { nameFromWire } from '../../../src/protocols/imap/mailboxes.ts';
import { addressMatches } from '../../../src/protocols/imap/search-address.ts';
import { binaryBytes, sectionBytes } from '../../../src/protocols/imap/sections.ts';
import { SelectedMailbox } from '../../../src/protocols/imap/selected.ts';
import { targetSeqs } from '../../../src/protocols/imap/targets.ts';
import { parseSequenceSetText } from '../../../src/protocols/imap/wire/sequence.ts';
import { CORPUS } from '../mime/corpus.ts';

const MAILBOX: Mailbox = {
  id: 1,
  accountId: 1,
  name: 'INBOX',
  role: 'inbox',
  uidValidity: 77,
  uidNext: 11,
  highestModseq: 20,
  firstRecentUid: 11,
  subscribed: true,
  sortOrder: 1,
  createdAt: 0,
};

const entry = (uid: number, keywords: string[] = [], modseq = 10): MailboxEntry => ({
  uid,
  messageId: 100 + uid,
  modseq,
  keywords,
  size: 10,
  receivedAt: 0,
});

function box(uids = [2, 4, 6, 8, 10]): SelectedMailbox {
  return new SelectedMailbox(
    MAILBOX,
    uids.map((u) => entry(u)),
    false,
    20,
  );
}

describe('selected mailbox view', () => {
  it('maps sequence numbers and UIDs both ways', () => {
    const b = box();
    assert.equal(b.exists, 5);
    assert.equal(b.uidAt(3), 6);
    assert.equal(b.seqOf(8), 4);
    assert.equal(b.seqOf(5), 0);
    assert.deepEqual(b.seqRangeOfUids(3, 8), [2, 4]);
    assert.equal(b.seqRangeOfUids(11, 20), null);
  });

  it('expunges renumber: each EXPUNGE carries the number after the previous ones (RFC 9051 §7.5.1)', () => {
    const b = box();
    assert.deepEqual(b.removeUids([4, 6, 10]), [2, 2, 3]);
    assert.equal(b.exists, 2);
    assert.equal(b.uidAt(2), 8);
  });

  it('apply: arrivals, flag changes, and expunges deferred while FETCH/STORE/SEARCH answer', () => {
    const b = box();
    const deferred = b.apply([entry(4, ['$seen'], 21)], [6], 21, false);
    assert.equal(deferred, null, 'an expunge may not be sent now, so nothing is applied');
    assert.equal(b.exists, 5);
    const u = b.apply([entry(4, ['$seen'], 21), entry(12, [], 22)], [6], 22, true)!;
    assert.deepEqual(u.expunged, [6]);
    assert.deepEqual(u.expungedSeqs, [3]);
    assert.equal(u.exists, 5);
    assert.deepEqual(
      u.changed.map((c) => [c.seq, c.uid, [...c.keywords]]),
      [[2, 4, ['$seen']]],
    );
    assert.equal(b.knownModseq, 22);
    // A change the session made itself is not reported again.
    b.noteStored(8, ['$flagged'], 23);
    const again = b.apply([entry(8, ['$flagged'], 23)], [], 23, true)!;
    assert.deepEqual(again.changed, []);
    assert.equal(again.exists, null);
  });

  it('targets: sequence sets clip at the end; UID n:* includes the last message; $ is the saved result', () => {
    const b = box();
    assert.deepEqual(targetSeqs(b, parseSequenceSetText('2:3,5:*'), false), [2, 3, 5]);
    assert.deepEqual(targetSeqs(b, parseSequenceSetText('4:99'), false), [4, 5]);
    assert.deepEqual(targetSeqs(b, parseSequenceSetText('5:7'), true), [3]);
    assert.deepEqual(targetSeqs(b, parseSequenceSetText('50:*'), true), [5]);
    b.saved = [10, 2];
    assert.deepEqual(targetSeqs(b, parseSequenceSetText('$'), true), [1, 5]);
    assert.deepEqual(targetSeqs(box([]), parseSequenceSetText('1:*'), false), []);
  });
});

describe('mailbox names', () => {
  it('wire names: modified UTF-7 for rev1, UTF-8 for rev2', () => {
    assert.equal(nameFromWire('Entw&APw-rfe', false), 'Entwürfe');
    assert.equal(nameFromWire('Entwürfe', false), 'Entwürfe');
    assert.equal(nameFromWire('Tom &- Jerry', true), 'Tom &- Jerry');
    assert.equal(nameFromWire('&broken', false), null);
    // Only canonical modified UTF-7 (RFC 3501 §5.1.3): one name, one spelling.
    for (const bad of ['&AGE-', '&AOk-&AOk-', '&2D0-', '&AO*-', '&AOg']) assert.equal(nameFromWire(bad, false), null, bad);
    assert.equal(nameFromWire('&AOkA6Q-', false), 'éé');
    assert.equal(nameFromWire('&2D3eAQ-', false), '😁');
  });
});

describe('SEARCH address keys', () => {
  it('match the decoded name, the addr-spec or both; groups by name; null when there is no address', () => {
    const a = (name: string | null, mailbox: string | null, host: string | null) => ({ name, adl: null, mailbox, host });
    const pete = [a('=?UTF-8?Q?P=C3=A9te?=', 'pete', 'silly.test')];
    assert.equal(addressMatches(pete, 'péte'), true);
    assert.equal(addressMatches(pete, 'pete@silly'), true);
    assert.equal(addressMatches(pete, 'péte <pete@silly.test>'), true);
    assert.equal(addressMatches(pete, 'nice chap'), false);
    const group = [a(null, 'team', null), a('Ann', 'ann', 'x.test'), a(null, null, null)];
    assert.equal(addressMatches(group, 'team'), true);
    assert.equal(addressMatches(group, 'ann@'), true);
    assert.equal(addressMatches([a(null, 'undisclosed-recipients', null), a(null, null, null)], 'nobody'), null);
    assert.equal(addressMatches([], 'x'), null);
  });
});

describe('flags', () => {
  it('system flags map to JMAP keywords; \\Recent and unknown system flags are refused', () => {
    assert.deepEqual(flagToKeyword('\\Seen'), { ok: true, keyword: '$seen' });
    assert.deepEqual(flagToKeyword('\\DELETED'), { ok: true, keyword: '$deleted' });
    assert.deepEqual(flagToKeyword('$Forwarded'), { ok: true, keyword: '$forwarded' });
    assert.equal(flagToKeyword('\\Recent').ok, false);
    assert.equal(flagToKeyword('\\Bogus').ok, false);
    assert.deepEqual(keywordsToFlags(['$answered', '$junk']), ['\\Answered', '$junk']);
  });
});

describe('body sections', () => {
  const raw = Buffer.concat([
    Buffer.from(
      'Subject: outer\r\nX-Long: first\r\n continued\r\nFrom: a@example.test\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n',
    ),
    Buffer.from('--b\r\nContent-Type: text/plain\r\n\r\nplain text\r\n'),
    Buffer.from('--b\r\nContent-Type: message/rfc822\r\n\r\nSubject: inner\r\nFrom: i@example.test\r\n\r\ninner body\r\n'),
    Buffer.from('--b\r\nContent-Type: application/octet-stream\r\nContent-Transfer-Encoding: base64\r\n\r\nAAEC/w==\r\n'),
    Buffer.from('--b\r\nContent-Type: text/plain\r\nContent-Transfer-Encoding: x-uuencode\r\n\r\nbegin\r\n--b--\r\n'),
  ]);
  const root = parseMessage(raw).root;
  const sec = (part: number[], text: null | 'HEADER' | 'HEADER.FIELDS' | 'HEADER.FIELDS.NOT' | 'TEXT' | 'MIME', fields: string[] = []) =>
    sectionBytes(raw, root, { part, text, fields })?.toString();

  it('whole message, header, text, and header fields with folded lines', () => {
    assert.equal(sec([], null), raw.toString());
    assert.ok(sec([], 'HEADER')!.endsWith('boundary=b\r\n\r\n'));
    assert.ok(sec([], 'TEXT')!.startsWith('--b\r\n'));
    assert.equal(sec([], 'HEADER.FIELDS', ['x-long', 'SUBJECT']), 'Subject: outer\r\nX-Long: first\r\n continued\r\n\r\n');
    assert.equal(sec([], 'HEADER.FIELDS.NOT', ['x-long', 'subject', 'content-type']), 'From: a@example.test\r\n\r\n');
  });
  it('parts, MIME headers, and HEADER/TEXT of an encapsulated message', () => {
    assert.equal(sec([1], null), 'plain text');
    assert.equal(sec([1], 'MIME'), 'Content-Type: text/plain\r\n\r\n');
    assert.equal(sec([2], 'HEADER'), 'Subject: inner\r\nFrom: i@example.test\r\n\r\n');
    assert.equal(sec([2], 'TEXT'), 'inner body');
    assert.equal(sec([2, 1], null), 'inner body');
    assert.equal(sec([1], 'HEADER'), undefined, 'HEADER of a non-message part does not exist');
    assert.equal(sec([9], null), undefined);
  });
  it('BINARY decodes the transfer encoding; an unknown one is reported', () => {
    assert.deepEqual(binaryBytes(raw, root, [3]), { ok: true, data: Buffer.from([0, 1, 2, 255]) });
    assert.deepEqual(binaryBytes(raw, root, [4]), { ok: false, reason: 'unknown-cte' });
    assert.deepEqual(binaryBytes(raw, root, [7]), { ok: false, reason: 'nonexistent' });
    assert.equal(binaryBytes(raw, root, [2]).ok, true);
  });
  it('works for every corpus message without throwing', () => {
    for (const m of CORPUS) {
      const r = parseMessage(m).root;
      for (const part of [[], [1], [2], [1, 1], [2, 1], [2, 2]]) {
        for (const text of [null, 'HEADER', 'TEXT', 'MIME'] as const) {
          if (text === 'MIME' && part.length === 0) continue;
          sectionBytes(m, r, { part, text, fields: [] });
        }
        binaryBytes(m, r, part);
      }
    }
  });
});

describe('capabilities (STANDARDS §8.1)', () => {
  const policy = (plain: boolean): ListenerPolicy => ({
    plain,
    oauth: true,
    mechanisms: (tlsUp) => (tlsUp ? [...(plain ? ['PLAIN', 'LOGIN'] : []), 'OAUTHBEARER', 'XOAUTH2'] : []),
    requireAuthForRelay: true,
  });
  it('cleartext: STARTTLS and LOGINDISABLED, nothing else', () => {
    assert.deepEqual(capabilities({ secure: false, authenticated: false, policy: policy(true), appendLimit: 10 }), [
      'IMAP4rev1',
      'IMAP4rev2',
      'STARTTLS',
      'LOGINDISABLED',
    ]);
  });
  it('TLS before login: SASL-IR and AUTH=; LOGINDISABLED when passwords are off; no AUTH= after login', () => {
    const pre = capabilities({ secure: true, authenticated: false, policy: policy(true), appendLimit: 10 });
    assert.ok(pre.includes('AUTH=PLAIN') && pre.includes('AUTH=OAUTHBEARER') && pre.includes('SASL-IR') && pre.includes('APPENDLIMIT=10'));
    assert.ok(!pre.includes('LOGINDISABLED') && !pre.includes('STARTTLS'));
    const noPlain = capabilities({ secure: true, authenticated: false, policy: policy(false), appendLimit: 10 });
    assert.ok(noPlain.includes('LOGINDISABLED') && !noPlain.includes('AUTH=PLAIN'));
    const post = capabilities({ secure: true, authenticated: true, policy: policy(true), appendLimit: 10 });
    assert.ok(!post.some((c) => c.startsWith('AUTH=')) && post.includes('IDLE') && post.includes('QRESYNC'));
  });

  it('every advertised extension is backed by commands in the registry, usable once signed in', () => {
    const post = capabilities({ secure: true, authenticated: true, policy: policy(true), appendLimit: 10 });
    const extensions = post.filter((c) => !['IMAP4rev1', 'IMAP4rev2'].includes(c) && !c.startsWith('APPENDLIMIT='));
    for (const name of extensions) {
      const ext = EXTENSIONS.find((e) => e.name === name);
      assert.ok(ext, `${name} is advertised but not declared with its commands`);
      assert.ok(ext.commands.length > 0, `${name} names no command`);
      for (const command of ext.commands) {
        const spec = COMMANDS.get(command);
        assert.ok(spec, `${name} needs ${command}, which the registry does not have`);
        assert.ok(spec.states.includes('authenticated') || spec.states.includes('selected'), `${command} runs once signed in`);
      }
    }
    assert.equal(new Set(EXTENSIONS.map((e) => e.name)).size, EXTENSIONS.length, 'each extension once');
  });

  it('docs/imap.md has a row for every extension, with its RFC', () => {
    const doc = readFileSync(new URL('../../../docs/imap.md', import.meta.url), 'utf8');
    const rows = doc.split('\n').filter((l) => l.startsWith('| `'));
    for (const ext of EXTENSIONS) {
      const row = rows.find((r) => r.split('|')[1]!.includes(`\`${ext.name}\``));
      assert.ok(row, `${ext.name} has no row in docs/imap.md`);
      assert.ok(row.split('|')[2]!.includes(ext.rfc.split(' §')[0]!), `${ext.name}'s row names ${ext.rfc}`);
    }
  });
});

describe('object ids (RFC 8474)', () => {
  it('are the ids JMAP uses for the same rows', async () => {
    const { toId } = await import('../../../src/protocols/jmap/ids.ts');
    const { emailObjectId, mailboxObjectId, threadObjectId } = await import('../../../src/mail/object-ids.ts');
    for (const n of [1, 42, 9_007_199_254]) {
      assert.equal(mailboxObjectId(n), toId('mailbox', n));
      assert.equal(emailObjectId(n), toId('email', n));
      assert.equal(threadObjectId(n), toId('thread', n));
    }
  });
});
