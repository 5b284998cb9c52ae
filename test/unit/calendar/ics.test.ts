// Strict iCalendar reading: every malformed input is refused with the line that is wrong.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { IcsError, parseIcs } from '../../../src/calendar/ics.ts';
import { splitObjects } from '../../../src/calendar/objects.ts';

const wrap = (body: string) => `BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//test//EN\r\n${body}END:VCALENDAR\r\n`;
const event = (lines: string) =>
  wrap(`BEGIN:VEVENT\r\nUID:e1\r\nDTSTAMP:20260101T000000Z\r\n${lines.split('\n').filter(Boolean).join('\r\n')}\r\nEND:VEVENT\r\n`);

function refused(text: string, line: number | undefined, pattern: RegExp): void {
  assert.throws(
    () => splitObjects(parseIcs(text)),
    (err: unknown) => {
      assert.ok(err instanceof IcsError, `expected IcsError, got ${err}`);
      assert.equal(err.line, line, `line of "${err.message}"`);
      assert.match(err.message, pattern);
      if (line !== undefined) assert.match(err.message, new RegExp(`at line ${line}:`));
      return true;
    },
  );
}

describe('parseIcs: malformed input names the line', () => {
  const cases: Array<[string, string, number | undefined, RegExp]> = [
    ['a line without a colon', event('DTSTART:20261102T090000Z\nSUMMARY just text'), 8, /not a content line/],
    ['an invalid date-time', event('DTSTART:20261302T090000Z'), 7, /DTSTART value "20261302T090000Z" is not a date-time/],
    ['a date where VALUE=DATE says so', event('DTSTART;VALUE=DATE:2026110'), 7, /is not a date/],
    ['hour 25', event('DTSTART:20261102T250000Z'), 7, /not a date-time/],
    ['February 30', event('DTSTART:20260230T090000Z'), 7, /not a date-time/],
    ['an RRULE without FREQ', event('DTSTART:20261102T090000Z\nRRULE:COUNT=3'), 8, /RRULE is invalid: FREQ is required/],
    ['an RRULE with a bad frequency', event('DTSTART:20261102T090000Z\nRRULE:FREQ=SOMETIMES'), 8, /RRULE is invalid/],
    ['COUNT and UNTIL together', event('DTSTART:20261102T090000Z\nRRULE:FREQ=DAILY;COUNT=2;UNTIL=20261201T000000Z'), 8, /COUNT and UNTIL/],
    ['a zero COUNT', event('DTSTART:20261102T090000Z\nRRULE:FREQ=DAILY;COUNT=0'), 8, /COUNT must be a positive integer/],
    ['DTEND before DTSTART', event('DTSTART:20261102T090000Z\nDTEND:20261102T080000Z'), 8, /DTEND is before DTSTART/],
    ['DTEND and DURATION', event('DTSTART:20261102T090000Z\nDTEND:20261102T100000Z\nDURATION:PT1H'), 9, /must not both appear/],
    ['a bad DURATION', event('DTSTART:20261102T090000Z\nDURATION:1 hour'), 8, /not a positive duration/],
    ['a VEVENT without DTSTART', event('SUMMARY:x'), 4, /VEVENT has no DTSTART/],
    ['a VEVENT without UID', wrap('BEGIN:VEVENT\r\nDTSTART:20261102T090000Z\r\nEND:VEVENT\r\n'), 4, /has no UID/],
    [
      'an unclosed component',
      'BEGIN:VCALENDAR\r\nBEGIN:VEVENT\r\nUID:x\r\nDTSTART:20261102T090000Z\r\nEND:VCALENDAR\r\n',
      5,
      /END:VCALENDAR closes BEGIN:VEVENT from line 2/,
    ],
    ['a never-closed calendar', 'BEGIN:VCALENDAR\r\nVERSION:2.0\r\n', 1, /never closed/],
    ['a stray END', 'END:VEVENT\r\n', 1, /without a matching BEGIN/],
    ['text before BEGIN', 'hello\r\n', 1, /missing ":" after hello/],
    ['a property outside VCALENDAR', 'SUMMARY:x\r\n', 1, /outside BEGIN:VCALENDAR/],
    ['a root that is not VCALENDAR', 'BEGIN:VEVENT\r\nEND:VEVENT\r\n', 1, /expected BEGIN:VCALENDAR/],
    [
      'a FREEBUSY period in local time',
      wrap('BEGIN:VFREEBUSY\r\nUID:f\r\nFREEBUSY:20261102T090000/20261102T100000\r\nEND:VFREEBUSY\r\n'),
      6,
      /UTC periods/,
    ],
    ['an unterminated quoted parameter', event('DTSTART;TZID="Europe/Berlin:20261102T090000'), 7, /unterminated quoted/],
    ['a control character', event('DTSTART:20261102T090000Z\nSUMMARY:a\u0001b'), 8, /control character/],
    ['a continuation with nothing before it', ' folded\r\n', 1, /continuation line/],
    ['nothing at all', '', undefined, /no VCALENDAR/],
    [
      'two masters for one UID',
      wrap(
        'BEGIN:VEVENT\r\nUID:d\r\nDTSTART:20261102T090000Z\r\nEND:VEVENT\r\nBEGIN:VEVENT\r\nUID:d\r\nDTSTART:20261103T090000Z\r\nEND:VEVENT\r\n',
      ),
      8,
      /second VEVENT with UID d/,
    ],
  ];
  for (const [name, text, line, pattern] of cases) it(name, () => refused(text, line, pattern));

  // A "time zone" whose offset changes every minute would hold the server for minutes: ical.js
  // expands observance rules from their DTSTART to every year it converts.
  const zone = (rule: string) =>
    wrap(
      `BEGIN:VTIMEZONE\r\nTZID:Custom\r\nBEGIN:STANDARD\r\nDTSTART:19701025T030000\r\n${rule}\r\nTZOFFSETFROM:+0200\r\nTZOFFSETTO:+0100\r\nEND:STANDARD\r\nEND:VTIMEZONE\r\n`,
    );
  for (const [rule, pattern] of [
    ['RRULE:FREQ=MINUTELY', /STANDARD RRULE must be FREQ=YEARLY/],
    ['RRULE:FREQ=DAILY;BYMONTH=10', /must be FREQ=YEARLY/],
    ['RRULE:FREQ=YEARLY;BYMONTH=10;BYHOUR=1,2,3', /must not use BYHOUR/],
    ['RRULE:FREQ=YEARLY;BYMONTH=1,2,3,4,5,6,7,8,9,10,11,12;BYDAY=-1SU', /more than 1 BYMONTH value/],
    ['RRULE:FREQ=YEARLY;BYMONTH=10;BYDAY=MO,TU,WE,TH,FR,SA,SU', /more than 1 BYDAY value/],
    ['RRULE:FREQ=YEARLY;BYDAY=SU', /needs BYMONTH/],
  ] as const)
    it(`a time zone observance with ${rule}`, () => refused(zone(rule), 8, pattern));

  it('time zone observances as published (RFC 5545 §3.6.5, Outlook, tzurl) are read', () => {
    for (const rule of [
      'RRULE:FREQ=YEARLY;BYMONTH=10;BYDAY=-1SU',
      'RRULE:FREQ=YEARLY;BYDAY=-1SU;BYMONTH=10',
      'RRULE:FREQ=YEARLY;BYMONTH=4;BYDAY=1SU;UNTIL=19980404T070000Z',
      'RRULE:FREQ=YEARLY;BYDAY=SU;BYMONTHDAY=8,9,10,11,12,13,14;BYMONTH=3',
      'RRULE:FREQ=YEARLY;INTERVAL=1;BYMONTH=3;BYDAY=2SU;WKST=SU',
    ])
      assert.equal(parseIcs(zone(rule)).calendars.length, 1, rule);
  });

  it('counts physical lines through folding', () => {
    refused(event('SUMMARY:a long\n  folded summary\nDTSTART:2026'), 9, /DTSTART value "2026"/);
  });
});

