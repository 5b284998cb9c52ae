import type { HttpAuthenticator } from '../../auth/http/authenticator.ts';
import type { AssertionSigner } from '../../calendar/federation/assertion.ts';
import type { AvailabilityService } from '../../calendar/federation/availability.ts';
import type { CalendarService } from '../../calendar/service.ts';
import { createFederation, createOutbound } from '../../calendar/setup.ts';
import { SubscriptionRefresher } from '../../calendar/subscriptions.ts';
import type { Config } from '../../config/config.ts';
import type { Logger } from '../../core/log.ts';
import type { CalendarDirectory } from '../../calendar/service.ts';
import type { HttpApp } from '../http/server.ts';
import { registerCalendarRoutes } from './routes.ts';

/** How often due feed subscriptions are looked for (each has its own interval). */
const SUBSCRIPTION_POLL_MS = 30_000;

/**
 * Puts calendars on a running node: the HTTP routes, federation (verifying other domains'
 * assertions, asking them with `signer`'s), and the feed refresher. Returns how to stop the refresher
 * and the asking side of federation (which CalDAV's outbox uses too).
 */
export function startCalendarHttp(
  app: HttpApp,
  deps: {
    config: Config;
    calendar: CalendarService;
    directory: CalendarDirectory;
    http: HttpAuthenticator;
    signer?: AssertionSigner;
    /** Whether `signer` is the issuer a domain's WebFinger names (see AvailabilityDeps.speaksFor). */
    speaksFor?: (domain: string) => boolean;
    logger: Logger;
  },
): { stop(): Promise<void>; availability: AvailabilityService } {
  const outbound = createOutbound(deps.config);
  const logger = deps.logger.child({ component: 'calendar' });
  const federation = createFederation(deps.config, {
    calendar: deps.calendar,
    directory: deps.directory,
    outbound,
    signer: deps.signer,
    speaksFor: deps.speaksFor,
    logger,
  });
  registerCalendarRoutes(app, {
    config: deps.config,
    calendar: deps.calendar,
    directory: deps.directory,
    availability: federation.availability,
    verifier: federation.verifier,
    http: deps.http,
    logger,
  });
  const stop = new SubscriptionRefresher({ service: deps.calendar, outbound, logger }).start(SUBSCRIPTION_POLL_MS);
  return { stop, availability: federation.availability };
}
