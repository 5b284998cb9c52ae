import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { formatChallenge, parseWwwAuthenticate, sanitizeErrorDescription } from '../../../src/auth/sasl/www-authenticate.ts';

describe('WWW-Authenticate parser (RFC 9110 §11, STANDARDS §3.1)', () => {
  const cases: Array<[string, string, unknown]> = [
    [
      'the RFC 9110 example with two challenges in one value',
      'Basic realm="simple", Newauth realm="apps", type=1, title="Login to \\"apps\\""',
      [
        { scheme: 'Basic', params: { realm: 'simple' } },
        { scheme: 'Newauth', params: { realm: 'apps', type: '1', title: 'Login to "apps"' } },
      ],
    ],
    [
      'Bearer with error and RFC 9728 resource_metadata, joined lines',
      'Bearer resource_metadata="https://jmap.example.com/.well-known/oauth-protected-resource/session", scope="urn:ietf:params:oauth:scope:mail", Basic realm="example.com", charset="UTF-8"',
      [
        {
          scheme: 'Bearer',
          params: {
            resource_metadata: 'https://jmap.example.com/.well-known/oauth-protected-resource/session',
            scope: 'urn:ietf:params:oauth:scope:mail',
          },
        },
        { scheme: 'Basic', params: { realm: 'example.com', charset: 'UTF-8' } },
      ],
    ],
    [
      'a token68 with padding',
      'Negotiate abc=, Basic realm="x"',
      [
        { scheme: 'Negotiate', token68: 'abc=', params: {} },
        { scheme: 'Basic', params: { realm: 'x' } },
      ],
    ],
    ['a bare scheme', 'Bearer', [{ scheme: 'Bearer', params: {} }]],
    [
      'two bare schemes',
      'Foo, Bar',
      [
        { scheme: 'Foo', params: {} },
        { scheme: 'Bar', params: {} },
      ],
    ],
    ['empty list elements', ' , Basic realm="a" ,, ', [{ scheme: 'Basic', params: { realm: 'a' } }]],
    [
      'commas inside quoted strings',
      'Bearer error_description="a, b=c", error=invalid_token',
      [{ scheme: 'Bearer', params: { error_description: 'a, b=c', error: 'invalid_token' } }],
    ],
    ['case-insensitive parameter names, first one wins', 'Bearer Realm="a", realm="b"', [{ scheme: 'Bearer', params: { realm: 'a' } }]],
    ['BWS around =', 'Basic realm = "x"', [{ scheme: 'Basic', params: { realm: 'x' } }]],
    ['empty input', '', []],
  ];
  for (const [name, input, expected] of cases) {
    it(name, () => assert.deepEqual(parseWwwAuthenticate(input), expected));
  }
  it('survives an unterminated quote', () => {
    assert.deepEqual(parseWwwAuthenticate('Basic realm="x'), [{ scheme: 'Basic', params: {} }]);
  });
});

describe('challenge formatting', () => {
  it('quotes and escapes values', () => {
    assert.equal(formatChallenge('Basic', [['realm', 'a "b" \\c']]), 'Basic realm="a \\"b\\" \\\\c"');
  });
  it('round-trips through the parser', () => {
    const line = formatChallenge('Bearer', [
      ['realm', 'example.com'],
      ['error', 'invalid_token'],
      ['error_description', 'The access token expired'],
    ]);
    assert.deepEqual(parseWwwAuthenticate(line), [
      { scheme: 'Bearer', params: { realm: 'example.com', error: 'invalid_token', error_description: 'The access token expired' } },
    ]);
  });
  it('sanitizes error_description to the RFC 6750 character set', () => {
    assert.equal(sanitizeErrorDescription('bad "x"\\ é\n'), 'bad x ');
  });
});
