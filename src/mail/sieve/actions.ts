/** What a script run decided (RFC 5228 §4, RFC 5429, RFC 5230), in the order the script took it. */
export type SieveAction =
  /** Store in the default mailbox (INBOX, or Junk for mail the inbound checks marked). */
  | { readonly kind: 'keep'; readonly flags: readonly string[]; readonly implicit: boolean }
  | { readonly kind: 'fileinto'; readonly mailbox: string; readonly flags: readonly string[]; readonly create: boolean }
  | { readonly kind: 'redirect'; readonly address: string }
  | { readonly kind: 'discard' }
  /** reject (RFC 5429 §2.2) or ereject (§2.1: refuse in the protocol where possible). */
  | { readonly kind: 'reject'; readonly reason: string; readonly protocol: boolean }
  | {
      readonly kind: 'vacation';
      readonly reason: string;
      readonly subject: string | undefined;
      readonly from: string | undefined;
      readonly addresses: readonly string[];
      readonly mime: boolean;
      /** Which replies count as "the same" for the one-per-period rule (RFC 5230 §4.2). */
      readonly handle: string;
      readonly days: number;
    };
