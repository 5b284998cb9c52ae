import type { Command } from 'commander';
import { clientContext } from '../client/context.ts';
import { localProblem, temporaryFailure } from '../client/errors.ts';
import { clientAction, note } from '../client/report.ts';
import { accessToken } from '../client/tokens.ts';
import { parseAddress } from '../core/address.ts';

interface FreeBusyOptions {
  from: string;
  to: string;
  as?: string;
  server?: string;
  passwordStdin?: boolean;
  json?: boolean;
  ca?: string;
}

interface Period {
  start: string;
  end: string;
  type?: string;
}

interface AvailabilityAnswer {
  start: string;
  end: string;
  attendees: Array<{
    address: string;
    status: 'known' | 'unknown';
    source?: string;
    busy?: Period[];
    truncated?: boolean;
    reason?: string;
    detail?: string;
  }>;
  busy: Period[];
  free: Period[];
}

/** Accepts what people type: a date (midnight UTC), RFC 3339 with a zone, or 20261102T090000Z. */
function instant(flag: string, text: string): string {
  if (/^\d{4}-\d{2}-\d{2}$/.test(text)) return `${text}T00:00:00Z`;
  if (/^\d{8}T\d{6}Z$/.test(text) || /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2})$/i.test(text)) return text;
  throw localProblem(`${flag} ${text} is not a time`, 'use a date (2026-11-02), 2026-11-02T09:00:00Z or 20261102T090000Z');
}

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8').split(/\r?\n/)[0] ?? '';
}

const short = (iso: string) => iso.replace(/:00Z$/, 'Z').replace('T', ' ');

// Reasons that may go away by themselves: the attendee's server or this server's federation.
const TEMPORARY_REASONS = new Set(['unreachable', 'federation-unavailable']);

/**
 * Fails when no attendee's time is known: "free" would be a guess. Exit 3 (try later) when every
 * reason may pass by itself, else 1.
 */
function nothingKnown(answer: AvailabilityAnswer): void {
  if (answer.attendees.some((a) => a.status === 'known')) return;
  const message = "nothing is known: no attendee's free/busy could be read, so nobody is shown as free";
  if (answer.attendees.length && answer.attendees.every((a) => TEMPORARY_REASONS.has(a.reason ?? ''))) throw temporaryFailure(message);
  throw localProblem(message, 'ask the attendees to share their free/busy with you, or check the addresses');
}

/**
 * `fingerpost freebusy EMAIL... --from --to`: asks your own server for the merged availability of
 * the attendees, here and on other domains (the server proves who you are to them), and prints
 * who is known, why the others are not, the busy periods and the free gaps.
 */
export function registerFreeBusy(program: Command): void {
  program
    .command('freebusy')
    .description("show when people are busy or free, across domains, through your own server's calendar service")
    .argument('<email...>', 'attendees')
    .requiredOption('--from <time>', 'start: 2026-11-02, 2026-11-02T09:00:00Z or 20261102T090000Z')
    .requiredOption('--to <time>', 'end (exclusive)')
    .option('--as <email>', 'your account (signed in with `fingerpost login`); default: the only one signed in')
    .option('--server <url>', "your server's calendar URL (default: from the account's sign-in, e.g. https://mail.example.test/calendar)")
    .option('--password-stdin', 'authenticate with a password (or app password) read from stdin instead of a token')
    .option('--json', 'print the server answer as JSON')
    .option('--ca <file>', 'also trust the CA certificates in this PEM file')
    .action(
      clientAction(async (attendees: string[], options: FreeBusyOptions) => {
        const { store } = clientContext(options);
        const start = instant('--from', options.from);
        const end = instant('--to', options.to);
        let me = options.as ? parseAddress(options.as).normalized : undefined;
        if (!me) {
          const signedIn = await store.list();
          if (signedIn.length !== 1)
            throw localProblem(
              signedIn.length ? 'several accounts are signed in; say which with --as' : 'no account is signed in',
              'fingerpost login EMAIL, or --as EMAIL --server URL --password-stdin',
            );
          me = signedIn[0]!;
        }
        let base = options.server?.replace(/\/+$/, '');
        const httpsOnly = (url: string) => {
          // A password or a token never travels in cleartext.
          if (!/^https:\/\//i.test(url))
            throw localProblem(`${url.slice(0, 100)} is not an https URL`, 'pass --server https://HOST/calendar');
        };
        let authorization: string;
        if (options.passwordStdin) {
          if (!base) throw localProblem('--password-stdin needs --server', 'pass --server https://HOST/calendar');
          httpsOnly(base);
          authorization = `Basic ${Buffer.from(`${me}:${await readStdin()}`).toString('base64')}`;
        } else {
          const account = await store.load(me);
          const service = account.services.find((s) => s.protocol === 'calendar');
          base ??= service && 'url' in service ? service.url.replace(/\/+$/, '') : undefined;
          if (!base) throw localProblem(`the sign-in of ${me} names no calendar service`, 'pass --server https://HOST/calendar');
          httpsOnly(base);
          const issued = await accessToken({ address: me, service: 'calendar' }, { store });
          authorization = `Bearer ${issued.token.token}`;
        }
        let res: Response;
        try {
          res = await fetch(`${base}/availability`, {
            method: 'POST',
            headers: { authorization, 'content-type': 'application/json', accept: 'application/json' },
            body: JSON.stringify({ attendees, start, end }),
            signal: AbortSignal.timeout(60_000),
          });
        } catch (err) {
          throw temporaryFailure(
            `cannot reach ${base}: ${(err as Error).cause instanceof Error ? ((err as Error).cause as Error).message : (err as Error).message}`,
            err,
          );
        }
        const text = await res.text();
        if (!res.ok) {
          let detail = text.slice(0, 300);
          try {
            detail = (JSON.parse(text) as { detail?: string }).detail ?? detail;
          } catch {}
          if (res.status === 401 || res.status === 403)
            throw localProblem(`${base} refused the sign-in (${res.status}): ${detail}`, `fingerpost login ${me}`);
          if (res.status >= 500) throw temporaryFailure(`${base} answered ${res.status}: ${detail}`);
          throw localProblem(`${base} answered ${res.status}: ${detail}`);
        }
        const answer = JSON.parse(text) as AvailabilityAnswer;
        if (options.json) {
          process.stdout.write(`${JSON.stringify(answer, null, 2)}\n`);
          nothingKnown(answer);
          return;
        }
        process.stdout.write(`${short(answer.start)} – ${short(answer.end)} (UTC)\n`);
        for (const a of answer.attendees) {
          if (a.status === 'known') {
            const busy = (a.busy ?? []).map(
              (p) => `${short(p.start)}–${short(p.end).slice(11)}${p.type && p.type !== 'BUSY' ? ` ${p.type.toLowerCase()}` : ''}`,
            );
            process.stdout.write(
              `  ${a.address}: ${busy.length ? `busy ${busy.join(', ')}` : 'free'}${a.truncated ? ' (incomplete)' : ''}\n`,
            );
          } else {
            process.stdout.write(`  ${a.address}: unknown (${a.reason}: ${a.detail})\n`);
          }
        }
        nothingKnown(answer);
        process.stdout.write('free for everyone known:\n');
        for (const f of answer.free) process.stdout.write(`  ${short(f.start)} – ${short(f.end)}\n`);
        if (answer.free.length === 0) process.stdout.write('  (none)\n');
        if (answer.attendees.some((a) => a.status === 'unknown')) note('some attendees are unknown; their time is not counted');
      }),
    );
}
