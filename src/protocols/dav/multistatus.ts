import { NS, PREFIXES } from './names.ts';

/**
 * Writing WebDAV XML responses: multistatus (RFC 4918 §13), propstat groups by status, and the
 * precondition error bodies (RFC 4918 §16). Values are pre-rendered XML fragments using the
 * prefixes in `names.ts`; names outside those namespaces get a declaration of their own.
 */

/** Escapes character data and attribute values (XML 1.0 §2.4). */
export function esc(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&${{ '&': 'amp', '<': 'lt', '>': 'gt', '"': 'quot', "'": 'apos' }[c]};`);
}

const PREFIX_OF = new Map(PREFIXES.map(([p, ns]) => [ns, p]));

/** An element `{ns}name` with already-rendered `inner` content (empty element when undefined or ''). */
export function el(ns: string, name: string, inner?: string): string {
  const prefix = PREFIX_OF.get(ns);
  const open = prefix ? `${prefix}:${name}` : `X:${name} xmlns:X="${esc(ns)}"`;
  const close = prefix ? `${prefix}:${name}` : `X:${name}`;
  return inner === undefined || inner === '' ? `<${open}/>` : `<${open}>${inner}</${close}>`;
}

/** `<D:href>` of a path (already URL-encoded). */
export function href(path: string): string {
  return el(NS.dav, 'href', esc(path));
}

const NAMESPACE_DECLS = PREFIXES.map(([p, ns]) => ` xmlns:${p}="${ns}"`).join('');

/** A document with `root` as the top element and every known prefix declared on it. */
export function document(rootNs: string, rootName: string, inner: string): string {
  const prefix = PREFIX_OF.get(rootNs)!;
  return `<?xml version="1.0" encoding="utf-8"?>\n<${prefix}:${rootName}${NAMESPACE_DECLS}>${inner}</${prefix}:${rootName}>\n`;
}

const REASONS: Record<number, string> = {
  200: 'OK',
  201: 'Created',
  204: 'No Content',
  403: 'Forbidden',
  404: 'Not Found',
  409: 'Conflict',
  424: 'Failed Dependency',
  507: 'Insufficient Storage',
};

/** `<D:status>HTTP/1.1 NNN Reason</D:status>`. */
export function status(code: number): string {
  return el(NS.dav, 'status', `HTTP/1.1 ${code} ${REASONS[code] ?? ''}`.trim());
}

/** One property result: its name and either rendered content (200) or a failing status. */
export interface PropResult {
  readonly ns: string;
  readonly name: string;
  readonly status: number;
  /** Rendered content for a 200, '' for an empty element. */
  readonly value?: string;
}

/** A `<D:response>` for one resource with its properties grouped by status (RFC 4918 §9.1). */
export function propResponse(path: string, props: readonly PropResult[]): string {
  const groups = new Map<number, string[]>();
  for (const p of props) {
    const list = groups.get(p.status) ?? [];
    list.push(el(p.ns, p.name, p.status === 200 ? p.value : undefined));
    groups.set(p.status, list);
  }
  let inner = href(path);
  for (const [code, list] of groups) inner += el(NS.dav, 'propstat', el(NS.dav, 'prop', list.join('')) + status(code));
  if (!groups.size) inner += el(NS.dav, 'propstat', el(NS.dav, 'prop') + status(200));
  return el(NS.dav, 'response', inner);
}

/** A `<D:response>` with a status for the whole resource (a missing member, a removed one in a sync report). */
export function statusResponse(path: string, code: number): string {
  return el(NS.dav, 'response', href(path) + status(code));
}

/** A multistatus body of responses, optionally with a sync-token (RFC 6578 §6.4). */
export function multistatus(responses: readonly string[], syncToken?: string): string {
  const token = syncToken === undefined ? '' : el(NS.dav, 'sync-token', esc(syncToken));
  return document(NS.dav, 'multistatus', responses.join('') + token);
}

/**
 * A multistatus body written as it is produced (RFC 4918 §13): the opening, each response, the
 * closing; memory holds one response at a time.
 */
export async function* multistatusStream(responses: AsyncIterable<string>): AsyncGenerator<string> {
  const [open, close] = document(NS.dav, 'multistatus', '\u0000').split('\u0000') as [string, string];
  yield open;
  for await (const r of responses) yield r;
  yield close;
}

/** A precondition/postcondition error body (RFC 4918 §16): `<D:error><ns:name/></D:error>`. */
export function errorBody(ns: string, name: string, description?: string, content?: string): string {
  const extra = description ? el(NS.dav, 'responsedescription', esc(description)) : '';
  return document(NS.dav, 'error', el(ns, name, content) + extra);
}
