// A bounded, seeded fuzz run of IMAP framing (net/line-input.ts) and the parser: mutated real commands, split at random
// points, never throw; every framed command parses to a command or a BAD.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { LineInput } from '../../../src/net/line-input.ts';
import { parseCommand, peekTagAndCommand } from '../../../src/protocols/imap/wire/parser.ts';
import { prng } from '../mime/corpus.ts';

const SEED = Number(process.env.FUZZ_SEED ?? 9051);
const ROUNDS = Number(process.env.FUZZ_ROUNDS ?? 3000);

const SEEDS = [
  'a1 LOGIN alice "s3cret"',
  'a2 SELECT INBOX (QRESYNC (67890007 20050715194045000 41,43:211,214:541 (1:3 4:6)))',
  'a3 UID FETCH 1:* (FLAGS UID RFC822.SIZE ENVELOPE BODY.PEEK[HEADER.FIELDS (From To)]<0.100>) (CHANGEDSINCE 5 VANISHED)',
  'a4 SEARCH RETURN (MIN MAX COUNT SAVE) CHARSET UTF-8 OR (FROM "x" SINCE 1-Feb-2020) NOT UID 1:5,$ HEADER X-A "b"',
  'a5 LIST (SUBSCRIBED RECURSIVEMATCH) "" ("INBOX" %) RETURN (CHILDREN STATUS (MESSAGES UNSEEN))',
  'a6 APPEND Drafts (\\Draft) "17-Jul-1996 02:44:25 -0700" {11+}\r\nHello\r\nJoe!',
  'a7 UID STORE 1:4 (UNCHANGEDSINCE 9) +FLAGS.SILENT (\\Seen $Junk)',
  'a8 ID ("name" "x" "version" NIL)',
  'a9 AUTHENTICATE OAUTHBEARER bixhPWFsaWNlQGV4YW1wbGUuY29tLAE=',
  'b1 STATUS "Sent Items" (MESSAGES UIDNEXT UIDVALIDITY UNSEEN HIGHESTMODSEQ SIZE)',
  'b2 CREATE "a/b" (USE (\\Archive))',
  'b3 UID MOVE 3:7 "Trash"',
  'b4 FETCH 2 (BINARY.PEEK[1.2]<0.10> BINARY.SIZE[1] BODY[1.MIME] BODYSTRUCTURE)',
];

const ALPHABET = ' ()[]{}<>"\\*%$:,.+~-0123456789\r\nABCDEFGHIJKLMNOPQRSTUVWXYZabcxyz\x00\x01\x7f\xff';

function mutate(s: string, rnd: () => number): string {
  let out = s;
  const n = 1 + Math.floor(rnd() * 5);
  for (let i = 0; i < n; i++) {
    const at = Math.floor(rnd() * (out.length + 1));
    const op = Math.floor(rnd() * 5);
    const ch = ALPHABET[Math.floor(rnd() * ALPHABET.length)]!;
    if (op === 0) out = out.slice(0, at) + ch + out.slice(at + 1);
    else if (op === 1) out = out.slice(0, at) + out.slice(at + 1 + Math.floor(rnd() * 8));
    else if (op === 2) out = out.slice(0, at) + ch + out.slice(at);
    else if (op === 3) out = out.slice(0, at) + `{${Math.floor(rnd() * 20)}${rnd() < 0.5 ? '+' : ''}}\r\n` + out.slice(at);
    else out = out.slice(0, at) + out.slice(0, Math.floor(rnd() * out.length)) + out.slice(at);
  }
  return out;
}

describe('IMAP parser fuzz', () => {
  it(`${ROUNDS} mutated commands (seed ${SEED}) never throw`, async () => {
    const rnd = prng(SEED);
    let commands = 0;
    let parsed = 0;
    for (let round = 0; round < ROUNDS; round++) {
      const input = Buffer.from(`${mutate(SEEDS[round % SEEDS.length]!, rnd)}\r\nz NOOP\r\n`, 'latin1');
      const signedIn = round % 2 === 0;
      const limits = {
        maxLine: 2000,
        maxCommand: 4096,
        literalLimit: (first: Buffer) => (signedIn && peekTagAndCommand(first).command === 'APPEND' ? 256 : 64),
      };
      const li = new LineInput();
      let sawNoop = false;
      const reading = (async () => {
        for (;;) {
          const e = await li.command(limits, () => {});
          if (e.kind === 'closed') return;
          if (e.kind !== 'command') continue;
          commands++;
          const r = parseCommand(e);
          if (r.ok) parsed++;
          if (r.ok && r.command.tag === 'z' && r.command.name === 'NOOP') sawNoop = true;
        }
      })();
      try {
        let pos = 0;
        while (pos < input.length) {
          const step = 1 + Math.floor(rnd() * 40);
          li.push(input.subarray(pos, pos + step));
          pos += step;
          await new Promise((r) => setImmediate(r));
        }
        li.close();
        await reading;
      } catch (err) {
        throw new Error(`round ${round} (seed ${SEED}) input ${JSON.stringify(input.toString('latin1'))}: ${(err as Error).stack}`);
      }
      // A trailing command is still read unless a literal swallowed it: the input always resynchronises.
      if (!sawNoop) assert.ok(/\{\d+\+?\}/.test(input.toString('latin1')), `round ${round}: lost the NOOP without a literal`);
    }
    assert.ok(commands > ROUNDS);
    assert.ok(parsed > ROUNDS / 4, `only ${parsed} of ${commands} parsed`);
  });
});
