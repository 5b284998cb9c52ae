/** IMAP system flags (RFC 9051 §2.3.2), lower-cased, and the store's keywords for them (RFC 8621 §4.1.1). */
const SYSTEM: Readonly<Record<string, string>> = {
  '\\seen': '$seen',
  '\\answered': '$answered',
  '\\flagged': '$flagged',
  '\\draft': '$draft',
  '\\deleted': '$deleted',
};

/** The store keyword of an IMAP system flag (any case), or undefined for `\Recent` and other flags. */
export function systemFlagKeyword(flag: string): string | undefined {
  return SYSTEM[flag.toLowerCase()];
}
