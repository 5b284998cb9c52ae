/**
 * Raw query-string parsing with RFC 3986 semantics: `%XX` is decoded, `+` stays `+` (STANDARDS §9.4:
 * URLSearchParams would turn `bob+tag@example.com` into `bob tag@…`). Repeated names keep every value.
 */

/** Thrown for a query that is not valid percent-encoding. */
export class QueryError extends Error {}

/** Every `name=value` pair of the query part of `url` (after `?`), decoded; malformed escapes throw. */
export function parseQuery(url: string): Map<string, string[]> {
  const out = new Map<string, string[]>();
  const q = url.indexOf('?');
  if (q < 0) return out;
  const query = url.slice(q + 1).split('#')[0] ?? '';
  for (const part of query.split('&')) {
    if (part === '') continue;
    const eq = part.indexOf('=');
    const rawName = eq < 0 ? part : part.slice(0, eq);
    const rawValue = eq < 0 ? '' : part.slice(eq + 1);
    let name: string;
    let value: string;
    try {
      name = decodeURIComponent(rawName);
      value = decodeURIComponent(rawValue);
    } catch {
      throw new QueryError(`the query parameter "${rawName.slice(0, 40)}" is not valid percent-encoding`);
    }
    const list = out.get(name);
    if (list) list.push(value);
    else out.set(name, [value]);
  }
  return out;
}

/** The single value of `name` (case-sensitive); undefined when absent, an error when repeated. */
export function single(query: Map<string, string[]>, name: string): string | undefined {
  const values = query.get(name);
  if (!values) return undefined;
  if (values.length > 1) throw new QueryError(`the query parameter "${name}" must appear once`);
  return values[0];
}
