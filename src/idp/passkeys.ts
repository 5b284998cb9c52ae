import { createHash, createHmac } from 'node:crypto';
import {
  type AuthenticationResponseJSON,
  type AuthenticatorTransportFuture,
  generateAuthenticationOptions,
  generateRegistrationOptions,
  type RegistrationResponseJSON,
  verifyAuthenticationResponse,
  verifyRegistrationResponse,
} from '@simplewebauthn/server';
import type { SecondFactors } from './second-factor.ts';
import { sameSecret } from '../core/constant-time.ts';

const CEREMONY_MS = 5 * 60_000;
const MAX_RESPONSE = 16_384;

/** A ceremony's state, carried by the page in a signed ticket (no server memory, any node). */
interface Ticket {
  /** base64url challenge. */
  readonly c: string;
  /** `register` or `sign-in`. */
  readonly p: string;
  /** What the ceremony is bound to: an interaction uid or an account page session id. */
  readonly b: string;
  /** The account, when known before the ceremony. */
  readonly a?: string;
  readonly t: number;
}

/** Options for the browser plus the signed ticket to post back with its answer. */
export interface Ceremony {
  readonly options: object;
  readonly ticket: string;
}

/**
 * WebAuthn Level 3 ceremonies of the embedded provider through `@simplewebauthn/server`:
 * registration (§7.1) from the account page and authentication (§7.2) as a second factor or a
 * passwordless sign-in. The relying party id is the public host; the origin is the public URL's.
 * Challenges travel in HMAC-signed tickets bound to the interaction or session and expire in 5 min.
 */
export class Passkeys {
  readonly rpId: string;
  readonly origin: string;
  readonly #rpName: string;
  readonly #store: SecondFactors;
  readonly #secret: () => Promise<string>;
  readonly #now: () => number;

  constructor(options: { publicUrl: string; rpName: string; store: SecondFactors; secret: () => Promise<string>; now?: () => number }) {
    const url = new URL(options.publicUrl);
    this.rpId = url.hostname;
    this.origin = url.origin;
    this.#rpName = options.rpName;
    this.#store = options.store;
    this.#secret = options.secret;
    this.#now = options.now ?? Date.now;
  }

  /** Registration options for `account` (its passkeys excluded), bound to `bind`. */
  async registration(account: string, bind: string): Promise<Ceremony> {
    const existing = await this.#store.credentialsOf(account);
    const options = await generateRegistrationOptions({
      rpName: this.#rpName,
      rpID: this.rpId,
      userName: account,
      userID: createHash('sha256').update(`user\0${account}`).digest().subarray(0, 16),
      attestationType: 'none',
      excludeCredentials: existing.map((p) => ({ id: p.credentialId, transports: p.transports as AuthenticatorTransportFuture[] })),
      authenticatorSelection: { residentKey: 'required', userVerification: 'required' },
    });
    return { options, ticket: await this.#seal({ c: options.challenge, p: 'register', b: bind, a: account, t: this.#now() }) };
  }

  /** Verifies a registration answer and stores the new passkey under `name`; false when it does not verify. */
  async finishRegistration(account: string, bind: string, ticket: unknown, response: unknown, name: string): Promise<boolean> {
    const t = await this.#open(ticket, 'register', bind);
    const parsed = parseResponse<RegistrationResponseJSON>(response);
    if (!t || t.a !== account || !parsed) return false;
    const result = await verifyRegistrationResponse({
      response: parsed,
      expectedChallenge: t.c,
      expectedOrigin: this.origin,
      expectedRPID: this.rpId,
      requireUserVerification: true,
    }).catch(() => undefined);
    if (!result?.verified) return false;
    const cred = result.registrationInfo.credential;
    if (await this.#store.credential(cred.id)) return false;
    await this.#store.addPasskey(account, {
      credentialId: cred.id,
      publicKey: Buffer.from(cred.publicKey).toString('base64url'),
      counter: cred.counter,
      transports: cred.transports ?? [],
      name,
    });
    return true;
  }

  /** Sign-in options: for one account's passkeys (second factor) or any discoverable one (passwordless). */
  async authentication(bind: string, account?: string): Promise<Ceremony> {
    const allow = account ? await this.#store.credentialsOf(account) : [];
    const options = await generateAuthenticationOptions({
      rpID: this.rpId,
      userVerification: account ? 'preferred' : 'required',
      allowCredentials: allow.map((p) => ({ id: p.credentialId, transports: p.transports as AuthenticatorTransportFuture[] })),
    });
    return {
      options,
      ticket: await this.#seal({ c: options.challenge, p: 'sign-in', b: bind, ...(account ? { a: account } : {}), t: this.#now() }),
    };
  }

  /**
   * Verifies a sign-in answer (signature, challenge, origin, RP id, counter) and returns the
   * account the passkey belongs to, or undefined. A ticket made for one account accepts only its
   * passkeys; a passwordless one needs user verification (WebAuthn §7.2 step 17).
   */
  async finishAuthentication(bind: string, ticket: unknown, response: unknown): Promise<string | undefined> {
    const t = await this.#open(ticket, 'sign-in', bind);
    const parsed = parseResponse<AuthenticationResponseJSON>(response);
    if (!t || !parsed || typeof parsed.id !== 'string') return undefined;
    const stored = await this.#store.credential(parsed.id);
    if (!stored || (t.a !== undefined && stored.account !== t.a)) return undefined;
    const result = await verifyAuthenticationResponse({
      response: parsed,
      expectedChallenge: t.c,
      expectedOrigin: this.origin,
      expectedRPID: this.rpId,
      credential: {
        id: stored.credentialId,
        publicKey: Buffer.from(stored.publicKey, 'base64url'),
        counter: stored.counter,
        transports: stored.transports as AuthenticatorTransportFuture[],
      },
      requireUserVerification: t.a === undefined,
    }).catch(() => undefined);
    if (!result?.verified) return undefined;
    await this.#store.usedPasskey(stored.credentialId, result.authenticationInfo.newCounter);
    return stored.account;
  }

  async #seal(t: Ticket): Promise<string> {
    const body = Buffer.from(JSON.stringify(t)).toString('base64url');
    return `${body}.${await this.#mac(body)}`;
  }

  async #open(ticket: unknown, purpose: string, bind: string): Promise<Ticket | undefined> {
    if (typeof ticket !== 'string' || ticket.length > 2048) return undefined;
    const [body, mac] = ticket.split('.');
    if (!body || !mac || !sameSecret(mac, await this.#mac(body))) return undefined;
    const t = JSON.parse(Buffer.from(body, 'base64url').toString('utf8')) as Ticket;
    const age = this.#now() - t.t;
    return t.p === purpose && t.b === bind && age >= 0 && age < CEREMONY_MS ? t : undefined;
  }

  async #mac(body: string): Promise<string> {
    return createHmac('sha256', Buffer.from(await this.#secret(), 'base64url'))
      .update(`webauthn\0${body}`)
      .digest('base64url');
  }
}

function parseResponse<T>(text: unknown): T | undefined {
  if (typeof text !== 'string' || text.length > MAX_RESPONSE) return undefined;
  try {
    const v = JSON.parse(text) as unknown;
    return v && typeof v === 'object' && !Array.isArray(v) ? (v as T) : undefined;
  } catch {
    return undefined;
  }
}
