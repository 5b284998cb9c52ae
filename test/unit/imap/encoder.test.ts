// Response encoding: quoting rules, literals, mailbox names, ENVELOPE and BODYSTRUCTURE. The
// structure output is read back with imapflow's own response parser (a client nobody here wrote).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import parser from 'imapflow/lib/handler/imap-parser.js';
import { parseBodystructure, parseEnvelope } from 'imapflow/lib/tools.js';
import { parseMessage } from '../../../src/mail/mime/parse.ts';
import { formatDateTime, parseDateTime, parseSearchDate } from '../../../src/protocols/imap/wire/datetime.ts';
import { astr, mailboxName, nstr, str } from '../../../src/protocols/imap/wire/encoder.ts';
import { decodeMutf7, encodeMutf7 } from '../../../src/protocols/imap/wire/mutf7.ts';
import { encodeBodyStructure, encodeEnvelope } from '../../../src/protocols/imap/wire/structure.ts';
import { CORPUS } from '../mime/corpus.ts';

const rev1 = { utf8: false };
const rev2 = { utf8: true };

describe('IMAP string encoding', () => {
  it('quoted strings escape quote and backslash; CR/LF/NUL and 8-bit (rev1) become literals', () => {
    assert.equal(str('hello', rev1), '"hello"');
    assert.equal(str('a"b\\c', rev1), '"a\\"b\\\\c"');
    assert.equal(str('two\r\nlines', rev1), '{10}\r\ntwo\r\nlines');
    assert.equal(str('Grüße', rev1), '{7}\r\nGrüße');
    assert.equal(str('Grüße', rev2), '"Grüße"');
    assert.equal(str('', rev1), '""');
    assert.equal(nstr(null, rev1), 'NIL');
  });
  it('astrings are atoms when possible, never the atom NIL', () => {
    assert.equal(astr('INBOX', rev1), 'INBOX');
    assert.equal(astr('Sent Items', rev1), '"Sent Items"');
    assert.equal(astr('NIL', rev1), '"NIL"');
    assert.equal(astr('a]b', rev1), 'a]b');
    assert.equal(astr('a%b', rev1), '"a%b"');
    assert.equal(astr('', rev1), '""');
  });
  it('mailbox names: modified UTF-7 for rev1 clients, UTF-8 for rev2 (RFC 3501 §5.1.3 example)', () => {
    assert.equal(encodeMutf7('~peter/mail/台北/日本語'), '~peter/mail/&U,BTFw-/&ZeVnLIqe-');
    assert.equal(decodeMutf7('~peter/mail/&U,BTFw-/&ZeVnLIqe-'), '~peter/mail/台北/日本語');
    assert.equal(encodeMutf7('Tom & Jerry'), 'Tom &- Jerry');
    assert.equal(decodeMutf7('Tom &- Jerry'), 'Tom & Jerry');
    assert.equal(decodeMutf7('&Jjo!'), null);
    assert.equal(decodeMutf7('&U,BTFw'), null);
    assert.equal(mailboxName('Entwürfe', rev1), 'Entw&APw-rfe');
    assert.equal(mailboxName('Entwürfe', rev2), '"Entwürfe"');
  });
  it('date-time: INTERNALDATE round trip and SEARCH dates', () => {
    const t = parseDateTime('17-Jul-1996 02:44:25 -0700')!;
    assert.equal(formatDateTime(t), '17-Jul-1996 09:44:25 +0000');
    assert.equal(parseDateTime(' 7-Jul-1996 02:44:25 +0000'), Date.UTC(1996, 6, 7, 2, 44, 25));
    assert.equal(parseDateTime('17-Jul-1996 02:44 -0700'), null);
    assert.equal(parseSearchDate('1-Feb-1994'), Date.UTC(1994, 1, 1) / 86_400_000);
    assert.equal(parseSearchDate('1-Fob-1994'), null);
    // Days that do not exist are bad syntax, not silently the next month.
    assert.equal(parseSearchDate('31-Feb-2020'), null);
    assert.equal(parseSearchDate('29-Feb-2023'), null);
    assert.equal(parseSearchDate('29-Feb-2024'), Date.UTC(2024, 1, 29) / 86_400_000);
    assert.equal(parseDateTime('31-Apr-2020 00:00:00 +0000'), null);
    assert.equal(parseDateTime('29-Feb-2024 23:59:59 +0000'), Date.UTC(2024, 1, 29, 23, 59, 59));
  });
});

