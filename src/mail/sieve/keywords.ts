import { systemFlagKeyword } from '../system-flags.ts';

/**
 * The store keywords for the flags a Sieve action set (RFC 5232 §3): system flags by their
 * keyword, other flags lower-cased; anything that is not an IMAP flag atom is left out.
 */
export function flagsToKeywords(flags: readonly string[]): string[] {
  const out = new Set<string>();
  for (const f of flags) {
    const lower = f.toLowerCase();
    const system = systemFlagKeyword(f);
    if (system) out.add(system);
    else if (/^[!#-'+-[^-z|~]{1,100}$/.test(f) && !f.startsWith('\\')) out.add(lower);
  }
  return [...out];
}
