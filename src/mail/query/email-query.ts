import { type RawBuilder, sql } from 'kysely';
import type { Db } from '../../store/db.ts';
import { baseSubject } from '../base-subject.ts';
import { keywordsFromText, keywordsToText } from '../names.ts';
import { seenIn, withSeen } from '../private-seen.ts';
import type { EmailCondition } from './email-condition.ts';
import { type Comparator, compareStrings, type Filter, matchFilter } from './filter.ts';
import { matchesAll, parseTextQuery, prefilterLiteral } from './text-match.ts';

/** The store's search text of messages (src/mail/store.ts `textMatches`, `searchText`). */
export interface SearchTextSource {
  textMatches(accountId: number, needle: string, where: 'headers' | 'body' | 'both'): Promise<Set<number>>;
  searchText(messageIds: readonly number[]): Promise<Map<number, { headers: string; body: string }>>;
}

/** What the query engine reads: the database and the store's search text. */
interface Deps {
  readonly db: Db;
  readonly text: SearchTextSource;
}

export interface EmailQuery {
  readonly filter: Filter<EmailCondition> | null;
  readonly sort: readonly Comparator[];
  readonly collapseThreads: boolean;
}

/** A page of the result: `start` and `limit` on the complete sorted list. */
export interface Page {
  readonly start: number;
  readonly limit: number;
}

const DEFAULT_SORT: readonly Comparator[] = [{ property: 'receivedAt', isAscending: false, collation: 'i;unicode-casemap' }];

const SQL_CONDITIONS = new Set(['inMailbox', 'inMailboxOtherThan', 'before', 'after', 'minSize', 'maxSize', 'hasKeyword', 'notKeyword']);
const SQL_SORTS = new Set(['receivedAt', 'size', 'sentAt', 'hasKeyword']);

function sqlEligible(q: EmailQuery): boolean {
  const walk = (f: Filter<EmailCondition>): boolean =>
    f.op === 'condition' ? Object.keys(f.condition).every((k) => SQL_CONDITIONS.has(k)) : f.conditions.every(walk);
  return (!q.filter || walk(q.filter)) && q.sort.every((c) => SQL_SORTS.has(c.property));
}

/** True when the query tests or sorts by `$seen`: a reader other than the owner needs its own (RFC 4314 §4). */
function usesSeen(q: EmailQuery): boolean {
  const keys = ['hasKeyword', 'notKeyword', 'allInThreadHaveKeyword', 'someInThreadHaveKeyword', 'noneInThreadHaveKeyword'] as const;
  const walk = (f: Filter<EmailCondition>): boolean =>
    f.op === 'condition' ? keys.some((k) => f.condition[k]?.toLowerCase() === '$seen') : f.conditions.some(walk);
  return (!!q.filter && walk(q.filter)) || q.sort.some((c) => c.keyword?.toLowerCase() === '$seen');
}

function find(dialect: string, hay: RawBuilder<unknown>, needle: string): RawBuilder<boolean> {
  return dialect === 'sqlite' ? sql<boolean>`instr(${hay}, ${needle}) > 0` : sql<boolean>`strpos(${hay}, ${needle}) > 0`;
}

function hasKeywordSql(dialect: string, keyword: string): RawBuilder<boolean> {
  return find(dialect, sql`(' ' || m.keywords || ' ')`, ` ${keyword} `);
}

function conditionSql(c: EmailCondition, dialect: string): RawBuilder<boolean> {
  const parts: RawBuilder<boolean>[] = [];
  // EXISTS, not IN: walking the (account_id, received_at) index stops after one page of matches.
  if (c.inMailbox !== undefined) {
    parts.push(sql<boolean>`exists (select 1 from mailbox_messages mm where mm.message_id = m.id and mm.mailbox_id = ${c.inMailbox})`);
  }
  if (c.inMailboxOtherThan !== undefined) {
    const list = c.inMailboxOtherThan.length ? c.inMailboxOtherThan : [-1];
    parts.push(
      sql<boolean>`exists (select 1 from mailbox_messages x where x.message_id = m.id and x.mailbox_id not in (${sql.join(list)}))`,
    );
  }
  if (c.before !== undefined) parts.push(sql<boolean>`m.received_at < ${c.before}`);
  if (c.after !== undefined) parts.push(sql<boolean>`m.received_at >= ${c.after}`);
  if (c.minSize !== undefined) parts.push(sql<boolean>`m.size >= ${c.minSize}`);
  if (c.maxSize !== undefined) parts.push(sql<boolean>`m.size < ${c.maxSize}`);
  if (c.hasKeyword !== undefined) parts.push(hasKeywordSql(dialect, c.hasKeyword));
  if (c.notKeyword !== undefined) parts.push(sql<boolean>`not (${hasKeywordSql(dialect, c.notKeyword)})`);
  return parts.length ? sql<boolean>`(${sql.join(parts, sql` and `)})` : sql<boolean>`1 = 1`;
}

