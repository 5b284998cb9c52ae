// IMAP conformance by hand, the way an independent suite probes a server: hostile LIST patterns
// and search programs are bounded, numbers past 2^32-1 and invalid mailbox names are refused,
// UIDVALIDITY never repeats, subscriptions are their own list, CONDSTORE/QRESYNC responses carry
// what RFC 7162 asks, SENT* and address searches, NUL-free literals, new keywords announced,
// \Recent for IMAP4rev1 clients and MOVE within the selected mailbox; on SQLite and PostgreSQL.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { caFetch } from '../helpers/https-fetch.ts';
import { pgAvailable, peerSkip } from '../helpers/peers.ts';
import { tempPgDatabase } from '../helpers/pg.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';
import { LineClient } from '../helpers/wire.ts';

const ALICE = 'alice@example.test';
const PASSWORD = 'alice-password-1';

/** Sends a tagged command and returns every line up to and including its tagged answer. */
async function cmd(c: LineClient, tag: string, text: string, timeoutMs = 5000): Promise<string[]> {
  c.write(`${tag} ${text}\r\n`);
  return c.until(new RegExp(`^${tag} (OK|NO|BAD)`), timeoutMs);
}

async function loggedIn(t: TestServer): Promise<LineClient> {
  const c = await LineClient.connect(t.ports.imaps, { tls: true, ca: t.ca });
  assert.match((await c.line())!, /^\* OK /);
  assert.match((await cmd(c, 'l', `LOGIN ${ALICE} ${PASSWORD}`)).at(-1)!, /^l OK/);
  return c;
}

const pgSkip = peerSkip('PostgreSQL', await pgAvailable(), 'start it: pg_ctlcluster 15 main start');

