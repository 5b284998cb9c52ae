import type { Config } from '../config/config.ts';
import { createLogger } from '../core/log.ts';
import { openServices, type Services } from '../main.ts';

/**
 * Opens the services for a one-shot command (admin, dns): its log lines go to stderr, so stdout
 * carries only what the command prints (`admin token issue` ends it with the token).
 */
export function openCliServices(config: Config): Promise<Services> {
  return openServices(config, { logger: createLogger(config.log.level, process.stderr, config.log.format) });
}
