import type { CommandContext } from './context.ts';
import { literalHeader } from './wire/encoder.ts';

/** Longest entry name accepted, in octets. */
const MAX_ENTRY_OCTETS = 1024;

/**
 * A METADATA entry name in the form the store keeps (RFC 5464 §3.2): under `/private/` or
 * `/shared/`, compared case-insensitively (kept lower-case), no `*` or `%`, no empty segment, no
 * trailing `/`, no control characters. Null when the name is not valid (the command is BAD).
 */
export function entryName(raw: string): string | null {
  const name = raw.toLowerCase();
  if (Buffer.byteLength(name) > MAX_ENTRY_OCTETS) return null;
  if (!/^\/(private|shared)\/[^/]/.test(name)) return null;
  if (/[*%\x00-\x1f\x7f]/.test(name) || name.includes('//') || name.endsWith('/')) return null;
  return name;
}

/** The mailbox id a METADATA command addresses: 0 for the server (`""`), null when there is no such mailbox. */
export async function metadataTarget(ctx: CommandContext, accountId: number, wire: string): Promise<number | null> {
  if (wire === '') return 0;
  const name = ctx.mailboxFromWire(wire);
  const mailbox = name === null ? undefined : await ctx.deps.mail.getMailbox(accountId, name);
  return mailbox ? mailbox.id : null;
}

/** A METADATA value on the wire (RFC 5464 §5): quoted when plain ASCII, else a literal (literal8 with NUL). */
export function metadataValue(value: Buffer | null): Array<string | Buffer> {
  if (value === null) return ['NIL'];
  const plain = value.length <= 1024 && value.every((b) => b >= 0x20 && b < 0x7f && b !== 0x22 && b !== 0x5c);
  if (plain) return [`"${value.toString('latin1')}"`];
  return [literalHeader(value.length, value.includes(0)), value];
}
