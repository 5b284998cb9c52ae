// The contacts store against SQLite and PostgreSQL: byte-exact cards, UID conflicts, changes with
// tombstones, and the EMAIL index behind the "contacts" free/busy rule (LIKE wildcards escaped).
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { AccountAdmin } from '../../../src/admin/accounts.ts';
import { ContactsStore } from '../../../src/contacts/store.ts';
import { parseVcard, type VcardError } from '../../../src/contacts/vcard.ts';
import type { DirectoryAccount } from '../../../src/directory/directory.ts';
import { SqlDirectory } from '../../../src/directory/sql.ts';
import type { Db } from '../../../src/store/db.ts';
import { pgAvailable, peerSkip } from '../../helpers/peers.ts';
import { openTestDb } from '../../helpers/pg.ts';

const pgSkip = peerSkip('PostgreSQL', await pgAvailable(), 'start it: pg_ctlcluster 15 main start');
const card = (uid: string, ...lines: string[]) =>
  `BEGIN:VCARD\nVERSION:3.0\nFN:${uid}\nUID:${uid}\n${lines.map((l) => `${l}\n`).join('')}END:VCARD\n`;

describe('vCard reader', () => {
  it('names the line of a malformed vCard', () => {
    assert.throws(
      () => parseVcard('BEGIN:VCARD\nVERSION:4.0\nFN:x\nUID:u\nno colon here\nEND:VCARD\n'),
      (e: VcardError) => e.line === 5,
    );
    assert.throws(() => parseVcard('BEGIN:VCARD\nVERSION:2.1\nFN:x\nUID:u\nEND:VCARD\n'), /VERSION/);
    assert.throws(() => parseVcard(`${card('a')}${card('b')}`), /one vCard/);
  });
  it('reads folded lines, quoted parameters and EMAIL values', () => {
    const p = parseVcard(
      'BEGIN:VCARD\r\nVERSION:4.0\r\nFN:A\r\nUID:u-1\r\nEMAIL;TYPE="work,pref":Some.One@Exa\r\n mple.org\r\nEND:VCARD\r\n',
    );
    assert.deepEqual(p.emails, ['some.one@example.org']);
    assert.equal(p.uid, 'u-1');
  });
});

for (const dialect of ['sqlite', 'postgres'] as const) {
  describe(`contacts store (${dialect})`, { skip: dialect === 'postgres' ? pgSkip : false }, () => {
    let db: Db;
    let dispose: () => Promise<void> = async () => {};
    let store: ContactsStore;
    let ann: DirectoryAccount;

    before(async () => {
      ({ db, dispose } = await openTestDb(dialect, 'fp-contacts-'));
      const directory = new SqlDirectory(db);
      const admin = new AccountAdmin(db, directory);
      await admin.addDomain('one.example');
      ann = (await admin.addUser({ address: 'ann@one.example', password: 'correct horse battery' })).account;
      store = new ContactsStore(db);
    });
    after(async () => {
      await dispose();
    });

    it('keeps cards byte for byte, refuses a second card with one UID, and reports changes', async () => {
      const [book] = await store.ensureDefault(ann.id);
      assert.equal(book!.name, 'contacts');
      const text = card('x-1', 'EMAIL:a_b@two.example');
      await store.putCard(book!, 'x.vcf', text, parseVcard(text));
      assert.equal((await store.getCard(book!.id, 'x.vcf'))!.vcard, text);
      await assert.rejects(store.putCard(book!, 'y.vcf', text, parseVcard(text)), /already used/);
      const mid = (await store.getBook(ann.id, 'contacts'))!.modseq;
      await store.deleteCard(book!, 'x.vcf');
      const changes = await store.changesSince(book!.id, mid);
      assert.deepEqual(changes.removed, ['x.vcf']);
      assert.deepEqual(changes.changed, []);
    });

    it('finds addresses for the contacts rule, with LIKE wildcards taken literally', async () => {
      const [book] = await store.ensureDefault(ann.id);
      const text = card('m-1', 'EMAIL:Mom_1@Other.Example');
      await store.putCard(book!, 'm.vcf', text, parseVcard(text));
      assert.equal(await store.knows(ann.id, 'mom_1@other.example'), true);
      assert.equal(await store.knows(ann.id, 'MOM_1@other.example'), true);
      assert.equal(await store.knows(ann.id, 'momx1@other.example'), false, '_ is not a wildcard');
      assert.equal(await store.knows(ann.id, '%@other.example'), false, '% is not a wildcard');
      assert.equal(await store.knows(ann.id, 'om_1@other.example'), false, 'whole addresses only');
      assert.equal(await store.knowsDomain(ann.id, 'other.example'), true);
    });
  });
}
