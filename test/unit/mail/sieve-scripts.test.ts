// The Sieve script store (migration 041) against SQLite and PostgreSQL: one active script, the
// active one never deleted, renames, quotas, and the vacation reply record per handle and sender.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { AccountAdmin } from '../../../src/admin/accounts.ts';
import { isFingerpostError } from '../../../src/core/errors.ts';
import { SqlDirectory } from '../../../src/directory/sql.ts';
import { SieveScripts, badScriptName } from '../../../src/mail/sieve/scripts.ts';
import { claimVacation } from '../../../src/mail/sieve/vacation.ts';
import type { Db } from '../../../src/store/db.ts';
import { pgAvailable, peerSkip } from '../../helpers/peers.ts';
import { openTestDb } from '../../helpers/pg.ts';

const pgSkip = peerSkip('PostgreSQL', await pgAvailable(), 'start it: pg_ctlcluster 15 main start');

for (const dialect of ['sqlite', 'postgres'] as const) {
  describe(`Sieve script store (${dialect})`, { skip: dialect === 'postgres' ? pgSkip : false }, () => {
    let db: Db;
    let dispose: () => Promise<void> = async () => {};
    let account = 0;
    let scripts: SieveScripts;

    before(async () => {
      ({ db, dispose } = await openTestDb(dialect, 'fp-sieve-'));
      const admin = new AccountAdmin(db, new SqlDirectory(db));
      await admin.addDomain('example.test');
      account = (await admin.addUser({ address: 'a@example.test', password: 'sieve-store-pw-1' })).account.id;
      scripts = new SieveScripts(db, { maxScripts: 3, maxBytes: 100 });
    });
    after(async () => {
      await dispose();
    });

    it('stores, lists, activates one script at a time, renames and deletes', async () => {
      await scripts.put(account, 'one', 'keep;');
      await scripts.put(account, 'two', 'discard;');
      await scripts.setActive(account, 'one');
      await scripts.setActive(account, 'two');
      assert.deepEqual(
        (await scripts.list(account)).map((s) => [s.name, s.active]),
        [
          ['one', false],
          ['two', true],
        ],
      );
      assert.equal((await scripts.active(account))?.content, 'discard;');
      await scripts.put(account, 'two', 'keep;');
      assert.equal((await scripts.active(account))?.content, 'keep;', 'replacing keeps the active mark');
      await assert.rejects(scripts.delete(account, 'two'), (e) => isFingerpostError(e, 'conflict'));
      await assert.rejects(scripts.rename(account, 'one', 'two'), (e) => isFingerpostError(e, 'already_exists'));
      await scripts.rename(account, 'two', 'zwei');
      assert.equal((await scripts.active(account))?.name, 'zwei');
      await scripts.setActive(account, '');
      assert.equal(await scripts.active(account), undefined);
      await scripts.delete(account, 'zwei');
      await assert.rejects(scripts.setActive(account, 'nope'), (e) => isFingerpostError(e, 'not_found'));
    });

    it('bounds size and count (RFC 5804 §2.3 QUOTA)', async () => {
      assert.equal(await scripts.spaceFor(account, 'x', 101), 'maxsize');
      await scripts.put(account, 'b', 'keep;');
      await scripts.put(account, 'c', 'keep;');
      assert.equal(await scripts.spaceFor(account, 'd', 5), 'maxscripts');
      assert.equal(await scripts.spaceFor(account, 'c', 5), undefined, 'replacing does not count twice');
      await assert.rejects(scripts.put(account, 'd', 'keep;'), (e) => isFingerpostError(e, 'limit_exceeded'));
    });

    it('records one vacation reply per handle and sender per period (RFC 5230 §4.2)', async () => {
      const day = 86_400_000;
      assert.equal(await claimVacation(db, account, 'h', 'Bob@x.example', 3, 10 * day), true);
      assert.equal(await claimVacation(db, account, 'h', 'bob@x.example', 3, 12 * day), false);
      assert.equal(await claimVacation(db, account, 'other', 'bob@x.example', 3, 12 * day), true);
      assert.equal(await claimVacation(db, account, 'h', 'bob@x.example', 3, 13 * day + 1), true);
    });
  });
}

describe('script names (RFC 5804 §1.6)', () => {
  it('refuses empty, control characters, non-NFC and over-long names', () => {
    assert.equal(badScriptName('vacation'), undefined);
    assert.match(badScriptName('') ?? '', /empty/);
    assert.match(badScriptName('a\nb') ?? '', /control/);
    assert.match(badScriptName('e\u0301') ?? '', /NFC/);
    assert.match(badScriptName('x'.repeat(129)) ?? '', /at most/);
  });
});
