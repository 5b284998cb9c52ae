import { createRequire } from 'node:module';
import { type Logger, pino } from 'pino';
import type PinoPretty from 'pino-pretty';

export type { Logger };

/**
 * Paths pino removes from every log line: credentials, SASL payloads, OAuth codes and verifiers
 * (docs/architecture.md).
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

/** `json`: one JSON object per line; `pretty`: one readable line; `auto`: pretty on a terminal, else JSON. */
export type LogFormat = 'auto' | 'json' | 'pretty';

/**
 * The process logger on stdout (or `destination`), secrets redacted before anything is written:
 * JSON lines for log collectors, or readable lines (pino-pretty, colours on a terminal) when
 * `format` says so or, with `auto`, when the destination is a terminal.
 */
export function createLogger(level: string, destination?: NodeJS.WritableStream, format: LogFormat = 'auto'): Logger {
  const options = {
    level,
    redact: { paths: REDACT_PATHS, censor: '[redacted]' },
    base: { service: 'fingerpost' },
    timestamp: pino.stdTimeFunctions.isoTime,
  };
  const tty = destination ? (destination as { isTTY?: boolean }).isTTY === true : process.stdout.isTTY === true;
  if (format === 'pretty' || (format === 'auto' && tty)) {
    // Loaded only here: every CLI command creates a logger, and most never print to a terminal.
    const pretty = createRequire(import.meta.url)('pino-pretty') as typeof PinoPretty;
    return pino(
      options,
      pretty({
        destination: destination ?? 1,
        colorize: tty,
        translateTime: 'SYS:HH:MM:ss.l',
        ignore: 'service,pid,hostname',
        singleLine: true,
        sync: destination === undefined,
      }),
    );
  }
  return pino(options, destination ?? pino.destination({ fd: 1, sync: false }));
}
