import { CAPABILITIES } from '../capabilities.ts';
import { changeLogMethod } from '../changes.ts';

/** EmailSubmission/changes (RFC 8621 §7.2). */
export const emailSubmissionChanges = changeLogMethod('EmailSubmission', 'submission', CAPABILITIES.submission);
