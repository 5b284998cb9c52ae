import { parseAddressList } from '../mime/address.ts';
import { decodeEncodedWords } from '../mime/encoded-word.ts';
import { type HeaderField, parseHeaderBlock } from '../mime/headers.ts';
import { parseStructure } from '../mime/structure.ts';
import { partText } from '../mime/text.ts';
import type { MimePart } from '../mime/types.ts';

/** One address as the address test sees it (RFC 5228 §2.7.4): local part and domain. */
export interface SieveAddress {
  readonly local: string;
  readonly domain: string;
}

/** At most this much decoded body text is looked at by the body test (RFC 5173 §5 lets us bound it). */
const MAX_BODY_TEXT = 1024 * 1024;

function leaves(part: MimePart, out: MimePart[] = []): MimePart[] {
  if (part.children.length) for (const c of part.children) leaves(c, out);
  else if (part.message) leaves(part.message.root, out);
  else out.push(part);
  return out;
}

/**
 * The parts of a message that Sieve tests read: header values with encoded-words decoded
 * (RFC 5228 §2.7.2), addresses, size, and body text for the body test (RFC 5173 §5: `:raw`,
 * `:content` types, `:text`). Only the header is parsed up front; the MIME tree only when a
 * script asks for the body.
 */
export class SieveMessage {
  readonly raw: Buffer;
  readonly #fields: readonly HeaderField[];
  #root: MimePart | undefined;

  constructor(raw: Buffer) {
    this.raw = raw;
    this.#fields = parseHeaderBlock(raw, 0, raw.length).fields;
  }

  get #tree(): MimePart {
    this.#root ??= parseStructure(this.raw).root;
    return this.#root;
  }

  /** Header fields a header test looks through (the cost of one lookup, for the run's budget). */
  get fieldCount(): number {
    return this.#fields.length;
  }

  get size(): number {
    return this.raw.length;
  }

  /** The decoded values of every field named `name` (any case), in order. */
  headers(name: string): string[] {
    const lower = name.toLowerCase();
    return this.#fields.filter((f) => f.name === lower).map((f) => decodeEncodedWords(f.value.trim()));
  }

  /** The addresses in every field named `name`, group markers left out. */
  addresses(name: string): SieveAddress[] {
    const lower = name.toLowerCase();
    return this.#fields
      .filter((f) => f.name === lower)
      .flatMap((f) => parseAddressList(f.value))
      .filter((a) => a.mailbox !== null && a.host !== null)
      .map((a) => ({ local: a.mailbox!, domain: a.host! }));
  }

  /**
   * Body text for the body test: `raw` is the undecoded body; `text` the text parts decoded;
   * `content` the decoded leaves whose media type is one of `types` ("text" = any text/*, "" = all).
   */
  body(transform: { kind: 'raw' } | { kind: 'text' } | { kind: 'content'; types: readonly string[] }): string[] {
    const root = this.#tree;
    if (transform.kind === 'raw')
      return [this.raw.subarray(root.bodyStart, Math.min(this.raw.length, root.bodyStart + MAX_BODY_TEXT)).toString('utf8')];
    const wanted = (p: MimePart) => {
      if (transform.kind === 'text') return p.type === 'text';
      const full = `${p.type}/${p.subtype}`;
      return transform.types.some((t) => {
        const lower = t.toLowerCase();
        return lower === '' || lower === p.type || lower === full;
      });
    };
    const out: string[] = [];
    let left = MAX_BODY_TEXT;
    for (const p of leaves(root)) {
      if (left <= 0) break;
      if (!wanted(p)) continue;
      const text = partText(this.raw, p, left);
      left -= text.length;
      out.push(text);
    }
    return out;
  }
}
