import { Counter, Gauge, type Metric, type Registry } from 'prom-client';

/**
 * Prometheus metrics of the auth core and its failure limits (docs/authentication.md "Abuse
 * protection"). Created unregistered so an admin command can build the core without a registry;
 * `main.ts` adds them to the node's registry.
 */
export class AuthMetrics {
  readonly attempts = new Counter({
    name: 'fingerpost_auth_attempts_total',
    help: 'Authentication attempts by protocol, mechanism and result code',
    labelNames: ['protocol', 'mechanism', 'result'] as const,
    registers: [],
  });
  readonly bans = new Counter({
    name: 'fingerpost_auth_bans_total',
    help: 'Client sources banned after too many failures (ip_failures) or failures on many accounts (spray)',
    labelNames: ['reason'] as const,
    registers: [],
  });
  readonly limited = new Counter({
    name: 'fingerpost_auth_limited_total',
    help: 'Attempts a failure limit acted on: refused unchecked (source_ban, account_source, account_attack) or a failure answered late (delay)',
    labelNames: ['limit'] as const,
    registers: [],
  });
  readonly accountAttacks = new Counter({
    name: 'fingerpost_auth_account_attacks_total',
    help: 'Accounts that came under attack (auth.limits.account_attack failures from all addresses within the window)',
    registers: [],
  });
  readonly knownPasses = new Counter({
    name: 'fingerpost_auth_known_passes_total',
    help: 'Attempts let through without question because the device (signed cookie) or the address signed in to the account before',
    labelNames: ['kind'] as const,
    registers: [],
  });
  readonly banned: Gauge;
  readonly underAttack: Gauge;
  readonly sessions = new Gauge({
    name: 'fingerpost_auth_sessions',
    help: 'Live authenticated sessions on this node',
    labelNames: ['protocol', 'method'] as const,
    registers: [],
  });
  readonly sessionsEnded = new Counter({
    name: 'fingerpost_auth_sessions_ended_total',
    help: 'Sessions ended by the auth core (revoked, expired, credentials changed, account disabled, admin)',
    labelNames: ['reason'] as const,
    registers: [],
  });
  readonly jwksLoads = new Counter({
    name: 'fingerpost_auth_jwks_loads_total',
    help: 'Loads of token issuers signing keys by result',
    labelNames: ['result'] as const,
    registers: [],
  });

  constructor(counts: { readonly banned: () => number; readonly underAttack: () => number }) {
    this.banned = new Gauge({
      name: 'fingerpost_auth_banned_sources',
      help: 'Client sources banned right now',
      registers: [],
      collect() {
        this.set(counts.banned());
      },
    });
    this.underAttack = new Gauge({
      name: 'fingerpost_auth_accounts_under_attack',
      help: 'Accounts under attack right now',
      registers: [],
      collect() {
        this.set(counts.underAttack());
      },
    });
  }

  /** Adds every metric to `registry` (once). */
  register(registry: Registry): void {
    const all = [
      this.attempts,
      this.bans,
      this.limited,
      this.accountAttacks,
      this.knownPasses,
      this.banned,
      this.underAttack,
      this.sessions,
      this.sessionsEnded,
      this.jwksLoads,
    ] as unknown as Array<Metric & { name: string }>;
    for (const m of all) if (!registry.getSingleMetric(m.name)) registry.registerMetric(m);
  }
}