function filterSql(f: Filter<EmailCondition> | null, dialect: string): RawBuilder<boolean> {
  if (!f) return sql<boolean>`1 = 1`;
  if (f.op === 'condition') return conditionSql(f.condition, dialect);
  const inner = f.conditions.map((c) => filterSql(c, dialect));
  if (f.op === 'NOT') return inner.length ? sql<boolean>`not (${sql.join(inner, sql` or `)})` : sql<boolean>`1 = 1`;
  if (!inner.length) return f.op === 'AND' ? sql<boolean>`1 = 1` : sql<boolean>`1 = 0`;
  return sql<boolean>`(${sql.join(inner, f.op === 'AND' ? sql` and ` : sql` or `)})`;
}

function sortExpr(c: Comparator, dialect: string): RawBuilder<unknown> {
  switch (c.property) {
    case 'size':
      return sql`m.size`;
    case 'sentAt':
      return sql`coalesce(m.sent_at, m.received_at)`;
    case 'hasKeyword':
      return sql`case when ${hasKeywordSql(dialect, c.keyword ?? '')} then 1 else 0 end`;
    default:
      return sql`m.received_at`;
  }
}

async function sqlQuery(
  services: Deps,
  accountId: number,
  q: EmailQuery,
  page: Page | null,
  withTotal: boolean,
): Promise<{ ids: number[]; total?: number }> {
  const { kysely, dialect } = services.db;
  const sort = q.sort.length ? q.sort : DEFAULT_SORT;
  const where = sql<boolean>`m.account_id = ${accountId} and ${filterSql(q.filter, dialect)}`;
  const lastDir = sort.at(-1)!.isAscending ? sql`asc` : sql`desc`;
  const order = (alias: (i: number) => RawBuilder<unknown>) =>
    sql.join([...sort.map((c, i) => sql`${alias(i)} ${c.isAscending ? sql`asc` : sql`desc`}`), sql`id ${lastDir}`]);
  const window = page ? sql`limit ${page.limit} offset ${page.start}` : sql``;
  let ids: number[];
  let total: number | undefined;
  if (q.collapseThreads) {
    const cols = sql.join(sort.map((c, i) => sql`${sortExpr(c, dialect)} as ${sql.ref(`s${i}`)}`));
    const inner = sql.join([
      ...sort.map((c, _i) => sql`${sortExpr(c, dialect)} ${c.isAscending ? sql`asc` : sql`desc`}`),
      sql`m.id ${lastDir}`,
    ]);
    const rows = await sql<{
      id: number;
    }>`select id from (select m.id as id, ${cols}, row_number() over (partition by m.thread_id order by ${inner}) as rn from messages m where ${where}) q where rn = 1 order by ${order((i) => sql.ref(`s${i}`))} ${window}`.execute(
      kysely,
    );
    ids = rows.rows.map((r) => Number(r.id));
    if (withTotal) {
      const t = await sql<{ n: number }>`select count(distinct m.thread_id) as n from messages m where ${where}`.execute(kysely);
      total = Number(t.rows[0]?.n ?? 0);
    }
  } else {
    const rows = await sql<{
      id: number;
    }>`select m.id as id from messages m where ${where} order by ${order((i) => sortExpr(sort[i]!, dialect))} ${window}`.execute(kysely);
    ids = rows.rows.map((r) => Number(r.id));
    if (withTotal) {
      const t = await sql<{ n: number }>`select count(*) as n from messages m where ${where}`.execute(kysely);
      total = Number(t.rows[0]?.n ?? 0);
    }
  }
  return total === undefined ? { ids } : { ids, total };
}

// ---------------------------------------------------------------- in-memory evaluation

