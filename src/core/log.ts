import { type Logger, pino } from 'pino';

export type { Logger };

/**
 * Paths pino removes from every log line: credentials, SASL payloads, OAuth codes and verifiers
 * (ARCHITECTURE.md "Core ideas" 6, STANDARDS.md §9.12).
 */
const SECRET_KEYS = [
  'password',
  'secret',
  'token',
  'access_token',
  'refresh_token',
  'id_token',
  'code_verifier',
  'client_secret',
  'client_assertion',
  'assertion',
  'sasl',
];
export const REDACT_PATHS = [
  ...SECRET_KEYS,
  ...SECRET_KEYS.map((key) => `*.${key}`),
  // An OAuth authorization code at the top level; one level down `code` is an error code (ECONNREFUSED).
  'code',
  'req.headers.authorization',
  'req.headers.cookie',
  'req.headers["x-fingerpost-gateway-secret"]',
  'res.headers["set-cookie"]',
];

/** The process logger: JSON lines on stdout (or `destination`), secrets redacted. */
export function createLogger(level: string, destination?: NodeJS.WritableStream): Logger {
  return pino(
    {
      level,
      redact: { paths: REDACT_PATHS, censor: '[redacted]' },
      base: { service: 'fingerpost' },
      timestamp: pino.stdTimeFunctions.isoTime,
    },
    destination ?? pino.destination({ fd: 1, sync: false }),
  );
}
