// MIME structure: byte-exact offsets, nesting, encapsulated messages and broken boundaries.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseMessage } from '../../../src/mail/mime/parse.ts';
import { partAt } from '../../../src/mail/mime/structure.ts';
import type { MimePart } from '../../../src/mail/mime/types.ts';

const crlf = (lines: string[]) => Buffer.from(lines.join('\r\n'));
const lf = (lines: string[]) => Buffer.from(lines.join('\n'));
const slice = (raw: Buffer, a: number, b: number) => raw.subarray(a, b).toString('utf8');
const body = (raw: Buffer, p: MimePart) => slice(raw, p.bodyStart, p.bodyEnd);
const header = (raw: Buffer, p: MimePart) => slice(raw, p.headerStart, p.bodyStart);

const simple = [
  'From: Alice Example <alice@example.test>',
  'To: bob@example.test',
  'Subject: Lunch',
  'Date: Mon, 02 Nov 2026 09:00:00 +0100',
  'Message-ID: <lunch-1@example.test>',
  '',
  'Shall we meet at noon?',
  'Alice',
  '',
];

const mixed = [
  'From: "Doe, John" <john@example.test>',
  'To: team: alice@example.test, bob@example.test;',
  'Subject: =?UTF-8?Q?Gr=C3=BC=C3=9Fe?= aus =?UTF-8?B?S8O2bG4=?=',
  'MIME-Version: 1.0',
  'Content-Type: multipart/mixed; boundary="outer"',
  '',
  'This is a multi-part message in MIME format.',
  '--outer',
  'Content-Type: multipart/alternative; boundary=inner',
  '',
  '--inner',
  'Content-Type: text/plain; charset=utf-8',
  'Content-Transfer-Encoding: quoted-printable',
  '',
  'Hall=C3=B6 Welt, this is the plain part.',
  '--inner',
  'Content-Type: text/html; charset=utf-8',
  '',
  '<p>Hall&ouml; <b>Welt</b></p>',
  '--inner--',
  '',
  '--outer',
  'Content-Type: application/pdf;',
  " name*0*=UTF-8''Rechnung%20M%C3%A4rz;",
  ' name*1=".pdf"',
  'Content-Disposition: attachment; filename="=?UTF-8?Q?Rechnung_M=C3=A4rz.pdf?="',
  'Content-Transfer-Encoding: base64',
  'Content-ID: <pdf1@example.test>',
  '',
  'JVBERi0xLjQK',
  '--outer--',
  'epilogue text',
  '',
];

