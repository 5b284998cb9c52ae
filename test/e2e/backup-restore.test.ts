// `fingerpost backup` of a running server and `fingerpost restore` into an empty data directory
// (docs/operations.md), on SQLite and on PostgreSQL: what imapflow sees afterwards — UIDVALIDITY,
// UIDs, MODSEQ, flags, keywords and the exact bytes of every message — is what it saw before;
// the app password still signs in, the provider's signing keys and the imported calendar are back,
// and mail appended while the backup ran comes back whole.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { ImapFlow } from 'imapflow';
import { pgAvailable, peerSkip } from '../helpers/peers.ts';
import { tempPgDatabase } from '../helpers/pg.ts';
import { runCli, startTestServer, type TestServer } from '../helpers/server.ts';

const pgSkip = peerSkip('PostgreSQL', await pgAvailable(), 'start it: pg_ctlcluster 15 main start');
const sha = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');
type Login = { address: string; password: string };

const ICS = `BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//test//backup//EN\r\nBEGIN:VEVENT\r\nUID:backup-1@example.test\r\nDTSTAMP:20261201T090000Z\r\nDTSTART:20261210T090000Z\r\nDTEND:20261210T100000Z\r\nSUMMARY:kept across a restore\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n`;

function message(n: number, subject = 'kept'): Buffer {
  return Buffer.from(
    `From: bob@example.test\r\nSubject: ${subject} ${n}\r\nMessage-ID: <${subject}-${n}@example.test>\r\n\r\n${'x'.repeat(n * 97)}\r\n`,
  );
}

async function imap<T>(t: TestServer, login: Login, fn: (c: ImapFlow) => Promise<T>): Promise<T> {
  const c = new ImapFlow({
    host: '127.0.0.1',
    port: t.ports.imaps,
    secure: true,
    tls: { ca: t.ca, servername: 'localhost' },
    auth: { user: login.address, pass: login.password },
    logger: false,
  });
  c.on('error', () => {});
  await c.connect();
  try {
    return await fn(c);
  } finally {
    await c.logout().catch(() => {});
  }
}

/** Everything a caching IMAP client keys on, per mailbox. */
async function mailboxState(t: TestServer, login: Login, mailbox: string): Promise<unknown> {
  return imap(t, login, async (c) => {
    const box = await c.mailboxOpen(mailbox);
    const messages = [];
    if (box.exists)
      for await (const m of c.fetch('1:*', { uid: true, flags: true, source: true, internalDate: true }))
        messages.push({
          uid: m.uid,
          flags: [...(m.flags ?? [])].sort(),
          modseq: String(m.modseq),
          date: m.internalDate,
          sha: sha(m.source!),
        });
    // imapflow asks for MODSEQ itself once the server offers CONDSTORE.
    assert.ok(
      messages.every((m) => m.modseq !== 'undefined'),
      'MODSEQ is compared too',
    );
    return { uidValidity: String(box.uidValidity), uidNext: box.uidNext, messages };
  });
}

