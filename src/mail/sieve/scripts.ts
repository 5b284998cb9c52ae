import { FingerpostError } from '../../core/errors.ts';
import type { Db } from '../../store/db.ts';

/** One stored script as listed (RFC 5804 §2.7 LISTSCRIPTS). */
export interface ScriptInfo {
  readonly id: number;
  readonly name: string;
  readonly active: boolean;
  readonly size: number;
  readonly updatedAt: number;
}

export interface StoredScript extends ScriptInfo {
  readonly content: string;
}

/** Per-account bounds on stored scripts (RFC 5804 §2.3 HAVESPACE answers from these). */
export interface ScriptQuota {
  readonly maxScripts: number;
  readonly maxBytes: number;
}

const MAX_NAME = 128;

/**
 * A script name ManageSieve and JMAP accept (RFC 5804 §1.6): 1–128 characters, no control
 * characters (Unicode Cc, also U+2028/U+2029), in NFC. Returns the reason it is refused, or undefined.
 */
export function badScriptName(name: string): string | undefined {
  if (!name.length) return 'a script name cannot be empty';
  if ([...name].length > MAX_NAME) return `script names are at most ${MAX_NAME} characters`;
  if (/[\u0000-\u001f\u007f-\u009f\u2028\u2029]/.test(name)) return 'script names cannot hold control characters';
  if (name.normalize('NFC') !== name) return 'script names must be in Unicode NFC';
  return undefined;
}

/**
 * The Sieve scripts of each account, kept in the database (migration 041): names unique per
 * account, at most one active (RFC 5804 §1.1), the active one never deleted (§2.10).
 */
export class SieveScripts {
  readonly #db: Db;
  readonly #quota: ScriptQuota;
  readonly #now: () => number;

  constructor(db: Db, quota: ScriptQuota, now: () => number = Date.now) {
    this.#db = db;
    this.#quota = quota;
    this.#now = now;
  }

  get quota(): ScriptQuota {
    return this.#quota;
  }

  async list(accountId: number): Promise<ScriptInfo[]> {
    const rows = await this.#db.kysely
      .selectFrom('sieve_scripts')
      .select(['id', 'name', 'active', 'size', 'updated_at'])
      .where('account_id', '=', accountId)
      .orderBy('name')
      .execute();
    return rows.map((r) => ({ id: r.id, name: r.name, active: r.active === 1, size: Number(r.size), updatedAt: Number(r.updated_at) }));
  }

  /** Every script of the account with its content, ordered by name, in one read. */
  async listWithContent(accountId: number): Promise<StoredScript[]> {
    const rows = await this.#db.kysely
      .selectFrom('sieve_scripts')
      .selectAll()
      .where('account_id', '=', accountId)
      .orderBy('name')
      .execute();
    return rows.map((r) => ({
      id: r.id,
      name: r.name,
      active: r.active === 1,
      size: Number(r.size),
      updatedAt: Number(r.updated_at),
      content: r.content,
    }));
  }

  async get(accountId: number, name: string): Promise<StoredScript | undefined> {
    const r = await this.#db.kysely
      .selectFrom('sieve_scripts')
      .selectAll()
      .where('account_id', '=', accountId)
      .where('name', '=', name)
      .executeTakeFirst();
    return (
      r && { id: r.id, name: r.name, active: r.active === 1, size: Number(r.size), updatedAt: Number(r.updated_at), content: r.content }
    );
  }

  /** The script that runs at delivery (RFC 5804 §2.8), if one is active. */
  async active(accountId: number): Promise<StoredScript | undefined> {
    const r = await this.#db.kysely
      .selectFrom('sieve_scripts')
      .selectAll()
      .where('account_id', '=', accountId)
      .where('active', '=', 1)
      .executeTakeFirst();
    return r && { id: r.id, name: r.name, active: true, size: Number(r.size), updatedAt: Number(r.updated_at), content: r.content };
  }

  /**
   * Why a script of `size` octets named `name` would not fit (RFC 5804 §2.3: QUOTA/MAXSCRIPTS or
   * QUOTA/MAXSIZE), or undefined when it would. Replacing a script does not count it twice.
   */
  async spaceFor(accountId: number, name: string, size: number): Promise<'maxsize' | 'maxscripts' | undefined> {
    if (size > this.#quota.maxBytes) return 'maxsize';
    const scripts = await this.list(accountId);
    if (!scripts.some((s) => s.name === name) && scripts.length >= this.#quota.maxScripts) return 'maxscripts';
    return undefined;
  }

  /** Stores a script under `name`, replacing one of that name (its active mark stays). The caller validated it. */
  async put(accountId: number, name: string, content: string): Promise<void> {
    const size = Buffer.byteLength(content, 'utf8');
    const full = await this.spaceFor(accountId, name, size);
    if (full)
      throw new FingerpostError('limit_exceeded', full === 'maxsize' ? 'script too large' : 'too many scripts', {
        context: { quota: full },
      });
    const now = this.#now();
    await this.#db.kysely
      .insertInto('sieve_scripts')
      .values({ account_id: accountId, name, content, size, active: 0, updated_at: now })
      .onConflict((oc) => oc.columns(['account_id', 'name']).doUpdateSet({ content, size, updated_at: now }))
      .execute();
  }

  /** Makes `name` the active script, or with "" none (RFC 5804 §2.8). */
  async setActive(accountId: number, name: string): Promise<void> {
    await this.#db.kysely.transaction().execute(async (trx) => {
      if (name) {
        const row = await trx
          .selectFrom('sieve_scripts')
          .select('id')
          .where('account_id', '=', accountId)
          .where('name', '=', name)
          .executeTakeFirst();
        if (!row) throw new FingerpostError('not_found', 'no such script');
      }
      await trx.updateTable('sieve_scripts').set({ active: 0 }).where('account_id', '=', accountId).where('active', '=', 1).execute();
      if (name)
        await trx
          .updateTable('sieve_scripts')
          .set({ active: 1, updated_at: this.#now() })
          .where('account_id', '=', accountId)
          .where('name', '=', name)
          .execute();
    });
  }

  /** Deletes a script; the active one is refused with `conflict` (RFC 5804 §2.10 ACTIVE). */
  async delete(accountId: number, name: string): Promise<void> {
    const row = await this.get(accountId, name);
    if (!row) throw new FingerpostError('not_found', 'no such script');
    if (row.active) throw new FingerpostError('conflict', 'the active script cannot be deleted');
    await this.#db.kysely.deleteFrom('sieve_scripts').where('id', '=', row.id).execute();
  }

  /** Renames a script, keeping its active mark (RFC 5804 §2.11.1); the new name must be free. */
  async rename(accountId: number, from: string, to: string): Promise<void> {
    await this.#db.kysely.transaction().execute(async (trx) => {
      const clash = await trx
        .selectFrom('sieve_scripts')
        .select('id')
        .where('account_id', '=', accountId)
        .where('name', '=', to)
        .executeTakeFirst();
      if (clash) throw new FingerpostError('already_exists', 'a script of that name exists');
      const r = await trx
        .updateTable('sieve_scripts')
        .set({ name: to, updated_at: this.#now() })
        .where('account_id', '=', accountId)
        .where('name', '=', from)
        .executeTakeFirst();
      if (!r.numUpdatedRows) throw new FingerpostError('not_found', 'no such script');
    });
  }
}