interface Row {
  readonly id: number;
  readonly thread_id: number;
  readonly received_at: number;
  readonly size: number;
  readonly sent_at: number | null;
  readonly keywords: string;
  readonly subject: string;
  readonly from_addr: string;
  readonly to_addr: string;
  readonly has_att: number;
}

/** Everything the in-memory evaluation needs besides the rows. */
interface Facts {
  readonly boxes: Map<number, Set<number>>;
  readonly threadKeywords: Map<number, Array<Set<string>>>;
  readonly text: Map<string, Set<number>>;
}

function conditions(f: Filter<EmailCondition> | null): EmailCondition[] {
  if (!f) return [];
  return f.op === 'condition' ? [f.condition] : f.conditions.flatMap(conditions);
}

function keywordSet(text: string): Set<string> {
  return new Set(text ? text.split(' ') : []);
}

/** Header fields the `text` condition looks in besides the body (RFC 8621 §4.4.1). */
const TEXT_HEADERS = ['from', 'to', 'cc', 'bcc', 'subject'];
/** Messages whose search text is read at once while text conditions are checked (bodies may be 1 MB each). */
const TEXT_BATCH = 50;

/** The values of the named fields in stored search text (`name: value` lines, lower-cased). */
function headerValues(headers: string, names: readonly string[]): string[] {
  const out: string[] = [];
  for (const line of headers.split('\n')) {
    const colon = line.indexOf(':');
    if (colon > 0 && names.includes(line.slice(0, colon))) out.push(line.slice(colon + 1).trim());
  }
  return out;
}

/**
 * Ids of messages that pass `test`: the store's substring search on `literal` (which every
 * match contains) narrows the candidates, whose search text is then read in batches.
 */
async function matching(
  services: Deps,
  accountId: number,
  literal: string,
  where: 'headers' | 'body' | 'both',
  test: (text: { headers: string; body: string }) => boolean,
): Promise<Set<number>> {
  const candidates = [...(await services.text.textMatches(accountId, literal, where))];
  const out = new Set<number>();
  for (let i = 0; i < candidates.length; i += TEXT_BATCH) {
    for (const [id, text] of await services.text.searchText(candidates.slice(i, i + TEXT_BATCH))) if (test(text)) out.add(id);
  }
  return out;
}

/** Evaluates the text conditions (word and phrase matching, email/text-match.ts) to sets of ids. */
async function textFacts(services: Deps, accountId: number, conds: readonly EmailCondition[]): Promise<Map<string, Set<number>>> {
  const out = new Map<string, Set<number>>();
  const once = async (key: string, compute: () => Promise<Set<number>>) => {
    if (!out.has(key)) out.set(key, await compute());
  };
  for (const c of conds) {
    if (c.text !== undefined) {
      const terms = parseTextQuery(c.text);
      await once(`text\0${c.text}`, () =>
        matching(services, accountId, prefilterLiteral(terms), 'both', (t) =>
          matchesAll(`${headerValues(t.headers, TEXT_HEADERS).join('\n')}\n${t.body}`, terms),
        ),
      );
    }
    if (c.body !== undefined) {
      const terms = parseTextQuery(c.body);
      await once(`body\0${c.body}`, () => matching(services, accountId, prefilterLiteral(terms), 'body', (t) => matchesAll(t.body, terms)));
    }
    const byHeader: Array<[string, string, string | undefined]> = [];
    for (const h of ['from', 'to', 'cc', 'bcc', 'subject'] as const) if (c[h] !== undefined) byHeader.push([`${h}\0${c[h]}`, h, c[h]]);
    if (c.header) byHeader.push([`header\0${c.header.join('\0')}`, c.header[0].toLowerCase(), c.header[1]]);
    for (const [key, name, needle] of byHeader) {
      const terms = needle === undefined ? [] : parseTextQuery(needle);
      await once(key, () =>
        matching(services, accountId, needle === undefined ? `${name}:` : prefilterLiteral(terms), 'headers', (t) => {
          const values = headerValues(t.headers, [name]);
          return values.length > 0 && matchesAll(values.join('\n'), terms);
        }),
      );
    }
  }
  return out;
}

