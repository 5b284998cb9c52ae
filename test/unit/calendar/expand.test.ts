// Recurrence expansion, time zones (VTIMEZONE, IANA, floating) and the free/busy mapping of events.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { END_OF_TIME, expandBusy, indexObject, RuleMatchesNothing } from '../../../src/calendar/expand.ts';
import { parseIcs } from '../../../src/calendar/ics.ts';
import { splitObjects } from '../../../src/calendar/objects.ts';
import { wallToUtc } from '../../../src/calendar/zones.ts';

const NY_VTIMEZONE = [
  'BEGIN:VTIMEZONE',
  'TZID:America/New_York',
  'BEGIN:DAYLIGHT',
  'DTSTART:20070311T020000',
  'RRULE:FREQ=YEARLY;BYMONTH=3;BYDAY=2SU',
  'TZOFFSETFROM:-0500',
  'TZOFFSETTO:-0400',
  'TZNAME:EDT',
  'END:DAYLIGHT',
  'BEGIN:STANDARD',
  'DTSTART:20071104T020000',
  'RRULE:FREQ=YEARLY;BYMONTH=11;BYDAY=1SU',
  'TZOFFSETFROM:-0400',
  'TZOFFSETTO:-0500',
  'TZNAME:EST',
  'END:STANDARD',
  'END:VTIMEZONE',
];

function calendar(...components: string[][]): string {
  return `${['BEGIN:VCALENDAR', 'VERSION:2.0', 'PRODID:-//test//EN', ...components.flat(), 'END:VCALENDAR'].join('\r\n')}\r\n`;
}

function vevent(...lines: string[]): string[] {
  return ['BEGIN:VEVENT', 'DTSTAMP:20260101T000000Z', ...lines, 'END:VEVENT'];
}

function only(text: string) {
  const { objects } = splitObjects(parseIcs(text));
  assert.equal(objects.length, 1);
  return objects[0]!.vcalendar;
}

const iso = (ms: number) => new Date(ms).toISOString().replace('.000', '');
const range = (a: string, b: string) => ({ start: Date.parse(a), end: Date.parse(b) });
const opts = { zone: 'UTC', maxInstances: 10_000 };

function spans(text: string, r: { start: number; end: number }, o = opts) {
  return expandBusy(only(text), r, o).instances.map((i) => `${iso(i.start)}/${iso(i.end)} ${i.type}`);
}

