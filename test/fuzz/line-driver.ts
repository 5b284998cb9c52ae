// Drives fuzzed inputs through a line protocol (IMAP, SMTP, POP3) over real connections and checks
// each answer: the protocol's own error or a valid answer, never an internal-error reply, and the
// connection either answers a sentinel command afterwards or was closed after the protocol's goodbye.
import assert from 'node:assert/strict';
import { type RawConn, show } from './harness.ts';

/** What the driver needs to know about one protocol. */
export interface LineProtocol {
  readonly name: string;
  /** A greeted (and, where the run needs it, signed-in) connection. */
  connect(): Promise<RawConn>;
  /** A command that always succeeds, and the line answering it. */
  sentinel(n: number): { send: string; answer: RegExp };
  /** Bytes ending whatever the input left open (a literal, DATA, a SASL exchange). */
  unstick(input: Buffer): Buffer;
  /** A line that lets the server close afterwards (its goodbye, or the TLS go-ahead). */
  readonly goodbye: RegExp;
  /** A line that shows the server failed internally. */
  readonly internalError: RegExp;
  /** Whether every line the server sent is a line of the protocol (checked when given). */
  valid?(line: string): boolean;
  /** The input legitimately leaves the server waiting for more than `unstick` sends (e.g. BDAT 10^12). */
  mayWait?(input: Buffer): boolean;
}

export interface DriveStats {
  answered: number;
  closed: number;
  waiting: number;
  /** Inputs the quick sentinel did not answer: they left a literal, DATA or SASL exchange open. */
  unstuck: number;
  inputs: number;
}

/** How long a sentinel may take before the input is assumed to have left something open. */
const QUICK_MS = 250;
/** How long a sentinel may take after `unstick`. */
const SLOW_MS = 15_000;

/** Sends each input, then a sentinel, on a live connection (reconnecting after a close); asserts each outcome. */
export async function drive(p: LineProtocol, inputs: Iterable<Buffer>, seed: number): Promise<DriveStats> {
  const stats: DriveStats = { answered: 0, closed: 0, waiting: 0, unstuck: 0, inputs: 0 };
  let conn: RawConn | undefined;
  let n = 0;
  // Where the previous input's answers began: a goodbye may follow the sentinel that answered it.
  let previous = 0;
  try {
    for (const input of inputs) {
      stats.inputs++;
      if (!conn || conn.closed) {
        conn = await p.connect();
        previous = conn.lines.length;
      }
      const from = conn.lines.length;
      const what = () =>
        `${p.name} input #${stats.inputs} (seed ${seed}) ${show(input)}; answers ${JSON.stringify(conn!.lines.slice(from, from + 12))}`;
      const first = p.sentinel(++n);
      conn.write(Buffer.concat([input, Buffer.from(`\r\n${first.send}\r\n`)]));
      let end = await conn.waitFor(first.answer, from, QUICK_MS);
      if (end === 'timeout') {
        stats.unstuck++;
        const second = p.sentinel(++n);
        conn.write(Buffer.concat([p.unstick(input), Buffer.from(`${second.send}\r\n`)]));
        // An input that may leave the server waiting for more than `unstick` sends is not given long.
        end = await conn.waitFor(second.answer, from, p.mayWait?.(input) ? QUICK_MS : SLOW_MS);
      }
      const lines = conn.lines.slice(from);
      for (const l of lines) {
        assert.doesNotMatch(l, p.internalError, `internal error: ${what()}`);
        if (p.valid) assert.ok(p.valid(l), `not a ${p.name} line ${JSON.stringify(l)}: ${what()}`);
      }
      if (end === 'match') stats.answered++;
      else if (end === 'closed') {
        stats.closed++;
        assert.ok(
          conn.lines.slice(previous).some((l) => p.goodbye.test(l)),
          `closed without a goodbye: ${what()}`,
        );
      } else {
        assert.ok(p.mayWait?.(input), `no answer and no close: ${what()}`);
        stats.waiting++;
        conn.close();
        conn = undefined;
      }
      previous = from;
    }
  } finally {
    conn?.close();
  }
  return stats;
}
