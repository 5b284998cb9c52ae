/** One Email FilterCondition (RFC 8621 §4.4.1), with ids and dates already decoded to store values. */
export interface EmailCondition {
  inMailbox?: number;
  inMailboxOtherThan?: number[];
  before?: number;
  after?: number;
  minSize?: number;
  maxSize?: number;
  allInThreadHaveKeyword?: string;
  someInThreadHaveKeyword?: string;
  noneInThreadHaveKeyword?: string;
  hasKeyword?: string;
  notKeyword?: string;
  hasAttachment?: boolean;
  text?: string;
  from?: string;
  to?: string;
  cc?: string;
  bcc?: string;
  subject?: string;
  body?: string;
  header?: [string] | [string, string];
}
