/**
 * What each command and test this server knows takes (RFC 5228 §3–5 and the extensions in
 * EXTENSIONS): its capability, tagged arguments, positional arguments, tests and block.
 */

/** The capabilities `require` accepts, advertised by ManageSieve SIEVE and JMAP Sieve. */
export const EXTENSIONS = [
  'fileinto', // RFC 5228 §4.1
  'envelope', // RFC 5228 §5.4
  'reject', // RFC 5429 §2.2
  'ereject', // RFC 5429 §2.1
  'imap4flags', // RFC 5232
  'variables', // RFC 5229
  'vacation', // RFC 5230
  'relational', // RFC 5231
  'comparator-i;ascii-numeric', // RFC 4790 §9.1
  'copy', // RFC 3894
  'mailbox', // RFC 5490 §3
  'body', // RFC 5173
  'subaddress', // RFC 5233
  'spamtest', // RFC 5235
  'spamtestplus', // RFC 5235 §3.2
  'date', // RFC 5260 §4
] as const;

export type ArgKind = 'string' | 'strings' | 'number';

export interface TagSpec {
  /** The capability that must be required for this tag. */
  readonly ext?: string;
  /** The argument the tag takes, if any. */
  readonly value?: ArgKind;
  /** Tags of one group exclude each other (e.g. the match types). */
  readonly group?: string;
}

export interface Spec {
  readonly ext?: string;
  readonly tags: Readonly<Record<string, TagSpec>>;
  /** Positional arguments; a leading optional one is marked in `optionalFirst`. */
  readonly positional: readonly ArgKind[];
  /** A first positional argument that may be left out (imap4flags' variable name). */
  readonly optionalFirst?: { readonly kind: ArgKind; readonly ext: string };
  readonly tests: 'none' | 'one' | 'list';
  /** Commands only: true when the command takes a block (if/elsif/else). */
  readonly block?: boolean;
}

const COMPARATOR: Record<string, TagSpec> = { comparator: { value: 'string', group: 'comparator' } };
const MATCH: Record<string, TagSpec> = {
  is: { group: 'match' },
  contains: { group: 'match' },
  matches: { group: 'match' },
  value: { ext: 'relational', value: 'string', group: 'match' },
  count: { ext: 'relational', value: 'string', group: 'match' },
};
const ADDRESS_PART: Record<string, TagSpec> = {
  all: { group: 'part' },
  localpart: { group: 'part' },
  domain: { group: 'part' },
  user: { ext: 'subaddress', group: 'part' },
  detail: { ext: 'subaddress', group: 'part' },
};
const FLAGS: Record<string, TagSpec> = { flags: { ext: 'imap4flags', value: 'strings' } };
const COPY: Record<string, TagSpec> = { copy: { ext: 'copy' } };
const FLAG_VAR = { kind: 'string', ext: 'variables' } as const;

export const COMMANDS: Readonly<Record<string, Spec>> = {
  require: { tags: {}, positional: ['strings'], tests: 'none' },
  if: { tags: {}, positional: [], tests: 'one', block: true },
  elsif: { tags: {}, positional: [], tests: 'one', block: true },
  else: { tags: {}, positional: [], tests: 'none', block: true },
  stop: { tags: {}, positional: [], tests: 'none' },
  keep: { tags: { ...FLAGS }, positional: [], tests: 'none' },
  discard: { tags: {}, positional: [], tests: 'none' },
  redirect: { tags: { ...COPY }, positional: ['string'], tests: 'none' },
  fileinto: {
    ext: 'fileinto',
    tags: { ...FLAGS, ...COPY, create: { ext: 'mailbox' } },
    positional: ['string'],
    tests: 'none',
  },
  reject: { ext: 'reject', tags: {}, positional: ['string'], tests: 'none' },
  ereject: { ext: 'ereject', tags: {}, positional: ['string'], tests: 'none' },
  setflag: { ext: 'imap4flags', tags: {}, positional: ['strings'], optionalFirst: FLAG_VAR, tests: 'none' },
  addflag: { ext: 'imap4flags', tags: {}, positional: ['strings'], optionalFirst: FLAG_VAR, tests: 'none' },
  removeflag: { ext: 'imap4flags', tags: {}, positional: ['strings'], optionalFirst: FLAG_VAR, tests: 'none' },
  set: {
    ext: 'variables',
    tags: {
      lower: { group: 'case' },
      upper: { group: 'case' },
      lowerfirst: { group: 'first' },
      upperfirst: { group: 'first' },
      quotewildcard: {},
      length: {},
    },
    positional: ['string', 'string'],
    tests: 'none',
  },
  vacation: {
    ext: 'vacation',
    tags: {
      days: { value: 'number' },
      subject: { value: 'string' },
      from: { value: 'string' },
      addresses: { value: 'strings' },
      mime: {},
      handle: { value: 'string' },
    },
    positional: ['string'],
    tests: 'none',
  },
};

export const TESTS: Readonly<Record<string, Spec>> = {
  true: { tags: {}, positional: [], tests: 'none' },
  false: { tags: {}, positional: [], tests: 'none' },
  not: { tags: {}, positional: [], tests: 'one' },
  allof: { tags: {}, positional: [], tests: 'list' },
  anyof: { tags: {}, positional: [], tests: 'list' },
  exists: { tags: {}, positional: ['strings'], tests: 'none' },
  size: { tags: { over: { group: 'size' }, under: { group: 'size' } }, positional: ['number'], tests: 'none' },
  header: { tags: { ...COMPARATOR, ...MATCH }, positional: ['strings', 'strings'], tests: 'none' },
  address: { tags: { ...COMPARATOR, ...MATCH, ...ADDRESS_PART }, positional: ['strings', 'strings'], tests: 'none' },
  envelope: { ext: 'envelope', tags: { ...COMPARATOR, ...MATCH, ...ADDRESS_PART }, positional: ['strings', 'strings'], tests: 'none' },
  string: { ext: 'variables', tags: { ...COMPARATOR, ...MATCH }, positional: ['strings', 'strings'], tests: 'none' },
  hasflag: {
    ext: 'imap4flags',
    tags: { ...COMPARATOR, ...MATCH },
    positional: ['strings'],
    optionalFirst: { kind: 'strings', ext: 'variables' },
    tests: 'none',
  },
  mailboxexists: { ext: 'mailbox', tags: {}, positional: ['strings'], tests: 'none' },
  body: {
    ext: 'body',
    tags: {
      ...COMPARATOR,
      ...MATCH,
      raw: { group: 'transform' },
      content: { value: 'strings', group: 'transform' },
      text: { group: 'transform' },
    },
    positional: ['strings'],
    tests: 'none',
  },
  date: {
    ext: 'date',
    tags: { ...COMPARATOR, ...MATCH, zone: { value: 'string', group: 'zone' }, originalzone: { group: 'zone' } },
    positional: ['string', 'string', 'strings'],
    tests: 'none',
  },
  currentdate: {
    ext: 'date',
    tags: { ...COMPARATOR, ...MATCH, zone: { value: 'string' } },
    positional: ['string', 'strings'],
    tests: 'none',
  },
  spamtest: { ext: 'spamtest', tags: { ...COMPARATOR, ...MATCH, percent: { ext: 'spamtestplus' } }, positional: ['string'], tests: 'none' },
};
