import { readdir, readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { type ImportFolder, type ImportSource, keywordsFromLetters } from './source.ts';

/** Maildir info flags (the `:2,` suffix) as store keywords; `T` (trashed) is IMAP `\Deleted`. */
const MAILDIR_FLAGS: Readonly<Record<string, string>> = {
  S: '$seen',
  R: '$answered',
  F: '$flagged',
  D: '$draft',
  T: '$deleted',
  P: '$forwarded',
};

/** Dovecot's `dovecot-keywords` file: `0 $Label1` lines; letter a is keyword 0, b is 1, … */
async function keywordLetters(dir: string): Promise<Map<string, string>> {
  const letters = new Map<string, string>();
  const text = await readFile(path.join(dir, 'dovecot-keywords'), 'utf8').catch(() => '');
  for (const line of text.split('\n')) {
    const m = /^(\d+) (\S+)$/.exec(line.trim());
    if (m && Number(m[1]) < 26) letters.set(String.fromCharCode(97 + Number(m[1])), m[2]!);
  }
  return letters;
}

async function isMaildir(dir: string): Promise<boolean> {
  return (await stat(path.join(dir, 'cur')).catch(() => undefined))?.isDirectory() ?? false;
}

/** The file name without its info suffix: the same message keeps it when its flags change. */
function baseName(file: string): string {
  const i = file.indexOf(':2,');
  return i < 0 ? file : file.slice(0, i);
}

function folder(dir: string, name: string): ImportFolder {
  return {
    name,
    async *messages(after) {
      const keywords = await keywordLetters(dir);
      const files: Array<{ file: string; sub: 'cur' | 'new' }> = [];
      for (const sub of ['new', 'cur'] as const)
        for (const file of await readdir(path.join(dir, sub)).catch(() => [] as string[]))
          if (!file.startsWith('.')) files.push({ file, sub });
      // Delivery order: Maildir names start with the delivery time in seconds.
      files.sort((a, b) => baseName(a.file).localeCompare(baseName(b.file), 'en', { numeric: true }));
      let started = after === undefined;
      for (const { file, sub } of files) {
        const position = baseName(file);
        if (!started) {
          if (position === after) started = true;
          continue;
        }
        const full = path.join(dir, sub, file);
        const info = file.includes(':2,') ? file.slice(file.indexOf(':2,') + 3) : '';
        const flags = keywordsFromLetters(info.replace(/[a-z]/g, ''), MAILDIR_FLAGS);
        for (const ch of info) if (keywords.has(ch)) flags.push(keywords.get(ch)!);
        const st = await stat(full);
        yield {
          message: { ref: `${sub}/${file}`, raw: await readFile(full), keywords: flags, receivedAt: Math.floor(st.mtimeMs) },
          position,
        };
      }
    },
  };
}

/**
 * A Maildir to import (Dovecot, Postfix `home_mailbox = Maildir/`, mbsync): the root is INBOX,
 * Maildir++ subfolders `.A.B` become `A/B`; Dovecot's `LAYOUT=fs` (plain subdirectories holding
 * cur/new/tmp) becomes the same names. Flags come from the `:2,` suffix and `dovecot-keywords`.
 */
export function maildirSource(root: string): ImportSource {
  return {
    description: `maildir:${path.resolve(root)}`,
    async *folders() {
      if (await isMaildir(root)) yield folder(root, 'INBOX');
      const walk = async function* (dir: string, prefix: string): AsyncGenerator<ImportFolder> {
        const entries = (await readdir(dir, { withFileTypes: true })).filter((e) => e.isDirectory()).map((e) => e.name);
        for (const entry of entries.sort()) {
          if (['cur', 'new', 'tmp'].includes(entry)) continue;
          const full = path.join(dir, entry);
          if (prefix === '' && entry.startsWith('.') && entry.length > 1) {
            // Maildir++: one level of directories, dots between name levels.
            if (await isMaildir(full)) yield folder(full, entry.slice(1).split('.').join('/'));
            continue;
          }
          if (entry.startsWith('.')) continue;
          const name = prefix ? `${prefix}/${entry}` : entry;
          if (await isMaildir(full)) yield folder(full, name);
          yield* walk(full, name);
        }
      };
      yield* walk(root, '');
    },
  };
}
