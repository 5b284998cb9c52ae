import { CAPABILITIES } from '../capabilities.ts';
import type { MethodDefinition } from '../dispatch.ts';
import { fromId, toId } from '../ids.ts';
import { getIds, getProperties, getResponse } from '../standard.ts';
import { stateString, typeState } from '../state.ts';
import { listSubmissions, SUBMISSION_PROPERTIES, submissionObject } from './store.ts';

const KNOWN = new Set<string>(SUBMISSION_PROPERTIES);

/** EmailSubmission/get (RFC 8621 §7.1), with delivery status read live from the outbound queue. */
export const emailSubmissionGet: MethodDefinition = {
  capability: CAPABILITIES.submission,
  async run(args, ctx) {
    const accountId = ctx.account(args, CAPABILITIES.submission);
    const ids = getIds(args, ctx);
    const properties = getProperties(args, KNOWN, SUBMISSION_PROPERTIES);
    const state = await typeState(ctx.services, accountId, 'EmailSubmission');
    const rows = new Map((await listSubmissions(ctx.services, accountId)).map((r) => [r.id, r]));
    return getResponse(ctx, stateString(state), ids ?? [...rows.keys()].map((n) => toId('submission', n)), properties, (id) => {
      const row = rows.get(fromId('submission', id) ?? 0);
      return row && submissionObject(ctx.services, row);
    });
  },
};
