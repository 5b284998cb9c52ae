// One storage quota, enforced everywhere (RFC 9208 IMAP QUOTA, RFC 9425 JMAP Quota, RFC 3463 X.2.2):
// an administrator sets it with the CLI; imapflow reads it with GETQUOTAROOT and gets OVERQUOTA on
// APPEND; raw IMAP sees GETQUOTA, the refused SETQUOTA and STATUS DELETED-STORAGE; JMAP clients
// see Quota/get, /changes, /query and overQuota from Email/import and Email/set; nodemailer gets
// 452 4.2.2 for a full mailbox and 552 5.2.2 for a message larger than the whole quota.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { ImapFlow } from 'imapflow';
import nodemailer from 'nodemailer';
import { resourceIds } from '../../src/config/resources.ts';
import { caFetch } from '../helpers/https-fetch.ts';
import { runCli, startTestServer, type TestServer } from '../helpers/server.ts';
import { LineClient } from '../helpers/wire.ts';

const ALICE = 'alice@example.test';
const PASSWORD = 'quota test password';
const USING = ['urn:ietf:params:jmap:core', 'urn:ietf:params:jmap:mail', 'urn:ietf:params:jmap:quota'];
const LIMIT = 8192;

// biome-ignore lint/suspicious/noExplicitAny: JMAP answers are checked field by field
type Json = any;

/** A message of exactly `size` octets. */
function message(subject: string, size: number): Buffer {
  const head = `From: bob@example.test\r\nTo: ${ALICE}\r\nSubject: ${subject}\r\nMessage-ID: <${subject}@example.test>\r\n\r\n`;
  const body = 'q'.repeat(size - head.length - 2);
  return Buffer.from(`${head}${body}\r\n`);
}

