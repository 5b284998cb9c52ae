// Writes N generated messages straight into a mailbox's store tables (one shared blob: SORT,
// THREAD, SELECT and header SEARCH never read message files) for the large-mailbox benchmarks
// (bench/imap-sort.ts, bench/loop-delay.ts, test/e2e/imap-sort-loop.test.ts). 60 % are replies with References to an earlier
// message (with their search text, as delivery writes it); 2,000 distinct subjects, 97 senders, dates spread over 300 days. With `maildir` the
// same messages are also written as a Maildir folder for another server.
import { randomBytes } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { Kysely } from 'kysely';
import { analyzeMessage } from '../../src/mail/mime/parse.ts';
import type { Database } from '../../src/store/schema.ts';

export async function seedMailbox(
  db: Kysely<Database>,
  accountId: number,
  mailboxId: number,
  n: number,
  options: { blobId: string; maildir?: string },
): Promise<void> {
  if (options.maildir) for (const d of ['cur', 'new', 'tmp']) mkdirSync(path.join(options.maildir, d), { recursive: true });
  const subjects = Array.from({ length: 2000 }, (_, i) => `Topic ${i} ${randomBytes(3).toString('hex')}`);
  let seed = 1;
  const rnd = () => {
    seed = (seed * 48271) % 2147483647;
    return seed / 2147483647;
  };
  for (let start = 0; start < n; start += 1000) {
    await db.transaction().execute(async (trx) => {
      const rows = [];
      const texts: Array<{ headers: string; body: string }> = [];
      for (let i = start; i < Math.min(n, start + 1000); i++) {
        const reply = i > 10 && rnd() < 0.6;
        const parent = reply ? Math.floor(rnd() * i) : -1;
        const subject = `${reply ? 'Re: ' : ''}${subjects[Math.floor(rnd() * subjects.length)]}`;
        const raw = Buffer.from(
          [
            `From: User ${i % 97} <u${i % 97}@example.test>`,
            `To: list${i % 13}@example.test`,
            `Date: ${new Date(Date.UTC(2026, 0, 1) + Math.floor(rnd() * 300 * 86_400_000)).toUTCString()}`,
            `Subject: ${subject}`,
            `Message-ID: <m${i}@bench>`,
            ...(reply ? [`References: <m${parent}@bench>`] : []),
            '',
            'body',
            '',
          ].join('\r\n'),
        );
        if (options.maildir)
          writeFileSync(
            path.join(options.maildir, 'cur', `${1767225600 + i * 60}.M${i}P1.bench,S=${raw.length}:2,${i % 3 ? 'S' : ''}`),
            raw,
          );
        const { parsed, text } = analyzeMessage(raw);
        rows.push({
          account_id: accountId,
          blob_id: options.blobId,
          size: raw.length,
          received_at: Date.UTC(2026, 0, 1) + i * 60_000,
          thread_id: 0,
          message_id_header: parsed.messageId,
          subject: parsed.subject,
          sent_at: parsed.sentAt,
          from_addr: '',
          to_addr: '',
          keywords: i % 3 ? '$seen' : '',
          meta: JSON.stringify(parsed),
          modseq: 2,
          created_at: Date.now(),
        });
        texts.push({ headers: text.headers.toLowerCase(), body: text.body.toLowerCase() });
      }
      const ids = await trx.insertInto('messages').values(rows).returning('id').execute();
      await trx
        .insertInto('mailbox_messages')
        .values(ids.map((r, k) => ({ mailbox_id: mailboxId, uid: start + k + 1, message_id: r.id, modseq: 2, saved_at: Date.now() })))
        .execute();
      await trx
        .insertInto('message_text')
        .values(ids.map((r, k) => ({ message_id: r.id, account_id: accountId, ...texts[k]! })))
        .execute();
    });
  }
  await db
    .updateTable('mailboxes')
    .set({ uidnext: n + 1, highest_modseq: 2, first_recent_uid: n + 1 })
    .where('id', '=', mailboxId)
    .execute();
}
