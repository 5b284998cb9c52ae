import { Cursor, ParseError } from './cursor.ts';
import { parseDateTime } from './datetime.ts';
import { readFetchItems } from './parse-fetch.ts';
import { readPartialRange, readReturnOptions, readSearchKeys, readSearchProgram } from './parse-search.ts';
import { readSequenceSet, type SequenceSet } from './sequence.ts';
import type {
  AppendMessage,
  CatPart,
  FetchItem,
  Frame,
  NotifyFilter,
  NotifyGroup,
  Command,
  CommandBody,
  ListReturn,
  ListSelection,
  PartialRange,
  QresyncParams,
  SearchReturn,
  SortCriterion,
  SortKey,
  StatusItem,
  ThreadAlgorithm,
} from './types.ts';

/** The tag and command name (`UID X` for UID commands) from the first line of a command, as far as they can be read (RFC 9051 §2.2.1). */
export function peekTagAndCommand(line: Buffer): { tag: string | null; command: string | null } {
  const text = line.toString('latin1', 0, Math.min(line.length, 200));
  const m = /^([^\s(){%*"\\+\x00-\x1f\x7f]+)(?: (?:UID )?([A-Za-z]+))?/i.exec(text);
  if (!m) return { tag: null, command: null };
  const uid = /^[^ ]+ UID /i.test(text);
  return { tag: m[1]!, command: m[2] ? (uid ? `UID ${m[2].toUpperCase()}` : m[2].toUpperCase()) : null };
}

/**
 * Turns a command frame into a typed `Command` (RFC 9051 §9 grammar plus the extensions in
 * types.ts), or a parse failure carrying the tag for a tagged `BAD` (untagged when the tag itself
 * is unreadable). Never throws.
 */

export type ParseResult =
  | { readonly ok: true; readonly command: Command }
  | { readonly ok: false; readonly tag: string | null; readonly message: string };

const STATUS_ITEMS = new Set<StatusItem>([
  'MESSAGES',
  'UIDNEXT',
  'UIDVALIDITY',
  'UNSEEN',
  'DELETED',
  'SIZE',
  'RECENT',
  'HIGHESTMODSEQ',
  'APPENDLIMIT',
  'MAILBOXID',
  'DELETED-STORAGE',
]);

/** tag = 1*<any ASTRING-CHAR except "+"> (RFC 9051 §9). */
const isTagChar = (c: number) =>
  c > 0x20 && c < 0x7f && c !== 0x28 && c !== 0x29 && c !== 0x7b && c !== 0x25 && c !== 0x2a && c !== 0x22 && c !== 0x5c && c !== 0x2b;

const MAX_ID_PAIRS = 30;
/** Bounds on LIST input (RFC 9051 §6.3.9 leaves them to the server): patterns per command, octets per pattern. */
const MAX_LIST_PATTERNS = 64;
const MAX_PATTERN_OCTETS = 1024;

/** A LIST/LSUB reference or pattern, refused when longer than any mailbox name could be. */
function listPattern(text: string): string {
  if (Buffer.byteLength(text) > MAX_PATTERN_OCTETS) throw new ParseError(`Mailbox patterns are limited to ${MAX_PATTERN_OCTETS} octets`);
  return text;
}

function mailbox(c: Cursor): string {
  return c.mailbox();
}

function statusItems(c: Cursor): StatusItem[] {
  return c.list(() => {
    const item = c.atom().toUpperCase() as StatusItem;
    if (!STATUS_ITEMS.has(item)) throw new ParseError(`Unknown status item ${item.slice(0, 20)}`);
    return item;
  });
}

/** flag (RFC 9051 §9): `\Answered`…, a keyword atom, or `\` atom (flag-extension). */
export function readFlag(c: Cursor): string {
  if (c.accept(0x5c)) return `\\${c.atom()}`;
  return c.atom();
}

function flagList(c: Cursor): string[] {
  return c.list(() => readFlag(c), true);
}

function readQresync(c: Cursor): QresyncParams {
  c.expect(0x28, '"("');
  const uidValidity = c.nzNumber();
  c.sp();
  const modseq = c.modseq();
  let knownUids: SequenceSet | null = null;
  let seqMatch: QresyncParams['seqMatch'] = null;
  if (c.maybeSp()) {
    if (c.peek() !== 0x28) {
      knownUids = readSequenceSet(c);
      if (knownUids.kind === 'saved') throw new ParseError('$ is not allowed here');
      if (c.maybeSp()) seqMatch = readSeqMatch(c);
    } else seqMatch = readSeqMatch(c);
  }
  c.expect(0x29, '")"');
  return { uidValidity, modseq, knownUids, seqMatch };
}

function readSeqMatch(c: Cursor): { seqs: SequenceSet; uids: SequenceSet } {
  c.expect(0x28, '"("');
  const seqs = readSequenceSet(c);
  c.sp();
  const uids = readSequenceSet(c);
  c.expect(0x29, '")"');
  return { seqs, uids };
}

function readSelect(c: Cursor, name: 'SELECT' | 'EXAMINE'): CommandBody {
  c.sp();
  const mb = mailbox(c);
  let condstore = false;
  let qresync: QresyncParams | null = null;
  if (c.maybeSp()) {
    c.list(() => {
      const p = c.atom().toUpperCase();
      if (p === 'CONDSTORE') condstore = true;
      else if (p === 'QRESYNC') {
        c.sp();
        qresync = readQresync(c);
      } else throw new ParseError(`Unknown select parameter ${p.slice(0, 20)}`);
      return p;
    });
  }
  return { name, mailbox: mb, condstore, qresync };
}

function readList(c: Cursor): CommandBody {
  c.sp();
  const selection = { subscribed: false, remote: false, recursiveMatch: false, specialUse: false };
  let extended = false;
  if (c.peek() === 0x28) {
    extended = true;
    c.list(() => {
      const o = c.atom().toUpperCase();
      if (o === 'SUBSCRIBED') selection.subscribed = true;
      else if (o === 'REMOTE') selection.remote = true;
      else if (o === 'RECURSIVEMATCH') selection.recursiveMatch = true;
      else if (o === 'SPECIAL-USE') selection.specialUse = true;
      else throw new ParseError(`Unknown LIST selection option ${o.slice(0, 20)}`);
      return o;
    }, true);
    c.sp();
    // RFC 5258 §3: RECURSIVEMATCH alone (or with REMOTE only) is a syntax error.
    if (selection.recursiveMatch && !selection.subscribed && !selection.specialUse)
      throw new ParseError('RECURSIVEMATCH needs another selection option');
  }
  const reference = listPattern(c.mailbox());
  c.sp();
  let patterns: string[];
  if (c.peek() === 0x28) {
    extended = true;
    patterns = c.list(() => listPattern(c.listMailbox()));
    if (patterns.length > MAX_LIST_PATTERNS) throw new ParseError(`At most ${MAX_LIST_PATTERNS} patterns`);
  } else patterns = [listPattern(c.listMailbox())];
  const returns: { subscribed: boolean; children: boolean; specialUse: boolean; status: StatusItem[] | null } = {
    subscribed: false,
    children: false,
    specialUse: false,
    status: null,
  };
  if (c.maybeSp()) {
    const word = c.atom().toUpperCase();
    if (word !== 'RETURN') throw new ParseError('Expected RETURN');
    extended = true;
    c.sp();
    c.list(() => {
      const o = c.atom().toUpperCase();
      if (o === 'SUBSCRIBED') returns.subscribed = true;
      else if (o === 'CHILDREN') returns.children = true;
      else if (o === 'SPECIAL-USE') returns.specialUse = true;
      else if (o === 'STATUS') {
        c.sp();
        returns.status = statusItems(c);
      } else throw new ParseError(`Unknown LIST return option ${o.slice(0, 20)}`);
      return o;
    }, true);
  }
  return { name: 'LIST', reference, patterns, selection: selection as ListSelection, returns: returns as ListReturn, extended };
}

/** Messages one MULTIAPPEND may carry (RFC 3502); each is also bounded by the APPEND limit. */
const MAX_APPEND_MESSAGES = 1000;

function readAppend(c: Cursor): CommandBody {
  c.sp();
  const mb = mailbox(c);
  const messages: AppendMessage[] = [];
  // RFC 3502: append-message *(SP append-message).
  while (c.maybeSp()) {
    if (messages.length >= MAX_APPEND_MESSAGES) throw new ParseError(`At most ${MAX_APPEND_MESSAGES} messages in one APPEND`);
    messages.push(readAppendMessage(c));
  }
  if (!messages.length) throw new ParseError('APPEND needs a message');
  return { name: 'APPEND', mailbox: mb, messages };
}

function readAppendMessage(c: Cursor): AppendMessage {
  let flags: string[] = [];
  let date: number | null = null;
  if (c.peek() === 0x28) {
    flags = flagList(c);
    c.sp();
  }
  if (c.peek() === 0x22) {
    const text = c.string().toString('latin1');
    date = parseDateTime(text);
    if (date === null) throw new ParseError('Invalid date-time');
    c.sp();
  }
  if (/^CATENATE /i.test(c.rest())) {
    c.atom();
    c.sp();
    return { flags, date, message: Buffer.alloc(0), binary: false, catenate: readCatParts(c) };
  }
  const binary = c.isBinaryLiteral();
  if (!c.atLiteral()) throw new ParseError('APPEND needs the message as a literal');
  const message = c.string(true);
  return { flags, date, message, binary, catenate: null };
}

/** Event groups one NOTIFY may set, and mailboxes one filter may name. */
const MAX_NOTIFY_GROUPS = 32;
const MAX_NOTIFY_MAILBOXES = 100;
const NOTIFY_FILTERS = new Set(['SELECTED', 'SELECTED-DELAYED', 'INBOXES', 'PERSONAL', 'SUBSCRIBED', 'SUBTREE', 'MAILBOXES']);

/** `NOTIFY SP (("SET" [SP "STATUS"] SP event-group *(SP event-group)) / "NONE")` (RFC 5465 §8). */
function readNotify(c: Cursor): CommandBody {
  c.sp();
  const word = c.atom().toUpperCase();
  if (word === 'NONE') return { name: 'NOTIFY', set: null };
  if (word !== 'SET') throw new ParseError('Expected SET or NONE');
  c.sp();
  let status = false;
  if (/^STATUS /i.test(c.rest())) {
    c.atom();
    c.sp();
    status = true;
  }
  const groups: NotifyGroup[] = [readNotifyGroup(c)];
  while (c.maybeSp()) {
    if (groups.length >= MAX_NOTIFY_GROUPS) throw new ParseError(`At most ${MAX_NOTIFY_GROUPS} event groups`);
    groups.push(readNotifyGroup(c));
  }
  return { name: 'NOTIFY', set: { status, groups } };
}

/** `"(" filter-mailboxes SP events ")"`, events = `"(" event *(SP event) ")"` / `"NONE"`. */
function readNotifyGroup(c: Cursor): NotifyGroup {
  c.expect(0x28, '"("');
  const kind = c.atom().toUpperCase();
  if (!NOTIFY_FILTERS.has(kind)) throw new ParseError(`Unknown mailbox filter ${kind.slice(0, 20)}`);
  let filter: NotifyFilter;
  if (kind === 'SUBTREE' || kind === 'MAILBOXES') {
    c.sp();
    const mailboxes = c.peek() === 0x28 ? c.list(() => mailbox(c)) : [mailbox(c)];
    if (mailboxes.length > MAX_NOTIFY_MAILBOXES) throw new ParseError(`At most ${MAX_NOTIFY_MAILBOXES} mailboxes in a filter`);
    filter = { kind, mailboxes };
  } else filter = { kind: kind as 'SELECTED' };
  c.sp();
  let fetch: FetchItem[] | null = null;
  let events: string[] = [];
  if (c.peek() === 0x28) {
    events = c.list(() => {
      const event = c.atom();
      if (event.toUpperCase() === 'MESSAGENEW' && c.rest().startsWith(' (')) {
        c.sp();
        fetch = readFetchItems(c);
      }
      return event;
    });
  } else if (c.atom().toUpperCase() !== 'NONE') throw new ParseError('Expected events or NONE');
  c.expect(0x29, '")"');
  return { filter, events, fetch };
}

/** Parts one CATENATE may join (RFC 4469 leaves the bound to the server). */
const MAX_CAT_PARTS = 100;

/** `"(" cat-part *(SP cat-part) ")"`, cat-part = `TEXT SP literal` / `URL SP astring` (RFC 4469 §5, literal8 with BINARY). */
function readCatParts(c: Cursor): CatPart[] {
  const parts = c.list((): CatPart => {
    const kind = c.atom().toUpperCase();
    c.sp();
    if (kind === 'TEXT') {
      if (!c.atLiteral()) throw new ParseError('CATENATE TEXT needs a literal');
      return { kind, data: c.string(true) };
    }
    if (kind === 'URL') return { kind, url: c.astring().toString('utf8') };
    throw new ParseError('CATENATE parts are TEXT or URL');
  });
  if (parts.length > MAX_CAT_PARTS) throw new ParseError(`At most ${MAX_CAT_PARTS} CATENATE parts`);
  return parts;
}

/** `REPLACE seq-number mailbox append-message` and its UID form (RFC 8508 §5). */
function readReplace(c: Cursor, uid: boolean): CommandBody {
  c.sp();
  const id = c.nzNumber();
  c.sp();
  const mb = mailbox(c);
  c.sp();
  return { name: 'REPLACE', uid, id, mailbox: mb, message: readAppendMessage(c) };
}

/** Entries one GETMETADATA or SETMETADATA may name (RFC 5464 leaves the bound to the server). */
const MAX_METADATA_ENTRIES = 100;

/** `[SP "(" options ")"] SP mailbox SP (entry / "(" entry *(SP entry) ")")` (RFC 5464 §5). */
function readGetMetadata(c: Cursor): CommandBody {
  c.sp();
  let maxSize: number | null = null;
  let depth: 0 | 1 | 'infinity' = 0;
  if (c.peek() === 0x28) {
    c.list(() => {
      const o = c.atom().toUpperCase();
      c.sp();
      if (o === 'MAXSIZE') maxSize = c.number();
      else if (o === 'DEPTH') {
        const d = c.atom().toUpperCase();
        if (d === '0') depth = 0;
        else if (d === '1') depth = 1;
        else if (d === 'INFINITY') depth = 'infinity';
        else throw new ParseError('DEPTH is 0, 1 or infinity');
      } else throw new ParseError(`Unknown GETMETADATA option ${o.slice(0, 20)}`);
      return o;
    });
    c.sp();
  }
  const mb = mailbox(c);
  c.sp();
  const entries = c.peek() === 0x28 ? c.list(() => c.astringText()) : [c.astringText()];
  if (entries.length > MAX_METADATA_ENTRIES) throw new ParseError(`At most ${MAX_METADATA_ENTRIES} entries`);
  return { name: 'GETMETADATA', mailbox: mb, entries, maxSize, depth };
}

/** `SP mailbox SP "(" entry SP value *(SP entry SP value) ")"`, value = nstring / literal8 (RFC 5464 §5). */
function readSetMetadata(c: Cursor): CommandBody {
  c.sp();
  const mb = mailbox(c);
  c.sp();
  const entries: Array<{ name: string; value: Buffer | null }> = [];
  c.list(() => {
    if (entries.length >= MAX_METADATA_ENTRIES) throw new ParseError(`At most ${MAX_METADATA_ENTRIES} entries`);
    const name = c.astringText();
    c.sp();
    const value = c.atLiteral() ? c.string(true) : c.nstring();
    entries.push({ name, value });
    return name;
  });
  return { name: 'SETMETADATA', mailbox: mb, entries };
}

function readFetch(c: Cursor, uid: boolean): CommandBody {
  c.sp();
  const set = readSequenceSet(c);
  c.sp();
  const items = readFetchItems(c);
  let changedSince: number | null = null;
  let vanished = false;
  let partial: PartialRange | null = null;
  if (c.maybeSp()) {
    c.list(() => {
      const m = c.atom().toUpperCase();
      if (m === 'CHANGEDSINCE') {
        c.sp();
        changedSince = c.modseq();
      } else if (m === 'VANISHED') vanished = true;
      else if (m === 'PARTIAL' && partial === null) {
        c.sp();
        partial = readPartialRange(c);
      } else throw new ParseError(`Unknown fetch modifier ${m.slice(0, 20)}`);
      return m;
    });
    // RFC 7162 §3.2.6: VANISHED needs CHANGEDSINCE and is only for UID FETCH.
    if (vanished && (changedSince === null || !uid)) throw new ParseError('VANISHED needs UID FETCH with CHANGEDSINCE');
  }
  return { name: 'FETCH', uid, set, items, changedSince, vanished, partial };
}

function readStore(c: Cursor, uid: boolean): CommandBody {
  c.sp();
  const set = readSequenceSet(c);
  c.sp();
  let unchangedSince: number | null = null;
  if (c.peek() === 0x28) {
    c.list(() => {
      const m = c.atom().toUpperCase();
      if (m !== 'UNCHANGEDSINCE') throw new ParseError(`Unknown store modifier ${m.slice(0, 20)}`);
      c.sp();
      unchangedSince = c.modseq();
      return m;
    });
    c.sp();
  }
  const op = c.atom().toUpperCase();
  const m = /^([+-]?)FLAGS(\.SILENT)?$/.exec(op);
  if (!m) throw new ParseError('Expected FLAGS, +FLAGS or -FLAGS');
  c.sp();
  let flags: string[];
  if (c.peek() === 0x28) flags = flagList(c);
  else {
    flags = [readFlag(c)];
    while (c.maybeSp()) flags.push(readFlag(c));
  }
  const mode = m[1] === '+' ? 'add' : m[1] === '-' ? 'remove' : 'set';
  return { name: 'STORE', uid, set, unchangedSince, mode, silent: m[2] !== undefined, flags };
}

function readId(c: Cursor): CommandBody {
  c.sp();
  if (c.peek() !== 0x28) {
    if (c.atom().toUpperCase() !== 'NIL') throw new ParseError('Expected a list or NIL');
    return { name: 'ID', params: null };
  }
  const values: Array<string | null> = c.list(() => {
    const v = c.nstring();
    return v === null ? null : v.toString('utf8');
  }, true);
  // RFC 2971 §3.3: at most 30 pairs, fields ≤ 30 octets, values ≤ 1024 octets.
  if (values.length % 2 !== 0 || values.length > MAX_ID_PAIRS * 2) throw new ParseError('ID needs up to 30 field/value pairs');
  const params: Array<[string, string | null]> = [];
  for (let i = 0; i < values.length; i += 2) {
    const field = values[i];
    const value = values[i + 1] ?? null;
    if (field === null || field === undefined || Buffer.byteLength(field) > 30) throw new ParseError('Invalid ID field');
    if (value !== null && Buffer.byteLength(value) > 1024) throw new ParseError('ID value too long');
    params.push([field, value]);
  }
  return { name: 'ID', params };
}

function readCreate(c: Cursor): CommandBody {
  c.sp();
  const mb = mailbox(c);
  const specialUse: string[] = [];
  if (c.maybeSp()) {
    // RFC 6154 §3: CREATE mailbox (USE (\Archive …)).
    c.list(() => {
      const p = c.atom().toUpperCase();
      if (p !== 'USE') throw new ParseError(`Unknown CREATE parameter ${p.slice(0, 20)}`);
      c.sp();
      specialUse.push(...flagList(c));
      return p;
    });
  }
  return { name: 'CREATE', mailbox: mb, specialUse };
}

const SORT_KEYS = new Set<SortKey>(['ARRIVAL', 'CC', 'DATE', 'FROM', 'SIZE', 'SUBJECT', 'TO', 'DISPLAYFROM', 'DISPLAYTO']);
const THREAD_ALGORITHMS = new Set<ThreadAlgorithm>(['ORDEREDSUBJECT', 'REFERENCES']);

/** `[RETURN (opts)] (criteria) charset keys` after `SORT SP` (RFC 5256 §5, RFC 5267 §3.2). */
function readSort(c: Cursor, uid: boolean): CommandBody {
  let returns: SearchReturn[] | null = null;
  let partial: PartialRange | null = null;
  if (c.peek() !== 0x28) {
    if (c.atom().toUpperCase() !== 'RETURN') throw new ParseError('Expected sort criteria');
    c.sp();
    ({ returns, partial } = readReturnOptions(c));
    c.sp();
  }
  const criteria: SortCriterion[] = c.list(() => {
    let word = c.atom().toUpperCase();
    let reverse = false;
    if (word === 'REVERSE') {
      reverse = true;
      c.sp();
      word = c.atom().toUpperCase();
    }
    if (!SORT_KEYS.has(word as SortKey)) throw new ParseError(`Unknown sort key ${word.slice(0, 20)}`);
    return { key: word as SortKey, reverse };
  });
  c.sp();
  const charset = c.astring().toString('latin1');
  c.sp();
  return { name: 'SORT', uid, returns, partial, criteria, charset, search: readSearchKeys(c) };
}

/** `algorithm charset keys` after `THREAD SP` (RFC 5256 §5). */
function readThread(c: Cursor, uid: boolean): CommandBody {
  const algorithm = c.atom().toUpperCase() as ThreadAlgorithm;
  if (!THREAD_ALGORITHMS.has(algorithm)) throw new ParseError(`Unknown threading algorithm ${algorithm.slice(0, 20)}`);
  c.sp();
  const charset = c.astring().toString('latin1');
  c.sp();
  return { name: 'THREAD', uid, algorithm, charset, search: readSearchKeys(c) };
}

function readBody(c: Cursor, name: string): CommandBody {
  switch (name) {
    case 'CAPABILITY':
    case 'NOOP':
    case 'LOGOUT':
    case 'STARTTLS':
    case 'CHECK':
    case 'CLOSE':
    case 'UNSELECT':
    case 'IDLE':
    case 'NAMESPACE':
    case 'EXPUNGE':
      return { name };
    case 'AUTHENTICATE': {
      c.sp();
      const mechanism = c.atom().toUpperCase();
      let initial: string | null = null;
      if (c.maybeSp()) initial = c.run((ch) => ch > 0x20 && ch < 0x7f, 'an initial response');
      return { name, mechanism, initial };
    }
    case 'NOTIFY':
      return readNotify(c);
    case 'CANCELUPDATE': {
      // "CANCELUPDATE" 1*(SP quoted) (RFC 5267 §6)
      const tags: string[] = [];
      while (c.maybeSp()) {
        if (c.peek() !== 0x22) throw new ParseError('CANCELUPDATE takes quoted tags');
        if (tags.length >= 100) throw new ParseError('Too many tags');
        tags.push(c.string().toString('latin1'));
      }
      if (!tags.length) throw new ParseError('CANCELUPDATE needs a tag');
      return { name, tags };
    }
    case 'GETMETADATA':
      return readGetMetadata(c);
    case 'SETMETADATA':
      return readSetMetadata(c);
    case 'COMPRESS':
      c.sp();
      return { name, mechanism: c.atom().toUpperCase() };
    case 'LOGIN': {
      c.sp();
      const username = c.astringText();
      c.sp();
      return { name, username, password: c.astringText() };
    }
    case 'ENABLE': {
      const capabilities: string[] = [];
      c.sp();
      capabilities.push(c.atom().toUpperCase());
      while (c.maybeSp()) capabilities.push(c.atom().toUpperCase());
      return { name, capabilities };
    }
    case 'ID':
      return readId(c);
    case 'SELECT':
    case 'EXAMINE':
      return readSelect(c, name);
    case 'CREATE':
      return readCreate(c);
    case 'DELETE':
    case 'SUBSCRIBE':
    case 'UNSUBSCRIBE':
      c.sp();
      return { name, mailbox: mailbox(c) };
    case 'RENAME': {
      c.sp();
      const from = mailbox(c);
      c.sp();
      return { name, from, to: mailbox(c) };
    }
    case 'LIST':
      return readList(c);
    case 'LSUB': {
      c.sp();
      const reference = listPattern(c.mailbox());
      c.sp();
      return { name, reference, pattern: listPattern(c.listMailbox()) };
    }
    case 'STATUS': {
      c.sp();
      const mb = mailbox(c);
      c.sp();
      return { name, mailbox: mb, items: statusItems(c) };
    }
    case 'GETQUOTA':
      c.sp();
      return { name, root: c.astringText() };
    case 'GETQUOTAROOT':
    case 'GETACL':
    case 'MYRIGHTS':
      c.sp();
      return { name, mailbox: mailbox(c) };
    case 'SETACL':
    case 'DELETEACL':
    case 'LISTRIGHTS': {
      // RFC 4314 §3: mailbox SP identifier [SP mod-rights], each an astring.
      c.sp();
      const mb = mailbox(c);
      c.sp();
      const identifier = c.astringText();
      if (name !== 'SETACL') return { name, mailbox: mb, identifier };
      c.sp();
      return { name, mailbox: mb, identifier, rights: c.astringText() };
    }
    case 'SETQUOTA': {
      // setquota = "SETQUOTA" SP quota-root-name SP setquota-list (RFC 9208 §6)
      c.sp();
      const root = c.astringText();
      c.sp();
      const limits = c.list((): readonly [string, number] => {
        const resource = c.atom().toUpperCase();
        c.sp();
        return [resource, c.number(Number.MAX_SAFE_INTEGER)];
      }, true);
      return { name, root, limits };
    }
    case 'APPEND':
      return readAppend(c);
    case 'SEARCH':
      c.sp();
      return { name, uid: false, ...readSearchProgram(c) };
    case 'FETCH':
      return readFetch(c, false);
    case 'REPLACE':
      return readReplace(c, false);
    case 'SORT':
      c.sp();
      return readSort(c, false);
    case 'THREAD':
      c.sp();
      return readThread(c, false);
    case 'STORE':
      return readStore(c, false);
    case 'COPY':
    case 'MOVE': {
      c.sp();
      const set = readSequenceSet(c);
      c.sp();
      return { name, uid: false, set, mailbox: mailbox(c) };
    }
    case 'UID': {
      c.sp();
      const sub = c.atom().toUpperCase();
      switch (sub) {
        case 'FETCH':
          return readFetch(c, true);
        case 'REPLACE':
          return readReplace(c, true);
        case 'SORT':
          c.sp();
          return readSort(c, true);
        case 'THREAD':
          c.sp();
          return readThread(c, true);
        case 'STORE':
          return readStore(c, true);
        case 'SEARCH':
          c.sp();
          return { name: 'SEARCH', uid: true, ...readSearchProgram(c) };
        case 'COPY':
        case 'MOVE': {
          c.sp();
          const set = readSequenceSet(c);
          c.sp();
          return { name: sub, uid: true, set, mailbox: mailbox(c) };
        }
        case 'EXPUNGE':
          c.sp();
          return { name: 'UID EXPUNGE', set: readSequenceSet(c) };
        default:
          throw new ParseError(`Unknown UID command ${sub.slice(0, 20)}`);
      }
    }
    default:
      throw new ParseError(`Unknown command ${name.slice(0, 20)}`);
  }
}

/** Parses one command frame. */
export function parseCommand(frame: Frame): ParseResult {
  const c = new Cursor(frame);
  let tag: string | null = null;
  try {
    tag = c.run(isTagChar, 'a tag');
  } catch {
    return { ok: false, tag: null, message: 'Missing or invalid tag' };
  }
  try {
    c.sp();
    const name = c.atom().toUpperCase();
    const body = readBody(c, name);
    c.end();
    return { ok: true, command: { ...body, tag } as Command };
  } catch (err) {
    if (err instanceof ParseError) return { ok: false, tag, message: err.message };
    if (err instanceof RangeError) return { ok: false, tag, message: 'Command too complex' };
    throw err;
  }
}
