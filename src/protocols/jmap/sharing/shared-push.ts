import type { JmapServices } from '../context.ts';
import { currentStates, stateChange } from '../push/state-change.ts';
import { PushWatcher } from '../push/watcher.ts';
import type { PushType } from '../state.ts';
import { sharedAccounts } from './accounts.ts';

/** The types a shared account has (RFC 9670 §1.4: mail only here). */
export const SHARED_TYPES: ReadonlySet<PushType> = new Set(['Mailbox', 'Email', 'Thread']);

/**
 * Watches the accounts that shared mailboxes with `accountId` when the push connection opened, so
 * changes their owners (or anyone, on any node) make reach the grantee as StateChange objects
 * naming that account (RFC 8620 §7.1). Returns the function that stops watching.
 */
export async function watchSharedAccounts(
  services: JmapServices,
  accountId: number,
  types: readonly PushType[],
  send: (change: ReturnType<typeof stateChange>) => void,
): Promise<() => void> {
  const wanted = types.filter((t) => SHARED_TYPES.has(t));
  const watchers: PushWatcher[] = [];
  if (wanted.length) {
    for (const { owner } of await sharedAccounts(services, accountId)) {
      const w = new PushWatcher(services, owner.id, wanted, await currentStates(services, owner.id, wanted), (changed) =>
        send(stateChange(owner.id, changed)),
      );
      w.start();
      watchers.push(w);
    }
  }
  return () => {
    for (const w of watchers) w.stop();
  };
}
