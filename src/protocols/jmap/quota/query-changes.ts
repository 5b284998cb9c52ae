import { CAPABILITIES } from '../capabilities.ts';
import type { MethodDefinition } from '../dispatch.ts';
import { MethodError } from '../errors.ts';

/**
 * Quota/queryChanges (RFC 9425 §4.4): Quota/query answers `canCalculateChanges: false` because its
 * result follows every change of use, so this is always `cannotCalculateChanges` (RFC 8620 §5.6).
 */
export const quotaQueryChanges: MethodDefinition = {
  capability: CAPABILITIES.quota,
  async run(args, ctx) {
    ctx.account(args, CAPABILITIES.quota);
    throw new MethodError('cannotCalculateChanges', 'clients re-run Quota/query');
  },
};
