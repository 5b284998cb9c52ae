import type { JsonObject } from '../args.ts';
import type { JmapServices } from '../context.ts';
import { utcDate } from '../dates.ts';

/** The VacationResponse singleton's one id (RFC 8621 §8). */
export const SINGLETON = 'singleton';

export const VACATION_PROPERTIES = ['id', 'isEnabled', 'fromDate', 'toDate', 'subject', 'textBody', 'htmlBody'] as const;

/** The stored settings, or the disabled default. */
export interface Vacation {
  readonly isEnabled: boolean;
  readonly fromDate: number | null;
  readonly toDate: number | null;
  readonly subject: string | null;
  readonly textBody: string | null;
  readonly htmlBody: string | null;
}

export async function loadVacation(services: JmapServices, accountId: number): Promise<Vacation> {
  const row = await services.db.kysely.selectFrom('jmap_vacation').selectAll().where('account_id', '=', accountId).executeTakeFirst();
  if (!row) return { isEnabled: false, fromDate: null, toDate: null, subject: null, textBody: null, htmlBody: null };
  return {
    isEnabled: row.is_enabled === 1,
    fromDate: row.from_date,
    toDate: row.to_date,
    subject: row.subject,
    textBody: row.text_body,
    htmlBody: row.html_body,
  };
}

/** The JMAP VacationResponse object (RFC 8621 §8). */
export function vacationObject(v: Vacation): JsonObject {
  return {
    id: SINGLETON,
    isEnabled: v.isEnabled,
    fromDate: v.fromDate === null ? null : utcDate(v.fromDate),
    toDate: v.toDate === null ? null : utcDate(v.toDate),
    subject: v.subject,
    textBody: v.textBody,
    htmlBody: v.htmlBody,
  };
}

/** True when the response should be sent at `now` (enabled, inside its date range). */
export function isActive(v: Vacation, now: number): boolean {
  return v.isEnabled && (v.fromDate === null || now >= v.fromDate) && (v.toDate === null || now < v.toDate);
}
