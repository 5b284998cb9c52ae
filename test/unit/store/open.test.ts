// Opening the store fails with one clear line (issue 2 "Bad input"): where, why, what to do, and
// never the database password.
import assert from 'node:assert/strict';
import net from 'node:net';
import { it } from 'node:test';
import { isFingerpostError } from '../../../src/core/errors.ts';
import { openDb } from '../../../src/store/db.ts';

it('an unreachable PostgreSQL is a store_failure naming the redacted URL and the cause, not a migration', async () => {
  const closed = await new Promise<number>((resolve) => {
    const s = net.createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address() as net.AddressInfo;
      s.close(() => resolve(port));
    });
  });
  await assert.rejects(openDb({ url: `postgres://fp:hunter2secret@127.0.0.1:${closed}/fp`, sqlitePath: '' }), (err) => {
    assert.ok(isFingerpostError(err, 'store_failure'));
    assert.match(
      err.message,
      new RegExp(`^cannot open the database at postgres://fp:\\*\\*\\*@127\\.0\\.0\\.1:${closed}/fp: .*ECONNREFUSED`),
    );
    assert.doesNotMatch(err.message, /migration/, 'no migration ran, so none is named');
    assert.doesNotMatch(err.message, /hunter2secret/);
    assert.equal(err.hint, 'check store.url and that PostgreSQL is running');
    return true;
  });
});
