import type { ResourceIds } from '../config/resources.ts';
import { SCOPES } from '../config/resources.ts';

/**
 * Which RFC 8707 resources a request gets when it names none: the mail services for the mail
 * scope, the calendar for the calendars scope (draft-ietf-mailmaint-oauth-public: one token must
 * work for every service). A request without either scope gets none (an OIDC-only sign-in).
 */
export function defaultResourcesFor(scope: string | undefined, ids: ResourceIds): string[] {
  const scopes = new Set((scope ?? '').split(' ').filter(Boolean));
  const out: string[] = [];
  if (scopes.has(SCOPES.mail)) out.push(ids.imap, ids.pop3, ids.smtp, ids.jmap);
  if (scopes.has(SCOPES.calendars) || scopes.has(SCOPES.contacts)) out.push(ids.calendar);
  return out;
}

/** Every resource identifier this server answers for, in a stable order. */
export function knownResources(ids: ResourceIds): string[] {
  return [ids.imap, ids.pop3, ids.smtp, ids.jmap, ids.calendar];
}

/**
 * The scopes a resource accepts on a token. Every service takes both, so one token can carry the
 * mail and calendars scopes to all of them; each service checks for the scope it needs.
 */
export const RESOURCE_SCOPES = `${SCOPES.mail} ${SCOPES.calendars} ${SCOPES.contacts}`;

/** A resource parameter as oidc-provider hands it over (absent, one, or repeated) as a list. */
export function asList(value: unknown): string[] {
  if (value === undefined || value === null) return [];
  return (Array.isArray(value) ? value : [value]).filter((v): v is string => typeof v === 'string');
}
