import type { JmapServices } from '../context.ts';
import { toId } from '../ids.ts';
import { PUSH_TYPES, type PushType, stateString, typeState } from '../state.ts';

/** The states of some types in one account, as StateChange carries them (RFC 8620 §7.1). */
export type TypeStates = Partial<Record<PushType, string>>;

/** Parses the `types` parameter of the EventSource URL (RFC 8620 §7.3): `*` or a comma list. */
export function parseTypes(value: string | undefined): PushType[] | undefined {
  if (value === undefined || value === '' || value === '*') return [...PUSH_TYPES];
  const out: PushType[] = [];
  for (const t of value.split(',')) {
    if (!(PUSH_TYPES as readonly string[]).includes(t)) return undefined;
    if (!out.includes(t as PushType)) out.push(t as PushType);
  }
  return out;
}

/** The current states of `types`. */
export async function currentStates(services: JmapServices, accountId: number, types: readonly PushType[]): Promise<TypeStates> {
  const out: TypeStates = {};
  for (const t of types) out[t] = stateString(await typeState(services, accountId, t));
  return out;
}

/** The types whose state differs between two snapshots (a type missing from `before` counts as changed). */
export function changedTypes(before: TypeStates, after: TypeStates): TypeStates {
  const out: TypeStates = {};
  for (const [t, s] of Object.entries(after) as Array<[PushType, string]>) if (before[t] !== s) out[t] = s;
  return out;
}

/** A StateChange object (RFC 8620 §7.1). */
export function stateChange(accountId: number, changed: TypeStates): { '@type': 'StateChange'; changed: Record<string, TypeStates> } {
  return { '@type': 'StateChange', changed: { [toId('account', accountId)]: changed } };
}

/**
 * The EventSource event id: the full state of the watched types, so a reconnecting client's
 * `Last-Event-ID` tells which changes it missed (RFC 8620 §7.3).
 */
export function encodeEventId(states: TypeStates): string {
  return Buffer.from(JSON.stringify(states)).toString('base64url');
}

/** Decodes a `Last-Event-ID`; undefined when it is not one of ours. */
export function decodeEventId(value: string | undefined): TypeStates | undefined {
  if (!value || value.length > 2000 || !/^[A-Za-z0-9_-]+$/.test(value)) return undefined;
  try {
    const parsed: unknown = JSON.parse(Buffer.from(value, 'base64url').toString('utf8'));
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) return undefined;
    const out: TypeStates = {};
    for (const [k, v] of Object.entries(parsed))
      if ((PUSH_TYPES as readonly string[]).includes(k) && typeof v === 'string') out[k as PushType] = v;
    return out;
  } catch {
    return undefined;
  }
}
