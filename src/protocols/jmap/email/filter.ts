import type { JsonObject } from '../args.ts';
import { parseDate } from '../dates.ts';
import { invalidArguments, MethodError } from '../errors.ts';
import { type Filter, parseFilter } from '../filter.ts';
import { fromId } from '../ids.ts';
import { FingerpostError } from '../../../core/errors.ts';
import type { EmailCondition } from '../../../mail/query/email-condition.ts';
import { parseTextQuery } from '../../../mail/query/text-match.ts';

export type { EmailCondition };

const KEYWORD_RE = /^[\x21-\x7e]{1,255}$/;

function keyword(name: string, value: unknown): string {
  if (typeof value !== 'string' || !KEYWORD_RE.test(value) || /[(){\]%*"\\]/.test(value))
    throw invalidArguments(`${name} must be a keyword`);
  return value.toLowerCase();
}

function mailboxId(name: string, value: unknown): number {
  if (typeof value !== 'string') throw invalidArguments(`${name} must be a Mailbox id`);
  // An id that is not one of ours matches nothing, like a mailbox that does not exist.
  return fromId('mailbox', value) ?? -1;
}

function text(name: string, value: unknown): string {
  if (typeof value !== 'string') throw invalidArguments(`${name} must be a string`);
  try {
    parseTextQuery(value); // bounds its length and terms before any work is done
  } catch (err) {
    if (err instanceof FingerpostError) throw invalidArguments(err.message);
    throw err;
  }
  return value;
}

function uint(name: string, value: unknown): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0) throw invalidArguments(`${name} must be an UnsignedInt`);
  return value;
}

/** Parses one FilterCondition; an unknown property is `unsupportedFilter` (RFC 8620 §5.5). */
export function parseEmailCondition(c: JsonObject, resolve: (id: string) => string | undefined): EmailCondition {
  const out: EmailCondition = {};
  for (const [key, value] of Object.entries(c)) {
    switch (key) {
      case 'inMailbox':
        out.inMailbox = mailboxId(key, typeof value === 'string' ? (resolve(value) ?? value) : value);
        break;
      case 'inMailboxOtherThan':
        if (!Array.isArray(value)) throw invalidArguments('inMailboxOtherThan must be an array of Mailbox ids');
        out.inMailboxOtherThan = value.map((v) => mailboxId(key, typeof v === 'string' ? (resolve(v) ?? v) : v));
        break;
      case 'before':
      case 'after': {
        const ms = parseDate(value, true);
        if (ms === undefined) throw invalidArguments(`${key} must be a UTCDate`);
        out[key] = ms;
        break;
      }
      case 'minSize':
      case 'maxSize':
        out[key] = uint(key, value);
        break;
      case 'allInThreadHaveKeyword':
      case 'someInThreadHaveKeyword':
      case 'noneInThreadHaveKeyword':
      case 'hasKeyword':
      case 'notKeyword':
        out[key] = keyword(key, value);
        break;
      case 'hasAttachment':
        if (typeof value !== 'boolean') throw invalidArguments('hasAttachment must be a boolean');
        out.hasAttachment = value;
        break;
      case 'text':
      case 'from':
      case 'to':
      case 'cc':
      case 'bcc':
      case 'subject':
      case 'body':
        out[key] = text(key, value);
        break;
      case 'header': {
        if (!Array.isArray(value) || value.length < 1 || value.length > 2 || !value.every((v) => typeof v === 'string')) {
          throw invalidArguments('header must be [name] or [name, value]');
        }
        if (!/^[\x21-\x39\x3b-\x7e]+$/.test(value[0] as string)) throw invalidArguments('header name is not a field name');
        out.header = value as [string] | [string, string];
        break;
      }
      default:
        throw new MethodError('unsupportedFilter', `unknown Email filter ${JSON.stringify(key.slice(0, 100))}`);
    }
  }
  return out;
}

/** Parses the `filter` argument of Email/query, Email/queryChanges and SearchSnippet/get. */
export function parseEmailFilter(
  value: Parameters<typeof parseFilter>[0],
  resolve: (id: string) => string | undefined,
): Filter<EmailCondition> | null {
  return parseFilter(value, (c) => parseEmailCondition(c, resolve));
}
