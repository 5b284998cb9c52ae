import { createCipheriv, createDecipheriv, createHash, createHmac, randomBytes } from 'node:crypto';
import type { Db } from '../store/db.ts';
import { base32Encode, matchTotp, newTotpKey, totpStep } from './totp.ts';

/** A passkey as the account page lists it. */
export interface PasskeyInfo {
  readonly id: number;
  readonly name: string;
  readonly createdAt: number;
  readonly lastUsedAt: number | null;
}

/** A stored WebAuthn credential (for verifying an assertion). */
export interface StoredPasskey extends PasskeyInfo {
  readonly account: string;
  readonly credentialId: string;
  readonly publicKey: string;
  readonly counter: number;
  readonly transports: readonly string[];
}

/** What second factors an account has. */
export interface SecondFactorStatus {
  readonly totp: boolean;
  readonly recoveryLeft: number;
  readonly passkeys: readonly PasskeyInfo[];
}

export const RECOVERY_CODES = 10;
const MAX_PASSKEYS = 20;

/**
 * Second factors of accounts at the embedded provider, shared by every node through the store:
 * the TOTP key (RFC 6238) sealed with AES-256-GCM under a provider secret, with the last accepted
 * time step so a code works once; recovery codes kept only as HMACs and spent atomically; and
 * WebAuthn passkeys (src/idp/passkeys.ts verifies the ceremonies).
 */
export class SecondFactors {
  readonly #db: Db;
  readonly #secret: () => Promise<string>;
  readonly #now: () => number;

  constructor(db: Db, secret: () => Promise<string>, now: () => number = Date.now) {
    this.#db = db;
    this.#secret = secret;
    this.#now = now;
  }

  async status(account: string): Promise<SecondFactorStatus> {
    const [totp, codes, passkeys] = await Promise.all([
      this.#db.kysely.selectFrom('idp_totp').select('confirmed_at').where('account', '=', account).executeTakeFirst(),
      this.#db.kysely
        .selectFrom('idp_recovery_codes')
        .select((eb) => eb.fn.countAll<number>().as('n'))
        .where('account', '=', account)
        .where('used_at', 'is', null)
        .executeTakeFirst(),
      this.passkeys(account),
    ]);
    return { totp: !!totp?.confirmed_at, recoveryLeft: Number(codes?.n ?? 0), passkeys };
  }

  /** True when signing in to `account` needs a second factor (a confirmed TOTP key or a passkey). */
  async required(account: string): Promise<boolean> {
    const s = await this.status(account);
    return s.totp || s.passkeys.length > 0;
  }

  // ---- TOTP (RFC 6238) ----

