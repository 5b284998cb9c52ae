import { createReadStream } from 'node:fs';
import { readdir, stat } from 'node:fs/promises';
import path from 'node:path';
import { type ImportFolder, type ImportSource, keywordsFromLetters } from './source.ts';

/** mbox `Status:` (R read, O old) and `X-Status:` (A answered, F flagged, T draft, D deleted) letters. */
const STATUS_FLAGS: Readonly<Record<string, string>> = { R: '$seen' };
const X_STATUS_FLAGS: Readonly<Record<string, string>> = { A: '$answered', F: '$flagged', T: '$draft', D: '$deleted' };

/** Header fields that only record mbox state (flags, UIDs of earlier IMAP servers): not part of the message. */
const STATE_FIELDS = /^(status|x-status|x-keywords|x-uid|x-imap|x-imapbase):/i;

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

/** The date of a `From sender Thu Jan  1 00:00:00 2026` separator line (asctime, local time taken as UTC). */
function separatorDate(line: string): number | undefined {
  const m = /(\w{3}) +(\d{1,2}) (\d{2}):(\d{2}):(\d{2})(?: [A-Z]{3,4})? (\d{4})\s*$/.exec(line);
  if (!m) return undefined;
  const month = MONTHS.indexOf(m[1]!);
  if (month < 0) return undefined;
  return Date.UTC(Number(m[6]), month, Number(m[2]), Number(m[3]), Number(m[4]), Number(m[5]));
}

/** One message between separators: its mbox state fields removed, `>From ` unquoted (mboxrd), CRLF line ends. */
function toMessage(lines: readonly string[]): { raw: Buffer; keywords: string[] } {
  const out: string[] = [];
  const keywords = new Set<string>();
  let inHeader = true;
  for (const line of lines) {
    if (inHeader) {
      if (line === '') inHeader = false;
      else if (STATE_FIELDS.test(line)) {
        const [name, value = ''] = [line.slice(0, line.indexOf(':')).toLowerCase(), line.slice(line.indexOf(':') + 1).trim()];
        if (name === 'status') for (const k of keywordsFromLetters(value, STATUS_FLAGS)) keywords.add(k);
        if (name === 'x-status') for (const k of keywordsFromLetters(value, X_STATUS_FLAGS)) keywords.add(k);
        if (name === 'x-keywords') for (const k of value.split(/[\s,]+/).filter(Boolean)) keywords.add(k);
        continue;
      }
    }
    out.push(/^>+From /.test(line) ? line.slice(1) : line);
  }
  // The blank line before the next separator belongs to the mbox format, not to the message.
  while (out.length && out.at(-1) === '') out.pop();
  return { raw: Buffer.from(`${out.join('\r\n')}\r\n`, 'latin1'), keywords: [...keywords] };
}

function mboxFolder(file: string, name: string): ImportFolder {
  return {
    name,
    async *messages(after) {
      const skipUntil = after === undefined ? -1 : Number(after);
      let index = -1;
      let lines: string[] = [];
      let date: number | undefined;
      let pending = '';
      const flush = function* () {
        if (index >= 0 && index > skipUntil) {
          const { raw, keywords } = toMessage(lines);
          yield {
            message: { ref: `#${index + 1}`, raw, keywords, ...(date !== undefined ? { receivedAt: date } : {}) },
            position: String(index),
          };
        }
      };
      // latin1 keeps every byte as it was: 8-bit bodies come out unchanged.
      for await (const chunk of createReadStream(file, { encoding: 'latin1', highWaterMark: 1 << 20 })) {
        pending += chunk;
        const parts = pending.split('\n');
        pending = parts.pop()!;
        for (const raw of parts) {
          const line = raw.endsWith('\r') ? raw.slice(0, -1) : raw;
          if (line.startsWith('From ')) {
            yield* flush();
            index++;
            lines = [];
            date = separatorDate(line);
            continue;
          }
          if (index >= 0 && index > skipUntil) lines.push(line);
        }
      }
      if (pending) lines.push(pending.endsWith('\r') ? pending.slice(0, -1) : pending);
      yield* flush();
    },
  };
}

/**
 * mbox to import (mutt, Postfix `/var/mail/user`, Thunderbird exports): one file is one folder
 * (INBOX); a directory holds one mbox file per folder, subdirectories giving `a/b` names. Flags
 * come from `Status:`/`X-Status:`/`X-Keywords:`, the arrival date from the `From ` line.
 */
export function mboxSource(location: string): ImportSource {
  return {
    description: `mbox:${path.resolve(location)}`,
    async *folders() {
      if ((await stat(location)).isFile()) {
        yield mboxFolder(location, 'INBOX');
        return;
      }
      const walk = async function* (dir: string, prefix: string): AsyncGenerator<ImportFolder> {
        for (const e of (await readdir(dir, { withFileTypes: true })).sort((a, b) => a.name.localeCompare(b.name))) {
          if (e.name.startsWith('.')) continue;
          const name = prefix ? `${prefix}/${e.name}` : e.name;
          if (e.isDirectory()) yield* walk(path.join(dir, e.name), name);
          else if (e.isFile()) yield mboxFolder(path.join(dir, e.name), name.toLowerCase() === 'inbox' ? 'INBOX' : name);
        }
      };
      yield* walk(location, '');
    },
  };
}
