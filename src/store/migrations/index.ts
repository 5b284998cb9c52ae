import type { ColumnDefinitionBuilder, Kysely, Migration, MigrationProvider } from 'kysely';
import * as m001 from './001-initial.ts';
import * as m002 from './002-events-notify.ts';
import * as m003 from './003-blobs.ts';
import * as m010 from './010-auth-sessions.ts';
import * as m020 from './020-mail-search.ts';
import * as m021 from './021-uidvalidity.ts';
import * as m022 from './022-subscriptions.ts';
import * as m023 from './023-keyword-names.ts';
import * as m024 from './024-recent.ts';
import * as m025 from './025-saved-at.ts';
import * as m026 from './026-quota.ts';
import * as m027 from './027-metadata.ts';
import * as m028 from './028-changes-index.ts';
import * as m029 from './029-sharing.ts';
import * as m030 from './030-idp.ts';
import * as m031 from './031-second-factor.ts';
import * as m040 from './040-smtp-queue.ts';
import * as m041 from './041-sieve.ts';
import * as m042 from './042-greylist.ts';
import * as m043 from './043-dmarc-reports.ts';
import * as m044 from './044-dkim-rotation.ts';
import * as m045 from './045-outbound-reports.ts';
import * as m050 from './050-calendar.ts';
import * as m051 from './051-dav.ts';
import * as m052 from './052-scheduling.ts';
import * as m053 from './053-calendar-shares.ts';
import * as m054 from './054-share-invites.ts';
import * as m060 from './060-jmap.ts';
import * as m061 from './061-push-subscriptions.ts';
import * as m085 from './085-acl-identifiers.ts';
import * as m086 from './086-private-seen.ts';
import * as m090 from './090-app-password-use.ts';
import * as m091 from './091-freebusy-asks.ts';

export type Dialect = 'sqlite' | 'postgres';

/** Column types that differ between the dialects. */
export interface MigrationContext {
  readonly dialect: Dialect;
  /** An auto-incrementing primary key that is never reused. */
  readonly id: 'integer' | 'bigserial';
  readonly bigint: 'integer' | 'bigint';
  /** Marks the id column as the primary key (AUTOINCREMENT on SQLite so ids are never reused). */
  readonly pk: (c: ColumnDefinitionBuilder) => ColumnDefinitionBuilder;
}

type Step = { up(db: Kysely<unknown>, ctx: MigrationContext): Promise<void> };

/**
 * Every migration; the name is what the migration table records. Number ranges per area keep
 * parallel work apart: 001-009 foundation, 010-019 auth, 020-029 and 080-089 mail, 030-039 idp,
 * 040-049 smtp/queue, 050-059 calendar, 060-069 jmap, 070-079 discovery, 090-099 account web.
 */
const steps: Array<[string, Step]> = [
  ['001-initial', m001],
  ['002-events-notify', m002],
  ['003-blobs', m003],
  ['010-auth-sessions', m010],
  ['020-mail-search', m020],
  ['021-uidvalidity', m021],
  ['022-subscriptions', m022],
  ['023-keyword-names', m023],
  ['024-recent', m024],
  ['025-saved-at', m025],
  ['026-quota', m026],
  ['027-metadata', m027],
  ['028-changes-index', m028],
  ['029-sharing', m029],
  ['030-idp', m030],
  ['031-second-factor', m031],
  ['040-smtp-queue', m040],
  ['041-sieve', m041],
  ['042-greylist', m042],
  ['043-dmarc-reports', m043],
  ['044-dkim-rotation', m044],
  ['045-outbound-reports', m045],
  ['050-calendar', m050],
  ['051-dav', m051],
  ['052-scheduling', m052],
  ['053-calendar-shares', m053],
  ['054-share-invites', m054],
  ['060-jmap', m060],
  ['061-push-subscriptions', m061],
  ['085-acl-identifiers', m085],
  ['086-private-seen', m086],
  ['090-app-password-use', m090],
  ['091-freebusy-asks', m091],
];

/** Kysely migration provider for the in-code migration list. */
export function migrationProvider(dialect: Dialect): MigrationProvider {
  const ctx: MigrationContext =
    dialect === 'sqlite'
      ? { dialect, id: 'integer', bigint: 'integer', pk: (c) => c.primaryKey().autoIncrement() }
      : { dialect, id: 'bigserial', bigint: 'bigint', pk: (c) => c.primaryKey() };
  return {
    async getMigrations() {
      const out: Record<string, Migration> = {};
      for (const [name, step] of steps) out[name] = { up: (db) => step.up(db, ctx) };
      return out;
    },
  };
}
