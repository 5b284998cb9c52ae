import { createHash } from 'node:crypto';
import { readdir, readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { IcsError } from '../../calendar/ics.ts';
import type { CalendarService } from '../../calendar/service.ts';
import { checkObjectName, objectNameFor } from '../../calendar/store.ts';
import { checkCardName, type ContactsStore } from '../../contacts/store.ts';
import { parseVcard } from '../../contacts/vcard.ts';
import { FingerpostError } from '../../core/errors.ts';
import type { DirectoryAccount } from '../../directory/directory.ts';

/**
 * Imports calendars and address books the way they sit on disk elsewhere: one `.ics`/`.vcf` file
 * (an export holding many objects) or a directory of them (a vdir as vdirsyncer and Radicale keep
 * it, one object per file). Each calendar object resource (RFC 4791 §4.1) and vCard (RFC 6352
 * §5.1) is stored byte for byte, under its file name when it is a valid resource name, so a
 * client syncing afterwards gets the same text and a stable ETag. Only an iCalendar file with
 * several UIDs must be split and rebuilt (its VTIMEZONEs are shared). A file that does not parse
 * is skipped and named in the report; the others are still imported.
 */

export interface DavImportReport {
  /** Objects stored exactly as in the source. */
  readonly exact: number;
  /** Objects rebuilt from an iCalendar file that held several UIDs. */
  readonly split: number;
  readonly skipped: ReadonlyArray<{ readonly file: string; readonly reason: string }>;
}

const MAX_FILES = 1_000_000;

const sha256 = (s: string) => createHash('sha256').update(s).digest('hex');

/** The files to read: `source` itself, or the files with `ext` directly in it, by name. */
async function filesOf(source: string, ext: string): Promise<string[]> {
  const s = await stat(source).catch((err: NodeJS.ErrnoException) => {
    throw new FingerpostError('invalid_argument', `cannot read ${source} (${err.code ?? err.message})`);
  });
  if (!s.isDirectory()) return [source];
  const names = (await readdir(source)).filter((n) => n.toLowerCase().endsWith(ext)).sort();
  if (names.length > MAX_FILES) throw new FingerpostError('limit_exceeded', `more than ${MAX_FILES} files in ${source}`);
  return names.map((n) => path.join(source, n));
}

/** The file's text; refuses what is not UTF-8 (storing it exactly would then be impossible). */
async function textOf(file: string): Promise<string> {
  const bytes = await readFile(file);
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    throw new FingerpostError('invalid_argument', 'not UTF-8');
  }
}

function valid(name: string, check: (n: string) => string): boolean {
  try {
    check(name);
    return true;
  } catch {
    return false;
  }
}

/** Imports `.ics` data into calendar `calendarName` of `account` (made when missing). */
export async function importCalendarFiles(
  service: CalendarService,
  account: DirectoryAccount,
  calendarName: string,
  source: string,
): Promise<DavImportReport> {
  const calendar = await service.store.ensureCalendar(account.id, calendarName, service.settings.defaultTimezone);
  if (calendar.subscription)
    throw new FingerpostError(
      'invalid_argument',
      `calendar ${calendarName} mirrors ${calendar.subscription.url}; import into another calendar`,
    );
  let exact = 0;
  let split = 0;
  const skipped: Array<{ file: string; reason: string }> = [];
  for (const file of await filesOf(source, '.ics')) {
    try {
      const text = await textOf(file);
      let one: ReturnType<CalendarService['prepareExact']> | undefined;
      try {
        one = service.prepareExact(text, calendar.timezone);
      } catch (err) {
        if (!(err instanceof IcsError && /must hold one UID/.test(err.message))) throw err;
      }
      if (one) {
        const base = path.basename(file);
        const name = valid(base, checkObjectName) ? base : objectNameFor(one.object.uid, sha256);
        await service.store.putObject(calendar, name, one.object);
        exact++;
        continue;
      }
      const { objects } = service.prepare(text, calendar.timezone);
      await service.store.writeObjects(calendar, objects, (uid) => objectNameFor(uid, sha256));
      split += objects.length;
    } catch (err) {
      skipped.push({ file, reason: (err as Error).message });
    }
  }
  return { exact, split, skipped };
}

/** The vCards of a file, each as the exact bytes from BEGIN:VCARD to its END:VCARD line end. */
function cardsOf(text: string): string[] {
  const out: string[] = [];
  const re = /^BEGIN:VCARD\r?\n[\s\S]*?^END:VCARD[ \t]*(\r?\n|$)/gim;
  for (const m of text.matchAll(re)) out.push(m[0]);
  return out;
}

/** Imports `.vcf` data into address book `bookName` of `account` (made when missing). */
export async function importContactFiles(
  contacts: ContactsStore,
  account: DirectoryAccount,
  bookName: string,
  source: string,
): Promise<DavImportReport> {
  const book = (await contacts.getBook(account.id, bookName)) ?? (await contacts.createBook(account.id, { name: bookName }));
  let exact = 0;
  const skipped: Array<{ file: string; reason: string }> = [];
  for (const file of await filesOf(source, '.vcf')) {
    let cards: string[];
    try {
      cards = cardsOf(await textOf(file));
      if (cards.length === 0) throw new FingerpostError('invalid_argument', 'no BEGIN:VCARD … END:VCARD in the file');
    } catch (err) {
      skipped.push({ file, reason: (err as Error).message });
      continue;
    }
    for (const [i, text] of cards.entries()) {
      try {
        const card = parseVcard(text);
        const base = path.basename(file);
        const name =
          cards.length === 1 && valid(base, checkCardName)
            ? base
            : /^[A-Za-z0-9@._+=~-]{1,120}$/.test(card.uid)
              ? `${card.uid}.vcf`
              : `${sha256(card.uid).slice(0, 32)}.vcf`;
        await contacts.putCard(book, name, text, card);
        exact++;
      } catch (err) {
        skipped.push({ file: cards.length > 1 ? `${file} (card ${i + 1})` : file, reason: (err as Error).message });
      }
    }
  }
  return { exact, split: 0, skipped };
}
