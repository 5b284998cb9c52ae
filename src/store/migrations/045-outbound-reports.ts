import type { Kysely } from 'kysely';
import type { MigrationContext } from './index.ts';

/**
 * Reports this server sends: per-day counts of inbound DMARC results (RFC 7489 §7.2) and of
 * outbound TLS sessions per policy domain (RFC 8460 §4), and which daily reports went out. The
 * grouping columns form one key so a message or a session only adds to a count.
 */
export async function up(db: Kysely<unknown>, ctx: MigrationContext): Promise<void> {
  await db.schema
    .createTable('dmarc_results')
    .addColumn('day', 'text', (c) => c.notNull())
    .addColumn('policy_domain', 'text', (c) => c.notNull())
    .addColumn('rua', 'text', (c) => c.notNull())
    .addColumn('policy', 'text', (c) => c.notNull())
    .addColumn('header_from', 'text', (c) => c.notNull())
    .addColumn('source_ip', 'text', (c) => c.notNull())
    .addColumn('disposition', 'text', (c) => c.notNull())
    .addColumn('dkim', 'text', (c) => c.notNull())
    .addColumn('spf', 'text', (c) => c.notNull())
    .addColumn('auth_results', 'text', (c) => c.notNull())
    .addColumn('messages', ctx.bigint, (c) => c.notNull())
    .addPrimaryKeyConstraint('dmarc_results_pk', [
      'day',
      'policy_domain',
      'policy',
      'header_from',
      'source_ip',
      'disposition',
      'dkim',
      'spf',
      'auth_results',
    ])
    .execute();
  await db.schema
    .createTable('tls_rpt_results')
    .addColumn('day', 'text', (c) => c.notNull())
    .addColumn('policy_domain', 'text', (c) => c.notNull())
    .addColumn('policy', 'text', (c) => c.notNull())
    .addColumn('result', 'text', (c) => c.notNull())
    .addColumn('receiving_mx', 'text', (c) => c.notNull())
    .addColumn('sessions', ctx.bigint, (c) => c.notNull())
    .addPrimaryKeyConstraint('tls_rpt_results_pk', ['day', 'policy_domain', 'policy', 'result', 'receiving_mx'])
    .execute();
  await db.schema
    .createTable('report_sends')
    .addColumn('kind', 'text', (c) => c.notNull())
    .addColumn('domain', 'text', (c) => c.notNull())
    .addColumn('day', 'text', (c) => c.notNull())
    .addColumn('sent_at', ctx.bigint, (c) => c.notNull())
    .addColumn('outcome', 'text', (c) => c.notNull())
    .addPrimaryKeyConstraint('report_sends_pk', ['kind', 'domain', 'day'])
    .execute();
}
