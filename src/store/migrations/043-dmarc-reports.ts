import type { Kysely } from 'kysely';
import type { MigrationContext } from './index.ts';

/**
 * DMARC aggregate reports received for our domains (RFC 7489 §7.2): one row per report, unique
 * per reporting organisation and report id, the rows of the report as JSON.
 */
export async function up(db: Kysely<unknown>, ctx: MigrationContext): Promise<void> {
  await db.schema
    .createTable('dmarc_reports')
    .addColumn('id', ctx.id, ctx.pk)
    .addColumn('org_name', 'text', (c) => c.notNull())
    .addColumn('email', 'text', (c) => c.notNull())
    .addColumn('report_id', 'text', (c) => c.notNull())
    .addColumn('domain', 'text', (c) => c.notNull())
    .addColumn('policy', 'text', (c) => c.notNull())
    .addColumn('begin_at', ctx.bigint, (c) => c.notNull())
    .addColumn('end_at', ctx.bigint, (c) => c.notNull())
    .addColumn('messages', ctx.bigint, (c) => c.notNull())
    .addColumn('failed', ctx.bigint, (c) => c.notNull())
    .addColumn('records', 'text', (c) => c.notNull())
    .addColumn('received_at', ctx.bigint, (c) => c.notNull())
    .addUniqueConstraint('dmarc_reports_org_report', ['org_name', 'report_id'])
    .execute();
  await db.schema.createIndex('dmarc_reports_domain').on('dmarc_reports').columns(['domain', 'end_at']).execute();
}
