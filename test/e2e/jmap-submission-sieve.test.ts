// Mail sent through JMAP EmailSubmission (RFC 8621 §7.5) to a local user runs the recipient's
// Sieve script (RFC 5228) as SMTP delivery does: fileinto, and a Sieve vacation reply (RFC 5230).
// One automatic reply per sender: while the recipient's JMAP VacationResponse (RFC 8621 §8) is
// on, it alone answers and the script's vacation sends nothing (docs/sieve.md, docs/jmap.md).
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { caFetch } from '../helpers/https-fetch.ts';
import { jmapApi } from '../helpers/jmap-api.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';

const ALICE = 'alice@example.test';
const BOB = 'bob@example.test';
const CAROL = 'carol@example.test';
const PASSWORD = 'submission sieve test password';
const USING = [
  'urn:ietf:params:jmap:core',
  'urn:ietf:params:jmap:mail',
  'urn:ietf:params:jmap:submission',
  'urn:ietf:params:jmap:vacationresponse',
];
const SCRIPT = `require ["fileinto", "mailbox", "vacation"];
if header :contains "subject" "report" { fileinto :create "Reports"; }
vacation :days 1 :subject "Sieve says away" "I am away (Sieve).";
`;

// biome-ignore lint/suspicious/noExplicitAny: JMAP answers are checked field by field
type Json = any;

describe('JMAP submission to a local user runs the Sieve script', () => {
  let t: TestServer;
  let fetchCa: ReturnType<typeof caFetch>;
  let jmap: ReturnType<typeof jmapApi>;
  const ids: Record<string, string> = {};

  /** Sends a message from `from` to bob through Email/set + EmailSubmission/set. */
  async function send(from: string, subject: string): Promise<void> {
    const accountId = ids[from]!;
    const [[, identities], [, drafts]] = await jmap(from, [
      ['Identity/get', { accountId }, 'i'],
      ['Mailbox/query', { accountId, filter: { role: 'drafts' } }, 'd'],
    ]);
    const r = await jmap(from, [
      [
        'Email/set',
        {
          accountId,
          create: {
            m: {
              mailboxIds: { [drafts.ids[0]]: true },
              from: [{ email: from }],
              to: [{ email: BOB }],
              subject,
              textBody: [{ partId: 'b' }],
              bodyValues: { b: { value: `${subject} text` } },
            },
          },
        },
        'e',
      ],
      ['EmailSubmission/set', { accountId, create: { s: { identityId: identities.list[0].id, emailId: '#m' } } }, 's'],
    ]);
    assert.ok(r[1][1].created?.s, JSON.stringify(r));
  }

  /** The subjects in `user`'s INBOX, or in the mailbox called `boxName`. */
  async function inbox(user: string, boxName?: string): Promise<string[]> {
    const [[, boxes]] = await jmap(user, [
      ['Mailbox/query', { accountId: ids[user], filter: boxName ? { name: boxName } : { role: 'inbox' } }, 'b'],
    ]);
    if (!boxes.ids.length) return [];
    const [, [, got]] = await jmap(user, [
      ['Email/query', { accountId: ids[user], filter: { inMailbox: boxes.ids[0] } }, 'q'],
      ['Email/get', { accountId: ids[user], '#ids': { resultOf: 'q', name: 'Email/query', path: '/ids' }, properties: ['subject'] }, 'g'],
    ]);
    return got.list.map((e: Json) => e.subject).sort();
  }

  /** Polls until `user`'s INBOX holds `n` messages (the JMAP auto-responder answers after delivery). */
  async function waitForInbox(user: string, n: number): Promise<string[]> {
    for (let i = 0; i < 100; i++) {
      const got = await inbox(user);
      if (got.length >= n) return got;
      await new Promise((r) => setTimeout(r, 100));
    }
    return inbox(user);
  }

  before(async () => {
    t = await startTestServer();
    fetchCa = caFetch(t.ca);
    jmap = jmapApi(fetchCa, () => t.baseUrl, PASSWORD, USING);
    for (const address of [ALICE, BOB, CAROL])
      ids[address] = `A${(await t.services.accounts.addUser({ address, password: PASSWORD })).account.id}`;
    const bob = Number(ids[BOB]!.slice(1));
    await t.services.sieveScripts.put(bob, 'main', SCRIPT);
    await t.services.sieveScripts.setActive(bob, 'main');
  });
  after(() => t.close());

  it('fileinto :create files a JMAP-submitted message; the sender gets one Sieve vacation reply', async () => {
    await send(ALICE, 'weekly report');
    assert.deepEqual(await inbox(BOB, 'Reports'), ['weekly report'], 'filed by the Sieve script');
    assert.deepEqual(await inbox(BOB), [], 'not in the INBOX');
    assert.deepEqual(await inbox(ALICE), ['Sieve says away']);
    await send(ALICE, 'another note');
    assert.deepEqual(await inbox(BOB), ['another note']);
    assert.deepEqual(await inbox(ALICE), ['Sieve says away'], 'once per sender and period (RFC 5230 §4.2)');
  });

  it('with the JMAP VacationResponse on, the sender gets that reply alone', async () => {
    const [[, on]] = await jmap(BOB, [
      [
        'VacationResponse/set',
        { accountId: ids[BOB], update: { singleton: { isEnabled: true, subject: 'JMAP says away', textBody: 'Away (JMAP).' } } },
        'v',
      ],
    ]);
    assert.ok(on.updated, JSON.stringify(on));
    await send(CAROL, 'hello bob');
    const replies = await waitForInbox(CAROL, 1);
    assert.deepEqual(replies, ['JMAP says away']);
    // The Sieve reply would have been delivered before the submission returned; check once more after the JMAP one.
    assert.deepEqual(await inbox(CAROL), ['JMAP says away'], 'no Sieve vacation reply besides');
  });
});
