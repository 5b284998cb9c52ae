// Header decoding: addresses (RFC 5322), encoded words (RFC 2047), parameters (RFC 2231), dates,
// transfer encodings (RFC 2045) and text extraction.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { displayAddresses, parseAddressList } from '../../../src/mail/mime/address.ts';
import { decodeCharset } from '../../../src/mail/mime/charset.ts';
import { formatMailDate, mailDateDay, parseMailDate } from '../../../src/mail/mime/date.ts';
import { decodeEncodedWords } from '../../../src/mail/mime/encoded-word.ts';
import { parseStructured } from '../../../src/mail/mime/params.ts';
import { parseMessage, searchText } from '../../../src/mail/mime/parse.ts';
import { htmlToText } from '../../../src/mail/mime/text.ts';
import { decodeQuotedPrintable, decodeTransfer } from '../../../src/mail/mime/transfer.ts';

const a = (name: string | null, mailbox: string | null, host: string | null, adl: string | null = null) => ({ name, adl, mailbox, host });

describe('address lists (RFC 5322 §3.4)', () => {
  const table: Array<[string, ReturnType<typeof a>[]]> = [
    ['alice@example.test', [a(null, 'alice', 'example.test')]],
    ['Alice <alice@example.test>', [a('Alice', 'alice', 'example.test')]],
    ['"Doe, John" <john@example.test>, bob@example.test', [a('Doe, John', 'john', 'example.test'), a(null, 'bob', 'example.test')]],
    ['john@example.test (John Doe)', [a('John Doe', 'john', 'example.test')]],
    ['John Q. Public <jqp@example.test>', [a('John Q. Public', 'jqp', 'example.test')]],
    ['=?UTF-8?Q?J=C3=B6rg?= <joerg@example.test>', [a('=?UTF-8?Q?J=C3=B6rg?=', 'joerg', 'example.test')]],
    ['"john doe"@example.test', [a(null, '"john doe"', 'example.test')]],
    ['<@relay.test,@other.test:user@example.test>', [a(null, 'user', 'example.test', '@relay.test,@other.test')]],
    ['undisclosed-recipients:;', [a(null, 'undisclosed-recipients', null), a(null, null, null)]],
    [
      'A Group:Ed Jones <c@a.test>,joe@where.test,John <jdoe@one.test>; Cc Only <cc@x.test>',
      [
        a(null, 'A Group', null),
        a('Ed Jones', 'c', 'a.test'),
        a(null, 'joe', 'where.test'),
        a('John', 'jdoe', 'one.test'),
        a(null, null, null),
        a('Cc Only', 'cc', 'x.test'),
      ],
    ],
    ['Unterminated group: x@y.test', [a(null, 'Unterminated group', null), a(null, 'x', 'y.test'), a(null, null, null)]],
    ['postmaster', [a(null, 'postmaster', '')]],
    ['<>', []],
    ['', []],
    [',,, ;;; <<<', []],
    ['"unterminated <x@y.test>', [a(null, '"unterminated <x@y.test>', '')]],
    ['Pete(A nice \\) chap) <pete(his account)@silly.test(his host)>', [a('Pete', 'pete', 'silly.test')]],
    ['[broken] <b@[192.0.2.1]>', [a('[broken]', 'b', '[192.0.2.1]')]],
  ];
  for (const [input, expected] of table) {
    it(JSON.stringify(input), () => assert.deepEqual(parseAddressList(input), expected));
  }
  it('decoded display addresses drop group markers and decode names', () => {
    const list = parseAddressList('team: =?UTF-8?B?SsO2cmc=?= <j@x.test>;, plain@x.test');
    assert.deepEqual(displayAddresses(list), [
      { name: 'Jörg', email: 'j@x.test' },
      { name: '', email: 'plain@x.test' },
    ]);
  });
});

describe('encoded words (RFC 2047)', () => {
  const table: Array<[string, string]> = [
    ['=?ISO-8859-1?Q?a?=', 'a'],
    ['=?ISO-8859-1?Q?a?= b', 'a b'],
    ['=?ISO-8859-1?Q?a?= =?ISO-8859-1?Q?b?=', 'ab'],
    ['=?ISO-8859-1?Q?a?=  \r\n  =?ISO-8859-1?Q?b?=', 'ab'],
    ['=?ISO-8859-1?Q?a_b?=', 'a b'],
    ['=?ISO-8859-1?Q?a?= =?ISO-8859-2?Q?_b?=', 'a b'],
    ['=?US-ASCII?Q?Keith_Moore?=', 'Keith Moore'],
    ['=?ISO-8859-1?Q?Andr=E9?= Pirard', 'André Pirard'],
    ['=?UTF-8?B?w6TDtsO8?=', 'äöü'],
    // A UTF-8 character split across two words (bytes joined before decoding).
    ['=?UTF-8?B?w6TD?= =?UTF-8?B?tsO8?=', 'äöü'],
    ['=?utf-8*en?q?hi?=', 'hi'],
    ['=?x-unknown-charset?q?plain?=', 'plain'],
    ['no words here', 'no words here'],
    ['=?broken', '=?broken'],
    ['=?KOI8-R?B?8NLJ18XU?=', 'Привет'],
    ['=?windows-1252?Q?=80uro?=', '€uro'],
    ['=?utf-8?q?a=00b?=', 'ab'],
  ];
  for (const [input, expected] of table) {
    it(JSON.stringify(input), () => assert.equal(decodeEncodedWords(input), expected));
  }
});