for (const engine of ['sqlite', 'postgres'] as const) {
  describe(`backup and restore (${engine})`, { skip: engine === 'postgres' ? pgSkip : false }, () => {
    const cleanups: Array<() => Promise<void>> = [];
    after(async () => {
      for (const c of cleanups.reverse()) await c().catch(() => {});
    });

    it('restores a running server into an empty data directory with every message, flag, UID, key and calendar as before', async () => {
      const scratch = await mkdtemp(path.join(os.tmpdir(), 'fp-backup-'));
      cleanups.push(() => rm(scratch, { recursive: true, force: true }));
      const [from, to] = [path.join(scratch, 'from'), path.join(scratch, 'to')];
      const env: Record<string, string> = {};
      const envTo: Record<string, string> = {};
      const store: Record<string, unknown> = {};
      const storeTo: Record<string, unknown> = {};
      if (engine === 'postgres') {
        for (const [target, e] of [
          [store, env],
          [storeTo, envTo],
        ] as const) {
          const pg = await tempPgDatabase();
          cleanups.push(pg.drop);
          target.url = pg.url;
          e.FINGERPOST_STORE_URL = pg.url;
        }
      }
      let t = await startTestServer({ dataDir: from, overrides: { store } });
      cleanups.push(() => t.close());
      const login = t.admin;

      await imap(t, login, async (c) => {
        await c.mailboxCreate('Archive');
        for (const n of [1, 2, 3, 4]) await c.append('INBOX', message(n));
        await c.append('Archive', message(5), ['\\Seen', '$Important']);
        await c.mailboxOpen('INBOX');
        await c.messageFlagsAdd('2', ['\\Flagged', '$label1']);
        await c.messageDelete('3');
        await c.mailboxCreate('Busy');
      });
      const app = await runCli(
        ['admin', 'app-password', 'create', login.address, '--name', 'phone', '--protocols', 'imap', '--data', from],
        { env },
      );
      assert.equal(app.code, 0, app.stderr);
      const appPassword = /secret: (\S+)/.exec(app.stdout)![1]!;
      const icsFile = path.join(scratch, 'event.ics');
      await writeFile(icsFile, ICS);
      const imported = await runCli(['admin', 'calendar', 'import', login.address, icsFile, '--data', from], { env });
      assert.equal(imported.code, 0, imported.stderr);
      const before = { inbox: await mailboxState(t, login, 'INBOX'), archive: await mailboxState(t, login, 'Archive') };
      const jwks = JSON.stringify(await t.services.idp.publicJwks());

      // Mail keeps arriving while the backup runs.
      let appending = true;
      let appended = 0;
      const busy = imap(t, login, async (c) => {
        while (appending) await c.append('Busy', message(++appended, 'busy'));
      });
      const backupDir = path.join(scratch, 'backup');
      const backup = await runCli(['backup', backupDir, '--data', from], { env });
      appending = false;
      await busy;
      assert.equal(backup.code, 0, backup.stderr);
      assert.match(backup.stdout, new RegExp(`backup of the ${engine} store written to`));
      assert.match(backup.stderr, /database snapshot: 1\/1/);
      const manifest = JSON.parse(await readFile(path.join(backupDir, 'manifest.json'), 'utf8'));
      assert.equal(manifest.engine, engine);
      await t.close();

      const again = await runCli(['backup', backupDir, '--data', from], { env });
      assert.equal(again.code, 1, 'a backup never writes into a directory that holds one');
      assert.match(again.stderr, /is not empty/);

      const restored = await runCli(['restore', backupDir, '--data', to], { env: envTo });
      assert.equal(restored.code, 0, restored.stderr);
      const twice = await runCli(['restore', backupDir, '--data', to], { env: envTo });
      assert.equal(twice.code, 1, 'a restore never overwrites a data directory in use');
      assert.match(twice.stderr, /restore only into an empty data directory/);

      t = await startTestServer({ dataDir: to, overrides: { store: storeTo } });
      assert.deepEqual({ inbox: await mailboxState(t, login, 'INBOX'), archive: await mailboxState(t, login, 'Archive') }, before);
      assert.equal(JSON.stringify(await t.services.idp.publicJwks()), jwks, 'the signing keys are back');
      await imap(t, { address: login.address, password: appPassword }, async (c) => {
        const box = await c.mailboxOpen('Busy');
        assert.ok(appended > 0);
        // Whatever part of the busy mail the snapshot caught is whole and in order.
        const subjects: string[] = [];
        if (box.exists)
          for await (const m of c.fetch('1:*', { source: true })) {
            const n = subjects.length + 1;
            assert.equal(sha(m.source!), sha(message(n, 'busy')));
            subjects.push(String(n));
          }
        assert.ok(subjects.length <= appended);
      });
      const calendars = await runCli(['admin', 'calendar', 'list', login.address, '--data', to], { env: envTo });
      assert.equal(calendars.code, 0, calendars.stderr);
      const calendarRows = calendars.stdout.split('\n').slice(1).filter(Boolean);
      assert.ok(
        calendarRows.some((row) => /^\S+\s+1\s/.test(row)),
        `the imported event is back in its calendar: ${calendars.stdout}`,
      );
    });
  });
}