describe('parseIcs: what it accepts', () => {
  it('folded lines, LF line endings, a BOM, quoted parameters and VTIMEZONE', () => {
    const text =
      '\uFEFFBEGIN:VCALENDAR\nVERSION:2.0\nPRODID:x\nBEGIN:VTIMEZONE\nTZID:Custom/Zone\nBEGIN:STANDARD\nDTSTART:19700101T000000\nTZOFFSETFROM:+0200\nTZOFFSETTO:+0200\nEND:STANDARD\nEND:VTIMEZONE\n' +
      'BEGIN:VEVENT\nUID:u1\nDTSTART;TZID="Custom/Zone":20261102T090000\nDTEND;TZID=Custom/Zone:20261102T100000\nSUMMARY:one\n  two\nATTENDEE;CN="Doe, Jane":mailto:jane@example.com\nEND:VEVENT\nEND:VCALENDAR\n';
    const { objects, warnings } = splitObjects(parseIcs(text));
    assert.deepEqual(warnings, []);
    assert.equal(objects.length, 1);
    assert.match(objects[0]!.ics, /BEGIN:VTIMEZONE/);
    assert.match(objects[0]!.ics, /SUMMARY:one two/);
    assert.match(objects[0]!.etag, /^"[A-Za-z0-9_-]+"$/);
  });

  it('groups a master and its overrides into one object and warns about undefined zones', () => {
    const text = wrap(
      'BEGIN:VEVENT\r\nUID:r\r\nDTSTART;TZID=Nowhere/Special:20261102T090000\r\nRRULE:FREQ=DAILY;COUNT=3\r\nEND:VEVENT\r\n' +
        'BEGIN:VEVENT\r\nUID:r\r\nRECURRENCE-ID;TZID=Nowhere/Special:20261103T090000\r\nDTSTART;TZID=Nowhere/Special:20261103T100000\r\nEND:VEVENT\r\n' +
        'BEGIN:VEVENT\r\nUID:s\r\nDTSTART:20261102T090000Z\r\nEND:VEVENT\r\n',
    );
    const { objects, warnings } = splitObjects(parseIcs(text));
    assert.deepEqual(
      objects.map((o) => o.uid),
      ['r', 's'],
    );
    assert.equal(objects[0]!.vcalendar.getAllSubcomponents('vevent').length, 2);
    assert.equal(warnings.length, 1);
    assert.match(warnings[0]!, /Nowhere\/Special/);
  });

  it('a single-object PUT body must hold exactly one UID', () => {
    const two = wrap(
      'BEGIN:VEVENT\r\nUID:a\r\nDTSTART:20261102T090000Z\r\nEND:VEVENT\r\nBEGIN:VEVENT\r\nUID:b\r\nDTSTART:20261102T090000Z\r\nEND:VEVENT\r\n',
    );
    assert.throws(() => splitObjects(parseIcs(two), { single: true }), /one UID, found 2/);
  });
});