describe('structured values and parameters (RFC 2045, RFC 2231)', () => {
  it('plain, quoted and commented parameters', () => {
    assert.deepEqual(parseStructured('text/plain; charset="utf-8" (comment); format=flowed'), {
      value: 'text/plain',
      params: { charset: 'utf-8', format: 'flowed' },
    });
    assert.deepEqual(parseStructured('Multipart/Mixed; BOUNDARY="=_a;b\\"c"'), {
      value: 'multipart/mixed',
      params: { boundary: '=_a;b"c' },
    });
  });
  it('RFC 2231 §3 continuations, §4 charset and language', () => {
    assert.equal(
      parseStructured('message/external-body; access-type=URL; URL*0="ftp://"; URL*1="cs.utk.edu/pub/moore/bulk-mailer/bulk-mailer.tar"')
        .params['url'],
      'ftp://cs.utk.edu/pub/moore/bulk-mailer/bulk-mailer.tar',
    );
    assert.equal(
      parseStructured("application/x-stuff; title*=us-ascii'en-us'This%20is%20%2A%2A%2Afun%2A%2A%2A").params['title'],
      'This is ***fun***',
    );
    assert.equal(
      parseStructured(
        "application/x-stuff; title*0*=us-ascii'en'This%20is%20even%20more%20; title*1*=%2A%2A%2Afun%2A%2A%2A%20; title*2=\"isn't it!\"",
      ).params['title'],
      "This is even more ***fun*** isn't it!",
    );
    assert.equal(parseStructured("attachment; filename*=UTF-8''%E2%82%AC%20rates.txt").params['filename'], '€ rates.txt');
    assert.equal(parseStructured("attachment; filename*=iso-8859-1'de'M%E4rz.txt").params['filename'], 'März.txt');
  });
  it('the RFC 2231 value wins over the plain one; out-of-order sections are sorted', () => {
    assert.equal(parseStructured('a/b; name="fallback"; name*=utf-8\'\'real').params['name'], 'real');
    assert.equal(parseStructured('a/b; n*1="b"; n*0="a"').params['n'], 'ab');
  });
  it('RFC 2047 words in quoted parameter values (common in real mail)', () => {
    assert.equal(parseStructured('attachment; filename="=?UTF-8?B?w6QudHh0?="').params['filename'], 'ä.txt');
  });
  it('garbage does not throw', () => {
    for (const s of [';;;', '=', 'a/b; =x', 'a/b; x', 'a/b; x="unterminated', '(((', 'a/b; __proto__=x; constructor=y']) {
      const r = parseStructured(s);
      assert.equal(typeof r.value, 'string');
    }
    assert.equal(Object.getPrototypeOf(parseStructured('a/b; __proto__=x').params), Object.prototype);
    assert.deepEqual(Object.entries(parseStructured('a/b; __proto__=x').params), [['__proto__', 'x']]);
  });
});

describe('dates (RFC 5322 §3.3, §4.3)', () => {
  const table: Array<[string, number | null]> = [
    ['Mon, 02 Nov 2026 09:00:00 +0100', Date.UTC(2026, 10, 2, 8, 0, 0)],
    ['2 Nov 2026 09:00 -0500', Date.UTC(2026, 10, 2, 14, 0, 0)],
    ['Tue, 1 Jul 2003 10:52:37 +0200', Date.UTC(2003, 6, 1, 8, 52, 37)],
    ['Fri, 21 Nov 97 09:55:06 GMT', Date.UTC(1997, 10, 21, 9, 55, 6)],
    ['Thu, 13 Feb 69 23:32:54 -0330', Date.UTC(1969, 1, 14, 3, 2, 54)],
    ['Mon, 02 Nov 2026 09:00:00 EST', Date.UTC(2026, 10, 2, 14, 0, 0)],
    ['Mon, 02 Nov 2026 09:00:00 +0000 (UTC)', Date.UTC(2026, 10, 2, 9, 0, 0)],
    ['2026-11-02T09:00:00Z', Date.UTC(2026, 10, 2, 9, 0, 0)],
    ['yesterday', null],
    ['32 Foo 2026 10:00:00', null],
    ['', null],
  ];
  for (const [input, expected] of table) it(JSON.stringify(input), () => assert.equal(parseMailDate(input), expected));

  it('formats a date-time in a given zone, and parses back to the same instant', () => {
    const at = Date.UTC(2026, 6, 10, 1, 5, 8, 750);
    const cases: Array<[number, string]> = [
      [0, 'Fri, 10 Jul 2026 01:05:08 +0000'],
      [600, 'Fri, 10 Jul 2026 11:05:08 +1000'],
      [-210, 'Thu, 9 Jul 2026 21:35:08 -0330'],
      [345, 'Fri, 10 Jul 2026 06:50:08 +0545'],
    ];
    for (const [offset, text] of cases) {
      assert.equal(formatMailDate(at, offset), text);
      assert.equal(parseMailDate(text), at - 750, 'fractions of a second are dropped');
    }
  });
});

