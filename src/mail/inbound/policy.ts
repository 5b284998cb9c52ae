import type { SenderAuthResult } from './sender-auth.ts';

/** What happens to an inbound message after the checks. */
export type Disposition =
  | { readonly kind: 'inbox' }
  | { readonly kind: 'junk'; readonly reason: string }
  | { readonly kind: 'reject'; readonly code: 550 | 554; readonly enhanced: string; readonly text: string }
  | { readonly kind: 'tempfail'; readonly code: 451; readonly enhanced: string; readonly text: string };

/** The operator's rules (config `[inbound]`, docs/configuration.md). */
export interface InboundPolicy {
  /** DMARC failure under `p=reject` (RFC 7489 §6.7): refuse with 550 5.7.1, or file in Junk. */
  readonly dmarcReject: 'reject' | 'quarantine';
  /** SPF `fail` (RFC 7208 §8.4) when DMARC did not decide: accept, file in Junk, or refuse. */
  readonly spfFail: 'accept' | 'junk' | 'reject';
  /** Domains (and their subdomains) whose authenticated mail skips the junk and reject rules. */
  readonly allowDomains: readonly string[];
  /** Domains (and their subdomains) refused as envelope sender or author. */
  readonly denyDomains: readonly string[];
  /** rspamd's `reject` action: refuse with 550 5.7.1, or file in Junk. */
  readonly spamReject: 'reject' | 'junk';
}

/** rspamd's verdict (its /checkv2 `action`, `score`, `required_score`, `symbols`). */
export interface SpamVerdict {
  readonly action: string;
  readonly score: number;
  readonly required: number;
  readonly symbols: readonly string[];
}

/** Is `domain` one of the list's domains or a subdomain of one (`.example.com` and `example.com` alike)? */
export function inList(domain: string, list: readonly string[]): boolean {
  const d = domain.toLowerCase().replace(/\.$/, '');
  if (!d) return false;
  return list.some((entry) => {
    const e = entry.toLowerCase().replace(/^\*?\./, '');
    return d === e || d.endsWith(`.${e}`);
  });
}

const domainOf = (address: string) => (address.includes('@') ? address.slice(address.lastIndexOf('@') + 1) : '');

/** Domains this message is proved to come from: SPF pass (MAIL FROM), DKIM pass (d=), DMARC pass (From). */
function authenticatedDomains(auth: SenderAuthResult): string[] {
  const out: string[] = [];
  if (auth.spf.result === 'pass' && auth.spf.domain) out.push(auth.spf.domain);
  for (const d of auth.dkim) if (d.result === 'pass' && d.domain) out.push(d.domain);
  if (auth.dmarc.result === 'pass' && auth.dmarc.fromDomain) out.push(auth.dmarc.fromDomain);
  return out;
}

/**
 * Decides where a message goes from the sender authentication results and the spam verdict:
 * deny lists first, then allow lists (only for authenticated domains, so a forged sender gains
 * nothing), DMARC's requested policy (RFC 7489 §6.7), SPF fail, then rspamd's action.
 */
export function decide(input: {
  readonly sender: string;
  readonly auth: SenderAuthResult | undefined;
  readonly spam: SpamVerdict | undefined;
  readonly policy: InboundPolicy;
}): Disposition {
  const { auth, spam, policy } = input;
  const from = auth?.dmarc.fromDomain ?? '';
  const envelope = domainOf(input.sender);
  if (inList(envelope, policy.denyDomains) || inList(from, policy.denyDomains))
    return { kind: 'reject', code: 550, enhanced: '5.7.1', text: 'Mail from this domain is not accepted here' };
  if (auth && authenticatedDomains(auth).some((d) => inList(d, policy.allowDomains))) return { kind: 'inbox' };
  if (auth?.dmarc.result === 'fail') {
    if (auth.dmarc.policy === 'reject') {
      if (policy.dmarcReject === 'reject')
        return {
          kind: 'reject',
          code: 550,
          enhanced: '5.7.1',
          text: `Message rejected: DMARC policy of ${auth.dmarc.fromDomain || 'the sender'} says reject`,
        };
      return { kind: 'junk', reason: 'dmarc-reject' };
    }
    if (auth.dmarc.policy === 'quarantine') return { kind: 'junk', reason: 'dmarc-quarantine' };
  }
  if (auth?.spf.result === 'fail' && auth.dmarc.result !== 'pass') {
    if (policy.spfFail === 'reject')
      return { kind: 'reject', code: 550, enhanced: '5.7.23', text: 'Message rejected: SPF fail for the envelope sender' };
    if (policy.spfFail === 'junk') return { kind: 'junk', reason: 'spf-fail' };
  }
  if (spam) {
    switch (spam.action) {
      case 'reject':
        if (policy.spamReject === 'reject') return { kind: 'reject', code: 550, enhanced: '5.7.1', text: 'Message rejected as spam' };
        return { kind: 'junk', reason: 'spam' };
      case 'soft reject':
      case 'greylist':
        return { kind: 'tempfail', code: 451, enhanced: '4.7.1', text: 'Try again later' };
      case 'add header':
      case 'rewrite subject':
        return { kind: 'junk', reason: 'spam' };
    }
  }
  return { kind: 'inbox' };
}
