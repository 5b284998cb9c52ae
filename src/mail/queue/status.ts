/** The outcome of trying to deliver to one recipient. */
export type RecipientOutcome =
  | { readonly kind: 'sent'; readonly response: string; readonly host: string }
  /** 4xx or a connection problem: try again later (RFC 5321 §4.5.4.1). */
  | { readonly kind: 'deferred'; readonly error: string; readonly host?: string }
  /** 5xx or an undeliverable destination: bounce now. */
  | { readonly kind: 'failed'; readonly error: string; readonly status: string; readonly host?: string };

/**
 * The RFC 3463 status of an SMTP reply: the enhanced code it carries, else the class from the
 * basic reply code (RFC 3463 §3.1, 5.0.0 / 4.0.0).
 */
export function enhancedStatus(response: string, code: number | undefined): string {
  const m = /^\d{3}[ -]([245]\.\d{1,3}\.\d{1,3})\b/.exec(response.trim());
  if (m) return m[1]!;
  if (code && code >= 500) return '5.0.0';
  return '4.0.0';
}
