import { X509Certificate } from 'node:crypto';
import net from 'node:net';
import type { DetailedPeerCertificate, SecureContextOptions, TLSSocket } from 'node:tls';
import { daneVerify, type Tlsa } from './dane.ts';
import SMTPConnection from 'nodemailer/lib/smtp-connection';
import { enhancedStatus, type RecipientOutcome } from './status.ts';

/** How to reach the next hop. */
export interface HopOptions {
  readonly host: string;
  /** The address to connect to, when the host name was resolved through the queue's own DNS servers. */
  readonly address?: string;
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
  /** DANE (RFC 7672 §3): the certificate must match one of these records; names for DANE-TA. */
  readonly dane?: { readonly records: readonly Tlsa[]; readonly names: readonly string[] };
}

export interface AttemptResult {
  /** Per recipient, in the order given. */
  readonly outcomes: ReadonlyMap<string, RecipientOutcome>;
  /** True when the hop could not be used at all (connection, greeting, TLS, AUTH): try the next one. */
  readonly hopFailed: boolean;
  /** Set when the hop failed TLS policy (STARTTLS missing, certificate not authenticated): for TLS-RPT (RFC 8460 §4.3). */
  readonly tlsFailure?: 'starttls-not-supported' | 'certificate-not-trusted' | 'tlsa-invalid' | 'validation-failure';
}

/** The chain a TLS socket was given, leaf first (at most 10 certificates). */
function peerChain(socket: TLSSocket): X509Certificate[] {
  const out: X509Certificate[] = [];
  let c: DetailedPeerCertificate | undefined = socket.getPeerCertificate(true);
  while (c?.raw && out.length < 10) {
    out.push(new X509Certificate(c.raw));
    if (!c.issuerCertificate || c.issuerCertificate === c) break;
    c = c.issuerCertificate;
  }
  return out;
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
    host: hop.address ?? hop.host,
    ...(hop.address && !net.isIP(hop.host) ? { servername: hop.host } : {}),
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
    const tlsFailure = tlsFailureOf(err);
    const what = tlsFailure === 'starttls-not-supported' ? 'STARTTLS required but failed: ' : '';
    all({ kind: 'deferred', error: `${hop.host}: ${what}${describe(err)}`, host: hop.host });
    return { outcomes, hopFailed: true, ...(tlsFailure ? { tlsFailure } : {}) };
  };
  try {
    await new Promise<void>((resolve, reject) => {
      conn.once('error', reject);
      conn.connect((err?: Error) => (err ? reject(err) : resolve()));
    });
    if (hop.dane) {
      // RFC 7672 §2.2: with usable TLSA records STARTTLS is mandatory and the certificate must match.
      const socket = (conn as unknown as { _socket: TLSSocket; secure: boolean })._socket;
      const secure = (conn as unknown as { secure: boolean }).secure;
      const error = secure
        ? daneVerify(peerChain(socket), hop.dane.records, hop.dane.names, new Date())
        : 'the server did not offer STARTTLS';
      if (error) {
        conn.close();
        all({ kind: 'deferred', error: `${hop.host}: DANE: ${error}`, host: hop.host });
        return { outcomes, hopFailed: true, tlsFailure: secure ? 'tlsa-invalid' : 'starttls-not-supported' };
      }
    }
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

/** The RFC 8460 §4.3 result type of a connection error, when it is a TLS one. */
function tlsFailureOf(err: SmtpError): AttemptResult['tlsFailure'] {
  const code = err.code ?? '';
  if (/CERT|SELF_SIGNED|UNABLE_TO_(GET|VERIFY)|ALTNAME/.test(code) || /certificate/i.test(err.message ?? ''))
    return 'certificate-not-trusted';
  if (code === 'ETLS' || /STARTTLS/i.test(err.message ?? '')) return 'starttls-not-supported';
  return undefined;
}

function classify(err: SmtpError, host: string): RecipientOutcome {
  const code = err.responseCode;
  const text = describe(err);
  if (code && code >= 500) return { kind: 'failed', error: text, status: enhancedStatus(err.response ?? '', code), host };
  return { kind: 'deferred', error: text, host };
}
