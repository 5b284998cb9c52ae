import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import type { SieveAction } from '../../../src/mail/sieve/actions.ts';
import { Budget } from '../../../src/mail/sieve/budget.ts';
import { SieveError } from '../../../src/mail/sieve/errors.ts';
import { runScript, type RunLimits } from '../../../src/mail/sieve/interpret.ts';
import { globMatch } from '../../../src/mail/sieve/match.ts';
import { SieveMessage } from '../../../src/mail/sieve/message.ts';
import { compile } from '../../../src/mail/sieve/validate.ts';

const LIMITS = { maxBytes: 64 * 1024, maxDepth: 16 };
const RUN: RunLimits = { maxActions: 32, maxRedirects: 4, steps: 1_000_000, vacationDays: { min: 1, max: 30, default: 7 } };
const fixture = (name: string) => readFileSync(path.join(import.meta.dirname, 'sieve-fixtures', name), 'utf8');

function message(headers: Record<string, string>, body = 'Hello there.\r\n'): SieveMessage {
  const head = Object.entries(headers)
    .map(([k, v]) => `${k}: ${v}\r\n`)
    .join('');
  return new SieveMessage(Buffer.from(`${head}\r\n${body}`));
}

function run(
  script: string,
  msg: SieveMessage,
  extra: {
    from?: string;
    to?: string;
    spam?: { score: number; required: number };
    mailboxes?: string[];
    limits?: Partial<RunLimits>;
    now?: number;
  } = {},
): SieveAction[] {
  return [
    ...runScript(compile(script, LIMITS), {
      message: msg,
      envelope: { from: extra.from ?? 'sender@example.org', to: extra.to ?? 'me@example.com' },
      spam: extra.spam,
      mailboxes: new Set(extra.mailboxes ?? ['INBOX']),
      limits: { ...RUN, ...extra.limits },
      ...(extra.now === undefined ? {} : { now: extra.now }),
    }).actions,
  ];
}

const targets = (actions: readonly SieveAction[]) =>
  actions.map((a) => (a.kind === 'fileinto' ? `fileinto:${a.mailbox}` : a.kind === 'redirect' ? `redirect:${a.address}` : a.kind));

