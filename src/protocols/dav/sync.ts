import { DavError } from './errors.ts';
import { NS } from './names.ts';

/**
 * Sync tokens (RFC 6578 §3.2): a URI naming the collection and its modseq, which lives in the
 * database, so a token stays valid across restarts and on every node sharing the store.
 */

export type SyncKind = 'calendar' | 'addressbook';

/** The token of a collection at a modseq. */
export function syncToken(base: string, kind: SyncKind, id: number, modseq: number): string {
  return `${base}/dav/sync/${kind}-${id}-${modseq}`;
}

/**
 * The modseq a client's token stands for: 0 for the empty token of an initial sync; 403
 * valid-sync-token (§3.2) for a token of another collection, a malformed one, or one from the future.
 */
export function tokenModseq(token: string, kind: SyncKind, id: number, current: number): number {
  const t = token.trim();
  if (t === '') return 0;
  // The origin is not part of the check: a token stays good when the public URL's port or name changes.
  const m = /\/dav\/sync\/(calendar|addressbook)-(\d{1,15})-(\d{1,15})$/.exec(t);
  const n = m && m[1] === kind && Number(m[2]) === id ? Number(m[3]) : Number.NaN;
  if (!Number.isSafeInteger(n) || n > current)
    throw new DavError(403, 'the sync token is not valid here', { ns: NS.dav, name: 'valid-sync-token' });
  return n;
}
