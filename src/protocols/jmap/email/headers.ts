import { displayAddresses, parseAddressList } from '../../../mail/mime/address.ts';
import { decodeUnlabelled } from '../../../mail/mime/charset.ts';
import { parseMailDate } from '../../../mail/mime/date.ts';
import { decodeEncodedWords } from '../../../mail/mime/encoded-word.ts';
import { messageIds } from '../../../mail/mime/parse.ts';
import { utcDate } from '../dates.ts';
import { invalidArguments } from '../errors.ts';
import type { JsonValue } from '../i-json.ts';

/** A header field as JMAP's `headers` property and `Raw` form show it (RFC 8621 §4.1.2–§4.1.3). */
export interface RawHeader {
  /** The name as it appears in the message. */
  readonly name: string;
  /** Everything after the colon up to the final CRLF, folding kept. */
  readonly value: string;
}

/**
 * The header fields of a header block `[start, end)`, in order, with raw values (RFC 8621
 * §4.1.2 `Raw`: the octets after the colon, excluding the final CRLF). Lines without a colon are
 * skipped like real servers do.
 */
export function rawHeaders(raw: Buffer, start: number, end: number): RawHeader[] {
  const text = decodeUnlabelled(raw.subarray(start, end));
  const out: RawHeader[] = [];
  const lines = text.split(/(?<=\n)/);
  let name: string | null = null;
  let value = '';
  const flush = () => {
    if (name !== null) out.push({ name, value: value.replace(/\r?\n$/, '') });
    name = null;
  };
  for (const line of lines) {
    if (line === '\r\n' || line === '\n') break;
    if ((line[0] === ' ' || line[0] === '\t') && name !== null) {
      value += line;
      continue;
    }
    flush();
    const colon = line.indexOf(':');
    if (colon <= 0) continue;
    const n = line.slice(0, colon);
    if (/[\s\x00-\x1f\x7f]/.test(n)) continue;
    name = n;
    value = line.slice(colon + 1);
  }
  flush();
  return out;
}

/** The parsed forms a header may be fetched in (RFC 8621 §4.1.2). */
export type HeaderForm = 'Raw' | 'Text' | 'Addresses' | 'GroupedAddresses' | 'MessageIds' | 'Date' | 'URLs';

const FORMS = new Set<HeaderForm>(['Raw', 'Text', 'Addresses', 'GroupedAddresses', 'MessageIds', 'Date', 'URLs']);

// RFC 8621 §4.1.2: which forms are allowed on the header fields RFC 5322 and RFC 2369 define.
const ADDRESS_HEADERS = [
  'from',
  'sender',
  'reply-to',
  'to',
  'cc',
  'bcc',
  'resent-from',
  'resent-sender',
  'resent-reply-to',
  'resent-to',
  'resent-cc',
  'resent-bcc',
];
const ALLOWED: Readonly<Record<string, readonly HeaderForm[]>> = {
  ...Object.fromEntries(ADDRESS_HEADERS.map((h) => [h, ['Raw', 'Addresses', 'GroupedAddresses'] as HeaderForm[]])),
  ...Object.fromEntries(
    ['message-id', 'in-reply-to', 'references', 'resent-message-id'].map((h) => [h, ['Raw', 'MessageIds'] as HeaderForm[]]),
  ),
  ...Object.fromEntries(['date', 'resent-date'].map((h) => [h, ['Raw', 'Date'] as HeaderForm[]])),
  ...Object.fromEntries(
    ['list-help', 'list-unsubscribe', 'list-subscribe', 'list-post', 'list-owner', 'list-archive'].map((h) => [
      h,
      ['Raw', 'URLs'] as HeaderForm[],
    ]),
  ),
  ...Object.fromEntries(['subject', 'comments', 'keywords', 'list-id'].map((h) => [h, ['Raw', 'Text'] as HeaderForm[]])),
};

/** A `header:{name}[:as{Form}][:all]` property. */
export interface HeaderProperty {
  readonly property: string;
  /** Lower-cased field name. */
  readonly name: string;
  readonly form: HeaderForm;
  readonly all: boolean;
}

/**
 * Parses a `header:` property name (RFC 8621 §4.1.3); undefined when `property` is not one.
 * A form not allowed for a known header field is `invalidArguments`.
 */
export function parseHeaderProperty(property: string): HeaderProperty | undefined {
  const m = /^header:([\x21-\x39\x3b-\x7e]+)(?::as([A-Za-z]+))?(:all)?$/.exec(property);
  if (!m) return undefined;
  const name = m[1]!.toLowerCase();
  const form = (m[2] ?? 'Raw') as HeaderForm;
  if (!FORMS.has(form)) throw invalidArguments(`unknown header form in ${property}`);
  const allowed = ALLOWED[name];
  if (allowed && !allowed.includes(form)) throw invalidArguments(`${property}: ${name} cannot be fetched as ${form}`);
  return { property, name, form, all: m[3] !== undefined };
}

function unfold(value: string): string {
  return value.replace(/\r?\n(?=[ \t])/g, '').replace(/\r?\n/g, '');
}

/** Addresses as JMAP EmailAddress objects (`name` null when there is none). */
export function addressesOf(value: string): Array<{ name: string | null; email: string }> {
  return displayAddresses(parseAddressList(unfold(value))).map((a) => ({ name: a.name || null, email: a.email }));
}

function groupedAddresses(value: string): JsonValue {
  const list = parseAddressList(unfold(value));
  const groups: Array<{ name: string | null; addresses: Array<{ name: string | null; email: string }> }> = [];
  let current: (typeof groups)[number] | null = null;
  for (const a of list) {
    if (a.host === null && a.mailbox !== null) {
      current = { name: decodeEncodedWords(a.mailbox), addresses: [] };
      groups.push(current);
      continue;
    }
    if (a.host === null) {
      current = null;
      continue;
    }
    const [address] = displayAddresses([a]);
    if (!address) continue;
    let target = current;
    if (!target) {
      const last = groups.at(-1);
      target = last && last.name === null ? last : { name: null, addresses: [] };
      if (target !== last) groups.push(target);
    }
    target.addresses.push({ name: address.name || null, email: address.email });
  }
  return groups;
}

/** A raw header value in one of the parsed forms (RFC 8621 §4.1.2). */
export function headerAs(value: string, form: HeaderForm): JsonValue {
  switch (form) {
    case 'Raw':
      return value;
    case 'Text':
      return decodeEncodedWords(unfold(value).trim()).normalize('NFC');
    case 'Addresses':
      return addressesOf(value);
    case 'GroupedAddresses':
      return groupedAddresses(value);
    case 'MessageIds': {
      const ids = messageIds(unfold(value));
      return ids.length ? ids : null;
    }
    case 'Date': {
      const ms = parseMailDate(unfold(value));
      return ms === null ? null : utcDate(ms);
    }
    case 'URLs': {
      const urls = [...unfold(value).matchAll(/<([^>]*)>/g)].map((m) => m[1]!.replace(/\s+/g, ''));
      return urls.length ? urls : null;
    }
  }
}

/** The value of a `header:` property over a header block: the last instance, or all with `:all`. */
export function headerPropertyValue(headers: readonly RawHeader[], p: HeaderProperty): JsonValue {
  const values = headers.filter((h) => h.name.toLowerCase() === p.name).map((h) => headerAs(h.value, p.form));
  if (p.all) return values;
  return values.length ? values.at(-1)! : null;
}
