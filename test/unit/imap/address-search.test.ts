// SEARCH FROM/TO/CC/BCC matched in the sort thread's worker (src/protocols/imap/sort-thread.ts) on
// address texts computed once per message (search-address.ts) gives the same answer as matching the
// parsed addresses (RFC 9051 §6.4.4), and falls back (ADDRESS_UNKNOWN) where there is no address.
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { analyzeMessage } from '../../../src/mail/mime/parse.ts';
import type { ParsedMessage } from '../../../src/mail/mime/types.ts';
import { addressMatches, addressTexts, addressTextsMatch } from '../../../src/protocols/imap/search-address.ts';
import { ADDRESS_NO, ADDRESS_UNKNOWN, ADDRESS_YES, SortThread } from '../../../src/protocols/imap/sort-thread.ts';

const RAW = [
  'From: =?UTF-8?Q?P=C3=A9te?= (a comment) <pete@Silly.TEST>\r\nTo: team: Ann <ann@x.test>, bob@y.test;\r\nSubject: a\r\n\r\nx\r\n',
  'From: carol@z.test\r\nTo: undisclosed-recipients:;\r\nCc: "Dave, D." <dave@w.test>\r\nSubject: b\r\n\r\nx\r\n',
  'From: Eve <eve@v.test>\r\nBcc: pete@silly.test\r\nSubject: c\r\n\r\nx\r\n',
];
const parsed = new Map<number, ParsedMessage>(RAW.map((r, i) => [i + 1, analyzeMessage(Buffer.from(r)).parsed]));
// Stored rows as the store hands them over: the structure as JSON text, account 1 only.
const rows = [...parsed].map(([id, meta]) => ({ id, size: 10, receivedAt: 0, meta: JSON.stringify(meta) }));
let reads = 0;
const sorter = new SortThread({
  messageMeta: async (accountId: number, ids: readonly number[]) => {
    reads += ids.length;
    return accountId === 1 ? rows.filter((r) => ids.includes(r.id)) : [];
  },
});
after(() => sorter.close());

describe('SEARCH address texts', () => {
  it('hold the decoded name and addr-spec together, comments dropped, groups by name', () => {
    const from = addressTexts(parsed.get(1)!.envelope.from);
    assert.deepEqual(from, { texts: ['péte <pete@silly.test>'], any: true });
    assert.equal(addressTextsMatch(from, 'a comment'), false);
    assert.equal(addressTextsMatch(from, 'te <pete@'), true);
    assert.deepEqual(addressTexts(parsed.get(2)!.envelope.to), { texts: ['undisclosed-recipients'], any: false });
    assert.equal(addressTextsMatch(addressTexts([]), 'x'), null);
  });

  it('match in the worker exactly as on the parsed addresses, reading each message once', async () => {
    const ids = Float64Array.from([1, 2, 3, 99]);
    for (const field of ['from', 'to', 'cc', 'bcc'] as const)
      for (const needle of ['pete', 'péte <pete@silly', 'ann@', 'team', 'dave, d.', 'undisclosed', 'eve', 'nobody', '']) {
        const got = await sorter.addressSearch(1, ids, field, needle);
        const want = [...ids].map((id) => {
          const m = parsed.has(id) ? addressMatches(parsed.get(id)!.envelope[field], needle) : null;
          return m === null ? ADDRESS_UNKNOWN : m ? ADDRESS_YES : ADDRESS_NO;
        });
        assert.deepEqual([...got], want, `${field} ${needle}`);
      }
    // Message 99 is not in the store: asked for each time; the others were read once and kept.
    assert.equal(reads, 3 + 4 * 9);
    assert.deepEqual([...(await sorter.addressSearch(2, Float64Array.from([1]), 'from', 'pete'))], [ADDRESS_YES]);
  });
});
