import type { MimePart } from '../../../mail/mime/types.ts';
import { fileName } from './body.ts';

/** The flat views of a message body (RFC 8621 §4.1.4). */
export interface BodyLists {
  readonly textBody: MimePart[];
  readonly htmlBody: MimePart[];
  readonly attachments: MimePart[];
}

function isInlineMediaType(type: string): boolean {
  return type.startsWith('image/') || type.startsWith('audio/') || type.startsWith('video/');
}

function isMultipart(part: MimePart): boolean {
  return part.type === 'multipart' && part.children.length > 0;
}

/**
 * RFC 8621 §4.1.4's `parseStructure`, step for step. As in the RFC, `htmlBody` and `textBody` are
 * this call's own variables: once a text/plain (text/html) part inside an alternative clears one,
 * it stays cleared for the parts after it in the same multipart and for the sub-multiparts they
 * open, so media next to the plain-text version lands in `attachments`, not in `htmlBody`.
 */
function parseStructure(
  parts: readonly MimePart[],
  multipartType: string,
  inAlternative: boolean,
  htmlBodyIn: MimePart[] | null,
  textBodyIn: MimePart[] | null,
  attachments: MimePart[],
): void {
  let htmlBody = htmlBodyIn;
  let textBody = textBodyIn;
  // For multipartType == alternative
  const textLength = textBody ? textBody.length : -1;
  const htmlLength = htmlBody ? htmlBody.length : -1;

  for (let i = 0; i < parts.length; i += 1) {
    const part = parts[i]!;
    const type = `${part.type}/${part.subtype}`;
    // Is this a body part rather than an attachment
    const isInline =
      part.disposition?.type.toLowerCase() !== 'attachment' &&
      // Must be one of the allowed body types
      (type === 'text/plain' || type === 'text/html' || isInlineMediaType(type)) &&
      // If multipart/related, only the first part can be inline. If a text part with a
      // filename, and not the first item in the multipart, assume it is an attachment.
      (i === 0 || (multipartType !== 'related' && (isInlineMediaType(type) || !fileName(part))));

    if (isMultipart(part)) {
      const subMultiType = part.subtype;
      parseStructure(part.children, subMultiType, inAlternative || subMultiType === 'alternative', htmlBody, textBody, attachments);
    } else if (isInline) {
      if (multipartType === 'alternative') {
        // The RFC's code would push onto a list an outer branch cleared (and throw); such a part
        // is in neither body list, which makes it an attachment by the list's definition.
        const list = type === 'text/plain' ? textBody : type === 'text/html' ? htmlBody : null;
        (list ?? attachments).push(part);
        continue;
      }
      if (inAlternative) {
        if (type === 'text/plain') htmlBody = null;
        if (type === 'text/html') textBody = null;
      }
      if (textBody) textBody.push(part);
      if (htmlBody) htmlBody.push(part);
      if ((!textBody || !htmlBody) && isInlineMediaType(type)) attachments.push(part);
    } else {
      attachments.push(part);
    }
  }

  if (multipartType === 'alternative' && textBody && htmlBody) {
    // Found HTML part only
    if (textLength === textBody.length && htmlLength !== htmlBody.length) {
      for (let i = htmlLength; i < htmlBody.length; i += 1) textBody.push(htmlBody[i]!);
    }
    // Found plain text part only
    if (htmlLength === htmlBody.length && textLength !== textBody.length) {
      for (let i = textLength; i < textBody.length; i += 1) htmlBody.push(textBody[i]!);
    }
  }
}

/**
 * Splits a message's MIME tree into `textBody`, `htmlBody` and `attachments` exactly as the
 * algorithm of RFC 8621 §4.1.4 does, so every client shows the same body and attachments.
 */
export function bodyLists(root: MimePart): BodyLists {
  const lists: BodyLists = { textBody: [], htmlBody: [], attachments: [] };
  parseStructure([root], 'mixed', false, lists.htmlBody, lists.textBody, lists.attachments);
  return lists;
}
