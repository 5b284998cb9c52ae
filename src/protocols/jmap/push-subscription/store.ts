import { randomBytes } from 'node:crypto';
import webpush from 'web-push';
import type { Selectable } from 'kysely';
import type { JmapPushSubscriptionTable } from '../../../store/schema.ts';
import type { JsonObject } from '../args.ts';
import type { JmapServices } from '../context.ts';
import { utcDate } from '../dates.ts';
import { toId } from '../ids.ts';

export type PushRow = Selectable<JmapPushSubscriptionTable>;

/** The PushSubscription object as /get shows it: never the url or keys (RFC 8620 §7.2). */
export function pushObject(row: PushRow): JsonObject {
  return {
    id: toId('push', row.id),
    deviceClientId: row.device_client_id,
    verificationCode: row.verified ? row.verification_code : null,
    expires: utcDate(Number(row.expires)),
    types: row.types === null ? null : (JSON.parse(row.types) as string[]),
  };
}

/** The account's subscriptions, oldest first. */
export function listPushSubscriptions(services: JmapServices, accountId: number): Promise<PushRow[]> {
  return services.db.kysely.selectFrom('jmap_push_subscriptions').selectAll().where('account_id', '=', accountId).orderBy('id').execute();
}

/** A fresh verification code (RFC 8620 §7.2.2): unguessable, so only the URL's owner learns it. */
export function newVerificationCode(): string {
  return randomBytes(24).toString('base64url');
}

/**
 * The server's VAPID key pair (RFC 8292 §3.2), made on first use and shared through the database
 * by every node (the first insert wins; the others read it).
 */
export async function vapidKeys(services: Pick<JmapServices, 'db'>): Promise<{ publicKey: string; privateKey: string }> {
  const k = services.db.kysely;
  const found = await k.selectFrom('jmap_vapid').selectAll().where('id', '=', 1).executeTakeFirst();
  if (found) return { publicKey: found.public_key, privateKey: found.private_key };
  const made = webpush.generateVAPIDKeys();
  await k
    .insertInto('jmap_vapid')
    .values({ id: 1, public_key: made.publicKey, private_key: made.privateKey })
    .onConflict((oc) => oc.column('id').doNothing())
    .execute();
  const row = await k.selectFrom('jmap_vapid').selectAll().where('id', '=', 1).executeTakeFirstOrThrow();
  return { publicKey: row.public_key, privateKey: row.private_key };
}
