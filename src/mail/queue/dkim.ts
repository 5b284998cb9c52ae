import { generateKeyPairSync } from 'node:crypto';
import DKIM from 'nodemailer/lib/dkim';
import { FingerpostError } from '../../core/errors.ts';
import type { Db } from '../../store/db.ts';

/** A DKIM key as listed (never the private key). */
export interface DkimKeyInfo {
  readonly domain: string;
  readonly selector: string;
  readonly algorithm: string;
  /** Signs outbound mail now. */
  readonly active: boolean;
  /** `active`; `pending`: rotated in, signs from `activateAt`; `retired`: replaced, kept for verification. */
  readonly state: 'active' | 'pending' | 'retired';
  readonly activateAt: number | undefined;
  readonly createdAt: number;
  /** The TXT record to publish at `selector._domainkey.domain` (RFC 6376 §3.6.1). */
  readonly dnsName: string;
  readonly dnsValue: string;
}

const SELECTOR = /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/;

function txtValue(publicKeyDer: string): string {
  return `v=DKIM1; k=rsa; p=${publicKeyDer}`;
}

/** The selector a new key gets unless one is given: `fp` and the year and month (RFC 6376 §3.1). */
export function defaultSelector(now = Date.now()): string {
  const d = new Date(now);
  return `fp${d.getUTCFullYear()}${String(d.getUTCMonth() + 1).padStart(2, '0')}`;
}

/** The DNS record for a stored key, split into 255-octet strings as TXT requires (RFC 1035 §3.3.14). */
export function zoneLine(info: Pick<DkimKeyInfo, 'dnsName' | 'dnsValue'>): string {
  const chunks = info.dnsValue.match(/.{1,255}/g) ?? [];
  return `${info.dnsName}. IN TXT ( ${chunks.map((c) => `"${c}"`).join(' ')} )`;
}

interface KeyRow {
  readonly domain: string;
  readonly active: number;
  readonly activate_at: number | null;
  readonly created_at: number;
}

/**
 * The key each domain signs with at `now`: of the keys made active and the rotated-in keys whose
 * time has come, the one that became active last.
 */
function signingKeys<R extends KeyRow>(rows: readonly R[], now: number): Map<string, R> {
  const out = new Map<string, R>();
  const since = (r: KeyRow) => (r.activate_at === null ? Number(r.created_at) : Number(r.activate_at));
  for (const r of rows) {
    const eligible = r.activate_at === null ? r.active === 1 : Number(r.activate_at) <= now;
    if (!eligible) continue;
    const best = out.get(r.domain);
    if (!best || since(r) >= since(best)) out.set(r.domain, r);
  }
  return out;
}

/** DKIM keys per domain (RFC 6376) kept in the store, shared by every node. */
export class DkimKeys {
  readonly #db: Db;
  #cache: { at: number; until: number; keys: Map<string, { selector: string; privateKey: string }> } | undefined;

  constructor(db: Db) {
    this.#db = db;
  }

