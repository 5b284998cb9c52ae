import type { SecureContextOptions } from 'node:tls';
import SMTPConnection from 'nodemailer/lib/smtp-connection';
import { enhancedStatus, type RecipientOutcome } from './status.ts';

/** How to reach the next hop. */
export interface HopOptions {
  readonly host: string;
  readonly port: number;
  /** Our name in EHLO. */
  readonly heloName: string;
  /** `implicit`: TLS from the start (port 465); `starttls`: require the upgrade; `opportunistic`: use it when offered. */
  readonly tls: 'implicit' | 'starttls' | 'opportunistic' | 'none';
  /** Verify the peer's certificate (smarthosts); MX hosts get opportunistic, unverified TLS (RFC 7435). */
  readonly verify: boolean;
  readonly ca?: SecureContextOptions['ca'];
  readonly auth?: { readonly user: string; readonly pass: string };
  readonly timeoutMs: number;
}

export interface AttemptResult {
  /** Per recipient, in the order given. */
  readonly outcomes: ReadonlyMap<string, RecipientOutcome>;
  /** True when the hop could not be used at all (connection, greeting, TLS, AUTH): try the next one. */
  readonly hopFailed: boolean;
}

type SmtpError = Error & { code?: string; responseCode?: number; response?: string; rejected?: string[]; rejectedErrors?: SmtpError[] };

function describe(err: SmtpError): string {
  return (err.response ?? err.message ?? 'error').replace(/[\r\n]+/g, ' ').slice(0, 500);
}

/**
 * One SMTP client transaction to one host (RFC 5321 §3.3) with nodemailer's SMTP client: every
 * recipient gets an outcome: sent (250), deferred (4xx, connection trouble) or failed (5xx).
 */
export async function deliverToHop(
  hop: HopOptions,
  envelope: { sender: string; recipients: readonly string[]; size: number; eightBit: boolean },
  message: Buffer,
): Promise<AttemptResult> {
  const outcomes = new Map<string, RecipientOutcome>();
  const conn = new SMTPConnection({
    host: hop.host,
    port: hop.port,
    name: hop.heloName,
    secure: hop.tls === 'implicit',
    requireTLS: hop.tls === 'starttls',
    ignoreTLS: hop.tls === 'none',
    opportunisticTLS: hop.tls === 'opportunistic',
    connectionTimeout: hop.timeoutMs,
    greetingTimeout: hop.timeoutMs,
    socketTimeout: hop.timeoutMs * 4,
    tls: { rejectUnauthorized: hop.verify, ...(hop.ca ? { ca: hop.ca } : {}), minVersion: 'TLSv1.2' },
    logger: false,
  });
  const all = (o: RecipientOutcome) => {
    for (const r of envelope.recipients) outcomes.set(r, o);
  };
  const failHop = (err: SmtpError): AttemptResult => {
    const code = err.responseCode;
    if (code && code >= 500 && err.code === 'EAUTH') {
      all({ kind: 'deferred', error: `authentication at ${hop.host} failed: ${describe(err)}`, host: hop.host });
      return { outcomes, hopFailed: true };
    }
    all({ kind: 'deferred', error: `${hop.host}: ${describe(err)}`, host: hop.host });
    return { outcomes, hopFailed: true };
  };
  try {
    await new Promise<void>((resolve, reject) => {
      conn.once('error', reject);
      conn.connect((err?: Error) => (err ? reject(err) : resolve()));
    });
    if (hop.auth) {
      await new Promise<void>((resolve, reject) => {
        conn.login({ credentials: { user: hop.auth!.user, pass: hop.auth!.pass } }, (err) => (err ? reject(err) : resolve()));
      });
    }
  } catch (err) {
    conn.close();
    return failHop(err as SmtpError);
  }
  try {
    const info = await new Promise<{ accepted: string[]; rejected: string[]; rejectedErrors?: SmtpError[]; response: string }>(
      (resolve, reject) => {
        conn.send(
          { from: envelope.sender || false, to: [...envelope.recipients], size: envelope.size, use8BitMime: envelope.eightBit },
          message,
          (err, info) => (err ? reject(err) : resolve(info as never)),
        );
      },
    );
    for (const r of info.accepted) outcomes.set(r, { kind: 'sent', response: info.response, host: hop.host });
    for (const e of info.rejectedErrors ?? []) {
      const rcpt = (e as SmtpError & { recipient?: string }).recipient;
      if (rcpt) outcomes.set(rcpt, classify(e, hop.host));
    }
    for (const r of info.rejected)
      if (!outcomes.has(r)) outcomes.set(r, { kind: 'failed', error: 'rejected', status: '5.0.0', host: hop.host });
    conn.quit();
    return { outcomes, hopFailed: false };
  } catch (err) {
    const e = err as SmtpError;
    for (const re of e.rejectedErrors ?? []) {
      const rcpt = (re as SmtpError & { recipient?: string }).recipient;
      if (rcpt) outcomes.set(rcpt, classify(re, hop.host));
    }
    const rest = classify(e, hop.host);
    for (const r of envelope.recipients) if (!outcomes.has(r)) outcomes.set(r, rest);
    conn.close();
    // A reply to MAIL/DATA is the host's answer; only a dropped connection makes another hop worth trying.
    return { outcomes, hopFailed: !e.responseCode };
  }
}

function classify(err: SmtpError, host: string): RecipientOutcome {
  const code = err.responseCode;
  const text = describe(err);
  if (code && code >= 500) return { kind: 'failed', error: text, status: enhancedStatus(err.response ?? '', code), host };
  return { kind: 'deferred', error: text, host };
}