async function parseFetchItem(text: string) {
  const r = await parser(Buffer.from(`* 1 FETCH (X ${text})`));
  // biome-ignore lint/suspicious/noExplicitAny: imapflow's parse tree is loosely typed
  return (r.attributes as any)[1][1];
}

describe('ENVELOPE and BODYSTRUCTURE', () => {
  it('envelope of the RFC 9051 shape, groups as NIL-host markers', () => {
    const m = parseMessage(CORPUS[1]!);
    assert.equal(
      encodeEnvelope(m.envelope, rev1),
      '(NIL "=?UTF-8?Q?Rechnung_f=C3=BCr_M=C3=A4rz?=" (("Doe, John" NIL "john" "example.test")) (("Doe, John" NIL "john" "example.test")) (("Doe, John" NIL "john" "example.test")) ((NIL NIL "undisclosed-recipients" NIL)(NIL NIL NIL NIL)) NIL NIL NIL NIL)',
    );
  });

  it('bodystructure of a nested multipart with RFC 2231 parameters', () => {
    const m = parseMessage(CORPUS[1]!);
    const bs = encodeBodyStructure(m.root, true, rev1);
    assert.match(bs, /^\(\(\("text" "plain" \("charset" "utf-8"\) NIL NIL "QUOTED-PRINTABLE" 41 1 NIL NIL NIL NIL\)/);
    assert.match(
      bs,
      /"application" "pdf" \("name" "Rechnung.pdf"\) NIL NIL "BASE64" 110 NIL \("attachment" \("filename\*" "utf-8''Rechnung%20M%C3%A4rz\.pdf"\)\) NIL NIL\)/,
    );
    assert.ok(bs.endsWith(' "mixed" ("boundary" "----=_Part_1") NIL NIL NIL)'));
    assert.match(encodeBodyStructure(m.root, true, rev2), /\("filename" "Rechnung März\.pdf"\)/);
    // BODY (non-extensible) has no extension data.
    assert.doesNotMatch(encodeBodyStructure(m.root, false, rev1), /attachment/);
  });

  it('message/rfc822 parts carry envelope, structure and line count', () => {
    const m = parseMessage(CORPUS[3]!);
    const bs = encodeBodyStructure(m.root, true, rev1);
    assert.match(bs, /\("message" "rfc822" NIL NIL NIL "7BIT" \d+ \(NIL "report" \(\("Reporter" NIL "rep" "example.test"\)\)/);
  });

  it('imapflow reads our ENVELOPE and BODYSTRUCTURE back into the same structure', async () => {
    for (const raw of CORPUS) {
      const m = parseMessage(raw);
      const env = parseEnvelope(await parseFetchItem(encodeEnvelope(m.envelope, rev2)));
      assert.equal(env.messageId ?? null, m.envelope.messageId ?? null);
      assert.equal(env.from?.[0]?.address ?? null, m.from[0]?.email ?? null);
      const bs = parseBodystructure(await parseFetchItem(encodeBodyStructure(m.root, true, rev2)));
      const walk = (ours: typeof m.root, theirs: { type: string; childNodes?: unknown[]; size?: number }) => {
        if (ours.children.length) {
          assert.equal(theirs.type, `multipart/${ours.subtype}`);
          assert.equal(theirs.childNodes?.length, ours.children.length);
          for (const [i, c] of ours.children.entries()) walk(c, theirs.childNodes![i] as typeof theirs);
        } else {
          assert.equal(theirs.type, `${ours.type}/${ours.subtype}`);
          assert.equal(theirs.size, ours.bodyEnd - ours.bodyStart);
        }
      };
      walk(m.root, bs);
    }
  });
});
