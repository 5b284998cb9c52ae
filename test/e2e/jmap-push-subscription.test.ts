// JMAP PushSubscription (RFC 8620 §7.2) delivered as Web Push to a receiver inside the test: an
// HTTPS server on port 0 that checks the VAPID signature (RFC 8292) against the session's key and
// really decrypts each message (RFC 8291 + RFC 8188 aes128gcm, with node:crypto ECDH and HKDF and
// the subscription's own keys) before reading the PushVerification and StateChange JSON.
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { importJWK, jwtVerify } from 'jose';
import { resourceIds } from '../../src/config/resources.ts';
import { caFetch } from '../helpers/https-fetch.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';
import { decryptPush, pushKeys } from '../helpers/web-push.ts';

const ALICE = 'alice@example.test';
const PASSWORD = 'push subscription test password';
const USING = ['urn:ietf:params:jmap:core', 'urn:ietf:params:jmap:mail'];

// biome-ignore lint/suspicious/noExplicitAny: JMAP answers are checked field by field
type Json = any;

/** The user agent's side of RFC 8291: its ECDH key pair and auth secret. */
const ua = pushKeys();

describe('JMAP PushSubscription with Web Push', () => {
  let t: TestServer;
  let dataDir: string;
  let receiver: https.Server;
  let pushUrl = '';
  let fetchCa: ReturnType<typeof caFetch>;
  let applicationServerKey = '';
  const received: Array<{ json: Json; headers: Record<string, unknown>; path: string }> = [];
  const waiters: Array<() => void> = [];
  const auth = `Basic ${Buffer.from(`${ALICE}:${PASSWORD}`).toString('base64')}`;

  async function jmap(methodCalls: unknown[], authorization = auth): Promise<Json[]> {
    const res = await fetchCa(`${t.baseUrl}/jmap/api`, {
      method: 'POST',
      headers: { authorization, 'content-type': 'application/json' },
      body: JSON.stringify({ using: USING, methodCalls }),
    });
    assert.equal(res.status, 200);
    return ((await res.json()) as Json).methodResponses;
  }

  /** The `count`-th push message (to `path` when given), once it arrived. */
  async function nextMessage(count: number, path?: string): Promise<Json> {
    const deadline = Date.now() + 15_000;
    const to = () => (path === undefined ? received : received.filter((m) => m.path === path));
    while (to().length < count) {
      if (Date.now() > deadline) throw new Error(`only ${to().length} push messages arrived`);
      await new Promise<void>((r) => {
        const timer = setTimeout(r, 500);
        waiters.push(() => {
          clearTimeout(timer);
          r();
        });
      });
    }
    return to()[count - 1]!;
  }

  before(async () => {
    dataDir = await mkdtemp(path.join(os.tmpdir(), 'fp-push-'));
    t = await startTestServer({
      dataDir,
      overrides: { calendar: { allow_private_addresses: true, ca_file: path.join(dataDir, 'tls', 'ca.pem') } },
    });
    await t.services.accounts.addUser({ address: ALICE, password: PASSWORD });
    fetchCa = caFetch(t.ca);
    // The receiver uses the server's certificate for localhost, issued by the CA the outbound client trusts.
    receiver = https.createServer(
      { cert: await readFile(path.join(dataDir, 'tls', 'server.pem')), key: await readFile(path.join(dataDir, 'tls', 'server.key')) },
      (req, res) => {
        const chunks: Buffer[] = [];
        req.on('data', (c: Buffer) => chunks.push(c));
        req.on('end', async () => {
          try {
            const body = Buffer.concat(chunks);
            assert.equal(req.method, 'POST');
            assert.equal(req.headers['content-encoding'], 'aes128gcm');
            const m = /^vapid t=([^,]+), k=(.+)$/.exec(String(req.headers.authorization));
            assert.ok(m, `VAPID authorization: ${req.headers.authorization}`);
            assert.equal(m[2], applicationServerKey, 'signed with the key the session announces');
            const point = Buffer.from(m[2]!, 'base64url');
            const key = await importJWK(
              { kty: 'EC', crv: 'P-256', x: point.subarray(1, 33).toString('base64url'), y: point.subarray(33).toString('base64url') },
              'ES256',
            );
            const { payload } = await jwtVerify(m[1]!, key, { audience: new URL(pushUrl).origin });
            assert.ok(payload.sub);
            received.push({ json: JSON.parse(decryptPush(body, ua)), headers: req.headers, path: req.url ?? '' });
          } catch (err) {
            received.push({ json: { error: String(err) }, headers: req.headers, path: req.url ?? '' });
          }
          res.writeHead(201).end();
          for (const w of waiters.splice(0)) w();
        });
      },
    );
    await new Promise<void>((r) => receiver.listen(0, '127.0.0.1', r));
    pushUrl = `https://localhost:${(receiver.address() as AddressInfo).port}/push/alice-phone`;
    const session = (await (await fetchCa(resourceIds(t.config).jmap, { headers: { authorization: auth } })).json()) as Json;
    applicationServerKey = session.capabilities['urn:ietf:params:jmap:webpush-vapid'].applicationServerKey;
    assert.equal(Buffer.from(applicationServerKey, 'base64url').length, 65);
  });
  after(async () => {
    receiver?.close();
    await t?.close();
    await rm(dataDir, { recursive: true, force: true });
  });

  it('refuses http URLs and bad keys, naming each property', async () => {
    const [[, r]] = await jmap([
      [
        'PushSubscription/set',
        {
          create: {
            plain: { deviceClientId: 'd1', url: 'http://localhost/push' },
            keys: { deviceClientId: 'd2', url: pushUrl, keys: { p256dh: 'AAAA', auth: 'BBBB' }, types: ['Nope'] },
          },
        },
        's',
      ],
    ]);
    assert.deepEqual(r.notCreated.plain.properties, ['url']);
    assert.deepEqual(r.notCreated.keys.properties.sort(), ['keys', 'types']);
  });

  it('create → encrypted PushVerification → verify → encrypted StateChange for the chosen types only', async () => {
    const far = new Date(Date.now() + 30 * 24 * 3600_000).toISOString().replace(/\.\d{3}Z$/, 'Z');
    const [[, created]] = await jmap([
      [
        'PushSubscription/set',
        {
          create: {
            p: {
              deviceClientId: 'alice-phone',
              url: pushUrl,
              keys: ua.keys,
              types: ['Email', 'Mailbox'],
              expires: far,
            },
          },
        },
        's',
      ],
    ]);
    const id = created.created.p.id;
    assert.ok(Date.parse(created.created.p.expires) < Date.parse(far), 'the server shortened the lifetime and said so');
    const verification = (await nextMessage(1)).json;
    assert.equal(verification['@type'], 'PushVerification', JSON.stringify(verification));
    assert.equal(verification.pushSubscriptionId, id);

    const [[, wrong]] = await jmap([['PushSubscription/set', { update: { [id]: { verificationCode: 'guess' } } }, 'w']]);
    assert.deepEqual(wrong.notUpdated[id].properties, ['verificationCode']);
    const [[, ok], [, got]] = await jmap([
      ['PushSubscription/set', { update: { [id]: { verificationCode: verification.verificationCode } } }, 'v'],
      ['PushSubscription/get', { ids: null }, 'g'],
    ]);
    assert.ok(Object.hasOwn(ok.updated, id));
    assert.equal(got.list[0].verificationCode, verification.verificationCode);
    assert.equal(got.list[0].url, undefined, 'url is never returned');
    assert.equal(got.list[0].keys, undefined, 'keys are never returned');
    // RFC 8620 §5.3: the whole object back is an update; a changed immutable value is named.
    const [[, whole]] = await jmap([['PushSubscription/set', { update: { [id]: { ...got.list[0], deviceClientId: 'other' } } }, 'w']]);
    assert.equal(whole.notUpdated[id].type, 'invalidProperties', JSON.stringify(whole));
    assert.deepEqual(whole.notUpdated[id].properties, ['deviceClientId']);
    const [[, back]] = await jmap([['PushSubscription/set', { update: { [id]: got.list[0] } }, 'b']]);
    assert.ok(Object.hasOwn(back.updated ?? {}, id), JSON.stringify(back));

    // An Identity change is not among the chosen types: nothing is sent for it.
    await jmap([
      [
        'Identity/set',
        { accountId: 'A' + (await t.services.directory.findByAddress(ALICE))!.id, create: { i: { name: 'x', email: ALICE } } },
        'i',
      ],
    ]);
    const accountId = `A${(await t.services.directory.findByAddress(ALICE))!.id}`;
    const [[, inbox]] = await jmap([['Mailbox/query', { accountId, filter: { role: 'inbox' } }, 'q']]);
    const [[, set]] = await jmap([
      [
        'Email/set',
        {
          accountId,
          create: {
            e: { mailboxIds: { [inbox.ids[0]]: true }, subject: 'push', textBody: [{ partId: 'b' }], bodyValues: { b: { value: 'x' } } },
          },
        },
        's',
      ],
    ]);
    const change = (await nextMessage(2)).json;
    assert.equal(change['@type'], 'StateChange', JSON.stringify(change));
    assert.deepEqual(Object.keys(change.changed[accountId]).sort(), ['Email', 'Mailbox']);
    assert.equal(change.changed[accountId].Email, set.newState);
    assert.equal(received.length, 2, 'the Identity change sent nothing');
  });

  it('destroy ends the subscription', async () => {
    const [[, got]] = await jmap([['PushSubscription/get', { ids: null }, 'g']]);
    const [[, destroyed]] = await jmap([['PushSubscription/set', { destroy: [got.list[0].id] }, 'd']]);
    assert.deepEqual(destroyed.destroyed, [got.list[0].id]);
    const [[, after]] = await jmap([['PushSubscription/get', { ids: null }, 'g']]);
    assert.deepEqual(after.list, []);
  });

  it("a grantee's subscription announces changes of the account shared with them (RFC 9670)", async () => {
    const BOB = 'bob@example.test';
    const bobAuth = `Basic ${Buffer.from(`${BOB}:${PASSWORD}`).toString('base64')}`;
    const bob = (await t.services.accounts.addUser({ address: BOB, password: PASSWORD })).account.id;
    const alice = `A${(await t.services.directory.findByAddress(ALICE))!.id}`;
    const [[, inbox]] = await jmap([['Mailbox/query', { accountId: alice, filter: { role: 'inbox' } }, 'q']]);
    const [[, shared]] = await jmap([
      ['Mailbox/set', { accountId: alice, update: { [inbox.ids[0]]: { [`shareWith/U${bob}`]: { mayReadItems: true } } } }, 's'],
    ]);
    assert.ok(shared.updated, JSON.stringify(shared));
    const start = received.length;
    const [[, created]] = await jmap(
      [['PushSubscription/set', { create: { p: { deviceClientId: 'bob-phone', url: pushUrl, keys: ua.keys, types: ['Email'] } } }, 's']],
      bobAuth,
    );
    const id = created.created.p.id;
    const verification = (await nextMessage(start + 1)).json;
    assert.equal(verification.pushSubscriptionId, id);
    await jmap([['PushSubscription/set', { update: { [id]: { verificationCode: verification.verificationCode } } }, 'v']], bobAuth);
    const [[, set]] = await jmap([
      [
        'Email/set',
        {
          accountId: alice,
          create: {
            e: {
              mailboxIds: { [inbox.ids[0]]: true },
              subject: 'for bob too',
              textBody: [{ partId: 'b' }],
              bodyValues: { b: { value: 'x' } },
            },
          },
        },
        's',
      ],
    ]);
    const change = (await nextMessage(start + 2)).json;
    assert.equal(change['@type'], 'StateChange', JSON.stringify(change));
    assert.deepEqual(change.changed, { [alice]: { Email: set.newState } }, "bob hears of alice's account, Email only");
  });

  it("an account's mailbox shared with `anyone` (RFC 4314 §2) announces its changes to a same-domain subscriber", async () => {
    const CAROL = 'carol@example.test';
    const carolAuth = `Basic ${Buffer.from(`${CAROL}:${PASSWORD}`).toString('base64')}`;
    await t.services.accounts.addUser({ address: CAROL, password: PASSWORD });
    const aliceId = (await t.services.directory.findByAddress(ALICE))!.id;
    const alice = `A${aliceId}`;
    const sharing = t.services.mail.sharing;
    const [[, archive]] = await jmap([['Mailbox/set', { accountId: alice, create: { a: { name: 'Team' } } }, 'm']]);
    const box = (await t.services.mail.getMailboxById(aliceId, Number(archive.created.a.id.slice(1))))!;
    await sharing.setIdentifierRights((await sharing.account(aliceId))!, box, 'anyone', 'lr');
    const carolPath = '/push/carol-phone';
    const [[, created]] = await jmap(
      [
        [
          'PushSubscription/set',
          { create: { p: { deviceClientId: 'carol-phone', url: new URL(carolPath, pushUrl).href, keys: ua.keys, types: ['Email'] } } },
          's',
        ],
      ],
      carolAuth,
    );
    const verification = (await nextMessage(1, carolPath)).json;
    assert.equal(verification.pushSubscriptionId, created.created.p.id);
    await jmap(
      [['PushSubscription/set', { update: { [created.created.p.id]: { verificationCode: verification.verificationCode } } }, 'v']],
      carolAuth,
    );
    const [[, set]] = await jmap([
      [
        'Email/set',
        {
          accountId: alice,
          create: {
            e: {
              mailboxIds: { [archive.created.a.id]: true },
              subject: 'for the team',
              textBody: [{ partId: 'b' }],
              bodyValues: { b: { value: 'x' } },
            },
          },
        },
        's',
      ],
    ]);
    const change = (await nextMessage(2, carolPath)).json;
    assert.equal(change['@type'], 'StateChange', JSON.stringify(change));
    assert.deepEqual(change.changed, { [alice]: { Email: set.newState } }, "carol hears of alice's account through anyone");
  });
});
