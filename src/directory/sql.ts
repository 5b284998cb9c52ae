import { isUniqueViolation } from '../store/collections.ts';
import { createHash } from 'node:crypto';
import { type Address, parseAddress, parseDomain } from '../core/address.ts';
import { FingerpostError } from '../core/errors.ts';
import type { Db } from '../store/db.ts';
import { type Selectable, sql } from 'kysely';
import type { AccountTable, AppPasswordTable } from '../store/schema.ts';
import {
  type AccountDirectory,
  APP_PASSWORD_PROTOCOLS,
  type AppPasswordInfo,
  type AppPasswordUse,
  type DirectoryAccount,
  type DirectoryDomain,
} from './directory.ts';
import { verifyPassword } from './password-hash.ts';

/** SHA-256 of an app-password secret: the secrets are random and long, so a fast hash is enough. */
export function hashAppSecret(secret: string): string {
  return createHash('sha256').update(secret, 'utf8').digest('hex');
}

type AccountRow = Selectable<AccountTable> & { domain_name: string };

function toAccount(row: AccountRow): DirectoryAccount {
  return {
    id: row.id,
    address: row.address,
    localPart: row.local_part,
    domain: row.domain_name,
    domainId: row.domain_id,
    displayName: row.display_name,
    disabled: row.disabled === 1,
    isAdmin: row.is_admin === 1,
    passwordHash: row.password_hash,
    credentialsChangedAt: row.credentials_changed_at,
    createdAt: row.created_at,
  };
}

function toAppPassword(row: Selectable<AppPasswordTable>): AppPasswordInfo {
  return {
    id: row.id,
    accountId: row.account_id,
    name: row.name,
    protocols: row.protocols.split(',').filter(Boolean),
    createdAt: row.created_at,
    lastUsedAt: row.last_used_at,
    lastUsedAddress: row.last_used_address ?? null,
    lastUsedProtocol: row.last_used_protocol ?? null,
    expiresAt: row.expires_at,
    revokedAt: row.revoked_at,
  };
}

/** The default directory: domains, accounts, aliases and app passwords in the SQL store. */
export class SqlDirectory implements AccountDirectory {
  readonly #db: Db;
  readonly #now: () => number;

  constructor(db: Db, now: () => number = Date.now) {
    this.#db = db;
    this.#now = now;
  }

