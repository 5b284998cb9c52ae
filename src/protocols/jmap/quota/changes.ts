import { CAPABILITIES } from '../capabilities.ts';
import { changeLogMethod } from '../changes.ts';

/** Quota/changes (RFC 9425 §4.2), from the shared change log: use and limit changes are logged. */
export const quotaChanges = changeLogMethod('Quota', 'quota', CAPABILITIES.quota);
