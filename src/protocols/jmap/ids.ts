/**
 * JMAP ids for store rows (RFC 8620 §1.2: 1–255 of `[A-Za-z0-9_-]`, never all digits, never a
 * leading `-`). Each type has its own one-letter prefix over the numeric row id, so ids of
 * different types never collide and are never purely numeric.
 */

export type IdKind =
  | 'account'
  | 'mailbox'
  | 'email'
  | 'thread'
  | 'identity'
  | 'submission'
  | 'quota'
  | 'push'
  | 'principal'
  | 'shareNotification'
  | 'sieveScript';

const PREFIX: Record<IdKind, string> = {
  account: 'A',
  mailbox: 'M',
  email: 'E',
  thread: 'T',
  identity: 'I',
  submission: 'S',
  quota: 'Q',
  push: 'P',
  principal: 'U',
  shareNotification: 'N',
  sieveScript: 'V',
};

/** The JMAP id of row `n` of `kind`. */
export function toId(kind: IdKind, n: number): string {
  return `${PREFIX[kind]}${n}`;
}

/** The row id behind a JMAP id of `kind`, or undefined for anything that is not one. */
export function fromId(kind: IdKind, id: unknown): number | undefined {
  if (typeof id !== 'string' || id.length < 2 || id.length > 20 || id[0] !== PREFIX[kind]) return undefined;
  const digits = id.slice(1);
  if (!/^[1-9][0-9]*$/.test(digits)) return undefined;
  const n = Number(digits);
  return Number.isSafeInteger(n) ? n : undefined;
}

/** True for a syntactically valid JMAP Id (RFC 8620 §1.2). */
export function isJmapId(value: unknown): value is string {
  return typeof value === 'string' && /^[A-Za-z0-9_-]{1,255}$/.test(value);
}

/**
 * Blob ids: `B` + the SHA-256 of the stored bytes, optionally `-` + a MIME part path with `-`
 * for `.` (a body part of that message, served transfer-decoded).
 */
export interface BlobRef {
  readonly sha: string;
  /** IMAP-style part numbers, empty for the whole blob. */
  readonly part: readonly number[];
}

/** The blob id of a whole stored blob or of one of its MIME parts. */
export function toBlobId(sha: string, partId?: string | null): string {
  return partId ? `B${sha}-${partId.replaceAll('.', '-')}` : `B${sha}`;
}

/** Parses a blob id; undefined when it is not one of ours. */
export function parseBlobId(id: unknown): BlobRef | undefined {
  if (typeof id !== 'string') return undefined;
  const m = /^B([0-9a-f]{64})((?:-[1-9][0-9]{0,4}){0,40})$/.exec(id);
  if (!m) return undefined;
  const part = m[2] ? m[2].slice(1).split('-').map(Number) : [];
  return { sha: m[1]!, part };
}
