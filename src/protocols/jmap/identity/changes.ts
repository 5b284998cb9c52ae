import { CAPABILITIES } from '../capabilities.ts';
import { changeLogMethod } from '../changes.ts';

/** Identity/changes (RFC 8621 §6.2). */
export const identityChanges = changeLogMethod('Identity', 'identity', CAPABILITIES.submission);
