import type { AppendItem } from '../../mail/store.ts';
import { no, type Tagged } from './context.ts';
import { flagToKeyword } from './flags.ts';
import type { AppendMessage } from './wire/types.ts';

/**
 * One APPEND/REPLACE message as the store takes it (RFC 9051 §6.3.12, RFC 8508 §3): a NO for an
 * empty message (RFC 3502: it cancels a MULTIAPPEND), one over APPENDLIMIT (RFC 7889) or a flag
 * that cannot be stored; `\Recent` is ignored. Keywords keep the client's spelling.
 */
export function appendItem(m: AppendMessage, appendLimit: number): AppendItem | Tagged {
  if (m.message.length === 0) return no('Empty message', 'CANNOT');
  if (m.message.length > appendLimit) return no('Message too large', 'TOOBIG');
  const keywords: string[] = [];
  for (const flag of m.flags) {
    if (flag.toLowerCase() === '\\recent') continue;
    const k = flagToKeyword(flag);
    if (!k.ok) return no(`Invalid flag: ${k.reason}`, 'CANNOT');
    keywords.push(flag.startsWith('\\') ? k.keyword : flag);
  }
  return { raw: m.message, keywords, ...(m.date !== null ? { receivedAt: m.date } : {}) };
}

/** Whether `appendItem` refused the message. */
export function isRefusal<T extends object>(x: T | Tagged): x is Tagged {
  return 'status' in x;
}
