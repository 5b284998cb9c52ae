import { hashPassword } from '../directory/password-hash.ts';
import { parseAddress } from '../core/address.ts';
import { FingerpostError } from '../core/errors.ts';
import type { AccountDirectory, AppPasswordInfo, DirectoryAccount, DirectoryDomain } from '../directory/directory.ts';
import { provisionMailboxes } from '../mail/provision.ts';
import type { Db } from '../store/db.ts';
import { APP_PASSWORD_REVOKED, CREDENTIALS_CHANGED, publishEvent } from '../store/events.ts';
import { typeableSecret } from './secrets.ts';

/** Event kinds this module reacts to (defined in store/events.ts, re-exported for callers). */
export { APP_PASSWORD_REVOKED, CREDENTIALS_CHANGED };

const MIN_PASSWORD = 8;

/**
 * Account administration used by the admin CLI and the first start: every change that needs more
 * than the directory (hashing, mailboxes, notifying live sessions) happens here, once.
 */
export class AccountAdmin {
  readonly #db: Db;
  readonly #directory: AccountDirectory;

  constructor(db: Db, directory: AccountDirectory) {
    this.#db = db;
    this.#directory = directory;
  }

  addDomain(name: string): Promise<DirectoryDomain> {
    return this.#directory.addDomain(name);
  }

  listDomains(): Promise<DirectoryDomain[]> {
    return this.#directory.listDomains();
  }

  removeDomain(name: string): Promise<void> {
    return this.#directory.removeDomain(name);
  }

  /** Creates an account with the given password, or a generated one that is returned once. */
  async addUser(input: {
    address: string;
    password?: string;
    displayName?: string;
    isAdmin?: boolean;
  }): Promise<{ account: DirectoryAccount; generatedPassword?: string }> {
    const address = parseAddress(input.address).normalized;
    const domain = await this.#directory.findDomain(parseAddress(input.address).domain);
    if (!domain) {
      throw new FingerpostError('unknown_domain', `domain ${parseAddress(input.address).domain} is not served here`, {
        hint: `add it first: fingerpost admin domain add ${parseAddress(input.address).domain}`,
      });
    }
    if (await this.#directory.findByAddress(address))
      throw new FingerpostError('already_exists', `${address} is already an account or alias`);
    const password = input.password ?? typeableSecret(4);
    checkPassword(password);
    const passwordHash = await hashPassword(password);
    const account = await this.#directory.addAccount({
      address: input.address,
      passwordHash,
      displayName: input.displayName ?? '',
      isAdmin: input.isAdmin ?? false,
    });
    try {
      await provisionMailboxes(this.#db.kysely, account.id);
    } catch (err) {
      await this.#directory.removeAccount(address).catch(() => {});
      throw err;
    }
    return input.password === undefined ? { account, generatedPassword: password } : { account };
  }

  listUsers(domain?: string): Promise<DirectoryAccount[]> {
    return this.#directory.listAccounts(domain);
  }

  async removeUser(address: string): Promise<void> {
    const account = await this.#directory.removeAccount(address);
    await publishEvent(this.#db, CREDENTIALS_CHANGED, { accountId: account.id, reason: 'account removed' });
  }

  /** Sets a new password (given, or generated and returned once) and ends the account's sessions. */
  async setPassword(address: string, password?: string): Promise<{ generatedPassword?: string }> {
    const secret = password ?? typeableSecret(4);
    checkPassword(secret);
    const account = await this.#directory.setPasswordHash(address, await hashPassword(secret));
    await publishEvent(this.#db, CREDENTIALS_CHANGED, { accountId: account.id, reason: 'password changed' });
    return password === undefined ? { generatedPassword: secret } : {};
  }

  async setDisabled(address: string, disabled: boolean): Promise<void> {
    const account = await this.#directory.setDisabled(address, disabled);
    if (disabled) await publishEvent(this.#db, CREDENTIALS_CHANGED, { accountId: account.id, reason: 'account disabled' });
  }

  addAlias(alias: string, target: string): Promise<void> {
    return this.#directory.addAlias(alias, target);
  }

  removeAlias(alias: string): Promise<void> {
    return this.#directory.removeAlias(alias);
  }

  listAliases(): Promise<Array<{ alias: string; target: string }>> {
    return this.#directory.listAliases();
  }

  /** Creates an app password limited to `protocols`; the secret is returned once and only its hash kept. */
  async createAppPassword(input: {
    address: string;
    name: string;
    protocols: readonly string[];
    expiresAt: number | null;
  }): Promise<{ info: AppPasswordInfo; secret: string }> {
    const secret = typeableSecret(5);
    const info = await this.#directory.createAppPassword({ ...input, secret });
    return { info, secret };
  }

  listAppPasswords(address: string): Promise<AppPasswordInfo[]> {
    return this.#directory.listAppPasswords(address);
  }

  /** Revokes an app password and ends every live session that signed in with it. */
  async revokeAppPassword(address: string, idOrName: string): Promise<AppPasswordInfo> {
    const info = await this.#directory.revokeAppPassword(address, idOrName);
    await publishEvent(this.#db, APP_PASSWORD_REVOKED, { accountId: info.accountId, appPasswordId: info.id });
    return info;
  }
}

function checkPassword(password: string): void {
  if (password.length < MIN_PASSWORD) {
    throw new FingerpostError('invalid_argument', `the password is too short (at least ${MIN_PASSWORD} characters)`, {
      hint: 'choose a longer password, or leave it out to get a generated one',
    });
  }
}
