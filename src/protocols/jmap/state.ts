import type { JmapServices } from './context.ts';
import { MethodError } from './errors.ts';

/**
 * Object states (RFC 8620 §1.6.3, §5.1) come from the account's one change counter, the MODSEQ
 * IMAP uses too, so IMAP and JMAP see one truth. A type's state is the MODSEQ of its latest
 * change; Mailbox also moves when a mailbox's counts change (its HIGHESTMODSEQ).
 */

/** The JMAP data types whose states push announces (RFC 8620 §7.1, RFC 8621 §1.5, RFC 9425 §3). */
export const PUSH_TYPES = [
  'Mailbox',
  'Email',
  'Thread',
  'EmailDelivery',
  'Identity',
  'EmailSubmission',
  'VacationResponse',
  'Quota',
  'ShareNotification',
] as const;
export type PushType = (typeof PUSH_TYPES)[number];

/** The current state of `type` in an account. */
export async function typeState(services: JmapServices, accountId: number, type: PushType): Promise<number> {
  if (type === 'Mailbox') {
    const [logged, boxes] = await Promise.all([services.mail.typeState(accountId, 'Mailbox'), services.mail.listMailboxes(accountId)]);
    return Math.max(logged, ...boxes.map((b) => b.highestModseq));
  }
  if (type === 'EmailDelivery') {
    return services.mail.changeLog.lastCreated(accountId, 'Email');
  }
  return services.mail.typeState(accountId, type);
}

/** The state string of a number. */
export function stateString(n: number): string {
  return String(n);
}

/**
 * Parses a client-supplied state for /changes and /queryChanges: anything that is not one of our
 * states, or one from the future, is `cannotCalculateChanges` (RFC 8620 §5.2).
 */
export function parseState(value: string, current: number): number {
  if (!/^(0|[1-9][0-9]{0,15})$/.test(value)) throw new MethodError('cannotCalculateChanges', 'unknown state');
  const n = Number(value);
  if (n > current) throw new MethodError('cannotCalculateChanges', 'the state is newer than the server state');
  return n;
}

/** `ifInState` check for /set (RFC 8620 §5.3). */
export function checkIfInState(ifInState: string | undefined, current: number): void {
  if (ifInState !== undefined && ifInState !== stateString(current)) throw new MethodError('stateMismatch');
}
