import { CAPABILITIES } from '../capabilities.ts';
import { changeLogMethod } from '../changes.ts';

/** Email/changes (RFC 8621 §4.3): the shared change log, the same one IMAP CONDSTORE reads. */
export const emailChanges = changeLogMethod('Email', 'email', CAPABILITIES.mail);
