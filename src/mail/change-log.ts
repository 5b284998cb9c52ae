import type { Db } from '../store/db.ts';
import type { ObjectChanges } from './types.ts';

/** One entry of the change log: an object of a type changed at a MODSEQ. */
export interface LoggedEntry {
  readonly modseq: number;
  readonly id: number;
  readonly kind: string;
}

/**
 * The account's change log read as JMAP states and changes (RFC 8620 §1.6.3, §5.1–§5.2): states
 * are MODSEQs of the one counter IMAP CONDSTORE uses too (RFC 7162), written only by the mail
 * store's unit of work (src/mail/store.ts).
 */
export class ChangeLog {
  readonly #db: Db;

  constructor(db: Db) {
    this.#db = db;
  }

  /** The state of one JMAP type: the MODSEQ of its latest change (0 when nothing changed yet). */
  async typeState(accountId: number, type: string): Promise<number> {
    const row = await this.#db.kysely
      .selectFrom('changes')
      .select((eb) => eb.fn.max('modseq').as('state'))
      .where('account_id', '=', accountId)
      .where('type', '=', type)
      .executeTakeFirst();
    return Number(row?.state ?? 0);
  }

  /**
   * Objects of `type` created, updated or destroyed after `sinceState` (RFC 8620 §5.2). An object
   * created and destroyed in the window is omitted; one created then updated is only "created".
   * `maxChanges` bounds the answer at a MODSEQ boundary.
   */
  async changesSince(accountId: number, type: string, sinceState: number, maxChanges = 5000): Promise<ObjectChanges> {
    const rows = await this.#db.kysely
      .selectFrom('changes')
      .select(['modseq', 'object_id', 'kind'])
      .where('account_id', '=', accountId)
      .where('type', '=', type)
      .where('modseq', '>', sinceState)
      .orderBy('modseq')
      .orderBy('id')
      .limit(maxChanges + 1)
      .execute();
    let hasMore = false;
    let slice = rows;
    if (rows.length > maxChanges) {
      hasMore = true;
      const cut = rows[maxChanges - 1]!.modseq;
      slice = rows.filter((r) => r.modseq <= cut);
      if (slice.length === rows.length || slice.length === 0) slice = rows.slice(0, maxChanges);
    }
    const state = new Map<number, { created: boolean; destroyed: boolean }>();
    for (const r of slice) {
      const s = state.get(r.object_id) ?? { created: false, destroyed: false };
      if (r.kind === 'created') s.created = true;
      if (r.kind === 'destroyed') s.destroyed = true;
      state.set(r.object_id, s);
    }
    const created: number[] = [];
    const updated: number[] = [];
    const destroyed: number[] = [];
    for (const [id, s] of state) {
      if (s.created && s.destroyed) continue;
      if (s.destroyed) destroyed.push(id);
      else if (s.created) created.push(id);
      else updated.push(id);
    }
    const newState = slice.length ? slice.at(-1)!.modseq : sinceState;
    return {
      oldState: sinceState,
      newState: hasMore ? newState : Math.max(newState, await this.typeState(accountId, type)),
      created,
      updated,
      destroyed,
      hasMoreChanges: hasMore,
    };
  }

  /** Every logged change of `type` after `since`, oldest first. */
  async entriesSince(accountId: number, type: string, since: number): Promise<LoggedEntry[]> {
    const rows = await this.#db.kysely
      .selectFrom('changes')
      .select(['modseq', 'object_id', 'kind'])
      .where('account_id', '=', accountId)
      .where('type', '=', type)
      .where('modseq', '>', since)
      .orderBy('modseq')
      .orderBy('id')
      .execute();
    return rows.map((r) => ({ modseq: r.modseq, id: r.object_id, kind: r.kind }));
  }

  /** The MODSEQ of the latest creation of an object of `type` (RFC 8621 §1.5 EmailDelivery for Email). */
  async lastCreated(accountId: number, type: string): Promise<number> {
    const row = await this.#db.kysely
      .selectFrom('changes')
      .select((eb) => eb.fn.max('modseq').as('state'))
      .where('account_id', '=', accountId)
      .where('type', '=', type)
      .where('kind', '=', 'created')
      .executeTakeFirst();
    return Number(row?.state ?? 0);
  }
}
