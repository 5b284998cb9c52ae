import { CAPABILITIES } from '../capabilities.ts';
import type { JmapServices } from '../context.ts';
import type { MethodDefinition } from '../dispatch.ts';
import { changesArguments, changesResponse } from '../changes.ts';
import { typeState } from '../state.ts';
import { COUNT_PROPERTIES } from './object.ts';

/** Mailbox changes after a state: the change log plus mailboxes whose contents (counts) changed. */
export interface MailboxChanges {
  readonly newState: number;
  readonly hasMoreChanges: boolean;
  readonly created: number[];
  readonly updated: number[];
  readonly destroyed: number[];
  /** True when every update is a count change only (RFC 8621 §2.2 `updatedProperties`). */
  readonly countsOnly: boolean;
}

/**
 * Mailbox changes after `since` (RFC 8620 §5.2, RFC 8621 §2.2). Renames, subscriptions and
 * creation come from the change log; a mailbox whose HIGHESTMODSEQ moved had its counts change.
 * `max` cuts at a MODSEQ boundary so the returned `newState` is exact.
 */
export async function mailboxChangesSince(services: JmapServices, accountId: number, since: number, max: number): Promise<MailboxChanges> {
  const [logged, boxes] = await Promise.all([
    services.mail.changeLog.entriesSince(accountId, 'Mailbox', since),
    services.mail.listMailboxes(accountId),
  ]);
  const rows = [...logged];
  for (const b of boxes) if (b.highestModseq > since) rows.push({ modseq: b.highestModseq, id: b.id, kind: 'counts' });
  rows.sort((a, b) => a.modseq - b.modseq);
  let slice = rows;
  let hasMore = false;
  const distinct = new Set(rows.map((r) => r.id));
  if (distinct.size > max) {
    hasMore = true;
    const seen = new Set<number>();
    let cut = rows.length;
    for (let i = 0; i < rows.length; i++) {
      seen.add(rows[i]!.id);
      if (seen.size > max) {
        cut = i;
        break;
      }
    }
    // Whole MODSEQ steps only, so that `newState` names a state the client can resume from.
    const boundary = rows[cut]!.modseq;
    slice = rows.filter((r) => r.modseq < boundary);
    if (slice.length === 0) {
      slice = rows.filter((r) => r.modseq === boundary);
      hasMore = slice.length < rows.length;
    }
  }
  const state = new Map<number, { created: boolean; destroyed: boolean; object: boolean }>();
  for (const r of slice) {
    const s = state.get(r.id) ?? { created: false, destroyed: false, object: false };
    if (r.kind === 'created') s.created = true;
    else if (r.kind === 'destroyed') s.destroyed = true;
    else if (r.kind === 'updated') s.object = true;
    state.set(r.id, s);
  }
  const created: number[] = [];
  const updated: number[] = [];
  const destroyed: number[] = [];
  let countsOnly = true;
  for (const [id, s] of state) {
    if (s.created && s.destroyed) continue;
    if (s.destroyed) destroyed.push(id);
    else if (s.created) created.push(id);
    else {
      updated.push(id);
      if (s.object) countsOnly = false;
    }
  }
  if (created.length || destroyed.length) countsOnly = false;
  const newState = hasMore ? slice.at(-1)!.modseq : await typeState(services, accountId, 'Mailbox');
  return { newState: Math.max(newState, since), hasMoreChanges: hasMore, created, updated, destroyed, countsOnly };
}

/** Mailbox/changes (RFC 8621 §2.2): the standard /changes plus `updatedProperties`. */
export const mailboxChanges: MethodDefinition = {
  capability: CAPABILITIES.mail,
  async run(args, ctx) {
    const accountId = ctx.account(args);
    const { since, max } = await changesArguments(args, ctx, accountId, 'Mailbox');
    const c = await mailboxChangesSince(ctx.services, accountId, since, max);
    return {
      ...changesResponse(ctx, 'mailbox', since, c),
      updatedProperties: c.countsOnly && c.updated.length ? [...COUNT_PROPERTIES] : null,
    };
  },
};