describe('recurrence across a DST change', () => {
  const weekly = [
    'UID:standup',
    'DTSTART;TZID=America/New_York:20260302T090000',
    'DTEND;TZID=America/New_York:20260302T093000',
    'RRULE:FREQ=WEEKLY;COUNT=3',
  ];
  const expected = [
    '2026-03-02T14:00:00Z/2026-03-02T14:30:00Z BUSY', // EST, UTC-5
    '2026-03-09T13:00:00Z/2026-03-09T13:30:00Z BUSY', // EDT from 8 March, UTC-4: same wall time
    '2026-03-16T13:00:00Z/2026-03-16T13:30:00Z BUSY',
  ];

  it('with the VTIMEZONE in the file (ical.js zone rules)', () => {
    assert.deepEqual(spans(calendar(NY_VTIMEZONE, vevent(...weekly)), range('2026-03-01T00:00:00Z', '2026-04-01T00:00:00Z')), expected);
  });

  it('with only an IANA TZID (zone data from Node)', () => {
    assert.deepEqual(spans(calendar(vevent(...weekly)), range('2026-03-01T00:00:00Z', '2026-04-01T00:00:00Z')), expected);
  });

  it('Europe/Berlin in October: 09:00 local stays 09:00 local', () => {
    const daily = vevent('UID:d', 'DTSTART;TZID=Europe/Berlin:20261024T090000', 'DURATION:PT1H', 'RRULE:FREQ=DAILY;COUNT=3');
    assert.deepEqual(spans(calendar(daily), range('2026-10-01T00:00:00Z', '2026-11-01T00:00:00Z')), [
      '2026-10-24T07:00:00Z/2026-10-24T08:00:00Z BUSY',
      '2026-10-25T08:00:00Z/2026-10-25T09:00:00Z BUSY',
      '2026-10-26T08:00:00Z/2026-10-26T09:00:00Z BUSY',
    ]);
  });

  it('a UTC UNTIL ends on the last instance whether or not the file defines the zone (east and west of UTC)', () => {
    // What Thunderbird writes: UNTIL is the UTC instant of the last instance (09:00 CET = 08:00Z).
    const berlin = vevent(
      'UID:u',
      'DTSTART;TZID=Europe/Berlin:20261102T090000',
      'DURATION:PT1H',
      'RRULE:FREQ=DAILY;UNTIL=20261105T080000Z',
    );
    const york = vevent(
      'UID:y',
      'DTSTART;TZID=America/New_York:20261102T090000',
      'DURATION:PT1H',
      'RRULE:FREQ=DAILY;UNTIL=20261105T140000Z',
    );
    const r = range('2026-11-01T00:00:00Z', '2026-12-01T00:00:00Z');
    const starts = (text: string, zone = 'UTC') =>
      expandBusy(only(text), r, { zone, maxInstances: 100 }).instances.map((i) => iso(i.start));
    const berlinStarts = ['2026-11-02T08:00:00Z', '2026-11-03T08:00:00Z', '2026-11-04T08:00:00Z', '2026-11-05T08:00:00Z'];
    assert.deepEqual(starts(calendar(berlin)), berlinStarts);
    assert.deepEqual(starts(calendar(berlin), 'Asia/Tokyo'), berlinStarts);
    assert.deepEqual(starts(calendar(york)), [
      '2026-11-02T14:00:00Z',
      '2026-11-03T14:00:00Z',
      '2026-11-04T14:00:00Z',
      '2026-11-05T14:00:00Z',
    ]);
    assert.deepEqual(starts(calendar(NY_VTIMEZONE, york)), starts(calendar(york)));
    // A floating DTSTART (read in the calendar's zone) with a UTC UNTIL, which RFC 5545 forbids but exporters write.
    const floating = vevent('UID:f', 'DTSTART:20261102T090000', 'DURATION:PT1H', 'RRULE:FREQ=DAILY;UNTIL=20261105T080000Z');
    assert.deepEqual(starts(calendar(floating), 'Europe/Berlin'), berlinStarts);
  });

  it('UTC EXDATEs and RECURRENCE-IDs match instances of a zone the file does not define', () => {
    const text = calendar(
      vevent('UID:z', 'DTSTART;TZID=Europe/Berlin:20261102T090000', 'DURATION:PT1H', 'RRULE:FREQ=DAILY;COUNT=4', 'EXDATE:20261103T080000Z'),
      vevent('UID:z', 'RECURRENCE-ID:20261104T080000Z', 'DTSTART:20261104T150000Z', 'DURATION:PT1H'),
    );
    assert.deepEqual(spans(text, range('2026-11-01T00:00:00Z', '2026-12-01T00:00:00Z')).sort(), [
      '2026-11-02T08:00:00Z/2026-11-02T09:00:00Z BUSY',
      '2026-11-04T15:00:00Z/2026-11-04T16:00:00Z BUSY',
      '2026-11-05T08:00:00Z/2026-11-05T09:00:00Z BUSY',
    ]);
  });

  it('a local time in the spring-forward gap reads with the offset before the gap (RFC 5545 §3.3.5)', () => {
    assert.equal(
      iso(wallToUtc({ year: 2026, month: 3, day: 8, hour: 2, minute: 30, second: 0 }, 'America/New_York')),
      '2026-03-08T07:30:00Z',
    );
    // In the fall-back overlap the first instant is chosen.
    assert.equal(
      iso(wallToUtc({ year: 2026, month: 11, day: 1, hour: 1, minute: 30, second: 0 }, 'America/New_York')),
      '2026-11-01T05:30:00Z',
    );
  });
});

