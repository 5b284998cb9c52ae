import { blobCopy } from './blob/copy.ts';
import { blobGet } from './blob/get.ts';
import { blobLookup } from './blob/lookup.ts';
import { blobUpload } from './blob/upload-method.ts';
import { coreEcho } from './core/echo.ts';
import type { MethodTable } from './dispatch.ts';
import { emailChanges } from './email/changes.ts';
import { emailCopy } from './email/copy.ts';
import { emailImport } from './email/import.ts';
import { emailParse } from './email/parse.ts';
import { emailSet } from './email/set.ts';
import { emailSubmissionChanges } from './email-submission/changes.ts';
import { emailSubmissionGet } from './email-submission/get.ts';
import { emailSubmissionQuery } from './email-submission/query.ts';
import { emailSubmissionQueryChanges } from './email-submission/query-changes.ts';
import { emailSubmissionSet } from './email-submission/set.ts';
import { identityChanges } from './identity/changes.ts';
import { identityGet } from './identity/get.ts';
import { identitySet } from './identity/set.ts';
import { quotaChanges } from './quota/changes.ts';
import { quotaGet } from './quota/get.ts';
import { quotaQuery } from './quota/query.ts';
import { quotaQueryChanges } from './quota/query-changes.ts';
import { searchSnippetGet } from './search-snippet/get.ts';
import { vacationResponseGet } from './vacation-response/get.ts';
import { vacationResponseSet } from './vacation-response/set.ts';
import { emailGet } from './email/get.ts';
import { principalChanges, principalGet, principalQuery } from './principal/methods.ts';
import {
  shareNotificationChanges,
  shareNotificationGet,
  shareNotificationQuery,
  shareNotificationSet,
} from './share-notification/methods.ts';
import { sharedEmailSet } from './sharing/shared-email-set.ts';
import { sharedAs, sharedMailboxSet, sharedSearchSnippets, sharedThreadChanges, sharedThreadGet } from './sharing/shared-methods.ts';
import { sharedEmailChanges, sharedEmailGet, sharedEmailQuery, sharedMailboxChanges, sharedMailboxGet } from './sharing/shared-mail.ts';
import { emailQuery } from './email/query.ts';
import { emailQueryChanges } from './email/query-changes.ts';
import { mailboxChanges } from './mailbox/changes.ts';
import { mailboxGet } from './mailbox/get.ts';
import { mailboxQuery } from './mailbox/query.ts';
import { mailboxQueryChanges } from './mailbox/query-changes.ts';
import { mailboxSet } from './mailbox/set.ts';
import { sieveScriptChanges, sieveScriptGet, sieveScriptQuery } from './sieve-script/read.ts';
import { sieveScriptSet, sieveScriptValidate } from './sieve-script/set.ts';
import { threadChanges } from './thread/changes.ts';
import { threadGet } from './thread/get.ts';

/**
 * Every method this server implements, by name (RFC 8620 §4–§5, RFC 8621, RFC 9670); the mail
 * methods that work on shared accounts are wrapped by src/protocols/jmap/sharing/.
 */
export const METHODS: MethodTable = {
  'Core/echo': coreEcho,
  'Blob/copy': sharedAs(blobCopy),
  'Blob/upload': sharedAs(blobUpload),
  'Blob/get': sharedAs(blobGet),
  'Blob/lookup': sharedAs(blobLookup),
  'Mailbox/get': sharedMailboxGet(mailboxGet),
  'Mailbox/changes': sharedMailboxChanges(mailboxChanges),
  'Mailbox/query': sharedAs(mailboxQuery),
  'Mailbox/queryChanges': sharedAs(mailboxQueryChanges),
  'Mailbox/set': sharedMailboxSet(mailboxSet),
  'Thread/get': sharedThreadGet(threadGet),
  'Thread/changes': sharedThreadChanges(threadChanges),
  'Email/get': sharedEmailGet(emailGet),
  'Email/changes': sharedEmailChanges(emailChanges),
  'Email/query': sharedEmailQuery(emailQuery),
  'Email/queryChanges': sharedEmailQuery(emailQueryChanges),
  'Email/set': sharedEmailSet(emailSet),
  'Email/import': sharedAs(emailImport),
  'Email/parse': sharedAs(emailParse),
  'Email/copy': sharedAs(emailCopy),
  'SearchSnippet/get': sharedSearchSnippets(searchSnippetGet),
  'Identity/get': identityGet,
  'Identity/changes': identityChanges,
  'Identity/set': identitySet,
  'EmailSubmission/get': emailSubmissionGet,
  'EmailSubmission/changes': emailSubmissionChanges,
  'EmailSubmission/query': emailSubmissionQuery,
  'EmailSubmission/queryChanges': emailSubmissionQueryChanges,
  'EmailSubmission/set': emailSubmissionSet,
  'VacationResponse/get': vacationResponseGet,
  'VacationResponse/set': vacationResponseSet,
  'Quota/get': quotaGet,
  'Quota/changes': quotaChanges,
  'Quota/query': quotaQuery,
  'Quota/queryChanges': quotaQueryChanges,
  'Principal/get': principalGet,
  'Principal/changes': principalChanges,
  'Principal/query': principalQuery,
  'ShareNotification/get': shareNotificationGet,
  'ShareNotification/changes': shareNotificationChanges,
  'ShareNotification/set': shareNotificationSet,
  'ShareNotification/query': shareNotificationQuery,
  'SieveScript/get': sieveScriptGet,
  'SieveScript/changes': sieveScriptChanges,
  'SieveScript/query': sieveScriptQuery,
  'SieveScript/set': sieveScriptSet,
  'SieveScript/validate': sieveScriptValidate,
};
