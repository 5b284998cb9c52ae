// Word and phrase matching of JMAP text filters (RFC 8621 §4.4.1), the SearchSnippet highlights
// built on it, and the bounds on what one text condition may ask for.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { FingerpostError } from '../../../src/core/errors.ts';
import { MAX_TEXT_QUERY, matchesAll, parseTextQuery, prefilterLiteral } from '../../../src/mail/query/text-match.ts';
import { highlight } from '../../../src/protocols/jmap/search-snippet/get.ts';

const matches = (text: string, query: string) => matchesAll(text, parseTextQuery(query));

describe('text filter matching (RFC 8621 §4.4.1)', () => {
  it('a token matches at the start of a word, not inside one', () => {
    assert.equal(matches('is anybody there? nowhere.', 'here'), false);
    assert.equal(matches('here we go', 'here'), true);
    assert.equal(matches('heretofore unseen', 'here'), true, 'prefix matching');
    assert.equal(matches('the buses run late', 'bus'), true);
    assert.equal(matches('(here)', 'here'), true, 'punctuation is a word boundary');
    assert.equal(matches('jane@example.org', 'example'), true);
    assert.equal(matches('jane@example.org', 'ample'), false);
    assert.equal(matches('jane@example.org', '@example.org'), true, 'a token starting with punctuation matches anywhere');
  });

  it('case-insensitive, every token present, phrases as exact words in order', () => {
    assert.equal(matches('Here We Go Again', 'again HERE'), true);
    assert.equal(matches('here we go', 'here again'), false);
    assert.equal(matches('the buses run late', '"run late"'), true);
    assert.equal(matches('the buses run   late', "'run late'"), true, 'single quotes, any white space between');
    assert.equal(matches('the buses run late', '"late run"'), false);
    assert.equal(matches('the buses run late', '"the bus"'), false, 'a phrase holds whole words');
    assert.equal(matches('say "hi" now', '"say \\"hi"'), true, 'escaped quote inside a phrase');
  });

  it('scripts without spaces between words match anywhere', () => {
    assert.equal(matches('東京で会いましょう', '会い'), true);
    assert.equal(matches('ราคาสินค้า', 'สินค้า'), true);
  });

  it('regular-expression characters are literal', () => {
    assert.equal(matches('costs $5 (approx.)', '$5'), true);
    assert.equal(matches('a.b', 'a*'), false);
    assert.equal(matches('c++ and c#', 'c++'), true);
  });

  it('bounds the length and the number of terms; no terms match everything', () => {
    assert.throws(() => parseTextQuery('x'.repeat(MAX_TEXT_QUERY + 1)), FingerpostError);
    assert.throws(() => parseTextQuery(Array.from({ length: 40 }, (_, i) => `w${i}`).join(' ')), FingerpostError);
    assert.equal(matches('anything', '   '), true);
    assert.equal(prefilterLiteral(parseTextQuery('a "quick brown" fox')), 'quick');
  });

  it('highlights the words that matched, escaping the rest', () => {
    assert.equal(highlight('Here & there: heretofore', ['here']), '<mark>Here</mark> &amp; there: <mark>heretofore</mark>');
    assert.equal(highlight('run late, run <fast>', ['"run late"']), '<mark>run late</mark>, run &lt;fast&gt;');
    assert.equal(highlight('nothing to see', ['here']), null);
  });
});
