import { isObject, type JsonObject } from '../args.ts';
import type { MethodContext } from '../context.ts';
import { MethodError } from '../errors.ts';
import type { JsonValue } from '../i-json.ts';
import { applyPatch } from '../patch.ts';
import { patchProperty, sameValue } from '../server-set.ts';
import { BODY_PART_PROPERTIES, parseBodyProperties } from './body.ts';
import { loadEmails } from './get.ts';
import { type HeaderProperty, parseHeaderProperty } from './headers.ts';
import { EMAIL_PROPERTIES, type EmailRequest } from './object.ts';

const KNOWN = new Set<string>(EMAIL_PROPERTIES);
const PART_LISTS = new Set(['textBody', 'htmlBody', 'attachments', 'bodyStructure']);
const PART_KNOWN = new Set(BODY_PART_PROPERTIES);

/** A header property as the client wrote it, or undefined when it is not a valid one. */
function headerProperty(property: string): HeaderProperty | undefined {
  try {
    return parseHeaderProperty(property);
  } catch (err) {
    if (err instanceof MethodError) return undefined;
    throw err;
  }
}

/** The EmailBodyPart properties the client's parts carry (so the server's parts are built with the same), or undefined when one is unknown. */
function bodyPropertiesOf(values: readonly JsonValue[]): string[] | undefined {
  const names = new Set<string>();
  const walk = (part: JsonValue): boolean => {
    if (!isObject(part)) return true;
    for (const [key, value] of Object.entries(part)) {
      if (!PART_KNOWN.has(key) && !headerProperty(key)) return false;
      // A multipart always has its subParts; only `subParts: null` on a leaf says they were asked for.
      if (key !== 'subParts' || value === null) names.add(key);
      if (key === 'subParts' && Array.isArray(value) && !value.every(walk)) return false;
    }
    return true;
  };
  for (const v of values) if (!(Array.isArray(v) ? v.every(walk) : walk(v))) return undefined;
  return names.size ? [...names] : undefined;
}

/** Body values the client sent back match the server's: the same text, or a prefix of it when marked truncated. */
function sameBodyValues(given: JsonValue | undefined, full: JsonValue | undefined): boolean {
  if (!isObject(given) || !isObject(full)) return false;
  return Object.entries(given).every(([partId, v]) => {
    const f = full[partId];
    if (!isObject(v) || !isObject(f) || typeof v['value'] !== 'string' || typeof f['value'] !== 'string') return false;
    if ((v['isEncodingProblem'] ?? false) !== f['isEncodingProblem']) return false;
    if (v['isTruncated'] === true) return f['value'].startsWith(v['value']);
    return (v['isTruncated'] ?? false) === false && v['value'] === f['value'];
  });
}

/**
 * The Email properties besides `keywords` and `mailboxIds` (all immutable, RFC 8621 §4.1) that
 * `patch` would change. A client may send the whole Email object it fetched back as a patch
 * (RFC 8620 §5.3), so each property is compared with the stored Email's value, built with the
 * body part properties the client's own parts carry; body values may be the truncated ones.
 */
export async function changedEmailProperties(
  ctx: MethodContext,
  accountId: number,
  messageId: number,
  patch: JsonObject,
): Promise<string[]> {
  const properties = [...new Set(Object.keys(patch).map(patchProperty))];
  const bad = properties.filter((p) => !KNOWN.has(p) && !headerProperty(p));
  const known = properties.filter((p) => !bad.includes(p));
  const partValues = known.filter((p) => PART_LISTS.has(p)).map((p) => patch[p]!);
  const bodyProperties = bodyPropertiesOf(partValues);
  if (partValues.length && bodyProperties === undefined && partValues.some((v) => v !== null)) {
    bad.push(...known.filter((p) => PART_LISTS.has(p)));
  }
  const req: EmailRequest = {
    properties: known.filter((p) => KNOWN.has(p)),
    headerProperties: known.flatMap((p) => headerProperty(p) ?? []),
    body: parseBodyProperties(bodyProperties),
    fetchTextBodyValues: false,
    fetchHTMLBodyValues: false,
    fetchAllBodyValues: known.includes('bodyValues'),
    maxBodyValueBytes: 0,
  };
  const current = (await loadEmails(ctx, accountId, [messageId], req)).get(messageId);
  if (!current) return properties;
  const comparable: JsonObject = {};
  for (const [path, value] of Object.entries(patch)) if (!bad.includes(patchProperty(path))) comparable[path] = value;
  const next = applyPatch(current, comparable);
  for (const p of known) {
    if (bad.includes(p)) continue;
    const same = p === 'bodyValues' ? sameBodyValues(next[p], current[p]) : sameValue(next[p], current[p]);
    if (!same) bad.push(p);
  }
  return bad;
}