  /** A new, unconfirmed TOTP key for `account` (replacing an unconfirmed one); base32 for the app. */
  async startTotp(account: string): Promise<string> {
    const key = newTotpKey();
    const sealed = await this.#seal(key);
    const now = this.#now();
    await this.#db.kysely.deleteFrom('idp_totp').where('account', '=', account).where('confirmed_at', 'is', null).execute();
    await this.#db.kysely
      .insertInto('idp_totp')
      .values({ account, sealed_key: sealed, confirmed_at: null, last_step: -1, created_at: now })
      .onConflict((oc) => oc.column('account').doNothing())
      .execute();
    const row = await this.#db.kysely.selectFrom('idp_totp').selectAll().where('account', '=', account).executeTakeFirstOrThrow();
    return base32Encode(await this.#open(row.sealed_key));
  }

  /** The unconfirmed key being set up (base32), if any. */
  async pendingTotp(account: string): Promise<string | undefined> {
    const row = await this.#db.kysely.selectFrom('idp_totp').selectAll().where('account', '=', account).executeTakeFirst();
    return row && !row.confirmed_at ? base32Encode(await this.#open(row.sealed_key)) : undefined;
  }

  /** Confirms the pending key with a code from the app; true when it matched. */
  async confirmTotp(account: string, code: string): Promise<boolean> {
    const row = await this.#db.kysely.selectFrom('idp_totp').selectAll().where('account', '=', account).executeTakeFirst();
    if (!row || row.confirmed_at) return false;
    const step = matchTotp(await this.#open(row.sealed_key), code, this.#now(), row.last_step);
    if (step === undefined) return false;
    const res = await this.#db.kysely
      .updateTable('idp_totp')
      .set({ confirmed_at: this.#now(), last_step: step })
      .where('account', '=', account)
      .where('confirmed_at', 'is', null)
      .executeTakeFirst();
    return Number(res.numUpdatedRows) === 1;
  }

  /** Checks a sign-in code against the confirmed key; each time step is accepted once (RFC 6238 §5.2). */
  async checkTotp(account: string, code: string): Promise<boolean> {
    const row = await this.#db.kysely.selectFrom('idp_totp').selectAll().where('account', '=', account).executeTakeFirst();
    if (!row?.confirmed_at) return false;
    const step = matchTotp(await this.#open(row.sealed_key), code, this.#now(), row.last_step);
    if (step === undefined) return false;
    // Compare-and-set: two nodes given the same code accept it once.
    const res = await this.#db.kysely
      .updateTable('idp_totp')
      .set({ last_step: step })
      .where('account', '=', account)
      .where('last_step', '<', step)
      .executeTakeFirst();
    return Number(res.numUpdatedRows) === 1;
  }

  async disableTotp(account: string): Promise<void> {
    await this.#db.kysely.deleteFrom('idp_totp').where('account', '=', account).execute();
  }

  /** The current time step (for tests and the set-up page's check). */
  step(): number {
    return totpStep(this.#now());
  }

  // ---- Recovery codes ----

  /** Ten new recovery codes (`xxxxx-xxxxx`, 50 bits each) replacing every earlier one; only HMACs are kept. */
  async newRecoveryCodes(account: string): Promise<string[]> {
    const codes = Array.from({ length: RECOVERY_CODES }, () => {
      const s = base32Encode(randomBytes(7)).slice(0, 10).toLowerCase();
      return `${s.slice(0, 5)}-${s.slice(5)}`;
    });
    const now = this.#now();
    const rows = await Promise.all(
      codes.map(async (c) => ({ account, code_hash: await this.#codeHash(account, c), created_at: now, used_at: null })),
    );
    await this.#db.kysely.transaction().execute(async (trx) => {
      await trx.deleteFrom('idp_recovery_codes').where('account', '=', account).execute();
      await trx.insertInto('idp_recovery_codes').values(rows).execute();
    });
    return codes;
  }

  /** Spends one recovery code; true once per code (atomic on every node). */
  async useRecoveryCode(account: string, code: string): Promise<boolean> {
    const normal = code.trim().toLowerCase().replace(/[\s-]/g, '');
    if (!/^[a-z2-7]{10}$/.test(normal)) return false;
    const hash = await this.#codeHash(account, normal);
    const res = await this.#db.kysely
      .updateTable('idp_recovery_codes')
      .set({ used_at: this.#now() })
      .where('account', '=', account)
      .where('code_hash', '=', hash)
      .where('used_at', 'is', null)
      .executeTakeFirst();
    return Number(res.numUpdatedRows) === 1;
  }

  async removeRecoveryCodes(account: string): Promise<void> {
    await this.#db.kysely.deleteFrom('idp_recovery_codes').where('account', '=', account).execute();
  }

  // ---- Passkeys (WebAuthn) ----

  async passkeys(account: string): Promise<PasskeyInfo[]> {
    const rows = await this.#db.kysely
      .selectFrom('idp_passkeys')
      .select(['id', 'name', 'created_at', 'last_used_at'])
      .where('account', '=', account)
      .orderBy('id')
      .limit(MAX_PASSKEYS)
      .execute();
    return rows.map((r) => ({ id: Number(r.id), name: r.name, createdAt: Number(r.created_at), lastUsedAt: r.last_used_at }));
  }

  /** The stored credentials of an account (for `allowCredentials` and exclusion lists). */
  async credentialsOf(account: string): Promise<StoredPasskey[]> {
    const rows = await this.#db.kysely.selectFrom('idp_passkeys').selectAll().where('account', '=', account).limit(MAX_PASSKEYS).execute();
    return rows.map(stored);
  }

  async credential(credentialId: string): Promise<StoredPasskey | undefined> {
    if (credentialId.length > 1400) return undefined;
    const row = await this.#db.kysely.selectFrom('idp_passkeys').selectAll().where('credential_id', '=', credentialId).executeTakeFirst();
    return row ? stored(row) : undefined;
  }

  async addPasskey(
    account: string,
    p: { credentialId: string; publicKey: string; counter: number; transports: readonly string[]; name: string },
  ): Promise<void> {
    if ((await this.passkeys(account)).length >= MAX_PASSKEYS) throw new Error('too many passkeys');
    await this.#db.kysely
      .insertInto('idp_passkeys')
      .values({
        account,
        credential_id: p.credentialId,
        public_key: p.publicKey,
        counter: p.counter,
        transports: p.transports.join(','),
        name: p.name,
        created_at: this.#now(),
        last_used_at: null,
      })
      .execute();
  }

  /** Records a use: the new signature counter (WebAuthn §6.1.1) and the time. */
  async usedPasskey(credentialId: string, counter: number): Promise<void> {
    await this.#db.kysely
      .updateTable('idp_passkeys')
      .set({ counter, last_used_at: this.#now() })
      .where('credential_id', '=', credentialId)
      .execute();
  }

  /** Removes one of the account's passkeys; false when it has none with that id. */
  async removePasskey(account: string, id: number): Promise<boolean> {
    const res = await this.#db.kysely.deleteFrom('idp_passkeys').where('account', '=', account).where('id', '=', id).executeTakeFirst();
    return Number(res.numDeletedRows) === 1;
  }

  // ---- sealing ----

  async #key(purpose: string): Promise<Buffer> {
    return createHash('sha256')
      .update(`${purpose}\0${await this.#secret()}`)
      .digest();
  }

  async #seal(plain: Buffer): Promise<string> {
    const iv = randomBytes(12);
    const c = createCipheriv('aes-256-gcm', await this.#key('totp'), iv);
    const body = Buffer.concat([c.update(plain), c.final()]);
    return `${iv.toString('base64url')}.${body.toString('base64url')}.${c.getAuthTag().toString('base64url')}`;
  }

  async #open(sealed: string): Promise<Buffer> {
    const [iv, body, tag] = sealed.split('.').map((x) => Buffer.from(x, 'base64url'));
    const d = createDecipheriv('aes-256-gcm', await this.#key('totp'), iv!);
    d.setAuthTag(tag!);
    return Buffer.concat([d.update(body!), d.final()]);
  }

  async #codeHash(account: string, code: string): Promise<string> {
    return createHmac('sha256', await this.#key('recovery'))
      .update(`${account}\0${code.replace(/-/g, '')}`)
      .digest('base64url');
  }
}

function stored(r: {
  id: number;
  account: string;
  credential_id: string;
  public_key: string;
  counter: number;
  transports: string;
  name: string;
  created_at: number;
  last_used_at: number | null;
}): StoredPasskey {
  return {
    id: Number(r.id),
    account: r.account,
    credentialId: r.credential_id,
    publicKey: r.public_key,
    counter: Number(r.counter),
    transports: r.transports ? r.transports.split(',') : [],
    name: r.name,
    createdAt: Number(r.created_at),
    lastUsedAt: r.last_used_at === null ? null : Number(r.last_used_at),
  };
}