describe('recurrence sets', () => {
  const r = range('2026-11-01T00:00:00Z', '2026-12-01T00:00:00Z');

  it('EXDATE removes, RDATE adds, a RECURRENCE-ID override moves and retypes one instance', () => {
    const text = calendar(
      vevent(
        'UID:x',
        'DTSTART:20261102T090000Z',
        'DTEND:20261102T100000Z',
        'RRULE:FREQ=DAILY;COUNT=4',
        'EXDATE:20261103T090000Z',
        'RDATE:20261120T150000Z',
      ),
      vevent('UID:x', 'RECURRENCE-ID:20261104T090000Z', 'DTSTART:20261104T130000Z', 'DTEND:20261104T140000Z', 'STATUS:TENTATIVE'),
    );
    assert.deepEqual(spans(text, r).sort(), [
      '2026-11-02T09:00:00Z/2026-11-02T10:00:00Z BUSY',
      '2026-11-04T13:00:00Z/2026-11-04T14:00:00Z BUSY-TENTATIVE',
      '2026-11-05T09:00:00Z/2026-11-05T10:00:00Z BUSY',
      '2026-11-20T15:00:00Z/2026-11-20T16:00:00Z BUSY',
    ]);
  });

  it('RDATE;VALUE=PERIOD adds instances with their own end, in their TZID, minus EXDATEs and overrides; DTSTART stays an instance without RRULE', () => {
    const text = calendar(
      NY_VTIMEZONE,
      vevent(
        'UID:p',
        'DTSTART:20261102T090000Z',
        'DTEND:20261102T100000Z',
        'RDATE;VALUE=PERIOD:20261110T090000Z/PT3H,20261111T090000Z/20261111T093000Z',
        'RDATE;VALUE=PERIOD;TZID=America/New_York:20261112T090000/PT1H',
        'RDATE;VALUE=PERIOD;TZID=Europe/Berlin:20261113T090000/PT1H',
        'RDATE:20261120T150000Z',
        'EXDATE:20261111T090000Z',
      ),
      vevent('UID:p', 'RECURRENCE-ID:20261110T090000Z', 'DTSTART:20261110T130000Z', 'DTEND:20261110T140000Z', 'STATUS:TENTATIVE'),
    );
    const expected = [
      '2026-11-02T09:00:00Z/2026-11-02T10:00:00Z BUSY',
      '2026-11-10T13:00:00Z/2026-11-10T14:00:00Z BUSY-TENTATIVE',
      '2026-11-12T14:00:00Z/2026-11-12T15:00:00Z BUSY',
      '2026-11-13T08:00:00Z/2026-11-13T09:00:00Z BUSY',
      '2026-11-20T15:00:00Z/2026-11-20T16:00:00Z BUSY',
    ];
    assert.deepEqual(spans(text, r).sort(), expected);
    // Indexed (as a PUT does) from the first to the last instance, with a zone for floating times.
    const index = indexObject(only(text), { zone: 'Europe/Berlin', maxInstances: 100 });
    assert.deepEqual([index.expand, iso(index.start), iso(index.end)], [1, '2026-11-02T09:00:00Z', '2026-11-20T16:00:00Z']);
  });

  it('a cancelled override frees its instance', () => {
    const text = calendar(
      vevent('UID:c', 'DTSTART:20261102T090000Z', 'DTEND:20261102T100000Z', 'RRULE:FREQ=DAILY;COUNT=2'),
      vevent('UID:c', 'RECURRENCE-ID:20261103T090000Z', 'DTSTART:20261103T090000Z', 'DTEND:20261103T100000Z', 'STATUS:CANCELLED'),
    );
    assert.deepEqual(spans(text, r), ['2026-11-02T09:00:00Z/2026-11-02T10:00:00Z BUSY']);
  });

  it('RANGE=THISANDFUTURE shifts every later instance', () => {
    const text = calendar(
      vevent('UID:t', 'DTSTART:20261102T090000Z', 'DTEND:20261102T100000Z', 'RRULE:FREQ=DAILY;COUNT=4'),
      vevent('UID:t', 'RECURRENCE-ID;RANGE=THISANDFUTURE:20261104T090000Z', 'DTSTART:20261104T110000Z', 'DTEND:20261104T120000Z'),
    );
    assert.deepEqual(spans(text, r).sort(), [
      '2026-11-02T09:00:00Z/2026-11-02T10:00:00Z BUSY',
      '2026-11-03T09:00:00Z/2026-11-03T10:00:00Z BUSY',
      '2026-11-04T11:00:00Z/2026-11-04T12:00:00Z BUSY',
      '2026-11-05T11:00:00Z/2026-11-05T12:00:00Z BUSY',
    ]);
  });

  it('only instances overlapping the window come back', () => {
    const text = calendar(vevent('UID:w', 'DTSTART:20260101T090000Z', 'DTEND:20260101T100000Z', 'RRULE:FREQ=WEEKLY'));
    assert.deepEqual(spans(text, range('2026-11-02T09:30:00Z', '2026-11-10T00:00:00Z')), [
      '2026-11-05T09:00:00Z/2026-11-05T10:00:00Z BUSY',
    ]);
  });

  it('an unbounded rule is capped at maxInstances and says so', () => {
    const text = calendar(vevent('UID:s', 'DTSTART:20261102T000000Z', 'DURATION:PT1S', 'RRULE:FREQ=SECONDLY'));
    const e = expandBusy(only(text), range('2026-11-02T00:00:00Z', '2026-12-02T00:00:00Z'), { zone: 'UTC', maxInstances: 500 });
    assert.equal(e.capped, true);
    assert.equal(e.instances.length, 500);
    // Index: open-ended rules reach the end of time without being walked.
    assert.equal(indexObject(only(text), { zone: 'UTC', maxInstances: 500 }).end, END_OF_TIME);
  });

  it('more than 500 EXDATEs in a row (where ical.js gives up) count as capped, not as an error', () => {
    const day = (i: number) => new Date(Date.UTC(2026, 10, 2 + i, 9)).toISOString().replace(/[-:]|\.000/g, '');
    const exdates = `EXDATE:${Array.from({ length: 600 }, (_, i) => day(i)).join(',')}`;
    const text = calendar(vevent('UID:x6', 'DTSTART:20261102T090000Z', 'DTEND:20261102T100000Z', 'RRULE:FREQ=DAILY;COUNT=1000', exdates));
    const e = expandBusy(only(text), range('2026-11-01T00:00:00Z', '2026-12-01T00:00:00Z'), opts);
    assert.deepEqual([e.instances.length, e.capped], [0, true]);
    assert.equal(indexObject(only(text), opts).end, END_OF_TIME);
  });

  it('a rule that matches no date is refused at indexing and cut off at expansion (the search is capped, not run until memory ends)', () => {
    for (const rule of ['FREQ=DAILY;BYMONTH=2;BYMONTHDAY=30', 'FREQ=MINUTELY;BYMONTH=4;BYMONTHDAY=31;UNTIL=20991231T000000Z']) {
      const text = calendar(vevent('UID:never', 'DTSTART:20261101T100000Z', 'DURATION:PT1H', `RRULE:${rule}`));
      // ical.js alone searched until memory ran out (minutes of a blocked event loop).
      assert.throws(() => indexObject(only(text), opts), RuleMatchesNothing, rule);
      const e = expandBusy(only(text), range('2027-01-01T00:00:00Z', '2027-02-01T00:00:00Z'), opts);
      assert.deepEqual([e.instances.length, e.capped], [0, true], rule);
    }
  });

  it('rare but real rules still expand: 29 February daily and hourly', () => {
    for (const rule of ['FREQ=DAILY;BYMONTH=2;BYMONTHDAY=29', 'FREQ=HOURLY;BYMONTH=2;BYMONTHDAY=29;BYHOUR=9']) {
      const text = calendar(vevent('UID:leap', 'DTSTART:20261101T090000Z', 'DURATION:PT1H', `RRULE:${rule}`));
      assert.equal(indexObject(only(text), opts).end, END_OF_TIME);
      // 2100 is no leap year: 2096 to 2104 is the longest gap there is.
      assert.deepEqual(spans(text, range('2096-01-01T00:00:00Z', '2104-12-31T00:00:00Z')), [
        '2096-02-29T09:00:00Z/2096-02-29T10:00:00Z BUSY',
        '2104-02-29T09:00:00Z/2104-02-29T10:00:00Z BUSY',
      ]);
    }
  });

  it('a COUNT larger than the cap is indexed as open-ended', () => {
    const text = calendar(vevent('UID:big', 'DTSTART:20261102T000000Z', 'DURATION:PT1M', 'RRULE:FREQ=MINUTELY;COUNT=100000'));
    const idx = indexObject(only(text), { zone: 'UTC', maxInstances: 1000 });
    assert.equal(idx.expand, 1);
    assert.equal(idx.end, END_OF_TIME);
  });

  it('a bounded rule is indexed from its first start to its last end', () => {
    const text = calendar(vevent('UID:b', 'DTSTART:20261102T090000Z', 'DTEND:20261102T100000Z', 'RRULE:FREQ=DAILY;UNTIL=20261105T090000Z'));
    const idx = indexObject(only(text), opts);
    assert.deepEqual([iso(idx.start), iso(idx.end), idx.expand], ['2026-11-02T09:00:00Z', '2026-11-05T10:00:00Z', 1]);
  });
});

