import type { Db } from '../store/db.ts';

/** One OAuth grant an account gave a client at the embedded provider (oidc-provider's `Grant`). */
export interface GrantInfo {
  readonly id: string;
  readonly clientId: string;
  readonly clientName: string;
  readonly scopes: readonly string[];
  /** Epoch ms. */
  readonly createdAt: number;
  readonly expiresAt: number | null;
}

const MAX_GRANTS = 500;

/** The grants of one account (by its `sub`, the address), newest first. */
export async function listGrants(db: Db, account: string): Promise<GrantInfo[]> {
  const rows = await db.kysely
    .selectFrom('idp_entries')
    .select(['id', 'payload', 'expires_at'])
    .where('model', '=', 'Grant')
    .where('payload', 'like', `%"accountId":${JSON.stringify(account)}%`)
    .limit(MAX_GRANTS)
    .execute();
  const grants: GrantInfo[] = [];
  const names = new Map<string, string>();
  for (const r of rows) {
    const p = JSON.parse(r.payload) as {
      accountId?: string;
      clientId?: string;
      iat?: number;
      openid?: { scope?: string };
      resources?: Record<string, string>;
    };
    if (p.accountId !== account || typeof p.clientId !== 'string') continue;
    if (!names.has(p.clientId)) names.set(p.clientId, await clientName(db, p.clientId));
    const scopes = new Set((p.openid?.scope ?? '').split(' ').filter(Boolean));
    for (const s of Object.values(p.resources ?? {})) for (const x of String(s).split(' ').filter(Boolean)) scopes.add(x);
    grants.push({
      id: r.id,
      clientId: p.clientId,
      clientName: names.get(p.clientId) ?? '',
      scopes: [...scopes],
      createdAt: (p.iat ?? 0) * 1000,
      expiresAt: r.expires_at,
    });
  }
  return grants.sort((a, b) => b.createdAt - a.createdAt);
}

async function clientName(db: Db, clientId: string): Promise<string> {
  const row = await db.kysely
    .selectFrom('idp_entries')
    .select('payload')
    .where('model', '=', 'Client')
    .where('id', '=', clientId)
    .executeTakeFirst();
  if (!row) return '';
  const name = (JSON.parse(row.payload) as { client_name?: unknown }).client_name;
  return typeof name === 'string' ? name : '';
}

/** Deletes a grant and every code and refresh token issued under it (RFC 7009 §2.1: revoking a grant). */
export async function deleteGrant(db: Db, grantId: string): Promise<void> {
  await db.kysely.deleteFrom('idp_entries').where('model', '=', 'Grant').where('id', '=', grantId).execute();
  await db.kysely.deleteFrom('idp_entries').where('grant_id', '=', grantId).execute();
}