for (const dialect of ['sqlite', 'postgres'] as const)
  describe(`IMAP conformance by hand (${dialect})`, { skip: dialect === 'postgres' ? pgSkip : false }, () => {
    let t: TestServer;
    let drop = async () => {};

    before(async () => {
      let url = '';
      if (dialect === 'postgres') ({ url, drop } = await tempPgDatabase());
      t = await startTestServer({
        domain: 'example.test',
        overrides: { imap: { metadata_max_size: 100, metadata_max_entries: 20 }, ...(url ? { store: { url } } : {}) },
      });
      await t.services.accounts.addUser({ address: ALICE, password: PASSWORD });
    });
    after(async () => {
      await t.close();
      await drop();
    });

    test('LIST with a pattern that used to backtrack for minutes answers at once; patterns and search programs are bounded', async () => {
      const c = await loggedIn(t);
      const name = 'abcdefghijklmnopqrstuvwxyz0123';
      assert.match((await cmd(c, 'c', `CREATE ${name}`)).at(-1)!, /^c OK/);
      assert.deepEqual((await cmd(c, 'a', 'LIST "" "*%*%*%*%*%*%z"')).slice(0, -1), []);
      assert.deepEqual((await cmd(c, 'b', 'LIST "" "*%*%*%*%*%*%3"')).slice(0, -1), [`* LIST (\\HasNoChildren) "/" ${name}`]);
      assert.match((await cmd(c, 'd', `LSUB "" "${'*%'.repeat(200)}z"`)).at(-1)!, /^d OK/);
      // Longer than any mailbox name could be, or too many patterns: BAD, and the session goes on.
      assert.match((await cmd(c, 'e', `LIST "" "${'*'.repeat(1025)}"`)).at(-1)!, /^e BAD /);
      assert.match((await cmd(c, 'f', `LIST "" (${Array.from({ length: 65 }, (_, i) => `p${i}`).join(' ')})`)).at(-1)!, /^f BAD /);
      await cmd(c, 's', 'SELECT INBOX');
      assert.match((await cmd(c, 'g', `SEARCH ${'OR BODY x '.repeat(40)}ALL`)).at(-1)!, /^g BAD /);
      assert.match((await cmd(c, 'h', `SEARCH BODY "${'x'.repeat(1025)}"`)).at(-1)!, /^h BAD /);
      assert.match((await cmd(c, 'i', `SEARCH ${'NOT '.repeat(40)}ALL`)).at(-1)!, /^i BAD /);
      assert.match((await cmd(c, 'n', 'NOOP')).at(-1)!, /^n OK/);
      c.close();
    });

    test('sequence numbers and UIDs past 2^32-1 are BAD at parse time, wherever they appear (RFC 9051 nz-number)', async () => {
      const c = await loggedIn(t);
      await cmd(c, 's', 'SELECT INBOX');
      for (const [tag, text] of [
        ['a', 'STORE 9007199254740993 (UNCHANGEDSINCE 1) +FLAGS (\\Seen)'],
        ['b', 'UID STORE 4294967296 +FLAGS (\\Seen)'],
        ['c', 'FETCH 1:4294967296 FLAGS'],
        ['d', 'UID FETCH 1,18446744073709551617 FLAGS'],
        ['e', 'SEARCH UID 4294967296'],
        ['f', 'UID COPY 4294967296 INBOX'],
        ['g', 'UID EXPUNGE 99999999999'],
        ['h', 'FETCH 0 FLAGS'],
        ['i', 'FETCH 01 FLAGS'],
        ['j', 'SELECT INBOX (QRESYNC (4294967296 1))'],
      ] as const) {
        assert.match((await cmd(c, tag, text)).at(-1)!, new RegExp(`^${tag} BAD \\[PARSE\\] `), text);
      }
      assert.match((await cmd(c, 'k', 'FETCH 1:4294967295 FLAGS')).at(-1)!, /^k OK/);
      c.close();
    });

    test('mailbox names with invalid UTF-8 or invalid modified UTF-7 are refused, never stored with U+FFFD', async () => {
      const c = await loggedIn(t);
      const before = await cmd(c, 'l0', 'LIST "" "*"');
      // A Latin-1 é is not UTF-8: an IMAP4rev1 client sending it raw gets BAD, whatever the command.
      for (const [tag, args] of [
        ['a', 'CREATE "Caf\xe9"'],
        ['b', 'CREATE "Caf\xe8"'],
        ['c', 'SELECT "Caf\xe9"'],
        ['d', 'RENAME INBOX "Caf\xe9"'],
        ['e', 'LIST "" "Caf\xe9*"'],
        ['f', 'STATUS "Caf\xe9" (MESSAGES)'],
      ] as const) {
        c.write(Buffer.from(`${tag} ${args}\r\n`, 'latin1'));
        assert.match((await c.until(new RegExp(`^${tag} (OK|NO|BAD)`))).at(-1)!, new RegExp(`^${tag} BAD `), args);
      }
      // Modified UTF-7 that is not canonical, unterminated, encodes printable ASCII or half a surrogate pair.
      for (const [tag, name] of [
        ['g', '&Jjo'],
        ['h', '&AGE-'],
        ['i', '&AOk-&AOk-'],
        ['j', '&2D0-'],
        ['k', '&AO*-'],
      ] as const) {
        assert.match((await cmd(c, tag, `CREATE "${name}"`)).at(-1)!, new RegExp(`^${tag} BAD `), name);
      }
      assert.deepEqual(await cmd(c, 'l1', 'LIST "" "*"'), [...before.slice(0, -1), 'l1 OK LIST completed']);
      // Valid forms still work: mUTF-7 for IMAP4rev1, raw UTF-8 taken as UTF-8.
      assert.match((await cmd(c, 'm', 'CREATE "Caf&AOk-"')).at(-1)!, /^m OK/);
      c.write(Buffer.from('n CREATE "Caf\xc3\xa8"\r\n', 'latin1'));
      assert.match((await c.until(/^n /)).at(-1)!, /^n OK/);
      assert.deepEqual((await cmd(c, 'o', 'LIST "" "Caf*"')).slice(0, -1), [
        '* LIST (\\HasNoChildren) "/" Caf&AOg-',
        '* LIST (\\HasNoChildren) "/" Caf&AOk-',
      ]);
      assert.ok(
        (await t.services.mail.listMailboxes((await t.services.directory.findByAddress(ALICE))!.id)).every(
          (m) => !m.name.includes('\ufffd'),
        ),
      );
      c.close();
    });

    test('DELETE + CREATE + APPEND at once never gives the same APPENDUID for a different message (RFC 9051 §2.3.1.1)', async () => {
      const c = await loggedIn(t);
      const appendUid = async (tag: string, subject: string) => {
        const body = `Subject: ${subject}\r\n\r\nx\r\n`;
        c.write(`${tag} APPEND Reused {${body.length}+}\r\n${body}\r\n`);
        return /\[APPENDUID (\d+) (\d+)\]/
          .exec((await c.until(new RegExp(`^${tag} `))).at(-1)!)!
          .slice(1)
          .map(Number);
      };
      const seen = new Set<string>();
      for (let round = 0; round < 3; round++) {
        assert.match((await cmd(c, `c${round}`, 'CREATE Reused')).at(-1)!, /OK/);
        const [validity, uid] = await appendUid(`a${round}`, `round ${round}`);
        assert.equal(uid, 1);
        assert.ok(!seen.has(`${validity}/${uid}`), `APPENDUID ${validity} ${uid} handed out twice`);
        seen.add(`${validity}/${uid}`);
        assert.equal((await cmd(c, `s${round}`, 'STATUS Reused (UIDVALIDITY)'))[0], `* STATUS Reused (UIDVALIDITY ${validity})`);
        assert.match((await cmd(c, `d${round}`, 'DELETE Reused')).at(-1)!, /OK/);
      }
      c.close();
    });

    test('subscriptions are their own list: CREATE does not subscribe, DELETE keeps it (NonExistent), RECURSIVEMATCH, LSUB Noselect, JMAP isSubscribed agrees', async () => {
      const c = await loggedIn(t);
      const list = async (tag: string, text: string) => (await cmd(c, tag, text)).slice(0, -1);
      assert.match((await cmd(c, 'c1', 'CREATE Fruit/Banana')).at(-1)!, /^c1 OK/);
      assert.deepEqual(await list('l1', 'LIST (SUBSCRIBED) "" "Fruit*"'), [], 'CREATE subscribes nothing, not even the parent');
      assert.deepEqual(await list('l2', 'LSUB "" "*"'), [
        '* LSUB () "/" INBOX',
        '* LSUB () "/" Drafts',
        '* LSUB () "/" Sent',
        '* LSUB () "/" Archive',
        '* LSUB () "/" Junk',
        '* LSUB () "/" Trash',
      ]);
      await cmd(c, 'c2', 'CREATE Fruit/Peach');
      assert.match((await cmd(c, 's1', 'SUBSCRIBE Fruit/Banana')).at(-1)!, /^s1 OK/);
      assert.match((await cmd(c, 's2', 'SUBSCRIBE Fruit/Peach')).at(-1)!, /^s2 OK/);
      assert.match((await cmd(c, 'd1', 'DELETE Fruit/Peach')).at(-1)!, /^d1 OK/);
      // RFC 5258 §3.1, example 2: the deleted mailbox stays subscribed and says so.
      assert.deepEqual(await list('l3', 'LIST (SUBSCRIBED) "" "Fruit/*"'), [
        '* LIST (\\HasNoChildren \\Subscribed) "/" Fruit/Banana',
        '* LIST (\\NonExistent \\Subscribed) "/" Fruit/Peach',
      ]);
      assert.deepEqual(await list('l4', 'LIST "" "Fruit/*" RETURN (SUBSCRIBED)'), [
        '* LIST (\\HasNoChildren \\Subscribed) "/" Fruit/Banana',
      ]);
      // RFC 5258 §3.5, example 8: a parent that is not subscribed, with a subscribed child the pattern misses.
      assert.deepEqual(
        (await list('l5', 'LIST (SUBSCRIBED RECURSIVEMATCH) "" "%"')).filter((l) => l.includes('Fruit')),
        ['* LIST (\\HasChildren) "/" Fruit ("CHILDINFO" ("SUBSCRIBED"))'],
      );
      assert.deepEqual(await list('l6', 'LIST (SUBSCRIBED RECURSIVEMATCH) "" "Fruit/*"'), [
        '* LIST (\\HasNoChildren \\Subscribed) "/" Fruit/Banana',
        '* LIST (\\NonExistent \\Subscribed) "/" Fruit/Peach',
      ]);
      // RFC 3501 §6.3.9: LSUB with % lists the unsubscribed parent of a subscribed child as \Noselect.
      assert.deepEqual(
        (await list('l7', 'LSUB "" "%"')).filter((l) => l.includes('Fruit')),
        ['* LSUB (\\Noselect) "/" Fruit'],
      );
      assert.deepEqual(await list('l8', 'LSUB "" "Fruit/*"'), ['* LSUB () "/" Fruit/Banana', '* LSUB () "/" Fruit/Peach']);
      // The subscription belongs to the name: a re-created mailbox is subscribed again; UNSUBSCRIBE works without the mailbox.
      await cmd(c, 'c3', 'CREATE Fruit/Peach');
      assert.deepEqual(await list('l9', 'LIST (SUBSCRIBED) "" "Fruit/Peach"'), ['* LIST (\\HasNoChildren \\Subscribed) "/" Fruit/Peach']);
      await cmd(c, 'd2', 'DELETE Fruit/Peach');
      assert.match((await cmd(c, 'u1', 'UNSUBSCRIBE Fruit/Peach')).at(-1)!, /^u1 OK/);
      assert.deepEqual(await list('l10', 'LIST (SUBSCRIBED) "" "Fruit/*"'), ['* LIST (\\HasNoChildren \\Subscribed) "/" Fruit/Banana']);
      assert.match((await cmd(c, 'u2', 'UNSUBSCRIBE Fruit/Peach')).at(-1)!, /^u2 NO \[NONEXISTENT\]/);
      assert.match((await cmd(c, 's3', 'SUBSCRIBE Nowhere')).at(-1)!, /^s3 NO \[NONEXISTENT\]/);
      // RENAME subscribes the new names of the subtree's subscribed mailboxes, and the old names
      // stay on the list (the server never drops a name by itself, RFC 9051 §6.3.7; so does Dovecot).
      assert.match((await cmd(c, 'r1', 'RENAME Fruit Food')).at(-1)!, /^r1 OK/);
      assert.deepEqual(await list('l11', 'LSUB "" "Food/*"'), ['* LSUB () "/" Food/Banana']);
      assert.deepEqual(await list('l12', 'LSUB "" "Fruit/*"'), ['* LSUB () "/" Fruit/Banana']);
      assert.deepEqual(await list('l12b', 'LIST (SUBSCRIBED) "" "Fruit/*"'), ['* LIST (\\NonExistent \\Subscribed) "/" Fruit/Banana']);
      assert.match((await cmd(c, 'u3', 'UNSUBSCRIBE Fruit/Banana')).at(-1)!, /^u3 OK/);

      // JMAP reads the same list (RFC 8621 §2 isSubscribed) and writes it.
      const fetchCa = caFetch(t.ca);
      const basic = `Basic ${Buffer.from(`${ALICE}:${PASSWORD}`).toString('base64')}`;
      const jmap = async (methodCalls: unknown[]) => {
        const res = await fetchCa(`${t.baseUrl}/jmap/api`, {
          method: 'POST',
          headers: { authorization: basic, 'content-type': 'application/json' },
          body: JSON.stringify({ using: ['urn:ietf:params:jmap:core', 'urn:ietf:params:jmap:mail'], methodCalls }),
        });
        assert.equal(res.status, 200);
        return ((await res.json()) as { methodResponses: Array<[string, Record<string, unknown>, string]> }).methodResponses;
      };
      const session = (await (await fetchCa(`${t.baseUrl}/jmap/session`, { headers: { authorization: basic } })).json()) as {
        primaryAccounts: Record<string, string>;
      };
      const accountId = session.primaryAccounts['urn:ietf:params:jmap:mail'];
      const got = (await jmap([['Mailbox/get', { accountId, properties: ['name', 'isSubscribed'] }, '0']]))[0]![1];
      const boxes = got.list as Array<{ id: string; name: string; isSubscribed: boolean }>;
      const food = boxes.find((b) => b.name === 'Food')!;
      const banana = boxes.find((b) => b.name === 'Banana')!;
      assert.equal(food.isSubscribed, false);
      assert.equal(banana.isSubscribed, true);
      const update = { [banana.id]: { isSubscribed: false }, [food.id]: { isSubscribed: true } };
      const set = (await jmap([['Mailbox/set', { accountId, update }, '0']]))[0]![1];
      assert.deepEqual(Object.keys(set.updated as object).sort(), [banana.id, food.id].sort());
      assert.deepEqual(await list('l13', 'LSUB "" "Food*"'), ['* LSUB () "/" Food']);
      c.close();
    });

    test('MOVE to the selected mailbox gives the messages new UIDs, like COPY + EXPUNGE (RFC 6851)', async () => {
      const c = await loggedIn(t);
      await cmd(c, 'c', 'CREATE Shuffle');
      for (const [i, flags] of ['(\\Flagged)', '()'].entries()) {
        const body = `Subject: shuffle ${i}\r\n\r\nx\r\n`;
        c.write(`a${i} APPEND Shuffle ${flags} {${body.length}+}\r\n${body}\r\n`);
        await c.until(new RegExp(`^a${i} OK`));
      }
      const sel = await cmd(c, 's', 'SELECT Shuffle');
      const validity = /UIDVALIDITY (\d+)/.exec(sel.join('\n'))![1];
      assert.deepEqual((await cmd(c, 'm', 'UID MOVE 1 Shuffle')).slice(0, -1), [
        `* OK [COPYUID ${validity} 1 3] Moved`,
        '* 1 EXPUNGE',
        '* 2 EXISTS',
        '* 2 RECENT',
      ]);
      assert.deepEqual((await cmd(c, 'f', 'FETCH 1:* (UID FLAGS)')).slice(0, -1), [
        '* 1 FETCH (UID 2 FLAGS (\\Recent))',
        '* 2 FETCH (UID 3 FLAGS (\\Recent \\Flagged))',
      ]);
      // By sequence number too, and the moved message keeps its identity (same EMAILID).
      const before = /EMAILID \((E\d+)\)/.exec((await cmd(c, 'e', 'FETCH 1 EMAILID'))[0]!)![1];
      assert.match((await cmd(c, 'm2', 'MOVE 1 Shuffle')).join('\n'), new RegExp(`COPYUID ${validity} 2 4`));
      assert.match((await cmd(c, 'e2', 'UID FETCH 4 EMAILID'))[0]!, new RegExp(`EMAILID \\(${before}\\)`));
      assert.match((await cmd(c, 'st', 'STATUS Shuffle (MESSAGES UIDNEXT)'))[0]!, /MESSAGES 2 UIDNEXT 5/);
      c.close();
    });

    test('with QRESYNC every untagged FETCH carries UID; with CONDSTORE those from STORE, \\Seen and others carry UID and MODSEQ (RFC 7162 §3.1, §3.2)', async () => {
      const setup = await loggedIn(t);
      await cmd(setup, 'c', 'CREATE Resync');
      for (const i of [1, 2, 3]) {
        const body = `Subject: resync ${i}\r\n\r\nbody ${i}\r\n`;
        setup.write(`a${i} APPEND Resync {${body.length}+}\r\n${body}\r\n`);
        await setup.until(new RegExp(`^a${i} OK`));
      }
      await cmd(setup, 's', 'SELECT Resync');
      const c = await loggedIn(t);
      await cmd(c, 'e', 'ENABLE QRESYNC');
      await cmd(c, 's', 'SELECT Resync');
      const uidOf = (line: string) => /\bUID (\d+)\b/.exec(line)?.[1];
      const fetches = (lines: string[]) => lines.filter((l) => / FETCH \(/.test(l));
      for (const [tag, text] of [
        ['a', 'STORE 1 +FLAGS (\\Answered)'],
        ['b', 'STORE 1 +FLAGS.SILENT (\\Flagged)'],
        ['c', 'FETCH 1 FLAGS'],
        ['d', 'FETCH 2 BODY[TEXT]'],
        ['e', 'FETCH 3 (RFC822.SIZE)'],
      ] as const) {
        // A response with a literal continues on the lines after it: check the whole answer.
        const out = (await cmd(c, tag, text))
          .slice(0, -1)
          .join('\n')
          .split(/\n(?=\* )/);
        assert.ok(out.length > 0 && out.every((l) => / FETCH \(/.test(l)), `${text} answers with FETCH`);
        for (const l of out) assert.ok(uidOf(l), `${text}: ${l}`);
      }
      // Another session's change arrives as an unsolicited FETCH with UID and MODSEQ.
      await cmd(setup, 'x', 'STORE 3 +FLAGS (\\Draft)');
      const pushed = fetches(await cmd(c, 'n', 'NOOP'));
      assert.equal(pushed.length, 1);
      assert.match(pushed[0]!, /^\* 3 FETCH \(UID 3 FLAGS \(\\Draft\) MODSEQ \(\d+\)\)$/);

      // CONDSTORE alone: STORE answers and the FETCH that sets \Seen carry UID and MODSEQ too.
      const d = await loggedIn(t);
      await cmd(d, 'e', 'ENABLE CONDSTORE');
      await cmd(d, 's', 'SELECT Resync');
      await cmd(d, 'u', 'STORE 1 -FLAGS (\\Seen)');
      for (const [tag, text] of [
        ['a', 'STORE 1 +FLAGS (\\Answered \\Flagged \\Draft)'],
        ['b', 'FETCH 1 BODY[TEXT]'],
      ] as const) {
        const out = (await cmd(d, tag, text))
          .slice(0, -1)
          .join('\n')
          .split(/\n(?=\* )/);
        assert.ok(out.length > 0 && out.every((l) => / FETCH \(/.test(l)), `${text} answers with FETCH`);
        for (const l of out) assert.match(l, /\bUID 1\b[\s\S]*MODSEQ \(\d+\)|MODSEQ \(\d+\)[\s\S]*\bUID 1\b/, `${text}: ${l}`);
      }
      setup.close();
      c.close();
      d.close();
    });

    test('ESEARCH MODSEQ is that of the returned messages; the first CONDSTORE-enabling command sends HIGHESTMODSEQ (RFC 4731 §3.2, RFC 7162 §3.1)', async () => {
      const c = await loggedIn(t);
      await cmd(c, 'c', 'CREATE Modseq');
      for (const i of [1, 2, 3]) {
        const body = `Subject: modseq ${i}\r\n\r\nx\r\n`;
        c.write(`a${i} APPEND Modseq {${body.length}+}\r\n${body}\r\n`);
        await c.until(new RegExp(`^a${i} OK`));
      }
      await cmd(c, 's', 'SELECT Modseq');
      // The first command that uses MODSEQ while a mailbox is selected announces HIGHESTMODSEQ.
      const first = await cmd(c, 'f', 'FETCH 1:3 (MODSEQ)');
      const highest = /^\* OK \[HIGHESTMODSEQ (\d+)\]/m.exec(first.join('\n'));
      assert.ok(highest, first.join('\n'));
      assert.ok(first.findIndex((l) => l.startsWith('* OK [HIGHESTMODSEQ')) < first.length - 1);
      assert.ok(!(await cmd(c, 'g', 'FETCH 1 (MODSEQ)')).some((l) => l.includes('HIGHESTMODSEQ')), 'only the first time');
      // Message 2 changes last, message 1 next: modseq(2) > modseq(1) > modseq(3).
      await cmd(c, 'u1', 'STORE 1 +FLAGS.SILENT (\\Flagged)');
      await cmd(c, 'u2', 'STORE 2 +FLAGS.SILENT (\\Flagged)');
      const modseqs = new Map(
        (await cmd(c, 'm', 'FETCH 1:3 (MODSEQ)')).flatMap((l) => {
          const m = /^\* (\d) FETCH \(.*MODSEQ \((\d+)\)/.exec(l);
          return m ? [[Number(m[1]), Number(m[2])] as const] : [];
        }),
      );
      const [m1, m2, m3] = [modseqs.get(1)!, modseqs.get(2)!, modseqs.get(3)!];
      assert.ok(m2 > m1 && m1 > m3);
      const esearch = async (tag: string, returns: string) => (await cmd(c, tag, `SEARCH RETURN (${returns}) MODSEQ 1`))[0]!;
      assert.equal(await esearch('e1', 'MIN'), `* ESEARCH (TAG "e1") MIN 1 MODSEQ ${m1}`);
      assert.equal(await esearch('e2', 'MAX'), `* ESEARCH (TAG "e2") MAX 3 MODSEQ ${m3}`);
      assert.equal(await esearch('e3', 'MIN MAX'), `* ESEARCH (TAG "e3") MIN 1 MAX 3 MODSEQ ${m1}`);
      assert.equal(await esearch('e4', 'COUNT'), `* ESEARCH (TAG "e4") COUNT 3 MODSEQ ${m2}`);
      assert.equal(await esearch('e5', 'MIN ALL'), `* ESEARCH (TAG "e5") MIN 1 ALL 1:3 MODSEQ ${m2}`);
      // A session whose first MODSEQ use is SEARCH, and one that ENABLEs CONDSTORE while selected.
      for (const [tag, text] of [
        ['x', 'SEARCH MODSEQ 1'],
        ['y', 'ENABLE CONDSTORE'],
        ['z', 'STORE 3 (UNCHANGEDSINCE 999999) +FLAGS.SILENT (\\Seen)'],
      ] as const) {
        const other = await loggedIn(t);
        await cmd(other, 's', 'SELECT Modseq');
        assert.match((await cmd(other, tag, text)).join('\n'), /^\* OK \[HIGHESTMODSEQ \d+\]/m, text);
        other.close();
      }
      c.close();
    });

    test('SENTBEFORE / SENTON / SENTSINCE use the Date: header as written, ignoring its time and zone (RFC 9051 §6.4.4)', async () => {
      const c = await loggedIn(t);
      await cmd(c, 'c', 'CREATE Sent-dates');
      const dates = ['Sun, 25 Mar 2007 00:00:00 +0200', 'Sat, 24 Mar 2007 23:30:00 -0500', '26 Mar 07 01:00 EST'];
      for (const [i, date] of dates.entries()) {
        const body = `Date: ${date}\r\nSubject: dated ${i}\r\n\r\nx\r\n`;
        c.write(`a${i} APPEND Sent-dates {${body.length}+}\r\n${body}\r\n`);
        await c.until(new RegExp(`^a${i} OK`));
      }
      await cmd(c, 's', 'SELECT Sent-dates');
      const search = async (tag: string, key: string) => (await cmd(c, tag, `SEARCH ${key}`))[0];
      // In UTC the first is 24 Mar 22:00 and the second 25 Mar 04:30: the written day wins.
      assert.equal(await search('a', 'SENTON 25-Mar-2007'), '* SEARCH 1');
      assert.equal(await search('b', 'SENTON 24-Mar-2007'), '* SEARCH 2');
      assert.equal(await search('c', 'SENTBEFORE 25-Mar-2007'), '* SEARCH 2');
      assert.equal(await search('d', 'SENTSINCE 25-Mar-2007'), '* SEARCH 1 3');
      assert.equal(await search('e', 'SENTON 26-Mar-2007'), '* SEARCH 3');
      c.close();
    });

    test('SEARCH FROM/TO/CC/BCC match the parsed addresses as ENVELOPE shows them: addr-spec and display name, comments ignored', async () => {
      const c = await loggedIn(t);
      await cmd(c, 'c', 'CREATE Addresses');
      const headers = [
        'From: Pete(A nice \\) chap) <pete(his account)@silly.test(his host)>',
        'To: "Smith, John" <john@example.test>,\r\n  Mary <mary@example.test>',
        'Cc: =?UTF-8?Q?J=C3=B6rg_M=C3=BCller?= <joerg@example.test>',
        'Bcc: undisclosed-recipients:;',
      ];
      for (const [i, header] of headers.entries()) {
        const body = `${header}\r\nSubject: address ${i}\r\n\r\nx\r\n`;
        c.write(`a${i} APPEND Addresses {${Buffer.byteLength(body)}+}\r\n${body}\r\n`);
        await c.until(new RegExp(`^a${i} OK`));
      }
      await cmd(c, 's', 'SELECT Addresses');
      const search = async (tag: string, key: string) => (await cmd(c, tag, `SEARCH ${key}`))[0];
      assert.equal(await search('a', 'FROM pete@silly.test'), '* SEARCH 1', 'the addr-spec without its comments');
      assert.equal(await search('b', 'FROM PETE'), '* SEARCH 1');
      assert.equal(await search('c', 'FROM "nice"'), '* SEARCH', 'comments are not part of the address');
      assert.equal(await search('d', 'TO "Smith, John"'), '* SEARCH 2');
      assert.equal(await search('e', 'TO "Mary <mary@example.test>"'), '* SEARCH 2', 'name and address as one');
      c.write(`f SEARCH CHARSET UTF-8 CC {${Buffer.byteLength('Jörg Müller')}+}\r\nJörg Müller\r\n`);
      assert.equal((await c.until(/^f /))[0], '* SEARCH 3', 'the display name decoded');
      assert.equal(await search('g', 'CC joerg@example'), '* SEARCH 3');
      assert.equal(await search('h', 'BCC undisclosed'), '* SEARCH 4', 'a group without members: the header text');
      assert.equal(await search('i', 'HEADER From "A nice"'), '* SEARCH 1', 'HEADER still searches the header text');
      c.close();
    });

    test('no NUL in a normal literal: binary content is stored base64-encoded (BINARY gives the bytes back); BODY never carries NUL (RFC 9051 §4.3, RFC 3516 §4.4)', async () => {
      const c = await loggedIn(t);
      await cmd(c, 'c', 'CREATE Binary');
      const payload = 'a\x00b\x00\x00c\r\nline two\x00\r\n';
      const message = [
        'From: bin@example.test',
        'Subject: binary part',
        'MIME-Version: 1.0',
        'Content-Type: multipart/mixed; boundary="b1"',
        '',
        '--b1',
        'Content-Type: text/plain',
        '',
        'hello',
        '--b1',
        'Content-Type: application/octet-stream',
        'Content-Transfer-Encoding: binary',
        '',
        payload,
        '--b1--',
        '',
      ].join('\r\n');
      c.write(`a APPEND Binary ~{${Buffer.byteLength(message)}+}\r\n${message}\r\n`);
      assert.match((await c.until(/^a /)).at(-1)!, /^a OK/);
      await cmd(c, 's', 'SELECT Binary');
      const whole = (await cmd(c, 'f', 'FETCH 1 (RFC822.SIZE BODY.PEEK[])')).join('\r\n');
      assert.ok(!whole.includes('\0'), 'no NUL in BODY[]');
      const size = Number(/RFC822\.SIZE (\d+)/.exec(whole)![1]);
      assert.match(whole, new RegExp(`BODY\\[\\] \\{${size}\\}`), 'RFC822.SIZE is the size of BODY[]');
      assert.match(whole, /Content-Transfer-Encoding: base64/);
      assert.match(
        (await cmd(c, 'b', 'FETCH 1 BODYSTRUCTURE')).join('\n'),
        /"application" "octet-stream" (NIL|\([^)]*\)) NIL NIL "BASE64" 28 /i,
      );
      const part = (await cmd(c, 'p', 'FETCH 1 BODY.PEEK[2]')).join('\r\n');
      assert.ok(!part.includes('\0'));
      assert.match(part, /BODY\[2\] \{\d+\}\r\nYQBiAABjDQpsaW5lIHR3bwANCg==/);
      // BINARY gives the client's bytes back, in a literal8 (RFC 3516 §4.2).
      const bin = await cmd(c, 'n', 'FETCH 1 BINARY.PEEK[2]');
      assert.match(bin[0]!, new RegExp(`BINARY\\[2\\] ~\\{${Buffer.byteLength(payload)}\\}$`));
      assert.equal(bin.slice(1, -1).join('\r\n'), `${payload.slice(0, -2)}\r\n)`);
      // A NUL where no transfer encoding can carry it (a header, from another path into the store) is never sent either.
      const id = (await t.services.directory.findByAddress(ALICE))!.id;
      const box = (await t.services.mail.getMailbox(id, 'Binary'))!;
      await t.services.mail.append(id, box.id, Buffer.from('Subject: nul\x00in header\r\nX-Null: \x00\r\n\r\nbody\r\n'));
      await cmd(c, 'x', 'NOOP');
      const header = (await cmd(c, 'h', 'FETCH 2 (RFC822.SIZE BODY.PEEK[HEADER] BODY.PEEK[])')).join('\r\n');
      assert.ok(!header.includes('\0'), JSON.stringify(header));
      c.close();
    });

    test('a keyword new to the mailbox is announced with FLAGS and PERMANENTFLAGS before a FETCH uses it, in the case the client wrote it (RFC 9051 §7.3.5)', async () => {
      const a = await loggedIn(t);
      const b = await loggedIn(t);
      await cmd(a, 'c', 'CREATE Keywords');
      await cmd(a, 'c2', 'CREATE Keywords-src');
      for (const [i, box] of ['Keywords', 'Keywords', 'Keywords-src'].entries()) {
        const flags = box === 'Keywords-src' ? '(Copied-Along)' : '()';
        const body = `Subject: kw ${i}\r\n\r\nx\r\n`;
        a.write(`a${i} APPEND ${box} ${flags} {${body.length}+}\r\n${body}\r\n`);
        await a.until(new RegExp(`^a${i} OK`));
      }
      const sel = await cmd(a, 's', 'SELECT Keywords');
      assert.ok(sel.includes('* FLAGS (\\Seen \\Answered \\Flagged \\Draft \\Deleted)'), sel.join('\n'));
      await cmd(b, 's', 'SELECT Keywords');
      // Another session brings two keywords in.
      await cmd(b, 'k', 'STORE 1 +FLAGS ($Forwarded Project-X)');
      const seen = await cmd(a, 'n', 'NOOP');
      const flags = seen.indexOf('* FLAGS (\\Seen \\Answered \\Flagged \\Draft \\Deleted $Forwarded Project-X)');
      const perm = seen.findIndex((l) =>
        l.startsWith('* OK [PERMANENTFLAGS (\\Seen \\Answered \\Flagged \\Draft \\Deleted $Forwarded Project-X \\*)]'),
      );
      const fetch = seen.indexOf('* 1 FETCH (UID 1 FLAGS (\\Recent $Forwarded Project-X))');
      assert.ok(flags >= 0 && perm > flags && fetch > perm, seen.join('\n'));
      // The session's own STORE: announced before its FETCH answer; the known ones are not announced again.
      const own = await cmd(a, 'o', 'STORE 2 +FLAGS (project-x Own-Word)');
      assert.deepEqual(own.slice(0, -1), [
        '* FLAGS (\\Seen \\Answered \\Flagged \\Draft \\Deleted $Forwarded Own-Word Project-X)',
        '* OK [PERMANENTFLAGS (\\Seen \\Answered \\Flagged \\Draft \\Deleted $Forwarded Own-Word Project-X \\*)] Flags permitted',
        '* 2 FETCH (FLAGS (\\Recent Own-Word Project-X))',
      ]);
      // COPY from elsewhere brings a keyword along: announced with the new message.
      await cmd(b, 'u', 'UNSELECT');
      await cmd(b, 'y', 'SELECT Keywords-src');
      await cmd(b, 'cp', 'COPY 1 Keywords');
      const copied = await cmd(a, 'n2', 'NOOP');
      const f2 = copied.findIndex((l) => l.startsWith('* FLAGS (') && l.includes('Copied-Along'));
      const e2 = copied.indexOf('* 3 EXISTS');
      assert.ok(f2 >= 0 && e2 >= 0, copied.join('\n'));
      assert.match((await cmd(a, 'f', 'FETCH 3 FLAGS'))[0]!, /FLAGS \(\\Recent Copied-Along\)/);
      a.close();
      b.close();
    });

    test('\\Recent for IMAP4rev1 clients: one session owns each new message; RECENT, FLAGS, STATUS, SEARCH NEW/OLD/RECENT (RFC 3501 §2.3.2)', async () => {
      const id = (await t.services.directory.findByAddress(ALICE))!.id;
      const setup = await loggedIn(t);
      await cmd(setup, 'c', 'CREATE Recent');
      const box = (await t.services.mail.getMailbox(id, 'Recent'))!;
      const deliver = (subject: string) => t.services.mail.append(id, box.id, Buffer.from(`Subject: ${subject}\r\n\r\nx\r\n`));
      await deliver('one');
      await deliver('two');
      assert.equal((await cmd(setup, 'st', 'STATUS Recent (MESSAGES RECENT)'))[0], '* STATUS Recent (MESSAGES 2 RECENT 2)');
      // IMAP4rev2 sessions neither see nor take \Recent.
      const rev2 = await loggedIn(t);
      await cmd(rev2, 'e', 'ENABLE IMAP4rev2');
      assert.ok(!(await cmd(rev2, 's', 'SELECT Recent')).some((l) => /RECENT/.test(l)));
      assert.equal((await cmd(rev2, 'f', 'FETCH 1 FLAGS'))[0], '* 1 FETCH (FLAGS ())');
      // EXAMINE shows them without taking them (RFC 3501 §6.3.2).
      const peek = await loggedIn(t);
      assert.ok((await cmd(peek, 'x', 'EXAMINE Recent')).includes('* 2 RECENT'));
      // The first IMAP4rev1 SELECT owns them.
      const a = await loggedIn(t);
      assert.ok((await cmd(a, 's', 'SELECT Recent')).includes('* 2 RECENT'));
      assert.deepEqual((await cmd(a, 'f', 'FETCH 1:2 FLAGS')).slice(0, -1), [
        '* 1 FETCH (FLAGS (\\Recent))',
        '* 2 FETCH (FLAGS (\\Recent))',
      ]);
      await cmd(a, 'seen', 'STORE 2 +FLAGS.SILENT (\\Seen)');
      assert.equal((await cmd(a, 'r', 'SEARCH RECENT'))[0], '* SEARCH 1 2');
      assert.equal((await cmd(a, 'n', 'SEARCH NEW'))[0], '* SEARCH 1');
      assert.equal((await cmd(a, 'o', 'SEARCH OLD'))[0], '* SEARCH');
      assert.match((await cmd(a, 'bad', 'STORE 1 +FLAGS (\\Recent)')).at(-1)!, /^bad NO /);
      const b = await loggedIn(t);
      assert.ok((await cmd(b, 's', 'SELECT Recent')).includes('* 0 RECENT'));
      assert.equal((await cmd(b, 'o', 'SEARCH OLD'))[0], '* SEARCH 1 2');
      assert.equal((await cmd(setup, 'st2', 'STATUS Recent (RECENT)'))[0], '* STATUS Recent (RECENT 0)');
      // A message arriving while both are selected belongs to whoever hears of it first.
      await deliver('three');
      assert.deepEqual((await cmd(b, 'n1', 'NOOP')).slice(0, -1), ['* 3 EXISTS', '* 1 RECENT']);
      assert.deepEqual((await cmd(a, 'n2', 'NOOP')).slice(0, -1), ['* 3 EXISTS', '* 2 RECENT']);
      assert.equal((await cmd(b, 'f3', 'FETCH 3 FLAGS'))[0], '* 3 FETCH (FLAGS (\\Recent))');
      assert.equal((await cmd(a, 'f4', 'FETCH 3 FLAGS'))[0], '* 3 FETCH (FLAGS ())');
      // Once a session took them, they are no longer \Recent for anyone else, EXAMINE included.
      assert.ok((await cmd(peek, 'x2', 'EXAMINE Recent')).includes('* 0 RECENT'));
      for (const c of [setup, rev2, peek, a, b]) c.close();
    });

    test('OBJECTID (RFC 8474): MAILBOXID on CREATE, SELECT, STATUS and LIST; EMAILID and THREADID; the same ids JMAP shows', async () => {
      const c = await loggedIn(t);
      const created = await cmd(c, 'c', 'CREATE Objects');
      const mailboxId = /^c OK \[MAILBOXID \(([A-Za-z0-9_-]+)\)\]/.exec(created.at(-1)!)?.[1];
      assert.ok(mailboxId, created.join('\n'));
      assert.match((await cmd(c, 'caps', 'CAPABILITY'))[0]!, / OBJECTID( |$)/);
      const body = 'Subject: object ids\r\nMessage-ID: <oid@x>\r\n\r\nx\r\n';
      c.write(`a APPEND Objects {${body.length}+}\r\n${body}\r\n`);
      await c.until(/^a OK/);
      assert.ok((await cmd(c, 's', 'SELECT Objects')).includes(`* OK [MAILBOXID (${mailboxId})] Ok`));
      assert.equal((await cmd(c, 'st', 'STATUS Objects (MAILBOXID)'))[0], `* STATUS Objects (MAILBOXID (${mailboxId}))`);
      assert.ok((await cmd(c, 'l', 'LIST "" Objects RETURN (STATUS (MAILBOXID))')).includes(`* STATUS Objects (MAILBOXID (${mailboxId}))`));
      const fetched = (await cmd(c, 'f', 'FETCH 1 (EMAILID THREADID)'))[0]!;
      const [, emailId, threadId] = /EMAILID \(([^)]+)\) THREADID \(([^)]+)\)/.exec(fetched)!;
      assert.equal((await cmd(c, 'se', `SEARCH EMAILID ${emailId}`))[0], '* SEARCH 1');
      assert.equal((await cmd(c, 'sb', `SEARCH THREADID ${threadId}`))[0], '* SEARCH 1');
      // JMAP names the same objects with the same ids.
      const fetchCa = caFetch(t.ca);
      const basic = `Basic ${Buffer.from(`${ALICE}:${PASSWORD}`).toString('base64')}`;
      const session = (await (await fetchCa(`${t.baseUrl}/jmap/session`, { headers: { authorization: basic } })).json()) as {
        primaryAccounts: Record<string, string>;
      };
      const accountId = session.primaryAccounts['urn:ietf:params:jmap:mail'];
      const res = await fetchCa(`${t.baseUrl}/jmap/api`, {
        method: 'POST',
        headers: { authorization: basic, 'content-type': 'application/json' },
        body: JSON.stringify({
          using: ['urn:ietf:params:jmap:core', 'urn:ietf:params:jmap:mail'],
          methodCalls: [
            ['Mailbox/get', { accountId, ids: [mailboxId], properties: ['name'] }, '0'],
            ['Email/get', { accountId, ids: [emailId], properties: ['threadId', 'mailboxIds'] }, '1'],
          ],
        }),
      });
      type Answer = { methodResponses: Array<[string, { list: Array<Record<string, unknown>> }]> };
      const responses = ((await res.json()) as Answer).methodResponses;
      const boxes = responses[0]![1];
      const emails = responses[1]![1];
      assert.equal(boxes.list[0]?.name, 'Objects');
      assert.equal(emails.list[0]?.threadId, threadId);
      assert.deepEqual(emails.list[0]?.mailboxIds, { [mailboxId!]: true });
      c.close();
    });

    test('PREVIEW (RFC 8970): the start of the first text part, with or without LAZY; IMAP4rev1 gets 8-bit text in a literal', async () => {
      const c = await loggedIn(t);
      await cmd(c, 'c', 'CREATE Previews');
      const bodies = [
        'Subject: plain\r\n\r\nHello   there,\r\n\r\nthis is the  first part.\r\n',
        'Subject: html\r\nContent-Type: text/html\r\n\r\n<p>Dear <b>Jörg,</b></p>\r\n',
        'Subject: attachment only\r\nContent-Type: application/pdf\r\nContent-Transfer-Encoding: base64\r\n\r\nJVBERg==\r\n',
      ];
      for (const [i, body] of bodies.entries()) {
        c.write(`a${i} APPEND Previews {${Buffer.byteLength(body)}+}\r\n${body}\r\n`);
        await c.until(new RegExp(`^a${i} OK`));
      }
      assert.match((await cmd(c, 'caps', 'CAPABILITY'))[0]!, / PREVIEW( |$)/);
      await cmd(c, 's', 'SELECT Previews');
      assert.equal((await cmd(c, 'f1', 'FETCH 1 PREVIEW'))[0], '* 1 FETCH (PREVIEW "Hello there, this is the first part.")');
      const html = await cmd(c, 'f2', 'FETCH 2 (UID PREVIEW (LAZY))');
      assert.equal(html[0], `* 2 FETCH (UID 2 PREVIEW {${Buffer.byteLength('Dear Jörg,')}}`);
      assert.equal(html[1], 'Dear Jörg,)');
      assert.equal((await cmd(c, 'f3', 'FETCH 3 PREVIEW'))[0], '* 3 FETCH (PREVIEW "")');
      await cmd(c, 'e', 'ENABLE IMAP4rev2');
      assert.equal((await cmd(c, 'f4', 'FETCH 2 PREVIEW'))[0], '* 2 FETCH (PREVIEW "Dear Jörg,")');
      assert.match((await cmd(c, 'bad', 'FETCH 1 (PREVIEW (EAGER))')).at(-1)!, /^bad BAD /);
      c.close();
    });

    test('SAVEDATE (RFC 8514): FETCH SAVEDATE and SEARCH SAVEDBEFORE/SAVEDON/SAVEDSINCE/SAVEDATESUPPORTED use when the message entered this mailbox', async () => {
      const c = await loggedIn(t);
      await cmd(c, 'c', 'CREATE Saving');
      const body = 'Subject: old mail\r\n\r\nx\r\n';
      c.write(`a APPEND Saving "01-Jan-2001 00:00:00 +0000" {${body.length}+}\r\n${body}\r\n`);
      await c.until(/^a OK/);
      assert.match((await cmd(c, 'caps', 'CAPABILITY'))[0]!, / SAVEDATE( |$)/);
      await cmd(c, 's', 'SELECT Saving');
      const fetched = (await cmd(c, 'f', 'FETCH 1 (INTERNALDATE SAVEDATE)'))[0]!;
      assert.match(fetched, /INTERNALDATE "01-Jan-2001 00:00:00 \+0000"/);
      const saved = /SAVEDATE "(\d\d-\w{3}-\d{4}) \d\d:\d\d:\d\d \+0000"/.exec(fetched)?.[1];
      assert.ok(saved, fetched);
      const today = saved!.replace(/^0/, '');
      assert.equal((await cmd(c, 'a1', `SEARCH SAVEDON ${today}`))[0], '* SEARCH 1');
      assert.equal((await cmd(c, 'a2', `SEARCH SAVEDSINCE ${today}`))[0], '* SEARCH 1');
      assert.equal((await cmd(c, 'a3', `SEARCH SAVEDBEFORE ${today}`))[0], '* SEARCH');
      assert.equal((await cmd(c, 'a4', 'SEARCH BEFORE 1-Jan-2002'))[0], '* SEARCH 1', 'INTERNALDATE is the client-given date');
      assert.equal((await cmd(c, 'a5', 'SEARCH SAVEDATESUPPORTED'))[0], '* SEARCH 1');
      c.close();
    });

    test('MULTIAPPEND (RFC 3502): several messages in one APPEND, all or none, APPENDUID with their UIDs', async () => {
      const c = await loggedIn(t);
      await cmd(c, 'c', 'CREATE Multi');
      assert.match((await cmd(c, 'caps', 'CAPABILITY'))[0]!, / MULTIAPPEND( |$)/);
      const [a, b, d] = ['Subject: one\r\n\r\n1\r\n', 'Subject: two\r\n\r\n2\r\n', 'Subject: three\r\n\r\n3\r\n'];
      // Synchronizing literals: the server asks for each one in turn.
      c.write(`m1 APPEND Multi (\\Seen) {${a.length}}\r\n`);
      assert.match((await c.line())!, /^\+ /);
      c.write(`${a} "01-Jan-2020 00:00:00 +0000" {${b.length}}\r\n`);
      assert.match((await c.line())!, /^\+ /);
      c.write(`${b} (Label) {${d.length}+}\r\n${d}\r\n`);
      const done = await c.until(/^m1 /);
      const [, validity, uids] = /^m1 OK \[APPENDUID (\d+) ([\d:,]+)\]/.exec(done.at(-1)!)!;
      assert.equal(uids, '1:3');
      await cmd(c, 's', 'SELECT Multi');
      const fetched = (await cmd(c, 'f', 'FETCH 1:* (UID FLAGS INTERNALDATE)')).slice(0, -1);
      assert.equal(fetched.length, 3);
      assert.match(fetched[0]!, /^\* 1 FETCH \(UID 1 FLAGS \(\\Recent \\Seen\) INTERNALDATE "[^"]+"\)$/);
      assert.equal(fetched[1], '* 2 FETCH (UID 2 FLAGS (\\Recent) INTERNALDATE "01-Jan-2020 00:00:00 +0000")');
      assert.match(fetched[2]!, /^\* 3 FETCH \(UID 3 FLAGS \(\\Recent Label\) INTERNALDATE "[^"]+"\)$/);
      // One bad message and none is stored.
      c.write(`m2 APPEND Multi {${a.length}+}\r\n${a} (\\Bogus) {${b.length}+}\r\n${b}\r\n`);
      assert.match((await c.until(/^m2 /)).at(-1)!, /^m2 NO \[CANNOT\]/);
      // A zero-length message cancels the whole command (RFC 3502 §6.3.11).
      c.write(`m3 APPEND Multi {${a.length}+}\r\n${a} {0}\r\n\r\n`);
      assert.match((await c.until(/^m3 /)).at(-1)!, /^m3 NO /);
      assert.equal(
        (await cmd(c, 'st', 'STATUS Multi (MESSAGES UIDNEXT UIDVALIDITY)'))[0],
        `* STATUS Multi (MESSAGES 3 UIDNEXT 4 UIDVALIDITY ${validity})`,
      );
      c.close();
    });

    test('REPLACE (RFC 8508): the new message is stored and the old one expunged together, or neither', async () => {
      const c = await loggedIn(t);
      await cmd(c, 'c1', 'CREATE Drafting');
      await cmd(c, 'c2', 'CREATE Outbox');
      assert.match((await cmd(c, 'caps', 'CAPABILITY'))[0]!, / REPLACE( |$)/);
      const v1 = 'Subject: draft 1\r\n\r\nfirst\r\n';
      const v2 = 'Subject: draft 2\r\n\r\nsecond\r\n';
      const v3 = 'Subject: draft 3\r\n\r\nthird\r\n';
      c.write(`a APPEND Drafting (\\Draft) {${v1.length}+}\r\n${v1}\r\n`);
      const validity = /APPENDUID (\d+) 1\]/.exec((await c.until(/^a /)).at(-1)!)?.[1];
      assert.ok(validity);
      await cmd(c, 's', 'SELECT Drafting');
      // Into the selected mailbox: APPENDUID, the expunge, then the new message as EXISTS.
      c.write(`r1 UID REPLACE 1 Drafting (\\Draft $Edited) {${v2.length}+}\r\n${v2}\r\n`);
      const r1 = await c.until(/^r1 /);
      assert.deepEqual(r1.slice(0, 2), [`* OK [APPENDUID ${validity} 2] Replacement message stored`, '* 1 EXPUNGE']);
      assert.ok(r1.indexOf('* 1 EXISTS') > 1, r1.join('\n'));
      assert.ok(
        r1.some((l) => l.startsWith('* FLAGS (') && l.includes('$Edited')),
        'the new keyword is announced',
      );
      assert.match(r1.at(-1)!, /^r1 OK UID REPLACE completed/);
      assert.match(
        (await cmd(c, 'f', 'FETCH 1 (UID FLAGS BODY.PEEK[HEADER.FIELDS (SUBJECT)])')).join('\n'),
        /UID 2 FLAGS \([^)]*\\Draft[^)]*\$Edited[^)]*\)[\s\S]*draft 2/,
      );
      // Failures leave the old message in place: no such mailbox, bad flag, unknown UID, bad number.
      c.write(`n1 REPLACE 1 Nowhere {${v3.length}+}\r\n${v3}\r\n`);
      assert.match((await c.until(/^n1 /)).at(-1)!, /^n1 NO \[TRYCREATE\]/);
      c.write(`n2 REPLACE 1 Outbox (\\Bogus) {${v3.length}+}\r\n${v3}\r\n`);
      assert.match((await c.until(/^n2 /)).at(-1)!, /^n2 NO \[CANNOT\]/);
      c.write(`n3 UID REPLACE 99 Outbox {${v3.length}+}\r\n${v3}\r\n`);
      assert.match((await c.until(/^n3 /)).at(-1)!, /^n3 NO \[NONEXISTENT\]/);
      c.write(`n4 REPLACE 7 Outbox {${v3.length}+}\r\n${v3}\r\n`);
      assert.match((await c.until(/^n4 /)).at(-1)!, /^n4 BAD /);
      assert.equal((await cmd(c, 'st', 'STATUS Outbox (MESSAGES)'))[0], '* STATUS Outbox (MESSAGES 0)');
      assert.equal((await cmd(c, 'ss', 'UID SEARCH ALL'))[0], '* SEARCH 2');
      // Into another mailbox: the old message leaves this one.
      c.write(`r2 REPLACE 1 Outbox {${v3.length}+}\r\n${v3}\r\n`);
      const r2 = await c.until(/^r2 /);
      assert.match(r2[0]!, /^\* OK \[APPENDUID \d+ 1\]/);
      assert.equal(r2[1], '* 1 EXPUNGE');
      assert.match(r2.at(-1)!, /^r2 OK REPLACE completed/);
      assert.equal((await cmd(c, 'st2', 'STATUS Outbox (MESSAGES)'))[0], '* STATUS Outbox (MESSAGES 1)');
      // A read-only mailbox cannot have messages replaced.
      await cmd(c, 'e', 'EXAMINE Outbox');
      c.write(`n5 REPLACE 1 Outbox {${v1.length}+}\r\n${v1}\r\n`);
      assert.match((await c.until(/^n5 /)).at(-1)!, /^n5 NO \[CANNOT\]/);
      c.close();
    });

    test('PARTIAL (RFC 9394): paged SEARCH, SORT and FETCH; NIL past the end; PARTIAL with ALL is BAD', async () => {
      const c = await loggedIn(t);
      await cmd(c, 'c', 'CREATE Paged');
      for (const [i, subject] of ['d', 'b', 'e', 'a', 'c'].entries()) {
        const body = `Subject: ${subject}\r\n\r\n${i}\r\n`;
        c.write(`a${i} APPEND Paged {${body.length}+}\r\n${body}\r\n`);
        await c.until(new RegExp(`^a${i} OK`));
      }
      await cmd(c, 's', 'SELECT Paged');
      assert.match((await cmd(c, 'caps', 'CAPABILITY'))[0]!, / PARTIAL( |$)/);
      assert.equal((await cmd(c, 'p1', 'UID SEARCH RETURN (PARTIAL 1:2) ALL'))[0], '* ESEARCH (TAG "p1") UID PARTIAL (1:2 1:2)');
      assert.equal((await cmd(c, 'p2', 'SEARCH RETURN (PARTIAL -1:-2 COUNT) ALL'))[0], '* ESEARCH (TAG "p2") COUNT 5 PARTIAL (-1:-2 4:5)');
      assert.equal((await cmd(c, 'p3', 'SEARCH RETURN (PARTIAL 4:2) ALL'))[0], '* ESEARCH (TAG "p3") PARTIAL (2:4 2:4)');
      assert.equal((await cmd(c, 'p4', 'SEARCH RETURN (PARTIAL 6:9) ALL'))[0], '* ESEARCH (TAG "p4") PARTIAL (6:9 NIL)');
      assert.equal((await cmd(c, 'p5', 'SEARCH RETURN (PARTIAL -4:-9) ALL'))[0], '* ESEARCH (TAG "p5") PARTIAL (-4:-9 1:2)');
      for (const [tag, bad] of [
        ['b1', 'SEARCH RETURN (PARTIAL 1:2 ALL) ALL'],
        ['b2', 'SEARCH RETURN (PARTIAL 0:2) ALL'],
        ['b3', 'SEARCH RETURN (PARTIAL -1:2) ALL'],
        ['b4', 'SEARCH RETURN (PARTIAL 1:4294967296) ALL'],
        ['b5', 'UID FETCH 1:* (UID) (PARTIAL 1)'],
      ] as const)
        assert.match((await cmd(c, tag, bad)).at(-1)!, new RegExp(`^${tag} BAD `), bad);
      // Sorted by subject (a b c d e are UIDs 4 2 5 1 3): positions of the sorted result.
      assert.equal(
        (await cmd(c, 's1', 'UID SORT RETURN (PARTIAL 1:3) (SUBJECT) UTF-8 ALL'))[0],
        '* ESEARCH (TAG "s1") UID PARTIAL (1:3 4,2,5)',
      );
      assert.equal(
        (await cmd(c, 's2', 'UID SORT RETURN (PARTIAL -1:-2) (SUBJECT) UTF-8 ALL'))[0],
        '* ESEARCH (TAG "s2") UID PARTIAL (-1:-2 1,3)',
      );
      assert.deepEqual((await cmd(c, 'f1', 'UID FETCH 2:* (UID) (PARTIAL -1:-2)')).slice(0, -1), [
        '* 4 FETCH (UID 4)',
        '* 5 FETCH (UID 5)',
      ]);
      assert.deepEqual((await cmd(c, 'f2', 'FETCH 1:* (UID) (PARTIAL 2:3)')).slice(0, -1), ['* 2 FETCH (UID 2)', '* 3 FETCH (UID 3)']);
      // SAVE with PARTIAL keeps the page (RFC 5182 §2.4 as RFC 9394 extends it).
      await cmd(c, 'sv', 'UID SEARCH RETURN (SAVE PARTIAL -1:-1) ALL');
      assert.deepEqual((await cmd(c, 'f3', 'UID FETCH $ (UID)')).slice(0, -1), ['* 5 FETCH (UID 5)']);
      c.close();
    });

    test('UIDONLY (RFC 9586): sequence numbers are BAD [UIDREQUIRED], FETCH answers are UIDFETCH, expunges VANISHED', async () => {
      const c = await loggedIn(t);
      await cmd(c, 'c', 'CREATE UidOnly');
      for (const i of [1, 2, 3]) {
        const body = `Subject: u${i}\r\n\r\nx\r\n`;
        c.write(`a${i} APPEND UidOnly {${body.length}+}\r\n${body}\r\n`);
        await c.until(new RegExp(`^a${i} OK`));
      }
      assert.match((await cmd(c, 'caps', 'CAPABILITY'))[0]!, / UIDONLY( |$)/);
      assert.equal((await cmd(c, 'e', 'ENABLE UIDONLY IMAP4rev2'))[0], '* ENABLED UIDONLY IMAP4rev2');
      await cmd(c, 's', 'SELECT UidOnly');
      for (const [tag, text] of [
        ['b1', 'FETCH 1 FLAGS'],
        ['b2', 'STORE 1 +FLAGS (\\Seen)'],
        ['b3', 'SEARCH ALL'],
        ['b4', 'UID SEARCH 1:2'],
        ['b5', 'COPY 1 INBOX'],
        ['b6', 'MOVE 1 INBOX'],
        ['b7', 'UID SORT (SUBJECT) UTF-8 NOT 1'],
      ] as const)
        assert.match((await cmd(c, tag, text)).at(-1)!, new RegExp(`^${tag} BAD \\[UIDREQUIRED\\]`), text);
      assert.deepEqual((await cmd(c, 'f', 'UID FETCH 2:3 (FLAGS)')).slice(0, -1), ['* 2 UIDFETCH (FLAGS ())', '* 3 UIDFETCH (FLAGS ())']);
      assert.deepEqual((await cmd(c, 'st', 'UID STORE 2 +FLAGS (\\Deleted)')).slice(0, -1), ['* 2 UIDFETCH (FLAGS (\\Deleted))']);
      assert.equal((await cmd(c, 'q', 'UID SEARCH UID 2:*'))[0], '* ESEARCH (TAG "q") UID ALL 2:3');
      // Another session's change arrives as UIDFETCH, an expunge as VANISHED.
      const other = await loggedIn(t);
      await cmd(other, 's', 'SELECT UidOnly');
      await cmd(other, 'st', 'STORE 3 +FLAGS (\\Flagged)');
      assert.ok((await cmd(c, 'n', 'NOOP')).includes('* 3 UIDFETCH (FLAGS (\\Flagged))'));
      const ex = await cmd(c, 'x', 'EXPUNGE');
      assert.deepEqual(ex.slice(0, -1), ['* VANISHED 2']);
      const mv = await cmd(c, 'm', 'UID MOVE 1 INBOX');
      assert.ok(mv.includes('* VANISHED 1'), mv.join('\n'));
      assert.ok(!mv.some((l) => / EXPUNGE$/.test(l)));
      other.close();
      c.close();
    });

    test('METADATA (RFC 5464): server and mailbox entries, DEPTH, MAXSIZE, NIL removes, bounds, bytes kept', async () => {
      const c = await loggedIn(t);
      assert.match((await cmd(c, 'caps', 'CAPABILITY'))[0]!, / METADATA( |$)/);
      assert.match((await cmd(c, 's1', 'SETMETADATA INBOX (/private/comment "My comment" /shared/comment "Shared")')).at(-1)!, /^s1 OK/);
      assert.deepEqual(await cmd(c, 'g1', 'GETMETADATA INBOX (/PRIVATE/Comment /shared/comment /private/missing)'), [
        '* METADATA INBOX (/private/comment "My comment" /shared/comment "Shared" /private/missing NIL)',
        'g1 OK GETMETADATA completed',
      ]);
      // Server entries (mailbox ""), with DEPTH.
      await cmd(c, 's2', 'SETMETADATA "" (/private/vendor/fp/a "1" /private/vendor/fp/a/b "2" /private/vendor/fp/c "3")');
      assert.equal(
        (await cmd(c, 'g2', 'GETMETADATA (DEPTH 1) "" /private/vendor/fp'))[0],
        '* METADATA "" (/private/vendor/fp/a "1" /private/vendor/fp/c "3" /private/vendor/fp NIL)',
      );
      assert.equal(
        (await cmd(c, 'g3', 'GETMETADATA (DEPTH infinity) "" /private/vendor/fp'))[0],
        '* METADATA "" (/private/vendor/fp/a "1" /private/vendor/fp/a/b "2" /private/vendor/fp/c "3" /private/vendor/fp NIL)',
      );
      // MAXSIZE leaves the long value out and says how long it is.
      assert.deepEqual(await cmd(c, 'g4', 'GETMETADATA (MAXSIZE 6) INBOX (/private/comment /shared/comment)'), [
        '* METADATA INBOX (/shared/comment "Shared")',
        'g4 OK [METADATA LONGENTRIES 10] GETMETADATA completed',
      ]);
      // Any octets, NUL included, come back as stored (literal8).
      c.write('s3 SETMETADATA INBOX (/private/bin ~{5+}\r\na\x00b\r\n)\r\n');
      assert.match((await c.until(/^s3 /)).at(-1)!, /^s3 OK/);
      assert.deepEqual(await cmd(c, 'g5', 'GETMETADATA INBOX /private/bin'), [
        '* METADATA INBOX (/private/bin ~{5}',
        'a\x00b',
        ')',
        'g5 OK GETMETADATA completed',
      ]);
      // NIL removes; entries go with their mailbox.
      await cmd(c, 's4', 'SETMETADATA INBOX (/private/comment NIL)');
      assert.equal((await cmd(c, 'g6', 'GETMETADATA INBOX /private/comment'))[0], '* METADATA INBOX (/private/comment NIL)');
      await cmd(c, 'c1', 'CREATE Annotated');
      await cmd(c, 's5', 'SETMETADATA Annotated (/private/comment "gone soon")');
      await cmd(c, 'd1', 'DELETE Annotated');
      await cmd(c, 'c2', 'CREATE Annotated');
      assert.equal((await cmd(c, 'g7', 'GETMETADATA Annotated /private/comment'))[0], '* METADATA Annotated (/private/comment NIL)');
      // Bad input and bounds (imap.metadata_max_size 100, metadata_max_entries 20 here).
      for (const [tag, text] of [
        ['b1', 'GETMETADATA INBOX /comment'],
        ['b2', 'SETMETADATA INBOX (/private/a* "x")'],
        ['b3', 'SETMETADATA INBOX (/private//a "x")'],
        ['b4', 'GETMETADATA INBOX /private/a/'],
        ['b5', 'GETMETADATA (DEPTH 2) INBOX /private/a'],
      ] as const)
        assert.match((await cmd(c, tag, text)).at(-1)!, new RegExp(`^${tag} BAD `), text);
      assert.match((await cmd(c, 'n1', 'GETMETADATA Nowhere /private/comment')).at(-1)!, /^n1 NO \[NONEXISTENT\]/);
      assert.match(
        (await cmd(c, 'n2', `SETMETADATA INBOX (/private/big "${'x'.repeat(101)}")`)).at(-1)!,
        /^n2 NO \[METADATA MAXSIZE 100\]/,
      );
      const many = Array.from({ length: 20 }, (_, i) => `/private/many/${i} "v"`).join(' ');
      assert.match((await cmd(c, 'n3', `SETMETADATA INBOX (${many})`)).at(-1)!, /^n3 NO \[METADATA TOOMANY\]/);
      assert.equal((await cmd(c, 'g8', 'GETMETADATA INBOX /private/many/0'))[0], '* METADATA INBOX (/private/many/0 NIL)', 'all or none');
      c.close();
    });
  });

