import { readFileSync } from 'node:fs';
import { ContactsStore } from '../contacts/store.ts';
import tls from 'node:tls';
import type { Config } from '../config/config.ts';
import { FingerpostError } from '../core/errors.ts';
import type { Logger } from '../core/log.ts';
import type { HttpOptions } from '../discovery/client/http.ts';
import { webfinger } from '../discovery/client/webfinger.ts';
import type { CalendarDirectory } from './service.ts';
import type { Db } from '../store/db.ts';
import type { AssertionSigner } from './federation/assertion.ts';
import { AvailabilityService } from './federation/availability.ts';
import { RemoteIssuers } from './federation/issuers.ts';
import { AssertionVerifier } from './federation/verify.ts';
import { OutboundHttp, parseResolveEntries } from './outbound.ts';
import { type CalendarSettings, CalendarService } from './service.ts';
import { CalendarStore } from './store.ts';

/** The `[calendar]` limits as the service uses them. */
export function calendarSettings(config: Config): CalendarSettings {
  const c = config.calendar;
  return { maxRangeMs: c.max_range, maxInstances: c.max_instances, defaultTimezone: c.default_timezone, maxIcsBytes: c.max_ics_bytes };
}

/** The calendar service over the store (what `main.ts` and the admin CLI use). */
export function createCalendarService(config: Config, db: Db, directory: CalendarDirectory, logger?: Logger): CalendarService {
  const contacts = new ContactsStore(db);
  return new CalendarService({
    store: new CalendarStore(db),
    directory,
    settings: calendarSettings(config),
    logger: logger?.child({ component: 'calendar' }),
    inContacts: (accountId, address) => contacts.knows(accountId, address),
  });
}

/** The SSRF-guarded outbound client configured by `calendar.allow_private_addresses`, `resolve`, `ca_file`. */
export function createOutbound(config: Config): OutboundHttp {
  const c = config.calendar;
  let extraCa: string | undefined;
  if (c.ca_file) {
    try {
      extraCa = readFileSync(c.ca_file, 'utf8');
    } catch (err) {
      throw new FingerpostError(
        'config_invalid',
        `config key calendar.ca_file: cannot read ${c.ca_file} (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`,
      );
    }
  }
  return new OutboundHttp({
    allowPrivate: c.allow_private_addresses,
    resolve: parseResolveEntries(c.resolve),
    extraCa,
    timeoutMs: c.fetch_timeout,
    userAgent: `Fingerpost (+${config.publicUrl})`,
  });
}

/** Options for the discovery client's WebFinger lookups, matching the outbound guard's settings. */
export function webfingerOptions(config: Config): HttpOptions {
  const c = config.calendar;
  const connectTo = new Map([...parseResolveEntries(c.resolve)].map(([host, t]) => [host, { host: t.address, port: t.port ?? 443 }]));
  const extra = c.ca_file ? readFileSync(c.ca_file, 'utf8') : undefined;
  return {
    ca: extra ? [...tls.rootCertificates, extra] : undefined,
    connectTo,
    blockPrivate: !c.allow_private_addresses,
    timeoutMs: c.fetch_timeout,
    maxBytes: 256 * 1024,
    maxRedirects: 3,
    userAgent: `Fingerpost (+${config.publicUrl})`,
  };
}

/** Federation parts: remote issuers (WebFinger + JWKS, cached), the assertion verifier, the asking side. */
export function createFederation(
  config: Config,
  deps: {
    calendar: CalendarService;
    directory: CalendarDirectory;
    outbound: OutboundHttp;
    signer?: AssertionSigner;
    speaksFor?: (domain: string) => boolean;
    logger?: Logger;
  },
) {
  const c = config.calendar;
  const options = webfingerOptions(config);
  const issuers = new RemoteIssuers({
    webfinger: (address, rels) => webfinger(address, rels, options),
    outbound: deps.outbound,
    cacheMs: c.discovery_cache,
  });
  const verifier = new AssertionVerifier({
    issuers,
    recordUse: (key, expiresAt) => deps.calendar.store.recordAssertion(key, expiresAt),
    isLocalDomain: async (domain) => (await deps.directory.findDomain(domain)) !== undefined,
    leewayMs: config.auth.leeway,
    maxLifetimeMs: c.max_assertion_lifetime,
  });
  const availability = new AvailabilityService({
    calendar: deps.calendar,
    directory: deps.directory,
    issuers,
    outbound: deps.outbound,
    signer: deps.signer,
    ...(deps.speaksFor ? { speaksFor: deps.speaksFor } : {}),
    federation: c.federation,
    assertionLifetimeMs: c.assertion_lifetime,
    maxAttendees: c.max_attendees,
    logger: deps.logger,
  });
  return { issuers, verifier, availability };
}
