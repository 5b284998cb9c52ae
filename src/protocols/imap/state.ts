import type { AuthResult } from '../../auth/types.ts';
import type { SelectedMailbox } from './selected.ts';

/**
 * The IMAP session states (RFC 9051 §3) as a tagged union carrying their data
 * (ARCHITECTURE.md "Core ideas" 2): a command declares which kinds it runs in.
 */

export interface SignedIn {
  readonly auth: AuthResult;
  readonly accountId: number;
  readonly address: string;
}

export type SessionState =
  | { readonly kind: 'notAuthenticated' }
  | { readonly kind: 'authenticated'; readonly user: SignedIn }
  | { readonly kind: 'selected'; readonly user: SignedIn; readonly mailbox: SelectedMailbox }
  | { readonly kind: 'logout' };

export type StateKind = SessionState['kind'];

export const ANY_STATE: readonly StateKind[] = ['notAuthenticated', 'authenticated', 'selected'];
export const SIGNED_IN: readonly StateKind[] = ['authenticated', 'selected'];
export const SELECTED: readonly StateKind[] = ['selected'];
export const NOT_AUTHENTICATED: readonly StateKind[] = ['notAuthenticated'];

/** The signed-in user of a state, when there is one. */
export function userOf(state: SessionState): SignedIn | null {
  return state.kind === 'authenticated' || state.kind === 'selected' ? state.user : null;
}
