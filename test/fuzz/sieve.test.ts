// A seeded, bounded fuzz run of the Sieve compiler and interpreter: valid scripts mutated with
// hostile tokens, invalid UTF-8, cuts and truncation, plus generated deep nesting and long
// wildcard patterns. Every input either compiles or is refused with a SieveError naming the
// problem; every compiled script runs to actions or stops with a SieveError (the message would be
// kept): nothing else is thrown, and the step budget ends every run.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { SieveError } from '../../src/mail/sieve/errors.ts';
import { runScript } from '../../src/mail/sieve/interpret.ts';
import { SieveMessage } from '../../src/mail/sieve/message.ts';
import { compile } from '../../src/mail/sieve/validate.ts';
import { fuzzRounds, fuzzSeed, mutate, Rand } from './harness.ts';

const SEED = fuzzSeed(5228);
const ROUNDS = fuzzRounds(3000);
const fixtures = path.join(import.meta.dirname, '..', 'unit', 'mail', 'sieve-fixtures');

const SCRIPTS = [
  readFileSync(path.join(fixtures, 'rfc5228-section9.sieve'), 'utf8'),
  readFileSync(path.join(fixtures, 'rfc5230-vacation.sieve'), 'utf8'),
  'require ["variables", "fileinto"]; if header :matches "List-Id" "*<*.*>" { fileinto "l/${2}"; }',
  'require ["imap4flags", "relational", "comparator-i;ascii-numeric"]; if header :count "ge" :comparator "i;ascii-numeric" "received" "2" { addflag "$x"; }',
  'require "body"; if body :content "text" :contains ["a", "b"] { discard; } else { keep; }',
  'require "reject"; if size :over 10K { reject text:\nToo big.\n.\n; }',
  'require ["copy", "envelope", "subaddress"]; if envelope :detail :is "to" "x" { redirect :copy "a@b.example"; }',
];

const MESSAGE = new SieveMessage(
  Buffer.from(
    'From: A <a@example.org>\r\nTo: me+x@example.com\r\nSubject: hello *?\\ world\r\nList-Id: IETF <ietf.lists.example>\r\nReceived: x\r\nReceived: y\r\n\r\nBody a b\r\n',
  ),
);

function generated(r: Rand): string {
  switch (r.int(3)) {
    case 0: {
      const depth = 1 + r.int(200);
      return `${'if true {'.repeat(depth)} keep; ${'}'.repeat(depth)}`;
    }
    case 1:
      return `if header :matches "subject" "${'*?'.repeat(1 + r.int(500))}x" { discard; }`;
    default:
      return `if ${'not '.repeat(r.int(3000))}true { keep; }`;
  }
}

describe('Sieve compiler and interpreter under hostile scripts', () => {
  it(`${ROUNDS} mutated and generated scripts end in actions or a SieveError`, () => {
    const r = new Rand(SEED);
    let compiled = 0;
    for (let i = 0; i < ROUNDS; i++) {
      const script = r.chance(0.1) ? generated(r) : mutate(r, r.pick(SCRIPTS)).toString('utf8');
      try {
        const c = compile(script, { maxBytes: 64 * 1024, maxDepth: 32 });
        compiled++;
        runScript(c, {
          message: MESSAGE,
          envelope: { from: 'a@example.org', to: 'me+x@example.com' },
          mailboxes: new Set(['INBOX']),
          limits: { maxActions: 32, maxRedirects: 4, steps: 200_000, vacationDays: { min: 1, max: 30, default: 7 } },
        });
      } catch (err) {
        assert.ok(err instanceof SieveError, `seed ${SEED} round ${i}: ${(err as Error).stack}\n${JSON.stringify(script.slice(0, 300))}`);
      }
    }
    assert.ok(compiled > ROUNDS / 20, `some mutated scripts still compile (${compiled})`);
  });
});
