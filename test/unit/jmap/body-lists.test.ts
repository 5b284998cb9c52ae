// textBody / htmlBody / attachments (RFC 8621 §4.1.4) for the RFC's own worked example and for
// messages shaped like Thunderbird, Apple Mail, Outlook and Gmail write them.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseMessage } from '../../../src/mail/mime/parse.ts';
import type { MimePart } from '../../../src/mail/mime/types.ts';
import { partIdOf } from '../../../src/protocols/jmap/email/body.ts';
import { bodyLists } from '../../../src/protocols/jmap/email/body-lists.ts';
import { CLIENT_MESSAGES } from './client-messages.ts';

const ids = (parts: readonly MimePart[]) => parts.map(partIdOf);

describe('body lists (RFC 8621 §4.1.4)', () => {
  for (const m of CLIENT_MESSAGES) {
    it(m.name, () => {
      const lists = bodyLists(parseMessage(m.raw).root);
      assert.deepEqual(
        { textBody: ids(lists.textBody), htmlBody: ids(lists.htmlBody), attachments: ids(lists.attachments) },
        { textBody: m.textBody, htmlBody: m.htmlBody, attachments: m.attachments },
      );
    });
  }

  it('a single-part message is its own text and HTML body', () => {
    for (const type of ['text/plain', 'text/html']) {
      const lists = bodyLists(parseMessage(Buffer.from(`Content-Type: ${type}\r\n\r\nhello\r\n`)).root);
      assert.deepEqual([ids(lists.textBody), ids(lists.htmlBody), ids(lists.attachments)], [['1'], ['1'], []], type);
    }
    const pdf = bodyLists(parseMessage(Buffer.from('Content-Type: application/pdf\r\n\r\n%PDF\r\n')).root);
    assert.deepEqual([ids(pdf.textBody), ids(pdf.htmlBody), ids(pdf.attachments)], [[], [], ['1']]);
  });

  it('an empty filename is no filename, and a text part named after the first is an attachment', () => {
    const raw = Buffer.from(
      [
        'Content-Type: multipart/mixed; boundary=b',
        '',
        '--b',
        'Content-Type: text/plain',
        '',
        'body',
        '--b',
        'Content-Type: text/plain; name=""',
        '',
        'footer without a real name',
        '--b',
        'Content-Type: text/plain; name="log.txt"',
        '',
        'a log file',
        '--b--',
        '',
      ].join('\r\n'),
    );
    const lists = bodyLists(parseMessage(raw).root);
    assert.deepEqual([ids(lists.textBody), ids(lists.attachments)], [['1', '2'], ['3']]);
  });

  it('an alternative nested where an outer branch already chose plain text puts its HTML in attachments', () => {
    // alternative[ mixed[ text/plain, alternative[ text/plain, text/html ] ], text/html ]: the RFC's
    // code would push the inner HTML onto the list the outer text/plain cleared.
    const raw = Buffer.from(
      [
        'Content-Type: multipart/alternative; boundary=o',
        '',
        '--o',
        'Content-Type: multipart/mixed; boundary=m',
        '',
        '--m',
        'Content-Type: text/plain',
        '',
        'intro',
        '--m',
        'Content-Type: multipart/alternative; boundary=i',
        '',
        '--i',
        'Content-Type: text/plain',
        '',
        'inner text',
        '--i',
        'Content-Type: text/html',
        '',
        '<p>inner html</p>',
        '--i--',
        '--m--',
        '--o',
        'Content-Type: text/html',
        '',
        '<p>outer html</p>',
        '--o--',
        '',
      ].join('\r\n'),
    );
    const lists = bodyLists(parseMessage(raw).root);
    assert.deepEqual(
      { textBody: ids(lists.textBody), htmlBody: ids(lists.htmlBody), attachments: ids(lists.attachments) },
      { textBody: ['1.1', '1.2.1'], htmlBody: ['2'], attachments: ['1.2.2'] },
    );
  });
});
