/** IMAP system flags (RFC 9051 §2.3.2) and the store's keywords for them (RFC 8621 §4.1.1). */
const SYSTEM: Readonly<Record<string, string>> = {
  '\\seen': '$seen',
  '\\answered': '$answered',
  '\\flagged': '$flagged',
  '\\draft': '$draft',
  '\\deleted': '$deleted',
};

/**
 * The store keywords for the flags a Sieve action set (RFC 5232 §3): system flags by their
 * keyword, other flags lower-cased; anything that is not an IMAP flag atom is left out.
 */
export function flagsToKeywords(flags: readonly string[]): string[] {
  const out = new Set<string>();
  for (const f of flags) {
    const lower = f.toLowerCase();
    const system = SYSTEM[lower];
    if (system) out.add(system);
    else if (/^[!#-'+-[^-z|~]{1,100}$/.test(f) && !f.startsWith('\\')) out.add(lower);
  }
  return [...out];
}