describe('storage quota across IMAP, JMAP and SMTP', () => {
  let t: TestServer;
  let fetchCa: ReturnType<typeof caFetch>;
  let accountId = '';
  let inbox = '';
  const auth = `Basic ${Buffer.from(`${ALICE}:${PASSWORD}`).toString('base64')}`;

  async function jmap(methodCalls: unknown[]): Promise<Json[]> {
    const res = await fetchCa(`${t.baseUrl}/jmap/api`, {
      method: 'POST',
      headers: { authorization: auth, 'content-type': 'application/json' },
      body: JSON.stringify({ using: USING, methodCalls }),
    });
    assert.equal(res.status, 200);
    return ((await res.json()) as Json).methodResponses;
  }

  async function upload(bytes: Buffer): Promise<string> {
    const res = await fetchCa(`${t.baseUrl}/jmap/upload/${accountId}`, {
      method: 'POST',
      headers: { authorization: auth, 'content-type': 'message/rfc822' },
      body: bytes as unknown as string,
    });
    assert.equal(res.status, 201);
    return ((await res.json()) as Json).blobId;
  }

  async function imapflow(): Promise<ImapFlow> {
    const c = new ImapFlow({
      host: '127.0.0.1',
      port: t.ports.imaps,
      secure: true,
      tls: { ca: t.ca, servername: 'localhost' },
      auth: { user: ALICE, pass: PASSWORD },
      logger: false,
    });
    await c.connect();
    return c;
  }

  before(async () => {
    t = await startTestServer();
    await t.services.accounts.addUser({ address: ALICE, password: PASSWORD });
    fetchCa = caFetch(t.ca);
    const session = (await (await fetchCa(resourceIds(t.config).jmap, { headers: { authorization: auth } })).json()) as Json;
    accountId = session.primaryAccounts['urn:ietf:params:jmap:quota'];
    assert.ok(accountId, 'the quota capability is an account capability');
    assert.deepEqual(session.capabilities['urn:ietf:params:jmap:quota'], {});
    inbox = (await jmap([['Mailbox/query', { accountId, filter: { role: 'inbox' } }, 'q']]))[0][1].ids[0];
  });
  after(() => t.close());

  it('no quota root and no Quota object before the administrator sets a limit', async () => {
    const [[name, got]] = await jmap([['Quota/get', { accountId, ids: null }, 'g']]);
    assert.equal(name, 'Quota/get', JSON.stringify(got));
    assert.deepEqual(got.list, []);
    const c = await imapflow();
    try {
      assert.deepEqual(await c.getQuota('INBOX'), { path: 'INBOX' }, 'GETQUOTAROOT names no root');
    } finally {
      await c.logout();
    }
  });

  it('the admin CLI sets the limit; JMAP and IMAP report the same use', async () => {
    const [[, before]] = await jmap([['Quota/get', { accountId, ids: null }, 'g']]);
    const cli = await runCli(['admin', 'user', 'quota', ALICE, '8K', '--data', t.dataDir], { env: { FINGERPOST_LOG_LEVEL: 'silent' } });
    assert.equal(cli.code, 0, cli.stderr);
    assert.match(cli.stdout, /0 octets used of 8192/);

    const first = message('first', 3000);
    const blobId = await upload(first);
    const [[, imported]] = await jmap([['Email/import', { accountId, emails: { a: { blobId, mailboxIds: { [inbox]: true } } } }, 'i']]);
    assert.ok(imported.created?.a, JSON.stringify(imported));

    const [[, changes], [, got], [, query]] = await jmap([
      ['Quota/changes', { accountId, sinceState: before.state }, 'c'],
      ['Quota/get', { accountId, ids: null }, 'g'],
      ['Quota/query', { accountId, filter: { resourceType: 'octets', type: 'Email' }, sort: [{ property: 'used' }] }, 'q'],
    ]);
    assert.deepEqual(changes.created, [got.list[0].id], 'the limit made the Quota object');
    assert.equal(got.list[0].used, 3000);
    assert.equal(got.list[0].hardLimit, LIMIT);
    assert.equal(got.list[0].resourceType, 'octets');
    assert.equal(got.list[0].scope, 'account');
    assert.equal(got.state, changes.newState);
    assert.deepEqual(query.ids, [got.list[0].id]);

    const c = await imapflow();
    try {
      const q = (await c.getQuota('INBOX')) as Json;
      assert.equal(q.path, 'INBOX');
      assert.deepEqual(q.storage, { usage: 3 * 1024, limit: LIMIT, status: '38%' }, JSON.stringify(q));
    } finally {
      await c.logout();
    }
  });

  it('imapflow APPEND past the limit gets NO [OVERQUOTA] and nothing is stored', async () => {
    const c = await imapflow();
    try {
      await c.append('INBOX', message('second', 3000));
      const err = (await c.append('INBOX', message('third', 3000)).catch((e: unknown) => e)) as Json;
      assert.equal(err?.serverResponseCode, 'OVERQUOTA', `${err} ${JSON.stringify(err)}`);
      const status = await c.status('INBOX', { messages: true });
      assert.ok(status);
      assert.equal(status.messages, 2);
    } finally {
      await c.logout();
    }
  });

  it('JMAP Email/import and Email/set past the limit are overQuota; Quota/changes reports the use', async () => {
    const [[, before]] = await jmap([['Quota/get', { accountId, ids: null }, 'g']]);
    assert.equal(before.list[0].used, 6000);
    const blobId = await upload(message('fourth', 3000));
    const [[, imported], [, created]] = await jmap([
      ['Email/import', { accountId, emails: { a: { blobId, mailboxIds: { [inbox]: true } } } }, 'i'],
      [
        'Email/set',
        {
          accountId,
          create: {
            e: {
              mailboxIds: { [inbox]: true },
              subject: 'big',
              textBody: [{ partId: 'b' }],
              bodyValues: { b: { value: 'x'.repeat(3000) } },
            },
          },
        },
        's',
      ],
    ]);
    assert.equal(imported.notCreated?.a?.type, 'overQuota', JSON.stringify(imported));
    assert.equal(created.notCreated?.e?.type, 'overQuota', JSON.stringify(created));
    const [[, unchanged]] = await jmap([['Quota/changes', { accountId, sinceState: before.state }, 'c']]);
    assert.deepEqual(unchanged.updated, [], 'refused writes change nothing');
  });

  it('SMTP: a full mailbox is 452 4.2.2, a message larger than the quota 552 5.2.2', async () => {
    const mx = nodemailer.createTransport({ host: '127.0.0.1', port: t.ports.smtp, secure: false, ignoreTLS: true });
    const send = (size: number) =>
      mx.sendMail({ envelope: { from: 'bob@example.test', to: [ALICE] }, raw: message(`smtp${size}`, size) }).then(
        () => 'accepted',
        (e: { responseCode?: number; response?: string }) => `${e.responseCode} ${e.response}`,
      );
    assert.match(await send(3000), /^452 452 4\.2\.2 /);
    // Room for a small one, but never for one larger than the whole quota.
    assert.equal(await send(1000), 'accepted');
    assert.match(await send(LIMIT + 1), /^552 552 5\.2\.2 /);
  });

  it('raw IMAP: capabilities, GETQUOTA, SETQUOTA refused, STATUS DELETED-STORAGE, expunge frees', async () => {
    const c = await LineClient.connect(t.ports.imaps, { tls: true, ca: t.ca });
    const cmd = (tag: string, text: string) => {
      c.write(`${tag} ${text}\r\n`);
      return c.until(new RegExp(`^${tag} (OK|NO|BAD)`));
    };
    await c.line();
    await cmd('l', `LOGIN ${ALICE} "${PASSWORD}"`);
    const caps = (await cmd('c', 'CAPABILITY')).join(' ');
    assert.match(caps, / QUOTA /);
    assert.match(caps, / QUOTA=RES-STORAGE /);
    const [[, before]] = await jmap([['Quota/get', { accountId, ids: null }, 'g']]);
    const octets: number = before.list[0].used;
    assert.ok(octets > 7000 && octets < 7168, 'two messages of 3000 and one delivery of 1000 with its Received field');
    const used = Math.ceil(octets / 1024);
    assert.deepEqual(await cmd('g', 'GETQUOTA ""'), [`* QUOTA "" (STORAGE ${used} 8)`, 'g OK GETQUOTA completed']);
    assert.match((await cmd('x', 'GETQUOTA "other"')).at(-1)!, /^x NO \[NONEXISTENT\]/);
    assert.match((await cmd('s', 'SETQUOTA "" (STORAGE 100000)')).at(-1)!, /^s NO \[NOPERM\]/);
    assert.match((await cmd('b', 'SETQUOTA "" (STORAGE x)')).at(-1)!, /^b BAD/);
    await cmd('e', 'SELECT INBOX');
    await cmd('f', 'STORE 1 +FLAGS.SILENT (\\Deleted)');
    assert.deepEqual((await cmd('t', 'STATUS INBOX (DELETED DELETED-STORAGE)'))[0], '* STATUS INBOX (DELETED 1 DELETED-STORAGE 3)');
    await cmd('x', 'EXPUNGE');
    assert.deepEqual((await cmd('r', 'GETQUOTAROOT INBOX')).slice(0, 2), [
      '* QUOTAROOT INBOX ""',
      `* QUOTA "" (STORAGE ${Math.ceil((octets - 3000) / 1024)} 8)`,
    ]);
    c.write('z LOGOUT\r\n');
    const [[, got]] = await jmap([['Quota/get', { accountId, ids: null }, 'g']]);
    assert.equal(got.list[0].used, octets - 3000, 'the expunge gave back exactly the message size');
  });
});