  #accounts() {
    return this.#db.kysely
      .selectFrom('accounts')
      .innerJoin('domains', 'domains.id', 'accounts.domain_id')
      .selectAll('accounts')
      .select('domains.name as domain_name');
  }

  async findByAddress(address: string): Promise<DirectoryAccount | undefined> {
    const key = address.toLowerCase();
    const row =
      (await this.#accounts().where('accounts.address', '=', key).executeTakeFirst()) ??
      (await this.#accounts()
        .innerJoin('aliases', 'aliases.account_id', 'accounts.id')
        .where('aliases.address', '=', key)
        .executeTakeFirst());
    return row ? toAccount(row) : undefined;
  }

  async findRecipient(address: string): Promise<DirectoryAccount | undefined> {
    const account = await this.findByAddress(address);
    const at = address.lastIndexOf('@');
    if (account || address.slice(0, at).toLowerCase() !== 'postmaster') return account;
    const domain = await this.findDomain(address.slice(at + 1));
    if (!domain) return undefined;
    // The domain's own admin first, else the server's first admin (the one the first start made).
    const admin = await this.#accounts()
      .where('accounts.is_admin', '=', 1)
      .where('accounts.disabled', '=', 0)
      .orderBy(sql`accounts.domain_id = ${domain.id}`, 'desc')
      .orderBy('accounts.id')
      .executeTakeFirst();
    return admin ? toAccount(admin) : undefined;
  }

  async getAccount(id: number): Promise<DirectoryAccount | undefined> {
    const row = await this.#accounts().where('accounts.id', '=', id).executeTakeFirst();
    return row ? toAccount(row) : undefined;
  }

  async findDomain(name: string): Promise<DirectoryDomain | undefined> {
    const row = await this.#db.kysely.selectFrom('domains').selectAll().where('name', '=', name.toLowerCase()).executeTakeFirst();
    return row ? { id: row.id, name: row.name, createdAt: row.created_at, settings: JSON.parse(row.settings) } : undefined;
  }

  async listDomains(): Promise<DirectoryDomain[]> {
    const rows = await this.#db.kysely.selectFrom('domains').selectAll().orderBy('name').execute();
    return rows.map((row) => ({ id: row.id, name: row.name, createdAt: row.created_at, settings: JSON.parse(row.settings) }));
  }

  async addressesOf(accountId: number): Promise<string[]> {
    const account = await this.getAccount(accountId);
    if (!account) return [];
    const aliases = await this.#db.kysely
      .selectFrom('aliases')
      .select('address')
      .where('account_id', '=', accountId)
      .orderBy('address')
      .execute();
    return [account.address, ...aliases.map((a) => a.address)];
  }

  /** argon2 against the stored hash; an unknown account or one without a hash still spends one verification. */
  verifyPassword(account: DirectoryAccount | undefined, password: string): Promise<boolean> {
    return verifyPassword(account?.passwordHash ?? null, password).then((ok) => ok && account !== undefined);
  }

  // ---- administration ----

  async addDomain(name: string): Promise<DirectoryDomain> {
    const domain = parseDomain(name);
    try {
      await this.#db.kysely.insertInto('domains').values({ name: domain, created_at: this.#now(), settings: '{}' }).execute();
    } catch (err) {
      if (isUniqueViolation(err)) throw new FingerpostError('already_exists', `domain ${domain} already exists`);
      throw err;
    }
    return (await this.findDomain(domain))!;
  }

  async updateDomainSettings(name: string, patch: Record<string, unknown>): Promise<DirectoryDomain> {
    const domain = await this.#requireDomain(name);
    const settings = { ...domain.settings, ...patch };
    await this.#db.kysely
      .updateTable('domains')
      .set({ settings: JSON.stringify(settings) })
      .where('id', '=', domain.id)
      .execute();
    return { ...domain, settings };
  }

  async removeDomain(name: string): Promise<void> {
    const domain = await this.#requireDomain(name);
    const users = await this.#db.kysely.selectFrom('accounts').select('id').where('domain_id', '=', domain.id).limit(1).execute();
    if (users.length) {
      throw new FingerpostError('conflict', `domain ${domain.name} still has accounts`, {
        hint: `remove them first: fingerpost admin user list --domain ${domain.name}`,
      });
    }
    await this.#db.kysely.deleteFrom('domains').where('id', '=', domain.id).execute();
  }

  async #requireDomain(name: string): Promise<DirectoryDomain> {
    const domain = await this.findDomain(parseDomain(name));
    if (!domain) {
      throw new FingerpostError('unknown_domain', `domain ${name} is not served here`, {
        hint: `add it first: fingerpost admin domain add ${name}`,
      });
    }
    return domain;
  }

  async #requireAccount(address: string): Promise<DirectoryAccount> {
    const account = await this.findByAddress(parseAddress(address).normalized);
    if (!account || account.address !== parseAddress(address).normalized) {
      throw new FingerpostError('not_found', `no account ${address}`, { hint: 'list accounts with: fingerpost admin user list' });
    }
    return account;
  }

  async #assertAddressFree(addr: Address): Promise<void> {
    if (await this.findByAddress(addr.normalized)) {
      throw new FingerpostError('already_exists', `${addr.normalized} is already an account or alias`);
    }
  }

  async addAccount(input: {
    address: string;
    passwordHash: string | null;
    displayName?: string;
    isAdmin?: boolean;
  }): Promise<DirectoryAccount> {
    const addr = parseAddress(input.address);
    const domain = await this.#requireDomain(addr.domain);
    await this.#assertAddressFree(addr);
    const now = this.#now();
    try {
      await this.#db.kysely
        .insertInto('accounts')
        .values({
          domain_id: domain.id,
          local_part: addr.local,
          address: addr.normalized,
          display_name: input.displayName ?? '',
          password_hash: input.passwordHash,
          disabled: 0,
          is_admin: input.isAdmin ? 1 : 0,
          created_at: now,
          credentials_changed_at: now,
        })
        .execute();
    } catch (err) {
      if (isUniqueViolation(err)) throw new FingerpostError('already_exists', `${addr.normalized} already exists`);
      throw err;
    }
    return (await this.findByAddress(addr.normalized))!;
  }

  async listAccounts(domain?: string): Promise<DirectoryAccount[]> {
    let q = this.#accounts().orderBy('accounts.address');
    if (domain) q = q.where('domains.name', '=', parseDomain(domain));
    return (await q.execute()).map((r) => toAccount(r));
  }

  async removeAccount(address: string): Promise<DirectoryAccount> {
    const account = await this.#requireAccount(address);
    await this.#db.kysely.deleteFrom('accounts').where('id', '=', account.id).execute();
    return account;
  }

  async setPasswordHash(address: string, passwordHash: string): Promise<DirectoryAccount> {
    const account = await this.#requireAccount(address);
    await this.#db.kysely
      .updateTable('accounts')
      .set({ password_hash: passwordHash, credentials_changed_at: this.#now() })
      .where('id', '=', account.id)
      .execute();
    return (await this.getAccount(account.id))!;
  }

  async setDisabled(address: string, disabled: boolean): Promise<DirectoryAccount> {
    const account = await this.#requireAccount(address);
    await this.#db.kysely
      .updateTable('accounts')
      .set({ disabled: disabled ? 1 : 0, credentials_changed_at: this.#now() })
      .where('id', '=', account.id)
      .execute();
    return (await this.getAccount(account.id))!;
  }

  /** Changes the name and admin role an outside source (LDAP) gives an account kept here as its shadow. */
  async updateAccount(id: number, change: { displayName: string; isAdmin: boolean }): Promise<void> {
    await this.#db.kysely
      .updateTable('accounts')
      .set({ display_name: change.displayName, is_admin: change.isAdmin ? 1 : 0 })
      .where('id', '=', id)
      .execute();
  }

  async addAlias(alias: string, target: string): Promise<void> {
    const addr = parseAddress(alias);
    await this.#requireDomain(addr.domain);
    const account = await this.#requireAccount(target);
    await this.#assertAddressFree(addr);
    await this.#db.kysely
      .insertInto('aliases')
      .values({ address: addr.normalized, account_id: account.id, created_at: this.#now() })
      .execute();
  }

  async removeAlias(alias: string): Promise<void> {
    const addr = parseAddress(alias);
    const res = await this.#db.kysely.deleteFrom('aliases').where('address', '=', addr.normalized).executeTakeFirst();
    if (!res.numDeletedRows) throw new FingerpostError('not_found', `no alias ${addr.normalized}`);
  }

  async listAliases(): Promise<Array<{ alias: string; target: string }>> {
    const rows = await this.#db.kysely
      .selectFrom('aliases')
      .innerJoin('accounts', 'accounts.id', 'aliases.account_id')
      .select(['aliases.address as alias', 'accounts.address as target'])
      .orderBy('aliases.address')
      .execute();
    return rows;
  }

  // ---- app passwords ----

  async createAppPassword(input: {
    address: string;
    name: string;
    protocols: readonly string[];
    secret: string;
    expiresAt: number | null;
  }): Promise<AppPasswordInfo> {
    const account = await this.#requireAccount(input.address);
    const bad = input.protocols.filter((p) => !(APP_PASSWORD_PROTOCOLS as readonly string[]).includes(p));
    if (bad.length || input.protocols.length === 0) {
      throw new FingerpostError('invalid_argument', `unknown protocol ${bad.join(', ') || '(none given)'}`, {
        hint: `choose from ${APP_PASSWORD_PROTOCOLS.join(', ')}`,
      });
    }
    const row = await this.#db.kysely
      .insertInto('app_passwords')
      .values({
        account_id: account.id,
        name: input.name,
        secret_hash: hashAppSecret(input.secret),
        protocols: [...new Set(input.protocols)].join(','),
        created_at: this.#now(),
        expires_at: input.expiresAt,
        last_used_at: null,
        revoked_at: null,
      })
      .returningAll()
      .executeTakeFirstOrThrow();
    return toAppPassword(row);
  }

  async listAppPasswords(address: string): Promise<AppPasswordInfo[]> {
    const account = await this.#requireAccount(address);
    const rows = await this.#db.kysely.selectFrom('app_passwords').selectAll().where('account_id', '=', account.id).orderBy('id').execute();
    return rows.map((r) => toAppPassword(r));
  }

  async findAppPasswordBySecret(secret: string): Promise<AppPasswordInfo | undefined> {
    const row = await this.#db.kysely
      .selectFrom('app_passwords')
      .selectAll()
      .where('secret_hash', '=', hashAppSecret(secret))
      .executeTakeFirst();
    return row ? toAppPassword(row) : undefined;
  }

  async touchAppPassword(id: number, use?: AppPasswordUse): Promise<void> {
    await this.#db.kysely
      .updateTable('app_passwords')
      .set({
        last_used_at: this.#now(),
        ...(use ? { last_used_address: use.remote.slice(0, 100), last_used_protocol: use.protocol.slice(0, 20) } : {}),
      })
      .where('id', '=', id)
      .execute();
  }

  async revokeAppPassword(address: string, idOrName: string): Promise<AppPasswordInfo> {
    const list = await this.listAppPasswords(address);
    const match = list.find((p) => String(p.id) === idOrName) ?? list.find((p) => p.name === idOrName && p.revokedAt === null);
    if (!match)
      throw new FingerpostError('not_found', `no app password "${idOrName}" for ${address}`, {
        hint: `list them: fingerpost admin app-password list ${address}`,
      });
    await this.#db.kysely.updateTable('app_passwords').set({ revoked_at: this.#now() }).where('id', '=', match.id).execute();
    return { ...match, revokedAt: this.#now() };
  }
}