describe('free/busy mapping of events (RFC 4791 §7.10)', () => {
  const r = range('2026-11-01T00:00:00Z', '2026-12-01T00:00:00Z');
  const one = (...extra: string[]) => spans(calendar(vevent('UID:m', 'DTSTART:20261102T090000Z', 'DTEND:20261102T100000Z', ...extra)), r);

  it('TRANSP:TRANSPARENT and STATUS:CANCELLED leave the time free', () => {
    assert.deepEqual(one('TRANSP:TRANSPARENT'), []);
    assert.deepEqual(one('STATUS:CANCELLED'), []);
  });
  it('STATUS:TENTATIVE is BUSY-TENTATIVE, CONFIRMED or absent is BUSY', () => {
    assert.deepEqual(one('STATUS:TENTATIVE'), ['2026-11-02T09:00:00Z/2026-11-02T10:00:00Z BUSY-TENTATIVE']);
    assert.deepEqual(one('STATUS:CONFIRMED'), ['2026-11-02T09:00:00Z/2026-11-02T10:00:00Z BUSY']);
  });
  it('Outlook out-of-office is BUSY-UNAVAILABLE', () => {
    assert.deepEqual(one('X-MICROSOFT-CDO-BUSYSTATUS:OOF'), ['2026-11-02T09:00:00Z/2026-11-02T10:00:00Z BUSY-UNAVAILABLE']);
  });
  it('a date-time DTSTART without end takes no time; an all-day date takes a day in the calendar zone', () => {
    assert.deepEqual(spans(calendar(vevent('UID:z', 'DTSTART:20261102T090000Z')), r), []);
    const allDay = calendar(vevent('UID:a', 'DTSTART;VALUE=DATE:20261102'));
    assert.deepEqual(spans(allDay, r, { zone: 'Europe/Berlin', maxInstances: 10 }), ['2026-11-01T23:00:00Z/2026-11-02T23:00:00Z BUSY']);
  });
  it('floating times are read in the calendar zone', () => {
    const floating = calendar(vevent('UID:f', 'DTSTART:20261102T090000', 'DTEND:20261102T100000'));
    assert.deepEqual(spans(floating, r, { zone: 'Asia/Tokyo', maxInstances: 10 }), ['2026-11-02T00:00:00Z/2026-11-02T01:00:00Z BUSY']);
  });
  it('VFREEBUSY objects contribute their periods; FREE ones do not', () => {
    const text = calendar([
      'BEGIN:VFREEBUSY',
      'UID:fb',
      'FREEBUSY;FBTYPE=BUSY-UNAVAILABLE:20261102T080000Z/PT2H,20261103T080000Z/20261103T090000Z',
      'FREEBUSY;FBTYPE=FREE:20261104T080000Z/PT1H',
      'END:VFREEBUSY',
    ]);
    assert.deepEqual(spans(text, r), [
      '2026-11-02T08:00:00Z/2026-11-02T10:00:00Z BUSY-UNAVAILABLE',
      '2026-11-03T08:00:00Z/2026-11-03T09:00:00Z BUSY-UNAVAILABLE',
    ]);
  });
  it('a simple event is indexed with its own period and type', () => {
    const idx = indexObject(
      only(calendar(vevent('UID:i', 'DTSTART:20261102T090000Z', 'DTEND:20261102T100000Z', 'STATUS:TENTATIVE'))),
      opts,
    );
    assert.deepEqual(idx, {
      expand: 0,
      fbtype: 'BUSY-TENTATIVE',
      start: Date.parse('2026-11-02T09:00:00Z'),
      end: Date.parse('2026-11-02T10:00:00Z'),
    });
  });
});

