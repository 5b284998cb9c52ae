import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { acctUri, webfingerUrl } from '../../../src/discovery/client/acct.ts';
import { parseQuery, single } from '../../../src/discovery/query.ts';
import { filterRels, type Jrd, parseResource, REL } from '../../../src/discovery/webfinger.ts';

describe('WebFinger resource parsing (RFC 7033 §4.1, RFC 7565)', () => {
  const address = (r: string) => {
    const p = parseResource(r);
    assert.equal(p.kind, 'address', `${r} → ${JSON.stringify(p)}`);
    return p.kind === 'address' ? p.address.normalized : '';
  };

  it('accepts acct: and mailto: addresses, lower-casing the domain', () => {
    assert.equal(address('acct:alice@Example.COM'), 'alice@example.com');
    assert.equal(address('mailto:alice@example.com'), 'alice@example.com');
    assert.equal(address('ACCT:alice@example.com'), 'alice@example.com');
  });

  it('keeps + in the local part, encoded or not', () => {
    assert.equal(address('acct:bob+tag@example.com'), 'bob+tag@example.com');
    assert.equal(address('acct:bob%2Btag@example.com'), 'bob+tag@example.com');
  });

  it('reads a full address as the account name (%40 in the userpart)', () => {
    assert.equal(address('acct:alice%40example.com@example.com'), 'alice@example.com');
    assert.deepEqual(parseResource('acct:juliet%40capulet.example@shoppingsite.example'), { kind: 'unknown' });
  });

  it('answers malformed input as malformed (400) and foreign URIs as unknown (404)', () => {
    for (const bad of [
      '',
      'alice@example.com',
      'acct:',
      'acct:@example.com',
      'acct:alice@',
      'acct:al ice@example.com',
      'acct:a%zz@example.com',
      `acct:${'a'.repeat(600)}@example.com`,
      'acct:a\u0000b@example.com',
    ]) {
      assert.equal(parseResource(bad).kind, 'malformed', JSON.stringify(bad));
    }
    for (const unknown of [
      'https://example.com/~alice',
      'xmpp:alice@example.com',
      'mailto:a@example.com,b@example.com',
      'mailto:a@example.com?subject=x',
      'acct:a..b@example.com',
    ]) {
      assert.equal(parseResource(unknown).kind, 'unknown', unknown);
    }
  });
});

describe('query decoding', () => {
  it('never turns + into a space and keeps repeated rel values', () => {
    const q = parseQuery('/.well-known/webfinger?resource=acct:bob+tag%40example.com&rel=a&rel=b%20c');
    assert.equal(single(q, 'resource'), 'acct:bob+tag@example.com');
    assert.deepEqual(q.get('rel'), ['a', 'b c']);
  });
  it('refuses a repeated resource and broken escapes', () => {
    assert.throws(() => single(parseQuery('/x?resource=a&resource=b'), 'resource'));
    assert.throws(() => parseQuery('/x?resource=%E0%A4%A'));
  });
});

describe('rel filtering (RFC 7033 §4.3)', () => {
  const jrd: Jrd = {
    subject: 'acct:a@example.com',
    aliases: ['mailto:a@example.com'],
    links: [
      { rel: REL.issuer, href: 'https://i' },
      { rel: REL.freebusy, href: 'https://f' },
    ],
  };
  it('keeps only the asked relations, and subject and aliases always', () => {
    assert.deepEqual(filterRels(jrd, [REL.issuer]).links, [{ rel: REL.issuer, href: 'https://i' }]);
    assert.equal(filterRels(jrd, [REL.issuer]).subject, jrd.subject);
    assert.deepEqual(filterRels(jrd, [REL.issuer, REL.freebusy]).links.length, 2);
    assert.deepEqual(filterRels(jrd, ['urn:unknown']).links, []);
    assert.equal(filterRels(jrd, []), jrd);
  });
});

describe('client-side acct: URIs and query URLs', () => {
  it('percent-encodes what RFC 7565 does not allow and + in the query', () => {
    assert.equal(acctUri('bob+tag', 'example.com'), 'acct:bob+tag@example.com');
    assert.equal(acctUri('jürgen', 'example.com'), 'acct:j%C3%BCrgen@example.com');
    const url = new URL(webfingerUrl('example.com', 'acct:bob+tag@example.com', [REL.issuer, REL.freebusy]));
    assert.equal(url.search.includes('bob%2Btag%40example.com'), true);
    assert.deepEqual(parseQuery(url.href).get('rel'), [REL.issuer, REL.freebusy]);
    assert.equal(single(parseQuery(url.href), 'resource'), 'acct:bob+tag@example.com');
  });
});
