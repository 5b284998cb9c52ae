/** One message read from another server's store, as the mail store takes it. */
export interface ImportedMessage {
  /** Where it came from inside its folder (a Maildir file name, an mbox offset, an IMAP UID), for the skip report and resuming. */
  readonly ref: string;
  readonly raw: Buffer;
  /** Store keywords (RFC 8621 §4.1.1): `$seen`, `$answered`, `$flagged`, `$draft`, `$deleted`, `$forwarded`, and the source's own. */
  readonly keywords: readonly string[];
  /** INTERNALDATE / receivedAt in epoch ms, when the source knows it. */
  readonly receivedAt?: number;
}

/** A folder of the source, its name with `/` between levels (the store's delimiter). */
export interface ImportFolder {
  readonly name: string;
  /** How many messages it holds, when known before reading them (for progress). */
  readonly count?: number;
  /**
   * Its messages in source order, from the resume point `after` (a position `position` returned
   * earlier for this folder) on. Each comes with its position.
   */
  messages(after: string | undefined): AsyncIterable<{ readonly message: ImportedMessage; readonly position: string }>;
  /** A value that changes when earlier positions stop meaning the same messages (IMAP UIDVALIDITY). */
  readonly epoch?: string;
}

/** A store to import from: Maildir, mbox or a live IMAP server. */
export interface ImportSource {
  /** A stable description (kind and location, never a password) naming the resume state. */
  readonly description: string;
  folders(): AsyncIterable<ImportFolder>;
  close?(): Promise<void>;
}

/** Maps a store flag letter set (Maildir info, mbox Status/X-Status) to store keywords. */
export function keywordsFromLetters(letters: string, table: Readonly<Record<string, string>>): string[] {
  const out = new Set<string>();
  for (const ch of letters) {
    const k = table[ch];
    if (k) out.add(k);
  }
  return [...out];
}
