import { FingerpostError } from '../../core/errors.ts';
import { clientExitCode } from '../errors.ts';
import type { ServiceEntry, ServiceName } from '../store/account.ts';
import type { TokenStore } from '../store/token-store.ts';
import { accountHttp } from '../network.ts';
import { accessToken } from '../tokens.ts';
import { adviceForNetwork } from './advice.ts';
import { checkImap } from './imap.ts';
import { checkJmap } from './jmap.ts';
import { checkPop3 } from './pop3.ts';
import type { CheckResult, Mechanism } from './result.ts';
import { checkSmtp } from './smtp.ts';

/**
 * `fingerpost check EMAIL`: a real sign-in on every service the account knows —
 * IMAP, POP3, SMTP submission (implicit TLS and STARTTLS endpoints alike) and the JMAP session —
 * with a fresh token for each service's resource, one result per endpoint and mechanism.
 */
export interface CheckOptions {
  /** Only these services. */
  readonly services?: readonly ServiceName[];
  /** `auto`: the account's preferred mechanism where offered; `both`: OAUTHBEARER and XOAUTH2. */
  readonly mechanism?: 'auto' | 'both' | Mechanism;
}

const nameOf = (s: ServiceEntry): ServiceName | undefined =>
  s.protocol === 'submission' ? 'smtp' : s.protocol === 'calendar' ? undefined : s.protocol;

function mechanismsFor(s: ServiceEntry, preferred: Mechanism, choice: CheckOptions['mechanism']): Mechanism[] {
  if (choice === 'OAUTHBEARER' || choice === 'XOAUTH2') return [choice];
  const offered = s.auth.map((a) => a.toUpperCase());
  if (choice === 'both') return (['OAUTHBEARER', 'XOAUTH2'] as const).filter((m) => offered.includes(m));
  const other: Mechanism = preferred === 'OAUTHBEARER' ? 'XOAUTH2' : 'OAUTHBEARER';
  if (offered.includes(preferred) || !offered.includes(other)) return [preferred];
  return [other];
}

/** Runs the checks; calls `report` as each finishes. Returns the exit code (0 all ok). */
export async function checkAccount(
  store: TokenStore,
  address: string,
  options: CheckOptions,
  report: (r: CheckResult) => void,
): Promise<number> {
  const account = await store.load(address);
  const http = accountHttp(account);
  const wanted = account.services.filter((s) => {
    const n = nameOf(s);
    return n !== undefined && (!options.services?.length || options.services.includes(n));
  });
  if (!wanted.length) {
    report({
      service: '-',
      endpoint: '-',
      mechanism: '-',
      ok: false,
      detail: 'the account lists no service to check',
      advice: `sign in again: fingerpost login ${address}`,
    });
    return 1;
  }
  const codes: number[] = [];
  for (const s of wanted) {
    const name = nameOf(s)!;
    let token: string;
    try {
      token = (await accessToken({ address, service: name }, { store })).token.token;
    } catch (err) {
      const code = clientExitCode(err);
      codes.push(code);
      report({
        service: name,
        endpoint: 'host' in s ? `${s.host}:${s.port}` : s.url,
        mechanism: '-',
        ok: false,
        detail: `no token: ${err instanceof FingerpostError ? err.message : (err as Error).message}`,
        ...(err instanceof FingerpostError && err.hint ? { advice: err.hint } : {}),
        ...(code === 3 ? { temporary: true } : {}),
      });
      continue;
    }
    const runs: Array<() => Promise<CheckResult>> = [];
    if ('host' in s) {
      const check = s.protocol === 'imap' ? checkImap : s.protocol === 'pop3' ? checkPop3 : checkSmtp;
      for (const m of mechanismsFor(s, account.sasl, options.mechanism)) runs.push(() => check(s, address, token, m));
    } else runs.push(() => checkJmap(s.url, address, token, http.connectTo));
    for (const run of runs) {
      let r: CheckResult;
      try {
        r = await run();
      } catch (err) {
        const n = adviceForNetwork(err as NodeJS.ErrnoException);
        r = {
          service: name,
          endpoint: 'host' in s ? `${s.host}:${s.port} ${s.tls === 'implicit' ? 'TLS' : 'STARTTLS'}` : s.url,
          mechanism: '-',
          ok: false,
          detail: n.detail,
          advice: n.advice,
          temporary: n.temporary,
        };
      }
      codes.push(r.ok ? 0 : r.temporary ? 3 : 1);
      report(r);
    }
  }
  for (const c of [2, 1, 3]) if (codes.includes(c)) return c;
  return 0;
}

/** One line per result (and an indented line of advice), aligned for reading. */
export function formatResult(r: CheckResult): string {
  const head = `${r.ok ? 'ok  ' : 'FAIL'}  ${r.service.padEnd(5)} ${r.endpoint.padEnd(28)} ${r.mechanism.padEnd(12)} ${r.detail}`;
  return r.advice && !r.ok ? `${head}\n      → ${r.advice}` : head;
}
