// Sieve benchmark: what running a script costs per delivered message, next to what delivery
// already spends parsing the message's structure, and how a hostile `:matches` pattern compares
// with a plain one on the same long header. Prints rates and ratios.
//   ./node_modules/.bin/node bench/sieve.ts [--seconds 2]
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { parseStructure } from '../src/mail/mime/structure.ts';
import { Budget } from '../src/mail/sieve/budget.ts';
import { type RunLimits, runScript } from '../src/mail/sieve/interpret.ts';
import { globMatch } from '../src/mail/sieve/match.ts';
import { SieveMessage } from '../src/mail/sieve/message.ts';
import { compile } from '../src/mail/sieve/validate.ts';

const { values } = parseArgs({ options: { seconds: { type: 'string', default: '2' } } });
const SECONDS = Number(values.seconds);
const LIMITS: RunLimits = { maxActions: 32, maxRedirects: 4, steps: 1e9, vacationDays: { min: 1, max: 30, default: 7 } };

function rate(op: () => void): number {
  let n = 0;
  const until = performance.now() + SECONDS * 1000;
  while (performance.now() < until) {
    for (let i = 0; i < 50; i++) op();
    n += 50;
  }
  return n / SECONDS;
}

const fixtures = path.join(import.meta.dirname, '..', 'test', 'unit', 'mail', 'sieve-fixtures');
const script = compile(readFileSync(path.join(fixtures, 'rfc5228-section9.sieve'), 'utf8'), { maxBytes: 65536, maxDepth: 32 });
const body = 'Some text of a normal message.\r\n'.repeat(300);
const raw = Buffer.from(
  `Received: from a by b\r\nReceived: from c by d\r\nFrom: Ann <ann@b.example>\r\nTo: me@example.com\r\nSubject: quarterly numbers\r\nMessage-ID: <x@y>\r\nDate: Mon, 7 Dec 2026 10:00:00 +0000\r\nMIME-Version: 1.0\r\nContent-Type: text/plain\r\n\r\n${body}`,
);

const parse = rate(() => parseStructure(raw));
const sieve = rate(() =>
  runScript(script, {
    message: new SieveMessage(raw),
    envelope: { from: 'ann@b.example', to: 'me@example.com' },
    mailboxes: new Set(),
    limits: LIMITS,
  }),
);
console.log(`message structure parse (done at delivery anyway): ${parse.toFixed(0)}/s`);
console.log(
  `RFC 5228 §9 script, header parse + run:            ${sieve.toFixed(0)}/s  (${(parse / sieve).toFixed(2)}× the cost of one structure parse)`,
);

const text = 'a'.repeat(8000);
const plain = rate(() => globMatch(text, '*b*', false, new Budget(1e9)));
const hostile = rate(() => globMatch(text, `${'*a'.repeat(100)}b`, false, new Budget(1e9)));
console.log(`:matches on an 8000-octet header, "*b*":          ${plain.toFixed(0)}/s`);
console.log(
  `:matches with "${'*a'.repeat(3)}…b" (100 stars):      ${hostile.toFixed(0)}/s  (${(plain / hostile).toFixed(2)}× slower: linear, not exponential)`,
);
