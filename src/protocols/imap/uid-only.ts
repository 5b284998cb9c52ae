import type { Command, SearchKey } from './wire/types.ts';

/**
 * The start of an untagged FETCH: `* seq FETCH (`, or once the client enabled UIDONLY
 * `* uid UIDFETCH (`, which names the message by its UID and carries no UID item (RFC 9586 §3.3).
 */
export function fetchOpen(uidOnly: boolean, seq: number, uid: number): string {
  return uidOnly ? `* ${uid} UIDFETCH (` : `* ${seq} FETCH (`;
}

/** Whether a search program names messages by sequence number (RFC 9586 §3.2 refuses it under UIDONLY). */
export function searchUsesSeqs(key: SearchKey): boolean {
  switch (key.op) {
    case 'seq':
      return true;
    case 'and':
      return key.keys.some(searchUsesSeqs);
    case 'or':
      return searchUsesSeqs(key.a) || searchUsesSeqs(key.b);
    case 'not':
      return searchUsesSeqs(key.key);
    default:
      return false;
  }
}

/**
 * Whether a command names messages by sequence number: FETCH, STORE, SEARCH, SORT, THREAD,
 * COPY, MOVE and REPLACE without UID, or a search program with a sequence set. Under UIDONLY
 * these are `BAD [UIDREQUIRED]` (RFC 9586 §3.2).
 */
export function usesSequenceNumbers(cmd: Command): boolean {
  switch (cmd.name) {
    case 'FETCH':
    case 'STORE':
    case 'COPY':
    case 'MOVE':
    case 'REPLACE':
      return !cmd.uid;
    case 'SEARCH':
      return !cmd.uid || searchUsesSeqs(cmd.criteria);
    case 'SORT':
    case 'THREAD':
      return !cmd.uid || searchUsesSeqs(cmd.search);
    default:
      return false;
  }
}
