import type { Config } from '../config/config.ts';
import type { AuthProtocol, ListenerPolicy } from './types.ts';

/** The config section that governs a listener (net/ names: `imaps` is `imap` over implicit TLS). */
export function listenerSection(listener: string): 'imap' | 'pop3' | 'smtp' | 'submission' | 'managesieve' | 'http' | undefined {
  switch (listener) {
    case 'imap':
    case 'imaps':
      return 'imap';
    case 'pop3':
    case 'pop3s':
      return 'pop3';
    case 'smtp':
      return 'smtp';
    case 'submission':
    case 'submissions':
      return 'submission';
    case 'managesieve':
    case 'managesieves':
      return 'managesieve';
    case 'https':
    case 'http':
      return 'http';
    default:
      return undefined;
  }
}

/** The protocol a listener speaks, for app-password and scope checks. */
export function listenerProtocol(listener: string): AuthProtocol | undefined {
  return listenerSection(listener);
}

/**
 * The policy of one listener (issue 3 "Policy per listener"): `auth.plain` / `auth.oauth` with the
 * `<section>.auth_plain|auth_oauth` overrides; nothing offered before TLS (RFC 9051 §11.7,
 * RFC 4954 §4, RFC 7628 §3, STANDARDS §8). OAuth mechanisms are offered only while at least one
 * issuer is trusted (`oauthAvailable`). An MX (`smtp`) never relays without authentication.
 */
export function listenerPolicy(config: Config, listener: string, oauthAvailable: () => boolean): ListenerPolicy {
  const section = listenerSection(listener);
  const overrides = section && section !== 'http' ? config[section] : undefined;
  const plain = overrides?.auth_plain ?? config.auth.plain;
  const oauthConfigured = overrides?.auth_oauth ?? config.auth.oauth;
  const requireAuthForRelay = section === 'submission' ? config.submission.require_auth_for_relay : true;
  return {
    plain,
    get oauth() {
      return oauthConfigured && oauthAvailable();
    },
    mechanisms(tls: boolean): readonly string[] {
      if (!tls) return [];
      const out: string[] = [];
      if (plain) out.push('PLAIN', 'LOGIN');
      if (oauthConfigured && oauthAvailable()) out.push('OAUTHBEARER', 'XOAUTH2');
      return out;
    },
    requireAuthForRelay,
  };
}
