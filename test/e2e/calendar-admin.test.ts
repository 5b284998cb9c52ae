// `fingerpost admin calendar …` on a data directory, as an admin runs it.
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { loadConfig } from '../../src/config/load.ts';
import { openServices } from '../../src/main.ts';
import { runCli } from '../helpers/server.ts';

const ICS = [
  'BEGIN:VCALENDAR',
  'VERSION:2.0',
  'PRODID:-//test//EN',
  'BEGIN:VEVENT',
  'UID:weekly',
  'DTSTAMP:20260101T000000Z',
  'DTSTART;TZID=America/New_York:20260302T090000',
  'DURATION:PT30M',
  'RRULE:FREQ=WEEKLY;COUNT=3',
  'END:VEVENT',
  'END:VCALENDAR',
  '',
].join('\r\n');

describe('fingerpost admin calendar', () => {
  let dir: string;
  const cli = (...args: string[]) => runCli(['admin', 'calendar', ...args, '--data', dir], { env: { FINGERPOST_LOG_LEVEL: 'silent' } });

  before(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'fp-caladm-'));
    const s = await openServices(loadConfig({ dataDir: dir, env: {} }));
    await s.accounts.addDomain('example.test');
    await s.accounts.addUser({ address: 'bob@example.test', password: 'correct horse battery staple' });
    await s.close();
    await writeFile(path.join(dir, 'good.ics'), ICS);
    await writeFile(path.join(dir, 'bad.ics'), ICS.replace('COUNT=3', 'COUNT=three'));
  });
  after(() => rm(dir, { recursive: true, force: true }));

  it('imports, refuses a malformed file with its line and exit code 2, and prints free/busy across the DST change', async () => {
    const ok = await cli('import', 'bob@example.test', path.join(dir, 'good.ics'));
    assert.equal(ok.code, 0, ok.stderr);
    assert.equal(ok.stdout, 'imported 1 objects into bob@example.test/default: 1 new, 0 changed, 0 unchanged\n');
    const bad = await cli('import', 'bob@example.test', path.join(dir, 'bad.ics'));
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /invalid iCalendar at line 9: RRULE is invalid: COUNT must be a positive integer/);
    const fb = await cli('freebusy', 'bob@example.test', '--from', '2026-03-01', '--to', '2026-03-20', '--format', 'json');
    assert.equal(fb.code, 0, fb.stderr);
    assert.deepEqual(
      JSON.parse(fb.stdout).busy.map((p: { start: string }) => p.start),
      ['2026-03-02T14:00:00Z', '2026-03-09T13:00:00Z', '2026-03-16T13:00:00Z'],
    );
    const inverted = await cli('freebusy', 'bob@example.test', '--from', '2026-03-20', '--to', '2026-03-01');
    assert.equal(inverted.code, 2);
    assert.match(inverted.stderr, /inverted/);
  });

  it('sharing: a domain default, an account rule over it, and refusal of bad rules', async () => {
    const def = await cli('sharing', 'default', 'example.test', '--policy', 'domain');
    assert.equal(def.stdout, 'example.test default: domain\n');
    const set = await cli('sharing', 'set', 'bob@example.test', '--policy', 'list', '--allow', 'Alice@One.Example, partner.example');
    assert.equal(set.stdout, 'bob@example.test: list allow alice@one.example,partner.example (from account)\n');
    const clear = await cli('sharing', 'clear', 'bob@example.test');
    assert.equal(clear.stdout, 'bob@example.test: domain (from domain)\n');
    const bad = await cli('sharing', 'set', 'bob@example.test', '--policy', 'everyone');
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /policy must be one of nobody, list, contacts, domain, anyone/);
  });
});
