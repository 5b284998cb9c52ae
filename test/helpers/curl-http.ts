import { execFile } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';

const exec = promisify(execFile);

/** An HTTP answer as curl saw it: status, lower-cased headers (repeated ones joined by newlines), UTF-8 body. */
export interface CurlReply {
  status: number;
  headers: Record<string, string>;
  body: string;
}

/**
 * Runs curl with `args` trusting `caFile`; a `body` is written to a file in `dir` and sent as is
 * (--data-binary). Shared by the calendar HTTP and DAV end-to-end tests.
 */
export async function curlHttp(caFile: string, dir: string, args: readonly string[], body?: string | Buffer): Promise<CurlReply> {
  const extra: string[] = [];
  if (body !== undefined) {
    const file = path.join(dir, `body-${Math.random().toString(36).slice(2)}`);
    await writeFile(file, body);
    extra.push('--data-binary', `@${file}`);
  }
  // latin1 keeps every byte, so the body is decoded as UTF-8 only once it is split from the head.
  const { stdout } = await exec('curl', ['-sS', '--cacert', caFile, '-D', '-', ...extra, ...args], {
    maxBuffer: 10 << 20,
    encoding: 'latin1',
  });
  const split = stdout.indexOf('\r\n\r\n');
  const head = stdout.slice(0, split).split('\r\n');
  const headers: Record<string, string> = {};
  for (const h of head.slice(1)) {
    const i = h.indexOf(':');
    const k = h.slice(0, i).toLowerCase();
    headers[k] = headers[k] ? `${headers[k]}\n${h.slice(i + 1).trim()}` : h.slice(i + 1).trim();
  }
  return { status: Number(head[0]!.split(' ')[1]), headers, body: Buffer.from(stdout.slice(split + 4), 'latin1').toString('utf8') };
}

/** A VCALENDAR with one VEVENT of `uid` and the given content lines (DTSTAMP is fixed). */
export function icsEvent(uid: string, ...lines: string[]): string {
  return [
    'BEGIN:VCALENDAR',
    'VERSION:2.0',
    'PRODID:-//test//EN',
    'BEGIN:VEVENT',
    `UID:${uid}`,
    'DTSTAMP:20260101T000000Z',
    ...lines,
    'END:VEVENT',
    'END:VCALENDAR',
    '',
  ].join('\r\n');
}
