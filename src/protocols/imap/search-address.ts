import { decodeEncodedWords } from '../../mail/mime/encoded-word.ts';
import type { EnvelopeAddress } from '../../mail/mime/types.ts';

/**
 * SEARCH FROM/TO/CC/BCC against the addresses ENVELOPE shows (RFC 9051 §6.4.4, §7.5.2): the
 * needle is a case-insensitive substring of an address's decoded display name, its addr-spec
 * (`mailbox@host`, comments and route gone), or both as `name <mailbox@host>`, or of a group's
 * name. Returns null when the field holds no address at all, so the caller can search the
 * header's text instead (`undisclosed-recipients:;`, unparseable headers).
 */
export function addressMatches(addresses: readonly EnvelopeAddress[], needle: string): boolean | null {
  let any = false;
  for (const a of addresses) {
    if (a.mailbox === null) continue; // end of a group
    const name = a.name === null ? '' : decodeEncodedWords(a.name).toLowerCase();
    if (a.host === null) {
      if (a.mailbox.toLowerCase().includes(needle)) return true;
      continue; // start of a group: its members follow
    }
    any = true;
    const spec = `${a.mailbox}@${a.host}`.toLowerCase();
    if (spec.includes(needle) || (name && (name.includes(needle) || `${name} <${spec}>`.includes(needle)))) return true;
  }
  return any ? false : null;
}
