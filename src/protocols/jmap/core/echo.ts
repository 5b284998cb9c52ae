import { CAPABILITIES } from '../capabilities.ts';
import type { MethodDefinition } from '../dispatch.ts';

/** Core/echo (RFC 8620 §4): returns its arguments unchanged. */
export const coreEcho: MethodDefinition = {
  capability: CAPABILITIES.core,
  async run(args) {
    return args.raw;
  },
};
