import { randomBytes } from 'node:crypto';
import webpush from 'web-push';
import type { PushSubscriptionRow, VapidKeys } from '../../../mail/push-subscriptions.ts';
import type { JsonObject } from '../args.ts';
import type { JmapServices } from '../context.ts';
import { utcDate } from '../dates.ts';
import { toId } from '../ids.ts';

/** The PushSubscription object as /get shows it: never the url or keys (RFC 8620 §7.2). */
export function pushObject(row: PushSubscriptionRow): JsonObject {
  return {
    id: toId('push', row.id),
    deviceClientId: row.device_client_id,
    verificationCode: row.verified ? row.verification_code : null,
    expires: utcDate(Number(row.expires)),
    types: row.types === null ? null : (JSON.parse(row.types) as string[]),
  };
}

/** A fresh verification code (RFC 8620 §7.2.2): unguessable, so only the URL's owner learns it. */
export function newVerificationCode(): string {
  return randomBytes(24).toString('base64url');
}

/** The server's VAPID key pair (RFC 8292 §3.2), made on first use and shared by every node. */
export function vapidKeys(services: Pick<JmapServices, 'mail'>): Promise<VapidKeys> {
  return services.mail.pushSubscriptions.vapidKeys(() => webpush.generateVAPIDKeys());
}
