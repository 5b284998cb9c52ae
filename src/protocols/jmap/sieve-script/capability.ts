import type { Config } from '../../../config/config.ts';
import { EXTENSIONS } from '../../../mail/sieve/grammar.ts';

/** Script names are at most 128 characters (src/mail/sieve/scripts.ts), so at most 512 UTF-8 octets. */
export const MAX_SCRIPT_NAME_OCTETS = 512;

/**
 * The account value of `urn:ietf:params:jmap:sieve` (RFC 9661 §1.2.1): the `[sieve]` limits the
 * store enforces, the extensions the compiler accepts, no enotify methods or external lists.
 */
export function sieveAccountCapability(config: Config): Record<string, unknown> {
  return {
    implementation: 'Fingerpost',
    maxSizeScriptName: MAX_SCRIPT_NAME_OCTETS,
    maxSizeScript: config.sieve.max_script_size,
    maxNumberScripts: config.sieve.max_scripts,
    maxNumberRedirects: config.sieve.max_redirects,
    sieveExtensions: [...EXTENSIONS],
    notificationMethods: null,
    externalLists: null,
  };
}
