import type { Kysely } from 'kysely';
import type { MigrationContext } from './index.ts';

/**
 * Finds what changed in a mailbox since a MODSEQ without reading every row of it: every IMAP
 * session asks this after each command once another session wrote (RFC 7162 §3.1 change
 * reporting), so on a busy mailbox the full scans it replaces held the one event loop N times
 * per write.
 */
export async function up(db: Kysely<unknown>, _ctx: MigrationContext): Promise<void> {
  await db.schema.createIndex('mailbox_messages_modseq').on('mailbox_messages').columns(['mailbox_id', 'modseq']).execute();
}