describe('Sieve interpreter (RFC 5228)', () => {
  const example = fixture('rfc5228-section9.sieve');

  it('runs the RFC 5228 section 9 example down each branch', () => {
    assert.deepEqual(targets(run(example, message({ Sender: 'owner-ietf-mta-filters@imc.org', To: 'me@example.com' }))), [
      'fileinto:filter',
    ]);
    assert.deepEqual(targets(run(example, message({ From: 'boss@EXAMPLE.com', To: 'x@y.org' }))), ['keep']);
    assert.deepEqual(targets(run(example, message({ From: 'a@b.org', To: 'someone@else.org' }))), ['fileinto:spam']);
    assert.deepEqual(
      targets(
        run(example, message({ From: 'a@b.org', To: 'list@lists.org', Cc: 'me@example.com', Subject: 'How to MAKE big money FAST' })),
      ),
      ['fileinto:spam'],
    );
    assert.deepEqual(targets(run(example, message({ From: 'a@b.org', To: 'list@lists.org', Cc: 'me@example.com', Subject: 'lunch?' }))), [
      'fileinto:personal',
    ]);
  });

  it('keeps implicitly when nothing cancels it, and discard and stop do', () => {
    assert.deepEqual(targets(run('if false { discard; }', message({}))), ['keep']);
    assert.deepEqual(targets(run('discard;', message({}))), ['discard']);
    assert.deepEqual(targets(run('stop; discard;', message({}))), ['keep']);
    assert.deepEqual(targets(run('require "copy"; redirect :copy "a@b.org";', message({}))), ['redirect:a@b.org', 'keep']);
  });

  it('refuses scripts that are wrong before running them (RFC 5228 §2.10.6)', () => {
    const bad: Array<[string, RegExp]> = [
      ['fileinto "x";', /needs require "fileinto"/],
      ['require "nosuch";', /unsupported extension/],
      ['keep; require "fileinto";', /before any other command/],
      ['else { keep; }', /must follow/],
      ['if true keep;', /expected ";" or a block|needs a block/],
      ['if header :is "a" { keep; }', /takes 2 arguments/],
      ['if header :is :contains "a" "b" { keep; }', /cannot be used with/],
      ['if header :comparator "i;nope" "a" "b" { keep; }', /unknown comparator/],
      ['keep', /expected ";"/],
      ['if "x" { }', /takes 0 arguments/],
      ['redirect "a@b.org" "c";', /takes 1 argument/],
      ['"x" /* open', /unterminated comment|expected a command/],
    ];
    for (const [script, re] of bad) assert.throws(() => compile(script, LIMITS), re, script);
  });

  it('bounds script size and nesting', () => {
    assert.throws(() => compile(`keep;${' '.repeat(70_000)}`, LIMITS), /larger than/);
    const deep = `${'if true {'.repeat(40)}keep;${'}'.repeat(40)}`;
    assert.throws(() => compile(deep, LIMITS), /nested deeper/);
    const deepTests = `if ${'not '.repeat(5000)}true { keep; }`;
    assert.throws(() => compile(deepTests, LIMITS), /nested deeper/);
  });

  it('reads multi-line strings with dot-stuffing and escapes in quoted strings', () => {
    const script = 'require "reject";\nreject text:\nline one\n..dotted\n.\n;';
    const [a] = run(script, message({}));
    assert.deepEqual(a, { kind: 'reject', reason: 'line one\r\n.dotted\r\n', protocol: false });
    const [b] = run('require "fileinto"; fileinto "a\\"b\\\\c\\d";', message({}));
    assert.equal(b?.kind === 'fileinto' && b.mailbox, 'a"b\\cd');
  });

  it('size, exists, header :contains with comparators', () => {
    const m = message({ Subject: 'Hello World', 'X-Thing': 'y' }, 'x'.repeat(2000));
    assert.deepEqual(targets(run('if size :over 1K { discard; }', m)), ['discard']);
    assert.deepEqual(targets(run('if size :under 1K { discard; }', m)), ['keep']);
    assert.deepEqual(targets(run('if exists ["subject", "x-thing"] { discard; }', m)), ['discard']);
    assert.deepEqual(targets(run('if exists ["subject", "x-none"] { discard; }', m)), ['keep']);
    assert.deepEqual(targets(run('if header :contains "subject" "WORLD" { discard; }', m)), ['discard']);
    assert.deepEqual(targets(run('if header :comparator "i;octet" :contains "subject" "WORLD" { discard; }', m)), ['keep']);
  });

  it('decodes encoded-words in header tests', () => {
    const m = message({ Subject: '=?UTF-8?B?R3LDvMOfZQ==?=' });
    assert.deepEqual(targets(run('if header :is "subject" "Grüße" { discard; }', m)), ['discard']);
  });

  it('envelope and subaddress parts (RFC 5228 §5.4, RFC 5233)', () => {
    const script = `require ["envelope", "subaddress", "fileinto", "variables"];
      if envelope :detail :matches "to" "*" { fileinto "lists/\${1}"; }
      if envelope :all :is "from" "" { discard; }`;
    assert.deepEqual(targets(run(script, message({}), { to: 'me+news@example.com' })), ['fileinto:lists/news']);
    assert.deepEqual(targets(run(script, message({}), { to: 'me@example.com', from: '' })), ['discard']);
  });

  it('fileinto with :copy, :create and :flags (RFC 3894, RFC 5490, RFC 5232)', () => {
    const script = `require ["fileinto", "copy", "mailbox", "imap4flags"];
      addflag "\\\\Flagged";
      fileinto :copy :create :flags ["\\\\Seen", "$work"] "Work";
      if mailboxexists "Archive" { fileinto "Archive"; }`;
    const actions = run(script, message({}), { mailboxes: ['INBOX', 'Archive'] });
    assert.deepEqual(actions, [
      { kind: 'fileinto', mailbox: 'Work', flags: ['\\Seen', '$work'], create: true },
      { kind: 'fileinto', mailbox: 'Archive', flags: ['\\Flagged'], create: false },
    ]);
  });

  it('imap4flags: setflag/addflag/removeflag/hasflag and the implicit keep takes the flags (RFC 5232 §3–5)', () => {
    const script = `require ["imap4flags", "variables"];
      setflag "\\\\Seen $a";
      addflag ["$b", "$A"];
      removeflag "\\\\seen";
      addflag "myvar" "one two";
      if hasflag :contains "$b" { addflag "$hit"; }
      if hasflag "myvar" "two" { addflag "$var"; }`;
    const [keep] = run(script, message({}));
    assert.deepEqual(keep, { kind: 'keep', flags: ['$a', '$b', '$hit', '$var'], implicit: true });
  });

  it('variables: set modifiers, match variables, string test (RFC 5229)', () => {
    const script = `require ["variables", "fileinto"];
      set :upperfirst :lower "name" "hELLO";
      set :length "len" "\${name}";
      set :quotewildcard "q" "a*b?";
      if header :matches "List-Id" "*<*.*>" { set "list" "\${2}"; }
      if string :is "\${name}-\${len}-\${q}-\${list}-\${unknown}" "Hello-5-a\\\\*b\\\\?-ietf-" { fileinto "ok"; }`;
    assert.deepEqual(targets(run(script, message({ 'List-Id': 'The IETF <ietf.lists.example.org>' }))), ['fileinto:ok']);
  });

  it('relational :count and :value with i;ascii-numeric (RFC 5231)', () => {
    const script = `require ["relational", "comparator-i;ascii-numeric"];
      if header :count "ge" :comparator "i;ascii-numeric" "received" "3" { discard; }
      if header :value "gt" :comparator "i;ascii-numeric" "x-priority" "3" { discard; }`;
    assert.deepEqual(targets(run(script, message({ Received: 'a', 'X-Priority': '2' }))), ['keep']);
    assert.deepEqual(targets(run(script, message({ 'X-Priority': '5 (lowest)' }))), ['discard']);
    const m = new SieveMessage(Buffer.from('Received: a\r\nReceived: b\r\nReceived: c\r\n\r\nx'));
    assert.deepEqual(targets(run(script, m)), ['discard']);
  });

  it('reject and ereject conflict with keep and fileinto (RFC 5429 §2.1)', () => {
    assert.deepEqual(targets(run('require "ereject"; ereject "no thanks";', message({}))), ['reject']);
    assert.throws(() => run('require ["reject", "fileinto"]; fileinto "x"; reject "no";', message({})), SieveError);
  });

  it('vacation from the RFC 5230 examples: :days bounded, :handle kept, subject from a variable', () => {
    const [v] = run(fixture('rfc5230-vacation.sieve'), message({ Subject: 'lunch' }));
    assert.equal(v?.kind, 'vacation');
    if (v?.kind !== 'vacation') return;
    assert.equal(v.subject, 'Re: lunch');
    assert.equal(v.days, 23);
    assert.equal(v.handle, 'ran-away');
    assert.deepEqual(v.addresses, ['tjs@example.edu', 'ts4z@landru.example.edu']);
    const [w] = run('require "vacation"; vacation :days 365 "away";', message({}));
    assert.equal(w?.kind === 'vacation' && w.days, 30);
    assert.throws(() => compile('require "vacation"; vacation :days 0 "x";', LIMITS), /at least 1/);
    assert.throws(() => run('require "vacation"; vacation "a"; vacation "b";', message({})), /only one vacation/);
  });

  it('body :text, :raw and :content (RFC 5173)', () => {
    const mime =
      'MIME-Version: 1.0\r\nContent-Type: multipart/alternative; boundary=b\r\n\r\n--b\r\nContent-Type: text/plain\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\nCheap w=61tches\r\n--b\r\nContent-Type: application/octet-stream\r\n\r\nsecret-token\r\n--b--\r\n';
    const m = new SieveMessage(Buffer.from(mime));
    assert.deepEqual(targets(run('require "body"; if body :contains "watches" { discard; }', m)), ['discard']);
    assert.deepEqual(targets(run('require "body"; if body :raw :contains "w=61tches" { discard; }', m)), ['discard']);
    assert.deepEqual(targets(run('require "body"; if body :content "text" :contains "secret-token" { discard; }', m)), ['keep']);
    assert.deepEqual(targets(run('require "body"; if body :content "application" :contains "secret-token" { discard; }', m)), ['discard']);
  });

  it('date and currentdate from the RFC 5260 §6 examples', () => {
    const office = `require ["date", "relational", "fileinto"];
      if allof(header :is "from" "boss@example.com",
               date :value "ge" :originalzone "date" "hour" "09",
               date :value "lt" :originalzone "date" "hour" "17")
      { fileinto "urgent"; }`;
    const at = (date: string) => message({ From: 'boss@example.com', Date: date });
    assert.deepEqual(targets(run(office, at('Mon, 7 Dec 2026 10:30:00 -0500'))), ['fileinto:urgent'], "10:30 in the sender's zone");
    assert.deepEqual(targets(run(office, at('Mon, 7 Dec 2026 18:30:00 +0100'))), ['keep']);
    assert.deepEqual(targets(run(office, at('not a date'))), ['keep']);
    const away = `require ["date", "relational", "vacation"];
      if allof(currentdate :value "ge" "date" "2007-06-30",
               currentdate :value "le" "date" "2007-07-07")
      { vacation :days 7 "I'm away during the first week in July."; }`;
    assert.deepEqual(targets(run(away, message({ To: 'me@example.com' }), { now: Date.UTC(2007, 6, 3, 12) })), ['vacation', 'keep']);
    assert.deepEqual(targets(run(away, message({}), { now: Date.UTC(2007, 6, 8, 12) })), ['keep']);
    const zoned = 'require ["date", "fileinto"]; if currentdate :zone "+0930" "iso8601" "2026-12-07T23:30:00+09:30" { fileinto "z"; }';
    assert.deepEqual(targets(run(zoned, message({}), { now: Date.UTC(2026, 11, 7, 14, 0, 0) })), ['fileinto:z']);
    const weekday = 'require "date"; if currentdate "weekday" "1" { discard; }';
    assert.deepEqual(targets(run(weekday, message({}), { now: Date.UTC(2026, 11, 7) })), ['discard'], '7 December 2026 is a Monday');
    assert.throws(() => run('require "date"; if currentdate "fortnight" "1" { discard; }', message({})), /unknown date-part/);
  });

  it('spamtest over the rspamd score (RFC 5235)', () => {
    const script = `require ["spamtest", "relational", "comparator-i;ascii-numeric", "fileinto"];
      if spamtest :value "ge" :comparator "i;ascii-numeric" "6" { fileinto "Junk"; }
      elsif spamtest :value "eq" :comparator "i;ascii-numeric" "0" { fileinto "untested"; }`;
    assert.deepEqual(targets(run(script, message({}), { spam: { score: 14, required: 15 } })), ['fileinto:Junk']);
    assert.deepEqual(targets(run(script, message({}), { spam: { score: 1, required: 15 } })), ['keep']);
    assert.deepEqual(targets(run(script, message({}))), ['fileinto:untested']);
  });

  it('bounds actions and redirects per run', () => {
    assert.throws(
      () => run(`require "fileinto"; ${'fileinto :copy "a";'.replace(':copy ', '').repeat(40)}`, message({})),
      /more than 32 actions/,
    );
    assert.throws(() => run('redirect "a@b.org"; redirect "c@d.org";', message({}), { limits: { maxRedirects: 1 } }), /redirects/);
    assert.throws(() => run('redirect "not an address";', message({})), /not an address/);
  });

  it(':matches cannot be made to backtrack exponentially: a hostile pattern ends within its budget', () => {
    const text = 'a'.repeat(5000);
    const pattern = `${'*a'.repeat(200)}b`;
    const budget = new Budget(text.length * 4); // linear: only the last "*" is ever widened
    assert.equal(globMatch(text, pattern, false, budget), null);
    // A pattern that costs text × pattern steps is stopped by the run's budget (then the message is kept).
    const script = `if header :matches "subject" "*${'a'.repeat(100)}b" { discard; }`;
    assert.throws(() => run(script, message({ Subject: text }), { limits: { steps: 100_000 } }), /CPU budget/);
  });

  it(':matches captures: "*" as short as possible, "?" one character, "\\\\" quotes', () => {
    const b = new Budget(1e6);
    assert.deepEqual(globMatch('a.b.c', '*.*', false, b), ['a', 'b.c']);
    assert.deepEqual(globMatch('abc', 'a?c', false, b), ['b']);
    assert.deepEqual(globMatch('a*c', 'a\\*c', false, b), []);
    assert.equal(globMatch('abc', 'a\\*c', false, b), null);
    assert.deepEqual(globMatch('ABC', 'a*', true, b), ['BC']);
    assert.deepEqual(globMatch('', '*', false, b), ['']);
  });
});
