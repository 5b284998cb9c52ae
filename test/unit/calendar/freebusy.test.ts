// Merging busy periods, free/busy query ranges, sharing rules and the VFREEBUSY/JSON renderings.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import ICAL from 'ical.js';
import type { BusyInstance } from '../../../src/calendar/expand.ts';
import { freeGaps, mergeBusy } from '../../../src/calendar/freebusy.ts';
import { parseInstant, parseRange } from '../../../src/calendar/range.ts';
import { foldLine, freeBusyIcs, freeBusyJson, mailto } from '../../../src/calendar/render.ts';
import { type Asker, mayReadFreeBusy, parseSharingRule } from '../../../src/calendar/sharing.ts';

const T = (h: number, m = 0) => Date.UTC(2026, 10, 2, h, m);
const day = { start: T(0), end: T(24) };

describe('mergeBusy', () => {
  it('joins overlapping and touching periods of one type and clips to the range', () => {
    const got = mergeBusy(
      [
        { start: T(9), end: T(10), type: 'BUSY' },
        { start: T(9, 30), end: T(11), type: 'BUSY' },
        { start: T(11), end: T(12), type: 'BUSY' },
        { start: T(23), end: T(26), type: 'BUSY' },
      ],
      day,
    );
    assert.deepEqual(got, [
      { start: T(9), end: T(12), type: 'BUSY' },
      { start: T(23), end: T(24), type: 'BUSY' },
    ]);
  });

  it('splits where types overlap: BUSY over BUSY-UNAVAILABLE over BUSY-TENTATIVE', () => {
    const got = mergeBusy(
      [
        { start: T(8), end: T(12), type: 'BUSY-TENTATIVE' },
        { start: T(9), end: T(11), type: 'BUSY-UNAVAILABLE' },
        { start: T(10), end: T(10, 30), type: 'BUSY' },
      ],
      day,
    );
    assert.deepEqual(
      got.map((p) => [p.start, p.end, p.type]),
      [
        [T(8), T(9), 'BUSY-TENTATIVE'],
        [T(9), T(10), 'BUSY-UNAVAILABLE'],
        [T(10), T(10, 30), 'BUSY'],
        [T(10, 30), T(11), 'BUSY-UNAVAILABLE'],
        [T(11), T(12), 'BUSY-TENTATIVE'],
      ],
    );
  });

  it('drops empty and out-of-range instances; many random instances never overlap afterwards', () => {
    assert.deepEqual(mergeBusy([{ start: T(5), end: T(5), type: 'BUSY' }], day), []);
    let seed = 42;
    const rnd = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
    const types = ['BUSY', 'BUSY-TENTATIVE', 'BUSY-UNAVAILABLE'] as const;
    const inst: BusyInstance[] = Array.from({ length: 2000 }, () => {
      const s = T(0) + Math.floor(rnd() * 26 * 3600_000) - 3600_000;
      return { start: s, end: s + Math.floor(rnd() * 3 * 3600_000), type: types[Math.floor(rnd() * 3)]! };
    });
    const out = mergeBusy(inst, day);
    for (let i = 1; i < out.length; i++) {
      assert.ok(out[i]!.start >= out[i - 1]!.end, 'sorted, no overlap');
      if (out[i]!.start === out[i - 1]!.end) assert.notEqual(out[i]!.type, out[i - 1]!.type, 'touching periods differ in type');
    }
    for (const p of out) assert.ok(p.start >= day.start && p.end <= day.end);
  });

  it('freeGaps is the complement within the range', () => {
    assert.deepEqual(
      freeGaps(
        [
          { start: T(9), end: T(10) },
          { start: T(12), end: T(13) },
        ],
        { start: T(8), end: T(14) },
      ),
      [
        { start: T(8), end: T(9) },
        { start: T(10), end: T(12) },
        { start: T(13), end: T(14) },
      ],
    );
  });
});

describe('query ranges', () => {
  const max = 366 * 86_400_000;
  it('accepts RFC 3339 with Z or an offset, and the iCalendar UTC form', () => {
    assert.equal(parseInstant('2026-11-02T09:00:00Z'), T(9));
    assert.equal(parseInstant('2026-11-02T10:00:00+01:00'), T(9));
    assert.equal(parseInstant('2026-11-02T09:00:00.250Z'), T(9) + 250);
    assert.equal(parseInstant('20261102T090000Z'), T(9));
  });
  it('refuses local times, impossible dates and other shapes', () => {
    for (const bad of [
      '2026-11-02T09:00:00',
      '20261102T090000',
      '2026-02-30T09:00:00Z',
      '2026-11-02 09:00:00Z',
      'tomorrow',
      '20261102T250000Z',
      '2026-11-02T09:00:00+25:00',
    ])
      assert.equal(parseInstant(bad), undefined, bad);
  });
  it('refuses inverted, empty, missing and too long ranges with a reason', () => {
    assert.throws(() => parseRange('20261102T100000Z', '20261102T090000Z', max), /inverted/);
    assert.throws(() => parseRange('20261102T100000Z', '20261102T100000Z', max), /inverted or empty/);
    assert.throws(() => parseRange(undefined, '20261102T100000Z', max), /needs a start/);
    assert.throws(() => parseRange('20261102T100000Z', ['x'], max), /needs an end/);
    assert.throws(() => parseRange('20260101T000000Z', '20280101T000000Z', max), /too long: at most 366 days/);
    assert.deepEqual(parseRange('2026-11-02T09:00:00Z', '20261102T100000Z', max), { start: T(9), end: T(10) });
  });
});

