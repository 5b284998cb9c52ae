// tsdav (npm) as a web calendar/contacts app against a running Fingerpost; run by dav-tsdav.test.ts
// with NODE_EXTRA_CA_CERTS set to the server's CA. Usage: node dav-tsdav.client.ts URL USER PASSWORD;
// prints one JSON line.
import { createDAVClient } from 'tsdav';

const [url, username, password] = process.argv.slice(2) as [string, string, string];
const event = (uid: string, start: string) =>
  `BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//tsdav test//EN\r\nBEGIN:VEVENT\r\nUID:${uid}\r\nDTSTAMP:20260101T000000Z\r\nDTSTART:${start}\r\nDURATION:PT1H\r\nSUMMARY:${uid}\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n`;

const out: Record<string, unknown> = {};
const cal = await createDAVClient({
  serverUrl: url,
  credentials: { username, password },
  authMethod: 'Basic',
  defaultAccountType: 'caldav',
});
const calendars = await cal.fetchCalendars();
out.calendars = calendars.map((c) => new URL(c.url).pathname);
const calendar = calendars.find((c) => c.url.endsWith('/default/'))!;
for (const [uid, start] of [
  ['nov', '20261103T100000Z'],
  ['dec', '20261203T100000Z'],
] as const)
  out[`put_${uid}`] = (await cal.createCalendarObject({ calendar, filename: `${uid}.ics`, iCalString: event(uid, start) })).status;
const inNovember = await cal.fetchCalendarObjects({
  calendar,
  timeRange: { start: '2026-11-01T00:00:00.000Z', end: '2026-12-01T00:00:00.000Z' },
});
out.november = inNovember.map((o) => new URL(o.url).pathname.split('/').at(-1));
out.november_data = inNovember[0]?.data;
const synced = await cal.syncCalendars({ oldCalendars: [{ ...calendar, syncToken: undefined }], detailedResult: true });
out.sync = synced.updated.map((c) => ({ token: Boolean(c.syncToken), objects: c.objects?.length }));

const card = await createDAVClient({
  serverUrl: url,
  credentials: { username, password },
  authMethod: 'Basic',
  defaultAccountType: 'carddav',
});
const books = await card.fetchAddressBooks();
out.books = books.map((b) => new URL(b.url).pathname);
out.put_card = (
  await card.createVCard({
    addressBook: books[0]!,
    filename: 'ann.vcf',
    vCardString: 'BEGIN:VCARD\r\nVERSION:3.0\r\nUID:ann\r\nFN:Ann\r\nEMAIL:ann@example.org\r\nEND:VCARD\r\n',
  })
).status;
out.cards = (await card.fetchVCards({ addressBook: books[0]! })).map((v) => v.data);
process.stdout.write(`${JSON.stringify(out)}\n`);