describe('the day a Date: header names as written (IMAP SENTON, RFC 9051 §6.4.4)', () => {
  const day = (y: number, m: number, d: number) => Date.UTC(y, m - 1, d) / 86_400_000;
  const table: Array<[string, number | null]> = [
    ['Sun, 25 Mar 2007 00:00:00 +0200', day(2007, 3, 25)],
    ['Sat, 24 Mar 2007 23:30:00 -0500', day(2007, 3, 24)],
    ['26 Mar 07 01:00 EST', day(2007, 3, 26)],
    ['1 Jan 99 23:59:59 +1400', day(1999, 1, 1)],
    ['2026-11-02T23:00:00-09:00', day(2026, 11, 2)],
    ['yesterday', null],
    ['', null],
  ];
  for (const [input, expected] of table) it(JSON.stringify(input), () => assert.equal(mailDateDay(input), expected));
});

describe('transfer encodings (RFC 2045 §6)', () => {
  it('quoted-printable: escapes, soft breaks, trailing whitespace, lower-case hex, stray =', () => {
    const qp = (s: string) => decodeQuotedPrintable(Buffer.from(s, 'latin1')).toString('latin1');
    assert.equal(qp('keep=20\r\nthe=09\r\nescaped  \r\nwhite space=20=20 \r\n'), 'keep \r\nthe\t\r\nescaped\r\nwhite space  \r\n');
    assert.equal(qp('soft  =\r\n\r\nbreak'), 'soft  \r\nbreak', 'white space before a soft break is not trailing');
    assert.equal(qp('caf=E9'), 'caf\xe9');
    assert.equal(qp('caf=e9'), 'caf\xe9');
    assert.equal(qp('long li=\r\nne'), 'long line');
    assert.equal(qp('long li=  \r\nne'), 'long line');
    assert.equal(qp('soft=\nlf'), 'softlf');
    assert.equal(qp('trailing   \r\nnext'), 'trailing\r\nnext');
    assert.equal(qp('a = b'), 'a = b');
    assert.equal(qp('end='), 'end');
    assert.equal(qp('=ZZ'), '=ZZ');
  });
  it('base64 with line breaks and garbage; identity encodings; unknown is null', () => {
    assert.equal(decodeTransfer(Buffer.from('aGVs\r\nbG8=\r\n'), 'BASE64')!.toString(), 'hello');
    assert.equal(decodeTransfer(Buffer.from('aGVs!!bG8='), 'base64')!.toString(), 'hello');
    assert.equal(decodeTransfer(Buffer.from('x'), '8BIT')!.toString(), 'x');
    assert.equal(decodeTransfer(Buffer.from('x'), 'x-uuencode'), null);
  });
});

describe('text extraction', () => {
  it('HTML to text drops scripts, styles and tags and decodes entities', () => {
    assert.equal(
      htmlToText(
        '<html><head><style>p{}</style></head><body><p>Caf&eacute; &amp; bar&#33;</p><script>x()</script>next&nbsp;line</body></html>',
      ),
      'Café & bar!\nnext line',
    );
  });
  it('charsets: declared labels, unknown labels fall back to UTF-8 or Latin-1', () => {
    assert.equal(decodeCharset(Buffer.from([0xe4]), 'iso-8859-1'), 'ä');
    assert.equal(decodeCharset(Buffer.from('ä'), 'us-ascii'), 'ä');
    assert.equal(decodeCharset(Buffer.from([0xe4]), 'no-such-charset'), 'ä');
    assert.equal(decodeCharset(Buffer.from([0x82, 0xa0]), 'shift_jis'), 'あ');
  });
  it('search text: decoded headers and every text part', () => {
    const raw = Buffer.from(
      [
        'Subject: =?UTF-8?Q?Gr=C3=BC=C3=9Fe?=',
        'Content-Type: multipart/alternative; boundary=b',
        '',
        '--b',
        'Content-Type: text/plain; charset=utf-8',
        'Content-Transfer-Encoding: base64',
        '',
        Buffer.from('Zürich plain').toString('base64'),
        '--b',
        'Content-Type: text/html',
        '',
        '<b>html</b> words',
        '--b--',
        '',
      ].join('\r\n'),
    );
    const t = searchText(raw, parseMessage(raw));
    assert.match(t.headers, /^subject: Grüße$/m);
    assert.match(t.body, /Zürich plain/);
    assert.match(t.body, /html words/);
    assert.doesNotMatch(t.body, /<b>/);
  });
});
