/** WebFinger link relations Fingerpost publishes and asks for (docs/discovery.md). */
export const RELS = {
  /** OpenID Connect Discovery 1.0 §2. */
  issuer: 'http://openid.net/specs/connect/1.0/issuer',
  /** Free/busy URL (the relation long used for iCalendar free/busy in WebFinger). */
  freebusy: 'http://ietf.org/icalendar/freebusy',
  /** The account configuration document; project-defined. */
  mailConfig: 'https://fingerpost.dev/rel/mail-config',
  /** The user's CalDAV calendar home (RFC 4791 §6.2.1); project-defined. */
  caldav: 'https://fingerpost.dev/rel/caldav',
  /** The user's CardDAV address-book home (RFC 6352 §7.1.1); project-defined. */
  carddav: 'https://fingerpost.dev/rel/carddav',
  /** The JMAP session resource (RFC 8620 §2); project-defined. */
  jmap: 'https://fingerpost.dev/rel/jmap-session',
} as const;
