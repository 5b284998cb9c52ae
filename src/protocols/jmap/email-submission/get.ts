import type { JsonObject } from '../args.ts';
import { CAPABILITIES } from '../capabilities.ts';
import type { MethodDefinition } from '../dispatch.ts';
import { fromId, toId } from '../ids.ts';
import { getIds, getProperties, pick } from '../standard.ts';
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
    const list: JsonObject[] = [];
    const notFound: string[] = [];
    for (const id of ids ?? [...rows.keys()].map((n) => toId('submission', n))) {
      const n = fromId('submission', id);
      const row = n === undefined ? undefined : rows.get(n);
      if (row) list.push(pick(await submissionObject(ctx.services, row), properties));
      else notFound.push(id);
    }
    return { accountId: ctx.accountId, state: stateString(state), list, notFound };
  },
};