function testCondition(c: EmailCondition, r: Row, facts: Facts): boolean {
  if (c.inMailbox !== undefined && !facts.boxes.get(r.id)?.has(c.inMailbox)) return false;
  if (c.inMailboxOtherThan !== undefined) {
    const other = [...(facts.boxes.get(r.id) ?? [])].some((b) => !c.inMailboxOtherThan!.includes(b));
    if (!other) return false;
  }
  if (c.before !== undefined && !(r.received_at < c.before)) return false;
  if (c.after !== undefined && !(r.received_at >= c.after)) return false;
  if (c.minSize !== undefined && !(r.size >= c.minSize)) return false;
  if (c.maxSize !== undefined && !(r.size < c.maxSize)) return false;
  const kw = c.hasKeyword !== undefined || c.notKeyword !== undefined ? keywordSet(r.keywords) : undefined;
  if (c.hasKeyword !== undefined && !kw!.has(c.hasKeyword)) return false;
  if (c.notKeyword !== undefined && kw!.has(c.notKeyword)) return false;
  const thread = facts.threadKeywords.get(r.thread_id) ?? [];
  if (c.allInThreadHaveKeyword !== undefined && !thread.every((k) => k.has(c.allInThreadHaveKeyword!))) return false;
  if (c.someInThreadHaveKeyword !== undefined && !thread.some((k) => k.has(c.someInThreadHaveKeyword!))) return false;
  if (c.noneInThreadHaveKeyword !== undefined && thread.some((k) => k.has(c.noneInThreadHaveKeyword!))) return false;
  if (c.hasAttachment !== undefined && (r.has_att === 1) !== c.hasAttachment) return false;
  if (c.text !== undefined && !facts.text.get(`text\0${c.text}`)?.has(r.id)) return false;
  if (c.body !== undefined && !facts.text.get(`body\0${c.body}`)?.has(r.id)) return false;
  for (const h of ['from', 'to', 'cc', 'bcc', 'subject'] as const) {
    if (c[h] !== undefined && !facts.text.get(`${h}\0${c[h]}`)?.has(r.id)) return false;
  }
  if (c.header && !facts.text.get(`header\0${c.header.join('\0')}`)?.has(r.id)) return false;
  return true;
}

function comparator(sort: readonly Comparator[], facts: Facts): (a: Row, b: Row) => number {
  const firstAddress = (list: string) => list.split(', ')[0] ?? '';
  const threadHas = (r: Row, k: string, all: boolean) => {
    const t = facts.threadKeywords.get(r.thread_id) ?? [];
    return all ? t.every((s) => s.has(k)) : t.some((s) => s.has(k));
  };
  return (a, b) => {
    for (const c of sort) {
      let r = 0;
      switch (c.property) {
        case 'receivedAt':
          r = a.received_at - b.received_at;
          break;
        case 'size':
          r = a.size - b.size;
          break;
        case 'sentAt':
          r = (a.sent_at ?? a.received_at) - (b.sent_at ?? b.received_at);
          break;
        case 'from':
          r = compareStrings(firstAddress(a.from_addr), firstAddress(b.from_addr), c.collation);
          break;
        case 'to':
          r = compareStrings(firstAddress(a.to_addr), firstAddress(b.to_addr), c.collation);
          break;
        case 'subject':
          r = compareStrings(baseSubject(a.subject).base, baseSubject(b.subject).base, c.collation);
          break;
        case 'hasKeyword':
          r = Number(keywordSet(a.keywords).has(c.keyword ?? '')) - Number(keywordSet(b.keywords).has(c.keyword ?? ''));
          break;
        case 'allInThreadHaveKeyword':
          r = Number(threadHas(a, c.keyword ?? '', true)) - Number(threadHas(b, c.keyword ?? '', true));
          break;
        case 'someInThreadHaveKeyword':
          r = Number(threadHas(a, c.keyword ?? '', false)) - Number(threadHas(b, c.keyword ?? '', false));
          break;
      }
      if (r !== 0) return c.isAscending ? r : -r;
    }
    return sort.at(-1)?.isAscending === false ? b.id - a.id : a.id - b.id;
  };
}

