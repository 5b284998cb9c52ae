import { adviceForStatus, adviceForText } from './advice.ts';
import { LineSocket } from './line-socket.ts';
import type { CheckResult, Mechanism } from './result.ts';
import { describeChallenge, dummyResponse, initialResponse } from './sasl.ts';

/** One IMAP endpoint to check. */
export interface TcpTarget {
  readonly host: string;
  readonly port: number;
  readonly tls: 'implicit' | 'starttls';
}

const endpoint = (t: TcpTarget) => `${t.host}:${t.port} ${t.tls === 'implicit' ? 'TLS' : 'STARTTLS'}`;

function capsOf(line: string): Set<string> {
  const m = /\[CAPABILITY ([^\]]*)\]/i.exec(line) ?? /^\* CAPABILITY (.*)$/i.exec(line);
  return new Set((m?.[1] ?? '').toUpperCase().split(/\s+/).filter(Boolean));
}

async function tagged(s: LineSocket, tag: string): Promise<{ untagged: string[]; last: string }> {
  const untagged: string[] = [];
  for (;;) {
    const l = await s.line();
    if (l.startsWith(`${tag} `)) return { untagged, last: l };
    untagged.push(l);
  }
}

async function capabilities(s: LineSocket): Promise<Set<string>> {
  s.write('c0 CAPABILITY');
  const r = await tagged(s, 'c0');
  const caps = new Set<string>();
  for (const l of r.untagged) for (const c of capsOf(l)) caps.add(c);
  return caps;
}

/**
 * IMAP: greeting, STARTTLS when asked (RFC 9051 §6.2.1), AUTHENTICATE with the initial response
 * when SASL-IR or IMAP4rev2 allows it (RFC 4959 §3), the failure challenge answered as the
 * mechanism wants (RFC 7628 §3.2.3), then LIST to show the session works, then LOGOUT.
 */
export async function checkImap(target: TcpTarget, user: string, token: string, mechanism: Mechanism): Promise<CheckResult> {
  const base = { service: 'imap', endpoint: endpoint(target), mechanism };
  const s = await LineSocket.connect(target.host, target.port, target.tls === 'implicit');
  try {
    const greeting = await s.line();
    if (!/^\* (OK|PREAUTH)/i.test(greeting)) return { ...base, ok: false, detail: `greeting: ${clip(greeting)}`, ...known(greeting) };
    let caps = capsOf(greeting);
    if (target.tls === 'starttls') {
      s.write('s1 STARTTLS');
      const r = await tagged(s, 's1');
      if (!/^s1 OK/i.test(r.last)) return { ...base, ok: false, detail: `STARTTLS refused: ${clip(r.last)}` };
      await s.startTls();
      caps = await capabilities(s);
    } else if (!caps.size) caps = await capabilities(s);
    if (!caps.has(`AUTH=${mechanism}`))
      return { ...base, ok: false, detail: `the server does not offer AUTH=${mechanism}`, advice: `use the other mechanism (--mechanism)` };
    const ir = initialResponse(mechanism, user, token, target.host, target.port);
    if (caps.has('SASL-IR') || caps.has('IMAP4REV2')) s.write(`a1 AUTHENTICATE ${mechanism} ${ir}`);
    else {
      s.write(`a1 AUTHENTICATE ${mechanism}`);
      const cont = await s.line();
      if (!cont.startsWith('+')) return { ...base, ok: false, detail: clip(cont), ...known(cont) };
      s.write(ir);
    }
    let challenge: ReturnType<typeof describeChallenge> | undefined;
    for (;;) {
      const l = await s.line();
      if (l.startsWith('+')) {
        challenge = describeChallenge(mechanism, l.slice(1));
        s.write(dummyResponse(mechanism));
        continue;
      }
      if (!l.startsWith('a1 ')) continue;
      if (/^a1 OK/i.test(l)) break;
      const advice = (challenge && adviceForStatus(challenge.status, challenge.scope, user)) ?? known(l).advice;
      return {
        ...base,
        ok: false,
        detail: `${clip(l.slice(3))}${challenge ? ` (${challenge.text})` : ''}`,
        ...(advice ? { advice } : {}),
        ...temp(l),
      };
    }
    s.write('a2 LIST "" "*"');
    const list = await tagged(s, 'a2');
    if (!/^a2 OK/i.test(list.last)) return { ...base, ok: false, detail: `signed in, but LIST failed: ${clip(list.last)}` };
    const n = list.untagged.filter((l) => /^\* LIST /i.test(l)).length;
    s.write('a3 LOGOUT');
    return { ...base, ok: true, detail: `signed in; ${n} mailbox${n === 1 ? '' : 'es'}` };
  } finally {
    s.close();
  }
}

function known(text: string): { advice?: string; temporary?: boolean } {
  const a = adviceForText(text);
  return a ? { advice: a.advice, temporary: a.temporary } : {};
}

function temp(text: string): { temporary?: boolean } {
  return /\[UNAVAILABLE\]/i.test(text) ? { temporary: true } : {};
}

export function clip(s: string): string {
  return s.length > 160 ? `${s.slice(0, 160)}…` : s;
}
