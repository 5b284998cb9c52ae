import { adviceForStatus, adviceForText } from './advice.ts';
import { clip, type TcpTarget } from './imap.ts';
import { LineSocket } from './line-socket.ts';
import type { CheckResult, Mechanism } from './result.ts';
import { describeChallenge, dummyResponse, initialResponse } from './sasl.ts';

/** POP3 commands are limited to 255 octets (RFC 2449 §4); a bearer-token IR almost never fits. */
const MAX_COMMAND = 255;

async function multiline(s: LineSocket): Promise<string[]> {
  const lines: string[] = [];
  for (;;) {
    const l = await s.line();
    if (l === '.') return lines;
    lines.push(l.startsWith('..') ? l.slice(1) : l);
  }
}

/**
 * POP3: greeting, STLS when asked (RFC 2595 §4), CAPA, AUTH (RFC 5034 §4) with the response on
 * its own line after the empty `+ ` challenge when the IR would be too long, the failure challenge
 * answered as the mechanism wants, then STAT, then QUIT.
 */
export async function checkPop3(target: TcpTarget, user: string, token: string, mechanism: Mechanism): Promise<CheckResult> {
  const base = { service: 'pop3', endpoint: `${target.host}:${target.port} ${target.tls === 'implicit' ? 'TLS' : 'STARTTLS'}`, mechanism };
  const s = await LineSocket.connect(target.host, target.port, target.tls === 'implicit');
  try {
    const greeting = await s.line();
    if (!greeting.startsWith('+OK')) return { ...base, ok: false, detail: `greeting: ${clip(greeting)}` };
    if (target.tls === 'starttls') {
      s.write('STLS');
      const r = await s.line();
      if (!r.startsWith('+OK')) return { ...base, ok: false, detail: `STLS refused: ${clip(r)}` };
      await s.startTls();
    }
    s.write('CAPA');
    const capa = (await s.line()).startsWith('+OK') ? await multiline(s) : [];
    const sasl =
      capa
        .find((l) => /^SASL /i.test(l))
        ?.toUpperCase()
        .split(/\s+/) ?? [];
    if (!sasl.includes(mechanism))
      return { ...base, ok: false, detail: `the server does not offer SASL ${mechanism}`, advice: 'use the other mechanism (--mechanism)' };
    const ir = initialResponse(mechanism, user, token, target.host, target.port);
    const withIr = `AUTH ${mechanism} ${ir}`;
    if (withIr.length + 2 <= MAX_COMMAND) s.write(withIr);
    else {
      s.write(`AUTH ${mechanism}`);
      const cont = await s.line();
      if (!cont.startsWith('+') || cont.startsWith('+OK')) return { ...base, ok: false, detail: clip(cont) };
      s.write(ir);
    }
    let challenge: ReturnType<typeof describeChallenge> | undefined;
    for (;;) {
      const l = await s.line();
      if (l.startsWith('+OK')) break;
      if (l.startsWith('+')) {
        challenge = describeChallenge(mechanism, l.slice(1));
        s.write(dummyResponse(mechanism));
        continue;
      }
      const advice = (challenge && adviceForStatus(challenge.status, challenge.scope, user)) ?? adviceForText(l)?.advice;
      return {
        ...base,
        ok: false,
        detail: `${clip(l)}${challenge ? ` (${challenge.text})` : ''}`,
        ...(advice ? { advice } : {}),
        ...(/\[SYS\/TEMP\]|\[IN-USE\]/.test(l) ? { temporary: true } : {}),
      };
    }
    s.write('STAT');
    const stat = await s.line();
    const m = /^\+OK (\d+) (\d+)/.exec(stat);
    s.write('QUIT');
    if (!m) return { ...base, ok: false, detail: `signed in, but STAT failed: ${clip(stat)}` };
    return { ...base, ok: true, detail: `signed in; ${m[1]} message${m[1] === '1' ? '' : 's'}` };
  } finally {
    s.close();
  }
}
