// vdirsyncer (CalDAV and CardDAV storages) against a running node: discovery from the bare URL,
// two-way sync of a calendar and an address book (uploads, downloads, deletions both ways), a
// conflict resolved by the configured side, khal reading the synced calendar, and khard (Debian)
// listing the synced address book and adding a contact that vdirsyncer uploads.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readdir, readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { ContactsStore } from '../../src/contacts/store.ts';
import { commandSkip } from '../helpers/peers.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';

const exec = promisify(execFile);
const vdirSkip = commandSkip('vdirsyncer', 'vdirsyncer');
const khalSkip = commandSkip('khal', 'khal');
const khardSkip = commandSkip('khard', 'khard', ['--version']);
const PASSWORD = 'correct horse battery staple';

const event = (uid: string, day: string, summary: string) =>
  `BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//test//EN\r\nBEGIN:VEVENT\r\nUID:${uid}\r\nDTSTAMP:20260101T000000Z\r\nDTSTART:202612${day}T100000Z\r\nDTEND:202612${day}T110000Z\r\nSUMMARY:${summary}\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n`;

describe('vdirsyncer and khal', { skip: vdirSkip }, () => {
  let srv: TestServer;
  let dir: string;
  let config: string;

  const vdir = async (...args: string[]) => {
    const { stdout, stderr } = await exec('sh', ['-c', `yes | vdirsyncer -c "${config}" ${args.join(' ')}`], { timeout: 120_000 });
    return stdout + stderr;
  };
  before(async () => {
    srv = await startTestServer({ domain: 'example.test' });
    dir = srv.dataDir;
    await srv.services.accounts.addUser({ address: 'eve@example.test', password: PASSWORD });
    config = path.join(dir, 'vdirsyncer.conf');
    const remote = (type: string) =>
      `type = "${type}"\nurl = "${srv.baseUrl}/"\nusername = "eve@example.test"\npassword = "${PASSWORD}"\nverify = "${srv.caFile}"\n`;
    await writeFile(
      config,
      `[general]\nstatus_path = "${dir}/vd-status/"\n\n` +
        `[pair cal]\na = "local_cal"\nb = "remote_cal"\ncollections = ["from a", "from b"]\nconflict_resolution = "b wins"\n\n` +
        `[storage local_cal]\ntype = "filesystem"\npath = "${dir}/vd-cal/"\nfileext = ".ics"\n\n[storage remote_cal]\n${remote('caldav')}\n` +
        `[pair card]\na = "local_card"\nb = "remote_card"\ncollections = ["from a", "from b"]\n\n` +
        `[storage local_card]\ntype = "filesystem"\npath = "${dir}/vd-card/"\nfileext = ".vcf"\n\n[storage remote_card]\n${remote('carddav')}`,
    );
  });
  after(async () => srv?.close());

  it('discovers the calendar and the address book from the bare URL and syncs both ways', async () => {
    const found = await vdir('discover');
    assert.match(found, /remote_cal:\s*\n\s*- "default"/);
    assert.match(found, /remote_card:\s*\n\s*- "contacts"/);
    await writeFile(path.join(dir, 'vd-cal/default/local-1.ics'), event('local-1', '10', 'From the laptop'));
    await writeFile(
      path.join(dir, 'vd-card/contacts/lp-1.vcf'),
      'BEGIN:VCARD\r\nVERSION:3.0\r\nFN:Local Person\r\nUID:lp-1\r\nEMAIL:lp@example.org\r\nEND:VCARD\r\n',
    );
    await writeFile(
      path.join(dir, 'vd-card/contacts/kp-2.vcf'),
      'BEGIN:VCARD\r\nVERSION:4.0\r\nFN:Kept Person\r\nUID:kp-2\r\nEND:VCARD\r\n',
    );
    const out = await vdir('sync');
    assert.match(out, /uploading\) item local-1/);
    assert.match(out, /uploading\) item lp-1/);
    // What vdirsyncer uploaded is on the server as it was written locally.
    const cal = await srv.services.calendar.store.getCalendar(
      (await srv.services.directory.findByAddress('eve@example.test'))!.id,
      'default',
    );
    const objects = await srv.services.calendar.store.listObjects(cal!.id);
    assert.deepEqual(
      objects.map((o) => o.uid),
      ['local-1'],
    );
    const stored = await srv.services.calendar.store.getObject(cal!.id, objects[0]!.name);
    assert.equal(stored!.ics, await readFile(path.join(dir, 'vd-cal/default/local-1.ics'), 'utf8'));

    // A server-side change, a server-side addition and a local deletion.
    await srv.services.calendar.putObject(
      (await srv.services.directory.findByAddress('eve@example.test'))!,
      'default',
      'remote-1.ics',
      event('remote-1', '11', 'From the phone'),
      {},
    );
    await rm(path.join(dir, 'vd-card/contacts/lp-1.vcf'));
    const out2 = await vdir('sync');
    assert.match(out2, /item remote-1 to local_cal/);
    assert.match(out2, /Deleting item lp-1/);
    assert.deepEqual((await readdir(path.join(dir, 'vd-cal/default'))).sort(), ['local-1.ics', 'remote-1.ics']);
    const eve = (await srv.services.directory.findByAddress('eve@example.test'))!;
    assert.equal(await new ContactsStore(srv.services.db).knows(eve.id, 'lp@example.org'), false, 'the card is gone from the server');
  });

  it('resolves a conflict by the configured side (the server wins)', async () => {
    const eve = (await srv.services.directory.findByAddress('eve@example.test'))!;
    const cal = (await srv.services.calendar.store.getCalendar(eve.id, 'default'))!;
    const name = (await srv.services.calendar.store.listObjects(cal.id)).find((o) => o.uid === 'local-1')!.name;
    await writeFile(path.join(dir, 'vd-cal/default/local-1.ics'), event('local-1', '10', 'Laptop edit'));
    await srv.services.calendar.putObject(eve, 'default', name, event('local-1', '10', 'Server edit'), {});
    await vdir('sync');
    assert.match(await readFile(path.join(dir, 'vd-cal/default/local-1.ics'), 'utf8'), /SUMMARY:Server edit/);
  });

  it('khal lists the synced events', { skip: khalSkip }, async () => {
    const khalConf = path.join(dir, 'khal.conf');
    await writeFile(
      khalConf,
      `[calendars]\n[[eve]]\npath = ${dir}/vd-cal/default/\n\n[locale]\ntimeformat = %H:%M\ndateformat = %Y-%m-%d\nlongdateformat = %Y-%m-%d\ndatetimeformat = %Y-%m-%d %H:%M\nlongdatetimeformat = %Y-%m-%d %H:%M\ndefault_timezone = UTC\nlocal_timezone = UTC\n`,
    );
    const { stdout } = await exec('khal', ['-c', khalConf, 'list', '2026-12-10', '3d'], {
      timeout: 60_000,
      env: { ...process.env, XDG_DATA_HOME: path.join(dir, 'khal-data') },
    });
    assert.match(stdout, /Server edit/);
    assert.match(stdout, /From the phone/);
  });

  it('khard lists the synced contacts, and a contact it adds reaches the server', { skip: khardSkip }, async () => {
    const khardConf = path.join(dir, 'khard.conf');
    await writeFile(khardConf, `[addressbooks]\n[[eve]]\npath = ${dir}/vd-card/contacts/\n\n[general]\ndefault_action = list\n`);
    const khard = (...args: string[]) =>
      exec('khard', ['-c', khardConf, ...args], { timeout: 60_000, env: { ...process.env, XDG_CONFIG_HOME: dir } });
    assert.match((await khard('list')).stdout, /Kept Person/);
    const yaml = path.join(dir, 'new-contact.yaml');
    await writeFile(yaml, 'First name : Nora\nLast name : Newcard\nEmail :\n    work : nora@example.org\n');
    await khard('new', '-a', 'eve', '-i', yaml);
    await vdir('sync');
    const eve = (await srv.services.directory.findByAddress('eve@example.test'))!;
    const contacts = new ContactsStore(srv.services.db);
    const book = (await contacts.getBook(eve.id, 'contacts'))!;
    const cards = await contacts.cards(book.id);
    assert.ok(
      cards.some((c) => c.vcard.includes('nora@example.org')),
      cards.map((c) => c.vcard).join('\n'),
    );
  });
});
