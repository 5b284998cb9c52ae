import { TextDecoder } from 'node:util';

/**
 * Charset decoding for MIME text (RFC 2046 §4.1.2, RFC 2047 §3): WHATWG `TextDecoder` labels
 * with the aliases real mail uses, falling back to UTF-8-or-Latin-1 for unknown labels.
 */

const ALIASES: Readonly<Record<string, string>> = {
  'us-ascii': 'windows-1252',
  ascii: 'windows-1252',
  'ansi_x3.4-1968': 'windows-1252',
  latin1: 'windows-1252',
  'iso-8859-1': 'windows-1252',
  utf8: 'utf-8',
  'x-unknown': 'utf-8',
  unknown: 'utf-8',
  'x-user-defined': 'utf-8',
  ks_c_5601: 'euc-kr',
  'ks_c_5601-1987': 'euc-kr',
  'x-sjis': 'shift_jis',
  cp1252: 'windows-1252',
  cp1251: 'windows-1251',
  cp1250: 'windows-1250',
  cp936: 'gbk',
  'iso-2022-jp-2': 'iso-2022-jp',
};

const decoders = new Map<string, TextDecoder | null>();

function decoderFor(label: string): TextDecoder | null {
  const key = label.trim().toLowerCase();
  let d = decoders.get(key);
  if (d !== undefined) return d;
  try {
    d = new TextDecoder(ALIASES[key] ?? key);
  } catch {
    d = null;
  }
  if (decoders.size < 256) decoders.set(key, d);
  return d;
}

const strictUtf8 = new TextDecoder('utf-8', { fatal: true });
const latin1 = new TextDecoder('windows-1252');

/** Decodes bytes that carry no declared charset (RFC 6532 headers): UTF-8 when valid, else Latin-1. */
export function decodeUnlabelled(bytes: Uint8Array): string {
  let ascii = true;
  for (let i = 0; i < bytes.length; i++) {
    if (bytes[i]! > 0x7f) {
      ascii = false;
      break;
    }
  }
  if (ascii) return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length).toString('latin1');
  try {
    return strictUtf8.decode(bytes);
  } catch {
    return latin1.decode(bytes);
  }
}

/** Decodes bytes in a declared MIME charset (RFC 2046 §4.1.2); unknown labels decode as unlabelled. */
export function decodeCharset(bytes: Uint8Array, charset: string | undefined): string {
  if (!charset) return decodeUnlabelled(bytes);
  const d = decoderFor(charset);
  if (!d) return decodeUnlabelled(bytes);
  // A body labelled us-ascii/latin-1 that is really UTF-8 is common; prefer UTF-8 when it is valid.
  if (d.encoding === 'windows-1252') return decodeUnlabelled(bytes);
  return d.decode(bytes);
}
