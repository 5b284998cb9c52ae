import { coreEcho } from './core/echo.ts';
import type { MethodTable } from './dispatch.ts';
import { emailChanges } from './email/changes.ts';
import { emailGet } from './email/get.ts';
import { emailQuery } from './email/query.ts';
import { emailQueryChanges } from './email/query-changes.ts';
import { mailboxChanges } from './mailbox/changes.ts';
import { mailboxGet } from './mailbox/get.ts';
import { mailboxQuery } from './mailbox/query.ts';
import { mailboxQueryChanges } from './mailbox/query-changes.ts';
import { mailboxSet } from './mailbox/set.ts';
import { threadChanges } from './thread/changes.ts';
import { threadGet } from './thread/get.ts';

/** Every method this server implements, by name (RFC 8620 §4–§5, RFC 8621). */
export const METHODS: MethodTable = {
  'Core/echo': coreEcho,
  'Mailbox/get': mailboxGet,
  'Mailbox/changes': mailboxChanges,
  'Mailbox/query': mailboxQuery,
  'Mailbox/queryChanges': mailboxQueryChanges,
  'Mailbox/set': mailboxSet,
  'Thread/get': threadGet,
  'Thread/changes': threadChanges,
  'Email/get': emailGet,
  'Email/changes': emailChanges,
  'Email/query': emailQuery,
  'Email/queryChanges': emailQueryChanges,
};
