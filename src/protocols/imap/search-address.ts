import { decodeEncodedWords } from '../../mail/mime/encoded-word.ts';
import type { EnvelopeAddress } from '../../mail/mime/types.ts';

/**
 * The lower-cased texts SEARCH FROM/TO/CC/BCC looks in for one header's addresses, as ENVELOPE
 * shows them (RFC 9051 §6.4.4, §7.5.2): per address `name <mailbox@host>` (decoded display name;
 * comments and route gone), or the addr-spec alone without a name; per group its name. `any` is
 * false when the field holds no address at all. Computed once per message (sort-fields.ts).
 */
export interface AddressTexts {
  readonly texts: readonly string[];
  readonly any: boolean;
}

/** The searchable address texts of one field (RFC 9051 §6.4.4). */
export function addressTexts(addresses: readonly EnvelopeAddress[]): AddressTexts {
  const texts: string[] = [];
  let any = false;
  for (const a of addresses) {
    if (a.mailbox === null) continue; // end of a group
    if (a.host === null) {
      texts.push(a.mailbox.toLowerCase()); // start of a group: its members follow
      continue;
    }
    any = true;
    const name = a.name === null ? '' : decodeEncodedWords(a.name).toLowerCase();
    const spec = `${a.mailbox}@${a.host}`.toLowerCase();
    // The name and the addr-spec are each substrings of `name <spec>`.
    texts.push(name ? `${name} <${spec}>` : spec);
  }
  return { texts, any };
}

/**
 * Whether `needle` (lower-case) is a substring of one of the field's address texts; null when the
 * field holds no address at all, so the caller can search the header's text instead
 * (`undisclosed-recipients:;`, unparseable headers).
 */
export function addressTextsMatch(field: AddressTexts, needle: string): boolean | null {
  for (const t of field.texts) if (t.includes(needle)) return true;
  return field.any ? false : null;
}

/** SEARCH FROM/TO/CC/BCC against parsed addresses (RFC 9051 §6.4.4): see addressTexts. */
export function addressMatches(addresses: readonly EnvelopeAddress[], needle: string): boolean | null {
  return addressTextsMatch(addressTexts(addresses), needle);
}