describe('sharing rules', () => {
  const owner = 'bob@two.example';
  const alice: Asker = { kind: 'remote', address: 'alice@one.example', issuer: 'https://one.example/oidc' };
  const carol: Asker = { kind: 'local', address: 'carol@two.example' };
  const anon: Asker = { kind: 'anonymous' };
  const self: Asker = { kind: 'local', address: owner };
  const rule = (policy: string, allow: string[] = []) => parseSharingRule({ policy, allow });

  it('nobody: only the owner', () => {
    assert.deepEqual(
      [self, carol, alice, anon].map((a) => mayReadFreeBusy(rule('nobody'), owner, a)),
      [true, false, false, false],
    );
  });
  it('domain: the owner and the same domain, plus listed entries', () => {
    assert.deepEqual(
      [carol, alice, anon].map((a) => mayReadFreeBusy(rule('domain'), owner, a)),
      [true, false, false],
    );
    assert.equal(mayReadFreeBusy(rule('domain', ['one.example']), owner, alice), true);
  });
  it('list: addresses and domains, case-insensitive, "@domain" accepted', () => {
    assert.equal(mayReadFreeBusy(rule('list', ['Alice@One.Example']), owner, alice), true);
    assert.equal(mayReadFreeBusy(rule('list', ['@one.example']), owner, alice), true);
    assert.equal(mayReadFreeBusy(rule('list', ['one.example']), owner, carol), false);
  });
  it('anyone: even anonymous askers', () => {
    assert.equal(mayReadFreeBusy(rule('anyone'), owner, anon), true);
  });
  it('refuses malformed rules', () => {
    assert.throws(() => parseSharingRule({ policy: 'everyone' }), /policy must be one of/);
    assert.throws(() => parseSharingRule({ policy: 'list', allow: ['not an address@'] }), /not an address or a domain/);
    assert.throws(() => parseSharingRule({ policy: 'list', allow: 'a@b.c' }), /list of addresses/);
    assert.throws(() => parseSharingRule({ policy: 'list', extra: 1 }), /unknown member extra/);
    assert.throws(() => parseSharingRule(['list']), /is an object/);
  });
});

describe('rendering', () => {
  const result = {
    account: 'bob+x@two.example',
    range: { start: T(0), end: T(24) },
    busy: [
      { start: T(9), end: T(10), type: 'BUSY' as const },
      { start: T(13), end: T(14, 30), type: 'BUSY-TENTATIVE' as const },
    ],
    truncated: false,
  };

  it('VFREEBUSY that ical.js reads back: UTC periods, FBTYPEs, range, CRLF', () => {
    const text = freeBusyIcs(result, T(8));
    assert.ok(
      text
        .split('\n')
        .slice(0, -1)
        .every((l) => l.endsWith('\r')),
      'CRLF line endings',
    );
    const vfb = new ICAL.Component(ICAL.parse(text) as unknown as unknown[]).getFirstSubcomponent('vfreebusy')!;
    assert.equal(vfb.getFirstPropertyValue('organizer'), 'mailto:bob+x@two.example');
    assert.equal(String(vfb.getFirstPropertyValue('dtstart')), '2026-11-02T00:00:00Z');
    const periods = vfb.getAllProperties('freebusy').map((p) => {
      const v = p.getFirstValue() as ICAL.Period;
      return `${p.getParameter('fbtype')} ${v.start.toString()} ${v.end!.toString()}`;
    });
    assert.deepEqual(periods, [
      'BUSY 2026-11-02T09:00:00Z 2026-11-02T10:00:00Z',
      'BUSY-TENTATIVE 2026-11-02T13:00:00Z 2026-11-02T14:30:00Z',
    ]);
    assert.ok(vfb.getFirstPropertyValue('uid') && vfb.getFirstPropertyValue('dtstamp'));
  });

  it('JSON with RFC 3339 UTC times', () => {
    assert.deepEqual(freeBusyJson(result), {
      account: 'bob+x@two.example',
      start: '2026-11-02T00:00:00Z',
      end: '2026-11-03T00:00:00Z',
      busy: [
        { start: '2026-11-02T09:00:00Z', end: '2026-11-02T10:00:00Z', type: 'BUSY' },
        { start: '2026-11-02T13:00:00Z', end: '2026-11-02T14:30:00Z', type: 'BUSY-TENTATIVE' },
      ],
      truncated: false,
    });
  });

  it('folds at 75 octets without splitting UTF-8', () => {
    const line = `COMMENT:${'ä'.repeat(60)}`;
    const folded = foldLine(line);
    for (const part of folded.split('\r\n')) assert.ok(Buffer.byteLength(part) <= 75);
    assert.equal(folded.replace(/\r\n /g, ''), line);
    assert.equal(mailto('jö rg@x.example'), 'mailto:j%C3%B6%20rg@x.example');
  });
});