async function memoryQuery(services: Deps, accountId: number, q: EmailQuery, reader?: number): Promise<number[]> {
  const { kysely, dialect } = services.db;
  const conds = conditions(q.filter);
  const needBoxes = conds.some((c) => c.inMailbox !== undefined || c.inMailboxOtherThan !== undefined);
  const needThreads =
    conds.some(
      (c) => c.allInThreadHaveKeyword !== undefined || c.someInThreadHaveKeyword !== undefined || c.noneInThreadHaveKeyword !== undefined,
    ) || q.sort.some((c) => c.property === 'allInThreadHaveKeyword' || c.property === 'someInThreadHaveKeyword');
  const needAttachment = conds.some((c) => c.hasAttachment !== undefined);
  const attachment = needAttachment ? find(dialect, sql`m.meta`, '"hasAttachment":true') : sql`1 = 0`;
  const result =
    await sql<Row>`select m.id, m.thread_id, m.received_at, m.size, m.sent_at, m.keywords, m.subject, m.from_addr, m.to_addr, case when ${attachment} then 1 else 0 end as has_att from messages m where m.account_id = ${accountId}`.execute(
      kysely,
    );
  let rows = result.rows.map((r) => ({ ...r, id: Number(r.id), thread_id: Number(r.thread_id), has_att: Number(r.has_att) }));
  if (reader !== undefined) {
    // The reader's own \Seen in place of the owner's (src/mail/private-seen.ts).
    const ids = await seenIn(kysely, reader, { ownerId: accountId });
    rows = rows.map((r) => ({ ...r, keywords: keywordsToText(withSeen(keywordsFromText(r.keywords), ids.has(r.id))) }));
  }
  const boxes = new Map<number, Set<number>>();
  if (needBoxes) {
    const members = await kysely
      .selectFrom('mailbox_messages as mm')
      .innerJoin('messages as m', 'm.id', 'mm.message_id')
      .select(['mm.message_id', 'mm.mailbox_id'])
      .where('m.account_id', '=', accountId)
      .execute();
    for (const r of members) {
      let s = boxes.get(r.message_id);
      if (!s) boxes.set(r.message_id, (s = new Set()));
      s.add(r.mailbox_id);
    }
  }
  const threadKeywords = new Map<number, Array<Set<string>>>();
  if (needThreads)
    for (const r of rows) threadKeywords.set(r.thread_id, [...(threadKeywords.get(r.thread_id) ?? []), keywordSet(r.keywords)]);
  const facts: Facts = { boxes, threadKeywords, text: await textFacts(services, accountId, conds) };
  const matching = rows.filter((r) => matchFilter(q.filter, r, (c, row) => testCondition(c, row, facts)));
  matching.sort(comparator(q.sort.length ? q.sort : DEFAULT_SORT, facts));
  if (!q.collapseThreads) return matching.map((r) => r.id);
  const seen = new Set<number>();
  const out: number[] = [];
  for (const r of matching) {
    if (seen.has(r.thread_id)) continue;
    seen.add(r.thread_id);
    out.push(r.id);
  }
  return out;
}

/**
 * The Email query engine (RFC 8621 §4.4). Filters and sorts that map onto columns run as one SQL
 * query with ORDER BY/LIMIT (thread collapsing with a window function); everything else
 * (address and header text, subject and address sorts, anchors) is evaluated in memory over the
 * account's summary rows, with text conditions answered by the store's search text.
 */
export class EmailQueries {
  readonly #deps: Deps;

  constructor(db: Db, text: SearchTextSource) {
    this.#deps = { db, text };
  }

  /**
   * Runs a query. With a `page`, only that slice is computed when SQL can do it; the answer says
   * whether `ids` is the page or the complete list. `total` is filled when asked for. `reader`
   * (an account other than the owner, on a shared account) tests and sorts by its own `$seen`.
   */
  async run(
    accountId: number,
    q: EmailQuery,
    page: Page | null,
    withTotal: boolean,
    reader?: number,
  ): Promise<{ ids: number[]; complete: boolean; total?: number }> {
    const deps = this.#deps;
    if (reader !== undefined && reader !== accountId && usesSeen(q)) {
      const ids = await memoryQuery(deps, accountId, q, reader);
      return { ids, complete: true, total: ids.length };
    }
    if (page && sqlEligible(q)) {
      const r = await sqlQuery(deps, accountId, q, page, withTotal);
      return { ids: r.ids, complete: false, ...(r.total !== undefined ? { total: r.total } : {}) };
    }
    const ids = sqlEligible(q) ? (await sqlQuery(deps, accountId, q, null, false)).ids : await memoryQuery(deps, accountId, q);
    return { ids, complete: true, total: ids.length };
  }
}
