import { adviceForStatus, adviceForText } from './advice.ts';
import { clip, type TcpTarget } from './imap.ts';
import { LineSocket } from './line-socket.ts';
import type { CheckResult, Mechanism } from './result.ts';
import { describeChallenge, dummyResponse, initialResponse } from './sasl.ts';

/** SMTP command lines are limited to 512 octets (RFC 5321 §4.5.3.1.4; RFC 4954 §4 for AUTH). */
const MAX_COMMAND = 512;

/** Reads one (possibly multi-line) reply: `250-…` continues, `250 …` ends (RFC 5321 §4.2). */
async function reply(s: LineSocket): Promise<{ code: number; lines: string[]; text: string }> {
  const lines: string[] = [];
  for (;;) {
    const l = await s.line();
    lines.push(l);
    if (!/^\d{3}-/.test(l)) {
      const code = Number(l.slice(0, 3));
      return { code: Number.isInteger(code) ? code : 0, lines, text: lines.join(' / ') };
    }
  }
}

/**
 * SMTP submission: greeting, EHLO, STARTTLS and EHLO again when asked (RFC 3207), AUTH with the
 * initial response only when the line fits 512 octets, else after the empty `334 ` (RFC 4954 §4),
 * the failure challenge answered as the mechanism wants, then QUIT. Nothing is sent.
 */
export async function checkSmtp(target: TcpTarget, user: string, token: string, mechanism: Mechanism): Promise<CheckResult> {
  const base = { service: 'smtp', endpoint: `${target.host}:${target.port} ${target.tls === 'implicit' ? 'TLS' : 'STARTTLS'}`, mechanism };
  const s = await LineSocket.connect(target.host, target.port, target.tls === 'implicit');
  try {
    const greeting = await reply(s);
    if (greeting.code !== 220) return { ...base, ok: false, detail: `greeting: ${clip(greeting.text)}`, ...known(greeting.text) };
    s.write('EHLO fingerpost-check.invalid');
    let ehlo = await reply(s);
    if (ehlo.code !== 250) return { ...base, ok: false, detail: `EHLO: ${clip(ehlo.text)}` };
    if (target.tls === 'starttls') {
      s.write('STARTTLS');
      const r = await reply(s);
      if (r.code !== 220) return { ...base, ok: false, detail: `STARTTLS refused: ${clip(r.text)}` };
      await s.startTls();
      s.write('EHLO fingerpost-check.invalid');
      ehlo = await reply(s);
      if (ehlo.code !== 250) return { ...base, ok: false, detail: `EHLO after STARTTLS: ${clip(ehlo.text)}` };
    }
    const auth = ehlo.lines.map((l) => l.slice(4).toUpperCase()).find((l) => l.startsWith('AUTH ') || l.startsWith('AUTH='));
    const mechs = auth?.slice(5).split(/\s+/) ?? [];
    if (!mechs.includes(mechanism))
      return { ...base, ok: false, detail: `the server does not offer AUTH ${mechanism}`, advice: 'use the other mechanism (--mechanism)' };
    const ir = initialResponse(mechanism, user, token, target.host, target.port);
    const withIr = `AUTH ${mechanism} ${ir}`;
    if (withIr.length + 2 <= MAX_COMMAND) s.write(withIr);
    else {
      s.write(`AUTH ${mechanism}`);
      const cont = await reply(s);
      if (cont.code !== 334) return { ...base, ok: false, detail: clip(cont.text), ...known(cont.text) };
      s.write(ir);
    }
    let challenge: ReturnType<typeof describeChallenge> | undefined;
    for (;;) {
      const r = await reply(s);
      if (r.code === 334) {
        challenge = describeChallenge(mechanism, r.lines.at(-1)!.slice(4));
        s.write(dummyResponse(mechanism));
        continue;
      }
      if (r.code === 235) break;
      const k = known(r.text);
      const advice = k.advice ?? (challenge && adviceForStatus(challenge.status, challenge.scope, user));
      return {
        ...base,
        ok: false,
        detail: `${clip(r.text)}${challenge ? ` (${challenge.text})` : ''}`,
        ...(advice ? { advice } : {}),
        ...(r.code >= 400 && r.code < 500 ? { temporary: true } : {}),
      };
    }
    s.write('QUIT');
    return { ...base, ok: true, detail: 'signed in; ready to send' };
  } finally {
    s.close();
  }
}

function known(text: string): { advice?: string; temporary?: boolean } {
  const a = adviceForText(text);
  return a ? { advice: a.advice, temporary: a.temporary } : {};
}