  /** Generates an RSA-2048 key (RFC 8301 §3.2) for `domain` and makes it the active one. */
  async create(domain: string, selector: string, now = Date.now()): Promise<DkimKeyInfo> {
    const d = domain.toLowerCase();
    const { priv, pub } = await this.#newKey(d, selector);
    await this.#db.kysely.transaction().execute(async (trx) => {
      await trx.updateTable('dkim_keys').set({ active: 0 }).where('domain', '=', d).execute();
      await trx
        .insertInto('dkim_keys')
        .values({ domain: d, selector, algorithm: 'rsa-sha256', private_key: priv, public_key: pub, active: 1, created_at: now })
        .execute();
    });
    this.#cache = undefined;
    return (await this.list(d)).find((k) => k.selector === selector)!;
  }

  /**
   * Rotation (RFC 6376 §3.1, §3.6.1): a new key under a new selector that signs only from
   * `activateAt`, so its TXT record can be published and cached by resolvers first; the current
   * key signs until then and stays listed (`retired`) for verification of mail already sent.
   */
  async rotate(domain: string, selector: string, activateAt: number, now = Date.now()): Promise<DkimKeyInfo> {
    const d = domain.toLowerCase();
    const current = (await this.list(d)).find((k) => k.active);
    if (!current)
      throw new FingerpostError('not_found', `domain ${d} has no DKIM key to rotate`, {
        hint: `create one: fingerpost admin dkim create ${d}`,
      });
    const { priv, pub } = await this.#newKey(d, selector);
    await this.#db.kysely
      .insertInto('dkim_keys')
      .values({
        domain: d,
        selector,
        algorithm: 'rsa-sha256',
        private_key: priv,
        public_key: pub,
        active: 0,
        created_at: now,
        activate_at: activateAt,
      })
      .execute();
    this.#cache = undefined;
    return (await this.list(d, now)).find((k) => k.selector === selector)!;
  }

  async #newKey(d: string, selector: string): Promise<{ priv: string; pub: string }> {
    if (!SELECTOR.test(selector)) throw new FingerpostError('invalid_argument', `"${selector}" is not a valid DKIM selector`);
    const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const priv = privateKey.export({ type: 'pkcs8', format: 'pem' }) as string;
    const pub = (publicKey.export({ type: 'spki', format: 'der' }) as Buffer).toString('base64');
    const existing = await this.#db.kysely
      .selectFrom('dkim_keys')
      .select('id')
      .where('domain', '=', d)
      .where('selector', '=', selector)
      .executeTakeFirst();
    if (existing)
      throw new FingerpostError('already_exists', `domain ${d} already has a DKIM key with selector ${selector}`, {
        hint: 'choose another --selector (keys rotate by selector)',
      });
    return { priv, pub };
  }

  async list(domain?: string, now = Date.now()): Promise<DkimKeyInfo[]> {
    let q = this.#db.kysely.selectFrom('dkim_keys').selectAll().orderBy('domain').orderBy('created_at');
    if (domain) q = q.where('domain', '=', domain.toLowerCase());
    const rows = await q.execute();
    const signing = signingKeys(rows, now);
    return rows.map((r) => ({
      domain: r.domain,
      selector: r.selector,
      algorithm: r.algorithm,
      active: signing.get(r.domain) === r,
      state: signing.get(r.domain) === r ? 'active' : r.activate_at !== null && Number(r.activate_at) > now ? 'pending' : 'retired',
      activateAt: r.activate_at === null ? undefined : Number(r.activate_at),
      createdAt: r.created_at,
      dnsName: `${r.selector}._domainkey.${r.domain}`,
      dnsValue: txtValue(r.public_key),
    }));
  }

  async remove(domain: string, selector: string): Promise<void> {
    const res = await this.#db.kysely
      .deleteFrom('dkim_keys')
      .where('domain', '=', domain.toLowerCase())
      .where('selector', '=', selector)
      .executeTakeFirst();
    if (!res.numDeletedRows) throw new FingerpostError('not_found', `no DKIM key ${selector} for ${domain}`);
    this.#cache = undefined;
  }

  async #active(domain: string): Promise<{ selector: string; privateKey: string } | undefined> {
    const now = Date.now();
    if (!this.#cache || now >= this.#cache.until) {
      const rows = await this.#db.kysely
        .selectFrom('dkim_keys')
        .select(['domain', 'selector', 'private_key', 'active', 'activate_at', 'created_at'])
        .where((eb) => eb.or([eb('active', '=', 1), eb('activate_at', 'is not', null)]))
        .execute();
      const signing = signingKeys(rows, now);
      this.#cache = {
        at: now,
        // A pending key's switch time bounds how long this answer may be reused.
        until: Math.min(now + 60_000, ...rows.map((r) => Number(r.activate_at ?? Infinity)).filter((t) => t > now)),
        keys: new Map([...signing].map(([d, r]) => [d, { selector: r.selector, privateKey: r.private_key }])),
      };
    }
    return this.#cache.keys.get(domain.toLowerCase());
  }

  /**
   * Signs `message` with the active key of `domain` (relaxed/relaxed, rsa-sha256, RFC 6376 §3.4)
   * using nodemailer's signer; returns it unchanged when the domain has no key.
   */
  async sign(message: Buffer, domain: string): Promise<Buffer> {
    const key = await this.#active(domain);
    if (!key) return message;
    const signer = new DKIM({ domainName: domain.toLowerCase(), keySelector: key.selector, privateKey: key.privateKey });
    const chunks: Buffer[] = [];
    const stream = signer.sign(message);
    for await (const chunk of stream) chunks.push(chunk as Buffer);
    return Buffer.concat(chunks);
  }
}

/** The domain of the first address in the message's `From:` header (what DKIM `d=` should align with, RFC 7489 §3.1). */
export function fromDomain(message: Buffer): string | undefined {
  const end = message.indexOf('\r\n\r\n');
  const header = message.subarray(0, end < 0 ? message.length : end).toString('utf8');
  const m = /^From:((?:.*)(?:\r\n[ \t].*)*)/im.exec(header);
  if (!m) return undefined;
  const addr = /<[^<>@\s]+@([^<>\s]+)>/.exec(m[1]!) ?? /[^\s<>"(),;:]+@([A-Za-z0-9.-]+)/.exec(m[1]!);
  return addr?.[1]?.toLowerCase();
}