describe('MIME structure', () => {
  it('single part: header and body offsets, lines, envelope', () => {
    const raw = crlf(simple);
    const m = parseMessage(raw);
    assert.equal(m.root.headerStart, 0);
    assert.equal(header(raw, m.root), simple.slice(0, 6).join('\r\n') + '\r\n');
    assert.equal(body(raw, m.root), 'Shall we meet at noon?\r\nAlice\r\n');
    assert.equal(m.root.bodyEnd, raw.length);
    assert.equal(m.root.lines, 2);
    assert.equal(m.root.type, 'text');
    assert.equal(m.root.subtype, 'plain');
    assert.deepEqual(m.root.params, { charset: 'us-ascii' });
    assert.equal(m.root.encoding, '7BIT');
    assert.equal(m.envelope.subject, 'Lunch');
    assert.equal(m.envelope.date, 'Mon, 02 Nov 2026 09:00:00 +0100');
    assert.deepEqual(m.envelope.from, [{ name: 'Alice Example', adl: null, mailbox: 'alice', host: 'example.test' }]);
    assert.deepEqual(m.envelope.sender, m.envelope.from);
    assert.deepEqual(m.envelope.replyTo, m.envelope.from);
    assert.equal(m.envelope.messageId, '<lunch-1@example.test>');
    assert.equal(m.messageId, 'lunch-1@example.test');
    assert.equal(m.sentAt, Date.UTC(2026, 10, 2, 8, 0, 0));
    assert.equal(m.preview, 'Shall we meet at noon? Alice');
    assert.equal(m.hasAttachment, false);
    assert.deepEqual(m.from, [{ name: 'Alice Example', email: 'alice@example.test' }]);
  });

  it('bare LF input gives the same structure at LF offsets', () => {
    const raw = lf(simple);
    const m = parseMessage(raw);
    assert.equal(body(raw, m.root), 'Shall we meet at noon?\nAlice\n');
    assert.equal(m.root.lines, 2);
    const mm = parseMessage(lf(mixed));
    assert.equal(mm.root.children.length, 2);
    assert.equal(body(lf(mixed), mm.root.children[0]!.children[1]!), '<p>Hall&ouml; <b>Welt</b></p>');
  });

  it('nested multipart: parts, paths, preamble, epilogue and RFC 2231 parameters', () => {
    const raw = crlf(mixed);
    const m = parseMessage(raw);
    const r = m.root;
    assert.equal(r.type, 'multipart');
    assert.equal(r.subtype, 'mixed');
    assert.equal(r.params['boundary'], 'outer');
    assert.equal(r.children.length, 2);
    const [alt, pdf] = r.children as [MimePart, MimePart];
    assert.equal(alt.path, '1');
    assert.equal(alt.subtype, 'alternative');
    assert.deepEqual(
      alt.children.map((c) => c.path),
      ['1.1', '1.2'],
    );
    assert.equal(body(raw, alt.children[0]!), 'Hall=C3=B6 Welt, this is the plain part.');
    assert.equal(alt.children[0]!.encoding, 'QUOTED-PRINTABLE');
    assert.equal(
      header(raw, alt.children[0]!),
      'Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n',
    );
    assert.equal(body(raw, alt.children[1]!), '<p>Hall&ouml; <b>Welt</b></p>');
    // The multipart/alternative body ends before the CRLF that precedes "--outer".
    assert.ok(body(raw, alt).endsWith('--inner--\r\n'));
    assert.equal(pdf.path, '2');
    assert.equal(pdf.type, 'application');
    assert.equal(pdf.params['name'], 'Rechnung März.pdf');
    assert.deepEqual(pdf.disposition, { type: 'attachment', params: { filename: 'Rechnung März.pdf' } });
    assert.equal(pdf.id, '<pdf1@example.test>');
    assert.equal(pdf.encoding, 'BASE64');
    assert.equal(body(raw, pdf), 'JVBERi0xLjQK');
    assert.equal(body(raw, r), raw.subarray(r.bodyStart).toString());
    assert.ok(body(raw, r).endsWith('epilogue text\r\n'));
    assert.equal(m.subject, 'Grüße aus Köln');
    assert.equal(m.preview, 'Hallö Welt, this is the plain part.');
    assert.equal(m.hasAttachment, true);
    assert.deepEqual(m.envelope.to, [
      { name: null, adl: null, mailbox: 'team', host: null },
      { name: null, adl: null, mailbox: 'alice', host: 'example.test' },
      { name: null, adl: null, mailbox: 'bob', host: 'example.test' },
      { name: null, adl: null, mailbox: null, host: null },
    ]);
    assert.deepEqual(m.from, [{ name: 'Doe, John', email: 'john@example.test' }]);
    assert.deepEqual(
      m.to.map((a) => a.email),
      ['alice@example.test', 'bob@example.test'],
    );
  });

  it('message/rfc822 carries its own envelope and structure', () => {
    const raw = crlf([
      'From: forwarder@example.test',
      'Subject: Fwd: report',
      'Content-Type: multipart/mixed; boundary=b1',
      '',
      '--b1',
      'Content-Type: text/plain',
      '',
      'See below.',
      '--b1',
      'Content-Type: message/rfc822',
      '',
      'From: Reporter <rep@example.test>',
      'Subject: report',
      'Content-Type: multipart/alternative; boundary=b2',
      '',
      '--b2',
      'Content-Type: text/plain',
      '',
      'numbers',
      '--b2',
      'Content-Type: text/html',
      '',
      '<i>numbers</i>',
      '--b2--',
      '--b1--',
      '',
    ]);
    const m = parseMessage(raw);
    const fwd = m.root.children[1]!;
    assert.equal(fwd.type, 'message');
    assert.equal(fwd.subtype, 'rfc822');
    assert.ok(fwd.message);
    assert.equal(fwd.message.envelope.subject, 'report');
    assert.deepEqual(fwd.message.envelope.from, [{ name: 'Reporter', adl: null, mailbox: 'rep', host: 'example.test' }]);
    const inner = fwd.message.root;
    assert.equal(inner.headerStart, fwd.bodyStart);
    assert.equal(inner.subtype, 'alternative');
    assert.deepEqual(
      inner.children.map((c) => c.path),
      ['2.1', '2.2'],
    );
    assert.equal(body(raw, inner.children[1]!), '<i>numbers</i>');
    assert.equal(fwd.bodyEnd, inner.bodyEnd);
    assert.ok(body(raw, fwd).startsWith('From: Reporter'));
    assert.ok(body(raw, fwd).endsWith('--b2--'));
    // Line breaks: the CRLF before `--b1--` is the delimiter's (RFC 2046 §5.1.1), as Dovecot counts.
    assert.equal(fwd.lines, 12);
    // IMAP section numbers: 2 is the message part, 2.1 / 2.2 the parts of the encapsulated message.
    assert.equal(partAt(m.root, [2]), fwd);
    assert.equal(partAt(m.root, [2, 2]), inner.children[1]);
    assert.equal(partAt(m.root, [1]), m.root.children[0]);
    assert.equal(partAt(m.root, [3]), null);
    assert.equal(partAt(m.root, [1, 1]), null);
    assert.equal(m.hasAttachment, true);
  });

  it('part 1 of a single-part message is the message body; of a top-level message/rfc822, its encapsulated root', () => {
    const m = parseMessage(crlf(simple));
    assert.equal(partAt(m.root, [1]), m.root);
    assert.equal(partAt(m.root, [2]), null);
    const enc = parseMessage(crlf(['Content-Type: message/rfc822', '', 'Subject: inside', '', 'inner body']));
    assert.equal(partAt(enc.root, [1]), enc.root);
    assert.equal(partAt(enc.root, [1, 1]), enc.root.message!.root);
    assert.equal(enc.root.message!.envelope.subject, 'inside');
  });

  it('a missing inner close delimiter ends the inner part at the outer boundary', () => {
    const raw = crlf([
      'Content-Type: multipart/mixed; boundary=outer',
      '',
      '--outer',
      'Content-Type: multipart/alternative; boundary=inner',
      '',
      '--inner',
      '',
      'one',
      '--outer',
      '',
      'two',
      '--outer--',
    ]);
    const m = parseMessage(raw);
    assert.equal(m.root.children.length, 2);
    const alt = m.root.children[0]!;
    assert.equal(alt.children.length, 1);
    assert.equal(body(raw, alt.children[0]!), 'one');
    assert.equal(body(raw, m.root.children[1]!), 'two');
    assert.equal(header(raw, alt.children[0]!), '\r\n');
  });

  it('a missing outer close delimiter runs the last part to the end of the message', () => {
    const raw = crlf(['Content-Type: multipart/mixed; boundary=x', '', '--x', '', 'only part', 'still']);
    const m = parseMessage(raw);
    assert.equal(m.root.children.length, 1);
    assert.equal(body(raw, m.root.children[0]!), 'only part\r\nstill');
    assert.equal(m.root.children[0]!.lines, 1, 'text after the last CRLF is no complete line (RFC 5322 §2.1)');
  });

  it('the longest matching boundary wins when one boundary is a prefix of another', () => {
    const raw = crlf([
      'Content-Type: multipart/mixed; boundary=abc',
      '',
      '--abc',
      'Content-Type: multipart/mixed; boundary=abcdef',
      '',
      '--abcdef',
      '',
      'inner',
      '--abcdef--',
      '--abc',
      '',
      'second',
      '--abc--',
    ]);
    const m = parseMessage(raw);
    assert.equal(m.root.children.length, 2);
    assert.equal(m.root.children[0]!.children.length, 1);
    assert.equal(body(raw, m.root.children[0]!.children[0]!), 'inner');
    assert.equal(body(raw, m.root.children[1]!), 'second');
  });

  it('boundary lines with transport padding or trailing text still delimit', () => {
    const raw = crlf(['Content-Type: multipart/mixed; boundary=p', '', '--p  ', '', 'a', '--p', '', 'b', '--p--  ', '']);
    const m = parseMessage(raw);
    assert.deepEqual(
      m.root.children.map((c) => body(raw, c)),
      ['a', 'b'],
    );
  });

  it('a multipart without parts shows one empty text/plain part', () => {
    const raw = crlf(['Content-Type: multipart/mixed; boundary=nothing', '', 'no delimiter anywhere', '']);
    const m = parseMessage(raw);
    assert.equal(m.root.children.length, 1);
    const c = m.root.children[0]!;
    assert.equal(c.type, 'text');
    assert.equal(c.bodyEnd - c.bodyStart, 0);
    assert.equal(c.path, '1');
  });

  it('a multipart without a boundary parameter is a text leaf', () => {
    const raw = crlf(['Content-Type: multipart/mixed', '', '--x', '', 'text']);
    const m = parseMessage(raw);
    assert.equal(m.root.type, 'text');
    assert.equal(m.root.children.length, 0);
    assert.equal(body(raw, m.root), '--x\r\n\r\ntext');
  });

  it('multipart/digest parts default to message/rfc822', () => {
    const raw = crlf(['Content-Type: multipart/digest; boundary=d', '', '--d', '', 'Subject: one', '', 'first', '--d--']);
    const m = parseMessage(raw);
    const p = m.root.children[0]!;
    assert.equal(p.type, 'message');
    assert.equal(p.message?.envelope.subject, 'one');
  });

  it('a part header that runs into a boundary ends there with an empty body', () => {
    const raw = crlf(['Content-Type: multipart/mixed; boundary=z', '', '--z', 'Content-Type: text/plain', '--z', '', 'ok', '--z--']);
    const m = parseMessage(raw);
    assert.equal(m.root.children.length, 2);
    assert.equal(m.root.children[0]!.bodyEnd, m.root.children[0]!.bodyStart);
    assert.equal(body(raw, m.root.children[1]!), 'ok');
  });

  it('header-only messages and messages without a final newline', () => {
    const h = crlf(['Subject: only a header']);
    const m = parseMessage(h);
    assert.equal(m.root.bodyStart, h.length);
    assert.equal(m.root.bodyEnd, h.length);
    assert.equal(m.root.lines, 0);
    assert.equal(m.subject, 'only a header');
    const n = crlf(['Subject: x', '', 'no newline at end']);
    const mn = parseMessage(n);
    assert.equal(body(n, mn.root), 'no newline at end');
    assert.equal(mn.root.lines, 0, 'no line break, no complete line (as Dovecot counts body-fld-lines)');
    const empty = parseMessage(Buffer.alloc(0));
    assert.equal(empty.root.bodyEnd, 0);
    assert.equal(empty.subject, '');
  });

  it('an attached message of header fields only ends before the line break of the delimiter', () => {
    const raw = crlf([
      'Content-Type: multipart/mixed; boundary=z',
      '',
      '--z',
      'Content-Type: message/rfc822',
      '',
      'Subject: headers only',
      '',
      '--z',
      'Content-Type: text/plain',
      '',
      'after',
      '--z--',
      '',
    ]);
    const m = parseMessage(raw);
    const attached = m.root.children[0]!;
    // The attached message is 'Subject: headers only' CRLF; the next CRLF belongs to the delimiter.
    assert.equal(body(raw, attached), 'Subject: headers only\r\n', 'RFC 2046 §5.1.1');
    assert.equal(attached.message?.envelope.subject, 'headers only');
    assert.equal(header(raw, attached.message!.root), 'Subject: headers only\r\n');
    assert.equal(body(raw, m.root.children[1]!), 'after');
  });

  it('folded headers are unfolded; garbage lines in the header are skipped', () => {
    const raw = crlf(['Subject: a very', '\tlong subject', 'this line has no colon', 'To: x@example.test', '', 'b']);
    const m = parseMessage(raw);
    assert.equal(m.envelope.subject, 'a very\tlong subject');
    assert.equal(m.to[0]!.email, 'x@example.test');
  });

  it('base64 message/rfc822 stays an opaque leaf', () => {
    const raw = crlf(['Content-Type: message/rfc822', 'Content-Transfer-Encoding: base64', '', 'U3ViamVjdDogeA0KDQp5']);
    const m = parseMessage(raw);
    assert.equal(m.root.message, null);
  });

  it('content-type defaults: missing is text/plain us-ascii; unparseable is text/plain', () => {
    const m = parseMessage(crlf(['Content-Type: garbage', '', 'x']));
    assert.equal(m.root.type, 'text');
    assert.equal(m.root.subtype, 'plain');
    const n = parseMessage(crlf(['Content-Type: TEXT/HTML; CHARSET="ISO-8859-1"', '', '<b>x</b>']));
    assert.equal(n.root.subtype, 'html');
    assert.equal(n.root.params['charset'], 'ISO-8859-1');
    assert.equal(n.preview, 'x');
  });

  it('references, in-reply-to and charset-labelled previews', () => {
    const raw = Buffer.concat([
      crlf([
        'In-Reply-To: <a@x>',
        'References: <root@x>',
        ' <a@x>',
        'Content-Type: text/plain; charset=iso-8859-1',
        'Content-Transfer-Encoding: 8bit',
        '',
        '',
      ]),
      Buffer.from([0x47, 0x72, 0xfc, 0xdf, 0x65]),
    ]);
    const m = parseMessage(raw);
    assert.deepEqual(m.inReplyTo, ['a@x']);
    assert.deepEqual(m.references, ['root@x', 'a@x']);
    assert.equal(m.preview, 'Grüße');
  });

  it('the parsed structure survives a JSON round trip unchanged', () => {
    const m = parseMessage(crlf(mixed));
    assert.deepEqual(JSON.parse(JSON.stringify(m)), m);
  });
});