describe('IMAP with LITERAL- (imap.literal_plus = false)', () => {
  let t: TestServer;
  before(async () => {
    t = await startTestServer({ domain: 'example.test', overrides: { imap: { literal_plus: false } } });
    await t.services.accounts.addUser({ address: ALICE, password: PASSWORD });
  });
  after(() => t.close());

  test('LITERAL- is offered instead of LITERAL+; a non-synchronizing literal over 4096 octets is BAD [TOOBIG], skipped unread', async () => {
    const c = await loggedIn(t);
    const caps = (await cmd(c, 'c', 'CAPABILITY'))[0]!.split(' ');
    assert.ok(caps.includes('LITERAL-') && !caps.includes('LITERAL+'), caps.join(' '));
    const small = 'Subject: small\r\n\r\nx\r\n';
    c.write(`a APPEND INBOX {${small.length}+}\r\n${small}\r\n`);
    assert.match((await c.until(/^a /)).at(-1)!, /^a OK \[APPENDUID/);
    // The body of the refused literal spells a command: it must never run.
    const big = `${'b DELETE Trash\r\n'.repeat(300)}`.slice(0, 5000);
    c.write(`x APPEND INBOX {${big.length}+}\r\n${big}\r\n`);
    assert.match((await c.until(/^x /)).at(-1)!, /^x BAD \[TOOBIG\]/);
    assert.match((await cmd(c, 'n', 'NOOP')).at(-1)!, /^n OK/);
    assert.ok(
      (await cmd(c, 'l', 'LIST "" Trash')).some((l) => l.endsWith(' Trash')),
      'Trash is still there',
    );
    // A synchronizing literal of any size (within APPENDLIMIT) still works.
    const large = `Subject: large\r\n\r\n${'y'.repeat(6000)}\r\n`;
    c.write(`s APPEND INBOX {${large.length}}\r\n`);
    assert.match((await c.line())!, /^\+ /);
    c.write(`${large}\r\n`);
    assert.match((await c.until(/^s /)).at(-1)!, /^s OK/);
    c.close();
  });

  test('imapflow appends small and large messages against LITERAL-', async () => {
    const { ImapFlow } = await import('imapflow');
    const client = new ImapFlow({
      host: '127.0.0.1',
      port: t.ports.imaps,
      secure: true,
      tls: { ca: t.ca, servername: 'localhost' },
      auth: { user: ALICE, pass: PASSWORD },
      logger: false,
    });
    client.on('error', () => {});
    await client.connect();
    await client.append('INBOX', 'Subject: tiny\r\n\r\nx\r\n');
    await client.append('INBOX', `Subject: big\r\n\r\n${'z'.repeat(20_000)}\r\n`);
    const status = await client.status('INBOX', { messages: true });
    assert.ok(status && (status.messages ?? 0) >= 2);
    await client.logout();
  });
});
