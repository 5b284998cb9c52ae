import { XMLParser } from 'fast-xml-parser';
import type { DomainServices, TcpService } from './services.ts';
import { el } from './xml.ts';

/**
 * Microsoft Autodiscover for IMAP/POP3/SMTP clients: the POX protocol (MS-OXDSCLI §2.2, namespaces
 * as the literal `http://schemas.microsoft.com/…` strings clients match) and the "v2" JSON
 * service (`/autodiscover/autodiscover.json?Email=…&Protocol=AutodiscoverV1`), which only points
 * at the POX endpoint. POX carries no OAuth settings.
 */

export const REQUEST_NS = 'http://schemas.microsoft.com/exchange/autodiscover/outlook/requestschema/2006';
export const RESPONSE_NS = 'http://schemas.microsoft.com/exchange/autodiscover/responseschema/2006';
export const OUTLOOK_NS = 'http://schemas.microsoft.com/exchange/autodiscover/outlook/responseschema/2006a';

/** Largest request body accepted. */
export const MAX_REQUEST_BYTES = 16 * 1024;

export type PoxRequest =
  | { readonly ok: true; readonly email: string; readonly schema: string }
  | { readonly ok: false; readonly reason: string };

/** Reads `EMailAddress` and `AcceptableResponseSchema`; DTDs and entities are refused outright. */
export function parsePoxRequest(body: string): PoxRequest {
  if (body.length > MAX_REQUEST_BYTES) return { ok: false, reason: 'request too large' };
  if (/<!DOCTYPE|<!ENTITY/i.test(body)) return { ok: false, reason: 'DTDs are not accepted' };
  let doc: Record<string, unknown>;
  try {
    doc = new XMLParser({ removeNSPrefix: true, ignoreAttributes: true, processEntities: false, parseTagValue: false }).parse(body, true);
  } catch {
    return { ok: false, reason: 'the request is not well-formed XML' };
  }
  const request = (doc.Autodiscover as Record<string, unknown> | undefined)?.Request as Record<string, unknown> | undefined;
  const email = request?.EMailAddress;
  const schema = request?.AcceptableResponseSchema;
  if (typeof email !== 'string' || !email.trim()) return { ok: false, reason: 'no EMailAddress in the request' };
  return { ok: true, email: email.trim(), schema: typeof schema === 'string' ? schema.trim() : OUTLOOK_NS };
}

function protocol(type: 'IMAP' | 'POP3' | 'SMTP', s: TcpService, login: string): string {
  const parts = [
    el('Type', type),
    el('Server', s.host),
    el('Port', s.port),
    el('DomainRequired', 'off'),
    el('LoginName', login),
    el('SPA', 'off'),
    // SSL defaults to on; Encryption (where understood) says which kind
    el('SSL', 'on'),
    el('Encryption', s.tls === 'implicit' ? 'SSL' : 'TLS'),
    el('AuthRequired', 'on'),
    ...(type === 'SMTP' ? [el('UsePOPAuth', 'off'), el('SMTPLast', 'off')] : []),
  ];
  return `      <Protocol>${parts.join('')}</Protocol>`;
}

/** The POX response for an address. Only password-capable services are listed (POX has no OAuth). */
export function poxResponse(services: DomainServices, email: string): string {
  const out: string[] = [];
  const pick = (p: TcpService['protocol']) => services.services.find((s): s is TcpService => s.protocol === p && 'host' in s && s.password);
  const imap = pick('imap');
  const pop3 = pick('pop3');
  const smtp = pick('submission');
  if (imap) out.push(protocol('IMAP', imap, email));
  if (pop3) out.push(protocol('POP3', pop3, email));
  if (smtp) out.push(protocol('SMTP', smtp, email));
  return [
    '<?xml version="1.0" encoding="utf-8"?>',
    `<Autodiscover xmlns="${RESPONSE_NS}">`,
    `  <Response xmlns="${OUTLOOK_NS}">`,
    '    <Account>',
    `      ${el('AccountType', 'email')}`,
    `      ${el('Action', 'settings')}`,
    ...out,
    '    </Account>',
    '  </Response>',
    '</Autodiscover>',
    '',
  ].join('\n');
}

/** A POX error response (MS-OXDSCLI: ErrorCode 600 "Invalid Request", 603 "Server Error"). */
export function poxError(code: 600 | 603, message: string, now: Date = new Date()): string {
  const time = now.toISOString().slice(11, 19);
  return [
    '<?xml version="1.0" encoding="utf-8"?>',
    `<Autodiscover xmlns="${RESPONSE_NS}">`,
    `  <Response><Error Time="${time}" Id="1">${el('ErrorCode', code)}${el('Message', message)}<DebugData/></Error></Response>`,
    '</Autodiscover>',
    '',
  ].join('\n');
}

/** Autodiscover v2: the protocols answered (matched case-insensitively, as Exchange does). */
export const V2_PROTOCOLS = ['AutodiscoverV1'] as const;

/** The v2 JSON answer for `protocol`, or the Exchange-style error object. */
export function v2Answer(publicUrl: string, protocol: string): { status: number; body: Record<string, string> } {
  if (protocol.toLowerCase() === 'autodiscoverv1') {
    return { status: 200, body: { Protocol: 'AutodiscoverV1', Url: `${publicUrl}/autodiscover/autodiscover.xml` } };
  }
  return {
    status: 400,
    body: {
      ErrorCode: 'InvalidProtocol',
      ErrorMessage: `The given protocol value '${protocol.slice(0, 40)}' is invalid. Supported values are '${V2_PROTOCOLS.join(',')}'`,
    },
  };
}