describe('skipping ahead to the window gives the same instances as walking from the start', () => {
  const rules = [
    'FREQ=DAILY',
    'FREQ=DAILY;BYDAY=MO,TU,WE,TH,FR',
    'FREQ=DAILY;INTERVAL=3',
    'FREQ=WEEKLY;BYDAY=MO,TH',
    'FREQ=WEEKLY;INTERVAL=2;BYDAY=TU',
    'FREQ=WEEKLY;INTERVAL=3;WKST=SU;BYDAY=SU,SA',
    'FREQ=MONTHLY;BYDAY=1TU',
    'FREQ=MONTHLY;BYDAY=-1FR',
    'FREQ=MONTHLY;BYMONTHDAY=15,-1',
    'FREQ=MONTHLY;INTERVAL=2',
    'FREQ=YEARLY;BYMONTH=3,10;BYDAY=-1SU',
    'FREQ=HOURLY;INTERVAL=5;BYHOUR=8,9,10,11,12,13,14,15,16,17',
    'FREQ=MINUTELY;INTERVAL=97',
    'FREQ=DAILY;UNTIL=20280301T000000Z',
    'FREQ=WEEKLY;BYDAY=WE;BYSETPOS=1',
  ];
  const starts = [
    ['DTSTART;TZID=Europe/Berlin:20260110T093000', 'DURATION:PT45M'],
    ['DTSTART;TZID=America/New_York:20260105T230000', 'DTEND;TZID=America/New_York:20260106T010000'],
    ['DTSTART:20260107T120000Z', 'DURATION:PT2H'],
    ['DTSTART:20260108T080000', 'DURATION:PT30M'],
  ];
  const windows = [
    range('2027-03-20T00:00:00Z', '2027-04-10T00:00:00Z'),
    range('2027-10-25T00:00:00Z', '2027-11-08T00:00:00Z'),
    range('2026-02-01T00:00:00Z', '2026-02-03T00:00:00Z'),
  ];
  for (const rule of rules) {
    it(rule, () => {
      for (const [start, end] of starts) {
        const text = calendar(
          NY_VTIMEZONE,
          vevent('UID:ff', start!, end!, `RRULE:${rule}`, 'EXDATE:20270325T120000Z'),
          vevent('UID:ff', 'RECURRENCE-ID:20270401T120000Z', 'DTSTART:20270401T150000Z', 'DTEND:20270401T160000Z'),
        );
        const vcal = only(text);
        const o = { zone: 'Asia/Tokyo', maxInstances: 1_000_000 };
        for (const w of windows) {
          const walked = expandBusy(vcal, { start: Date.parse('2025-12-01T00:00:00Z'), end: w.end }, o)
            .instances.filter((i) => i.end > w.start && i.start < w.end)
            .map((i) => `${i.start}/${i.end}`)
            .sort();
          const skipped = expandBusy(vcal, w, o)
            .instances.map((i) => `${i.start}/${i.end}`)
            .sort();
          assert.deepEqual(skipped, walked, `${start} ${rule} ${iso(w.start)}`);
        }
      }
    });
  }
});
