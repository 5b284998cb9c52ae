// JMAP Sieve (RFC 9661) over raw HTTPS: a script uploaded as a blob is created and activated by
// SieveScript/set, then a message sent to the MX by nodemailer is filed by it; invalid scripts are
// refused with invalidSieve (by /validate and /set), the script downloads byte for byte by its
// blobId, the active script cannot be destroyed, and the quota limits answer overQuota / tooLarge.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import nodemailer from 'nodemailer';
import { resourceIds } from '../../src/config/resources.ts';
import { caFetch } from '../helpers/https-fetch.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';

const JON = 'jon@example.test';
const PASSWORD = 'jmap sieve test password';
const USING = ['urn:ietf:params:jmap:core', 'urn:ietf:params:jmap:sieve'];
const SIEVE = 'urn:ietf:params:jmap:sieve';
const SCRIPT = `require ["fileinto", "mailbox"];\r\n# filed by JMAP — über\r\nif header :contains "subject" "[jmap]" {\r\n  fileinto :create "Filtered";\r\n}\r\n`;
const sha256 = (b: Buffer | string) => createHash('sha256').update(b).digest('hex');

// biome-ignore lint/suspicious/noExplicitAny: JMAP answers are checked field by field
type Json = any;

describe('JMAP Sieve', () => {
  let t: TestServer;
  let fetchCa: ReturnType<typeof caFetch>;
  let session: Json;
  let accountId: string;
  const auth = `Basic ${Buffer.from(`${JON}:${PASSWORD}`).toString('base64')}`;

  async function jmap(methodCalls: unknown[]): Promise<Json[]> {
    const res = await fetchCa(`${t.baseUrl}/jmap/api`, {
      method: 'POST',
      headers: { authorization: auth, 'content-type': 'application/json' },
      body: JSON.stringify({ using: USING, methodCalls }),
    });
    assert.equal(res.status, 200);
    return ((await res.json()) as Json).methodResponses;
  }

  async function upload(text: string): Promise<string> {
    const res = await fetchCa(session.uploadUrl.replace('{accountId}', accountId), {
      method: 'POST',
      headers: { authorization: auth, 'content-type': 'application/sieve' },
      body: text,
    });
    assert.equal(res.status, 201);
    return ((await res.json()) as Json).blobId;
  }

  before(async () => {
    t = await startTestServer({ domain: 'example.test', overrides: { queue: { enabled: false }, sieve: { max_scripts: 3 } } });
    fetchCa = caFetch(t.ca);
    await t.services.accounts.addUser({ address: JON, password: PASSWORD });
    session = await (await fetchCa(resourceIds(t.config).jmap, { headers: { authorization: auth } })).json();
    accountId = session.primaryAccounts[SIEVE];
  });
  after(() => t.close());

  it('announces urn:ietf:params:jmap:sieve with the [sieve] limits', () => {
    assert.deepEqual(session.capabilities[SIEVE], {});
    const caps = session.accounts[accountId].accountCapabilities[SIEVE];
    assert.equal(caps.maxNumberScripts, 3);
    assert.equal(caps.maxSizeScript, t.config.sieve.max_script_size);
    assert.equal(caps.maxNumberRedirects, t.config.sieve.max_redirects);
    assert.ok(caps.maxSizeScriptName >= 128);
    assert.ok(caps.sieveExtensions.includes('fileinto') && caps.sieveExtensions.includes('mailbox'));
    assert.equal(caps.notificationMethods, null);
    assert.equal(caps.externalLists, null);
    assert.equal(typeof caps.implementation, 'string');
  });

  let scriptId: string;
  let scriptBlob: string;

  it('creates and activates a script from an uploaded blob, and files delivered mail with it', async () => {
    scriptBlob = await upload(SCRIPT);
    const [set, get] = await jmap([
      ['SieveScript/set', { accountId, create: { s1: { name: 'main', blobId: scriptBlob } }, onSuccessActivateScript: '#s1' }, 'a'],
      ['SieveScript/get', { accountId, ids: null }, 'b'],
    ]);
    assert.equal(set[0], 'SieveScript/set', JSON.stringify(set));
    assert.equal(set[1].notCreated, null, JSON.stringify(set[1].notCreated));
    const created = set[1].created.s1;
    scriptId = created.id;
    assert.equal(created.isActive, true);
    assert.equal(created.blobId, scriptBlob, 'the script blob is the uploaded bytes');
    assert.notEqual(set[1].oldState, set[1].newState);
    assert.deepEqual(get[1].list, [{ id: scriptId, name: 'main', blobId: scriptBlob, isActive: true }]);
    assert.equal(get[1].state, set[1].newState);

    const mx = nodemailer.createTransport({ host: '127.0.0.1', port: t.ports.smtp, secure: false, ignoreTLS: true });
    await mx.sendMail({ from: 'ann@sender.example', to: JON, subject: '[jmap] filter me', text: 'Hello Jon' });
    await mx.sendMail({ from: 'ann@sender.example', to: JON, subject: 'plain', text: 'Hello again' });
    mx.close();
    const account = await t.services.directory.findByAddress(JON);
    const filtered = await t.services.mail.getMailbox(account!.id, 'Filtered');
    assert.ok(filtered, 'fileinto :create made the folder');
    assert.equal((await t.services.mail.listEntries(filtered.id)).length, 1);
    const inbox = await t.services.mail.getMailbox(account!.id, 'INBOX');
    assert.equal((await t.services.mail.listEntries(inbox!.id)).length, 1);
  });

  it('downloads the script through the download URL, byte for byte', async () => {
    const url = session.downloadUrl
      .replace('{accountId}', accountId)
      .replace('{blobId}', scriptBlob)
      .replace('{name}', 'main.sieve')
      .replace('{type}', 'application/sieve');
    const res = await fetchCa(url, { headers: { authorization: auth } });
    assert.equal(res.status, 200);
    assert.equal(sha256(Buffer.from(await res.arrayBuffer())), sha256(Buffer.from(SCRIPT, 'utf8')));
    // ManageSieve sees the same script: one store behind both protocols.
    const account = await t.services.directory.findByAddress(JON);
    assert.equal((await t.services.sieveScripts.active(account!.id))?.content, SCRIPT);
  });

  it('validates scripts: invalidSieve with the compiler message, null for a good one', async () => {
    const bad = await upload('require ["fileinto"];\nif header :contains "subject" "x" { fileinto "A" }\n');
    const unknown = await upload('require ["nonsense"];\nkeep;\n');
    const good = await upload('keep;\n');
    const r = await jmap([
      ['SieveScript/validate', { accountId, blobId: bad }, 'a'],
      ['SieveScript/validate', { accountId, blobId: unknown }, 'b'],
      ['SieveScript/validate', { accountId, blobId: good }, 'c'],
      ['SieveScript/validate', { accountId, blobId: `B${'0'.repeat(64)}` }, 'd'],
      ['SieveScript/set', { accountId, create: { x: { name: 'broken', blobId: bad } }, update: { [scriptId]: { blobId: unknown } } }, 'e'],
    ]);
    assert.equal(r[0][1].error.type, 'invalidSieve');
    assert.ok(r[0][1].error.description.length > 0);
    assert.equal(r[1][1].error.type, 'invalidSieve');
    assert.match(r[1][1].error.description, /nonsense/);
    assert.equal(r[2][1].error, null);
    assert.equal(r[3][1].error.type, 'blobNotFound');
    assert.equal(r[4][1].notCreated.x.type, 'invalidSieve');
    assert.equal(r[4][1].notUpdated[scriptId].type, 'invalidSieve');
    assert.equal(r[4][1].oldState, r[4][1].newState, 'nothing stored');
  });

  it('renames and replaces, queries, refuses destroying the active script, then deactivates and destroys', async () => {
    const other = await upload('keep;\n');
    const [created] = await jmap([['SieveScript/set', { accountId, create: { o: { name: 'other', blobId: other } } }, 'a']]);
    const otherId = created[1].created.o.id;
    const clash = await jmap([['SieveScript/set', { accountId, update: { [otherId]: { name: 'main' } } }, 'a']]);
    assert.equal(clash[0][1].notUpdated[otherId].type, 'alreadyExists');
    const [renamed, query, active] = await jmap([
      ['SieveScript/set', { accountId, update: { [otherId]: { name: 'a-other' } } }, 'a'],
      ['SieveScript/query', { accountId, sort: [{ property: 'name' }] }, 'b'],
      ['SieveScript/query', { accountId, filter: { isActive: true } }, 'c'],
    ]);
    assert.deepEqual(renamed[1].updated, { [otherId]: null });
    const replacement = await upload('discard;\n');
    const [replaced] = await jmap([['SieveScript/set', { accountId, update: { [otherId]: { blobId: replacement } } }, 'a']]);
    assert.deepEqual(replaced[1].updated, { [otherId]: { blobId: replacement } });
    assert.deepEqual(query[1].ids, [otherId, scriptId]);
    assert.deepEqual(active[1].ids, [scriptId]);

    const [refused] = await jmap([['SieveScript/set', { accountId, destroy: [scriptId] }, 'a']]);
    assert.equal(refused[1].notDestroyed[scriptId].type, 'scriptIsActive');

    const [changes] = await jmap([['SieveScript/changes', { accountId, sinceState: refused[1].oldState }, 'a']]);
    assert.equal(changes[1].newState, refused[1].oldState);
    const [stale] = await jmap([['SieveScript/changes', { accountId, sinceState: 'Vstale' }, 'a']]);
    assert.deepEqual(stale, ['error', { type: 'cannotCalculateChanges', description: stale[1].description }, 'a']);

    const [off] = await jmap([['SieveScript/set', { accountId, onSuccessDeactivateScript: true }, 'a']]);
    assert.deepEqual(off[1].updated, { [scriptId]: { isActive: false } });
    const [gone, get] = await jmap([
      ['SieveScript/set', { accountId, destroy: [scriptId] }, 'a'],
      ['SieveScript/get', { accountId, ids: [scriptId, otherId] }, 'b'],
    ]);
    assert.deepEqual(gone[1].destroyed, [scriptId]);
    assert.deepEqual(get[1].notFound, [scriptId]);
  });

  it('names a script created without a name, and refuses bytes that are not UTF-8', async () => {
    const keep = await upload('keep;\n');
    const latin1 = await fetchCa(session.uploadUrl.replace('{accountId}', accountId), {
      method: 'POST',
      headers: { authorization: auth, 'content-type': 'application/octet-stream' },
      body: Buffer.from('# caf\xe9\nkeep;\n', 'latin1') as unknown as string,
    });
    const [r] = await jmap([
      [
        'SieveScript/set',
        { accountId, create: { n: { name: null, blobId: keep }, l: { name: 'latin1', blobId: ((await latin1.json()) as Json).blobId } } },
        'a',
      ],
    ]);
    assert.match(r[1].created.n.name, /^script-\d+$/);
    assert.equal(r[1].notCreated.l.type, 'invalidSieve');
    const [gone] = await jmap([['SieveScript/set', { accountId, destroy: [r[1].created.n.id] }, 'a']]);
    assert.deepEqual(gone[1].destroyed, [r[1].created.n.id]);
  });

  it('answers overQuota past maxNumberScripts and tooLarge past maxSizeScript', async () => {
    const keep = await upload('keep;\n');
    const big = await upload(`# ${'x'.repeat(t.config.sieve.max_script_size)}\nkeep;\n`);
    const [r] = await jmap([
      [
        'SieveScript/set',
        {
          accountId,
          create: {
            a: { name: 'q1', blobId: keep },
            b: { name: 'q2', blobId: keep },
            c: { name: 'q3', blobId: keep },
            d: { name: 'big', blobId: big },
          },
        },
        'a',
      ],
    ]);
    assert.ok(r[1].created.a && r[1].created.b);
    assert.equal(r[1].notCreated.c.type, 'overQuota');
    assert.equal(r[1].notCreated.d.type, 'tooLarge');
  });
});
