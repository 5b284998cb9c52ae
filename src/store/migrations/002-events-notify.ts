import { type Kysely, sql } from 'kysely';
import type { MigrationContext } from './index.ts';

/** The PostgreSQL channel every insert into `events` is announced on (see `Db.listen`). */
export const EVENTS_CHANNEL = 'fingerpost_events';

/**
 * PostgreSQL only: every statement that inserts events sends a NOTIFY, so nodes that LISTEN hear
 * of a revocation or new mail at once instead of at their next poll. Whoever writes the event
 * (a node, the admin CLI) needs to do nothing for it.
 */
export async function up(db: Kysely<unknown>, ctx: MigrationContext): Promise<void> {
  if (ctx.dialect !== 'postgres') return;
  await sql
    .raw(
      `CREATE OR REPLACE FUNCTION fingerpost_events_notify() RETURNS trigger LANGUAGE plpgsql AS $$
       BEGIN PERFORM pg_notify('${EVENTS_CHANNEL}', ''); RETURN NULL; END $$`,
    )
    .execute(db);
  await sql
    .raw(
      `CREATE TRIGGER fingerpost_events_notify AFTER INSERT ON events
       FOR EACH STATEMENT EXECUTE FUNCTION fingerpost_events_notify()`,
    )
    .execute(db);
}
