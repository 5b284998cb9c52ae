// SORT's ordering (src/protocols/imap/sort.ts, RFC 5256 §3): the ranked sort gives exactly the
// order of comparing the criteria key by key (strings by i;unicode-casemap, RFC 5051), ties by
// sequence number, with REVERSE per key, messages gone meanwhile left out; on orders that are
// far apart (the comparator path) as well as on sequence numbers (the packed-double path).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { compareKeys } from '../../../src/mail/collation.ts';
import type { SortFields } from '../../../src/protocols/imap/sort-fields.ts';
import { sortOrder } from '../../../src/protocols/imap/sort.ts';
import type { SortCriterion, SortKey } from '../../../src/protocols/imap/wire/types.ts';

let seed = 7;
const rnd = (n: number) => {
  seed = (seed * 48271) % 2147483647;
  return seed % n;
};
const NAMES = ['ann', 'Bob', 'bob', 'Ärger', 'zed', ''];

function fields(n: number): Array<SortFields | null> {
  return Array.from({ length: n }, (_, i) => {
    if (i % 17 === 5) return null;
    const from = NAMES[rnd(NAMES.length)]!.toUpperCase().normalize('NFKD');
    return {
      size: rnd(5) * 100,
      receivedAt: 1_700_000_000_000 + rnd(20) * 1000,
      sentAt: 1_700_000_000_000 + rnd(10) * 60_000 - (i % 3 ? 0 : 3_600_000),
      baseSubject: '',
      subjectKey: `TOPIC ${rnd(4)}`,
      replyOrForward: false,
      from,
      to: NAMES[rnd(NAMES.length)]!.toUpperCase(),
      cc: '',
      displayFrom: from,
      displayTo: '',
      messageId: null,
      references: [],
      addresses: {} as SortFields['addresses'],
    } satisfies SortFields;
  });
}

const value = (f: SortFields, key: SortKey): number | string =>
  ({
    ARRIVAL: f.receivedAt,
    DATE: f.sentAt,
    SIZE: f.size,
    SUBJECT: f.subjectKey,
    FROM: f.from,
    TO: f.to,
    CC: f.cc,
    DISPLAYFROM: f.displayFrom,
    DISPLAYTO: f.displayTo,
  })[key];

/** The definition: compare key by key, then by order. */
function reference(fs: Array<SortFields | null>, orders: number[], criteria: SortCriterion[]): number[] {
  const present = fs.flatMap((f, i) => (f ? [i] : []));
  return present.sort((a, b) => {
    for (const c of criteria) {
      const x = value(fs[a]!, c.key);
      const y = value(fs[b]!, c.key);
      const d = typeof x === 'number' ? x - (y as number) : compareKeys(x, y as string);
      if (d) return c.reverse ? -d : d;
    }
    return orders[a]! - orders[b]!;
  });
}

const CRITERIA: SortCriterion[][] = [
  [{ key: 'DATE', reverse: false }],
  [{ key: 'DATE', reverse: true }],
  [{ key: 'FROM', reverse: false }],
  [
    { key: 'SUBJECT', reverse: false },
    { key: 'DATE', reverse: true },
  ],
  [
    { key: 'SIZE', reverse: true },
    { key: 'TO', reverse: false },
    { key: 'ARRIVAL', reverse: false },
  ],
  [
    { key: 'DISPLAYFROM', reverse: true },
    { key: 'SUBJECT', reverse: true },
  ],
];

describe('SORT order', () => {
  for (const criteria of CRITERIA) {
    const name = criteria.map((c) => `${c.reverse ? 'REVERSE ' : ''}${c.key}`).join(' ');
    it(`${name}: the same as comparing key by key, on sequence numbers and on sparse orders`, () => {
      const fs = fields(3000);
      const seqs = fs.map((_, i) => i + 1);
      // A SORT over a search result: orders ascending but not the positions (every other message).
      const sparse = fs.map((_, i) => 2 * i + 11);
      // Orders far apart and shuffled take the comparator path.
      const wide = fs.map((_, i) => ((i * 7919) % 3001) * 1_000_003 + 1);
      for (const orders of [seqs, sparse, wide])
        assert.deepEqual(Array.from(sortOrder(fs, orders, criteria)), reference(fs, orders, criteria));
    });
  }

  it('an empty set and a set of gone messages sort to nothing', () => {
    assert.deepEqual(Array.from(sortOrder([], [], CRITERIA[0]!)), []);
    assert.deepEqual(Array.from(sortOrder([null, null], [1, 2], CRITERIA[3]!)), []);
  });
});
