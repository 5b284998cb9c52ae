import type { Vacation } from '../../../mail/vacation/settings.ts';
import type { JsonObject } from '../args.ts';
import type { JmapServices } from '../context.ts';
import { utcDate } from '../dates.ts';

/** The VacationResponse singleton's one id (RFC 8621 §8). */
export const SINGLETON = 'singleton';

export const VACATION_PROPERTIES = ['id', 'isEnabled', 'fromDate', 'toDate', 'subject', 'textBody', 'htmlBody'] as const;

export type { Vacation };

/** The account's settings, or the disabled default. */
export function loadVacation(services: JmapServices, accountId: number): Promise<Vacation> {
  return services.mail.vacation.load(accountId);
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
