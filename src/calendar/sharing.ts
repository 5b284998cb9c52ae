import { FingerpostError } from '../core/errors.ts';
import { parseDomain, tryParseAddress } from '../core/address.ts';

/**
 * Who may see an account's free/busy. The owner always may; everyone else needs a rule: the
 * account's own, else its domain's default, else nobody.
 */

export const SHARING_POLICIES = ['nobody', 'list', 'contacts', 'domain', 'anyone'] as const;
/** One of `SHARING_POLICIES`. */
export type SharingPolicy = (typeof SHARING_POLICIES)[number];

/**
 * A sharing rule. `list`: only the addresses and domains in `allow`; `contacts`: the addresses in
 * the owner's address books plus `allow` ("my contacts"); `domain`: the owner's own domain plus `allow`; `anyone`: every asker, even anonymous; `nobody`: the owner alone.
 */
export interface SharingRule {
  readonly policy: SharingPolicy;
  /** Lower-cased addresses (`alice@one.example`) and domains (`one.example`). */
  readonly allow: readonly string[];
}

/** The rule when neither the account nor its domain has one. */
export const NOBODY: SharingRule = Object.freeze({ policy: 'nobody', allow: Object.freeze([]) });

/** Who is asking, as far as it was proved: a local login, a verified assertion, or nobody. */
export type Asker =
  | { readonly kind: 'anonymous' }
  | { readonly kind: 'local'; readonly address: string }
  | { readonly kind: 'remote'; readonly address: string; readonly issuer: string };

/** Validates and normalises a rule from user input (CLI flags, HTTP JSON). */
export function parseSharingRule(input: unknown): SharingRule {
  if (!input || typeof input !== 'object' || Array.isArray(input))
    throw new FingerpostError('invalid_argument', 'a sharing rule is an object {"policy": …, "allow": […]}');
  const { policy, allow = [], ...rest } = input as Record<string, unknown>;
  const extra = Object.keys(rest);
  if (extra.length)
    throw new FingerpostError('invalid_argument', `unknown member ${extra[0]} in the sharing rule (expected policy and allow)`);
  if (typeof policy !== 'string' || !(SHARING_POLICIES as readonly string[]).includes(policy))
    throw new FingerpostError('invalid_argument', `policy must be one of ${SHARING_POLICIES.join(', ')}`);
  if (!Array.isArray(allow) || allow.some((a) => typeof a !== 'string'))
    throw new FingerpostError('invalid_argument', 'allow must be a list of addresses and domains');
  if (allow.length > 1000) throw new FingerpostError('invalid_argument', 'allow may list at most 1000 entries');
  const entries = new Set<string>();
  for (const raw of allow as string[]) {
    const entry = raw.trim().replace(/^@/, '');
    if (entry.includes('@')) {
      const a = tryParseAddress(entry);
      if (!a) throw new FingerpostError('invalid_argument', `"${raw.slice(0, 80)}" is not an address or a domain`);
      entries.add(a.normalized);
    } else {
      try {
        entries.add(parseDomain(entry));
      } catch {
        throw new FingerpostError('invalid_argument', `"${raw.slice(0, 80)}" is not an address or a domain`);
      }
    }
  }
  return { policy: policy as SharingPolicy, allow: [...entries].sort() };
}

function domainOf(address: string): string {
  return address.slice(address.lastIndexOf('@') + 1);
}

/** Whether `asker` may see the free/busy of `owner` (a lower-cased address) under `rule`. */
export function mayReadFreeBusy(rule: SharingRule, owner: string, asker: Asker): boolean {
  if (asker.kind === 'anonymous') return rule.policy === 'anyone';
  const who = asker.address.toLowerCase();
  if (who === owner) return true;
  switch (rule.policy) {
    case 'anyone':
      return true;
    case 'nobody':
      return false;
    case 'domain':
      if (domainOf(who) === domainOf(owner)) return true;
      return listed(rule, who);
    case 'list':
    case 'contacts':
      // `contacts` also lets in the owner's address-book entries, which the caller looks up (CalendarService.mayRead).
      return listed(rule, who);
  }
}

function listed(rule: SharingRule, who: string): boolean {
  return rule.allow.includes(who) || rule.allow.includes(domainOf(who));
}
