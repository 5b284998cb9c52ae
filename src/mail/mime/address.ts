import { decodeEncodedWords } from './encoded-word.ts';
import type { EnvelopeAddress } from './types.ts';

/**
 * RFC 5322 §3.4 address lists (with groups, comments, quoted strings and the obsolete route
 * syntax of §4.4) parsed into IMAP ENVELOPE addresses (RFC 9051 §7.5.2). Lenient like real
 * servers: garbage never throws, it becomes the best address it can.
 */

type Token =
  | { readonly kind: 'word'; readonly text: string; readonly raw: string }
  | { readonly kind: 'special'; readonly text: string }
  | { readonly kind: 'comment'; readonly text: string };

const SPECIALS = '()<>[]:;@\\,."';
const MAX_ADDRESSES = 10_000;

function tokenize(s: string): Token[] {
  const out: Token[] = [];
  let i = 0;
  while (i < s.length) {
    const c = s[i]!;
    if (c === ' ' || c === '\t' || c === '\r' || c === '\n') {
      i++;
    } else if (c === '"') {
      let text = '';
      let j = i + 1;
      while (j < s.length && s[j] !== '"') {
        if (s[j] === '\\' && j + 1 < s.length) j++;
        text += s[j];
        j++;
      }
      out.push({ kind: 'word', text, raw: s.slice(i, Math.min(j + 1, s.length)) });
      i = j + 1;
    } else if (c === '(') {
      let depth = 1;
      let text = '';
      let j = i + 1;
      while (j < s.length && depth > 0) {
        const d = s[j]!;
        if (d === '\\' && j + 1 < s.length) {
          text += s[j + 1];
          j += 2;
          continue;
        }
        if (d === '(') depth++;
        else if (d === ')') depth--;
        if (depth > 0) text += d;
        j++;
      }
      out.push({ kind: 'comment', text: text.trim() });
      i = j;
    } else if (c === '[') {
      const j = s.indexOf(']', i);
      const end = j < 0 ? s.length : j + 1;
      out.push({ kind: 'word', text: s.slice(i, end), raw: s.slice(i, end) });
      i = end;
    } else if (SPECIALS.includes(c)) {
      out.push({ kind: 'special', text: c });
      i++;
    } else {
      let j = i;
      while (j < s.length && !SPECIALS.includes(s[j]!) && !/[ \t\r\n]/.test(s[j]!)) j++;
      out.push({ kind: 'word', text: s.slice(i, j), raw: s.slice(i, j) });
      i = j;
    }
  }
  return out;
}

function isSpecial(t: Token | undefined, chars: string): boolean {
  return t !== undefined && t.kind === 'special' && chars.includes(t.text);
}

/** Display-name words joined by single spaces; a `.` sticks to the word before it (obs-phrase). */
function phraseText(tokens: readonly Token[]): string {
  let out = '';
  for (const t of tokens) {
    if (t.kind === 'comment') continue;
    if (t.kind === 'special' && t.text === '.') out += '.';
    else out += (out && !out.endsWith(' ') ? ' ' : '') + t.text;
  }
  return out.trim();
}

/** A local part or domain as written: atoms and dots joined, quoted strings kept quoted. */
function specText(tokens: readonly Token[]): string {
  let out = '';
  for (const t of tokens) {
    if (t.kind === 'comment') continue;
    out += t.kind === 'word' ? t.raw : t.text;
  }
  return out;
}

function lastComment(tokens: readonly Token[]): string | null {
  for (let i = tokens.length - 1; i >= 0; i--) if (tokens[i]!.kind === 'comment' && tokens[i]!.text) return tokens[i]!.text;
  return null;
}

/** Parses an address-list header value into ENVELOPE addresses; groups become start/end markers. */
export function parseAddressList(value: string | null): EnvelopeAddress[] {
  if (!value) return [];
  const tokens = tokenize(value);
  const out: EnvelopeAddress[] = [];
  let inGroup = false;
  let i = 0;
  while (i < tokens.length && out.length < MAX_ADDRESSES) {
    const t = tokens[i]!;
    if (isSpecial(t, ',>')) {
      i++;
      continue;
    }
    if (isSpecial(t, ';')) {
      if (inGroup) out.push({ name: null, adl: null, mailbox: null, host: null });
      inGroup = false;
      i++;
      continue;
    }
    const phrase: Token[] = [];
    while (i < tokens.length && !isSpecial(tokens[i], ':<@,;')) phrase.push(tokens[i++]!);
    const next = tokens[i];
    if (isSpecial(next, ':')) {
      i++;
      if (inGroup) out.push({ name: null, adl: null, mailbox: null, host: null });
      out.push({ name: null, adl: null, mailbox: phraseText(phrase), host: null });
      inGroup = true;
      continue;
    }
    if (isSpecial(next, '<')) {
      i++;
      let adl: string | null = null;
      if (isSpecial(tokens[i], '@')) {
        const route: Token[] = [];
        while (i < tokens.length && !isSpecial(tokens[i], ':>')) route.push(tokens[i++]!);
        if (isSpecial(tokens[i], ':')) {
          i++;
          adl = specText(route);
        }
      }
      const local: Token[] = [];
      while (i < tokens.length && !isSpecial(tokens[i], '@>')) {
        const t = tokens[i++]!;
        if (!isSpecial(t, '<')) local.push(t);
      }
      const domain: Token[] = [];
      if (isSpecial(tokens[i], '@')) {
        i++;
        while (i < tokens.length && !isSpecial(tokens[i], '>,;')) domain.push(tokens[i++]!);
      }
      if (isSpecial(tokens[i], '>')) i++;
      const trailing: Token[] = [];
      while (i < tokens.length && tokens[i]!.kind === 'comment') trailing.push(tokens[i++]!);
      const mailbox = specText(local);
      const host = specText(domain);
      const name = phraseText(phrase) || lastComment(trailing);
      if (mailbox || host || name) out.push({ name: name || null, adl, mailbox, host });
      continue;
    }
    if (isSpecial(next, '@')) {
      i++;
      const domain: Token[] = [];
      while (i < tokens.length && !isSpecial(tokens[i], ',;<')) domain.push(tokens[i++]!);
      out.push({ name: lastComment(domain) ?? lastComment(phrase), adl: null, mailbox: specText(phrase), host: specText(domain) });
      continue;
    }
    // A bare word with no domain (`To: undisclosed`): keep it as a local part with an empty host.
    const mailbox = specText(phrase);
    if (mailbox) out.push({ name: lastComment(phrase), adl: null, mailbox, host: '' });
  }
  if (inGroup) out.push({ name: null, adl: null, mailbox: null, host: null });
  return out;
}

/** Decoded `{ name, email }` pairs for search and JMAP; group markers are dropped. */
export function displayAddresses(list: readonly EnvelopeAddress[]): Array<{ name: string; email: string }> {
  const out: Array<{ name: string; email: string }> = [];
  for (const a of list) {
    if (a.host === null) continue;
    const email = a.host ? `${a.mailbox ?? ''}@${a.host}` : (a.mailbox ?? '');
    out.push({ name: a.name ? decodeEncodedWords(a.name) : '', email });
  }
  return out;
}
