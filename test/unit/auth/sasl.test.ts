// Table tests for the pure SASL codecs with the vectors of STANDARDS.md §10.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { decodeBase64, encodeBase64 } from '../../../src/auth/sasl/base64.ts';
import { SaslExchange } from '../../../src/auth/sasl/exchange.ts';
import { escapeSaslname, parseGs2Header, unescapeSaslname } from '../../../src/auth/sasl/gs2.ts';
import {
  decodeOAuthBearer,
  decodeOAuthBearerFailure,
  encodeOAuthBearer,
  encodeOAuthBearerFailure,
  OAUTHBEARER_DUMMY_RESPONSE,
} from '../../../src/auth/sasl/oauthbearer.ts';
import { decodePlain, encodePlain } from '../../../src/auth/sasl/plain.ts';
import { decodeXOAuth2, decodeXOAuth2Failure, encodeXOAuth2, encodeXOAuth2Failure } from '../../../src/auth/sasl/xoauth2.ts';

const b64 = (s: string) => Buffer.from(s, 'latin1').toString('base64');
const bytes = (s: string) => new Uint8Array(Buffer.from(s, 'utf8'));
const unb64 = (s: string) => {
  const d = decodeBase64(s);
  assert.ok(d.ok, `decodes ${s}`);
  return d.value;
};

const V = {
  oauthbearerIr:
    'bixhPWFsaWNlQGV4YW1wbGUuY29tLAFob3N0PWltYXAuZXhhbXBsZS5jb20BcG9ydD05OTMBYXV0aD1CZWFyZXIgdkY5ZGZ0NHFtVGMyTnZiM1JsY2tCaGJIUmhkbWx6ZEdFdVkyOXRDZz09AQE=',
  oauthbearerProbe: 'bixhPWFsaWNlQGV4YW1wbGUuY29tLAFob3N0PWltYXAuZXhhbXBsZS5jb20BcG9ydD05OTMBYXV0aD0BAQ==',
  oauthbearerError:
    'eyJzdGF0dXMiOiJpbnZhbGlkX3Rva2VuIiwic2NvcGUiOiJ1cm46aWV0ZjpwYXJhbXM6b2F1dGg6c2NvcGU6bWFpbCIsIm9wZW5pZC1jb25maWd1cmF0aW9uIjoiaHR0cHM6Ly9hdXRoLmV4YW1wbGUuY29tLy53ZWxsLWtub3duL29wZW5pZC1jb25maWd1cmF0aW9uIn0=',
  dummy: 'AQ==',
  xoauth2Ir: 'dXNlcj1zb21ldXNlckBleGFtcGxlLmNvbQFhdXRoPUJlYXJlciB5YTI5LnZGOWRmdDRxbVRjMk52YjNSbGNrQmhkSFJoZG1semRHRXVZMjl0Q2cBAQ==',
  xoauth2Error: 'eyJzdGF0dXMiOiI0MDEiLCJzY2hlbWVzIjoiYmVhcmVyIiwic2NvcGUiOiJodHRwczovL21haWwuZ29vZ2xlLmNvbS8ifQ==',
  plain: 'AGFsaWNlQGV4YW1wbGUuY29tAHMzY3JldA==',
};
const TOKEN = 'vF9dft4qmTc2Nvb3RlckBhbHRhdmlzdGEuY29tCg==';

describe('strict base64 (STANDARDS §9.1)', () => {
  const cases: Array<[string, boolean]> = [
    ['', true],
    ['AQ==', true],
    ['AQE=', true],
    ['AQEB', true],
    ['AQ=', false],
    ['AQ', false],
    ['A===', false],
    ['AQ==AQ==', false],
    ['AQ =', false],
    ['AQ\r\n', false],
    ['AQ-_', false],
    ['A@E=', false],
    ['=', false],
    ['Ax==', false],
    ['AQF=', false],
  ];
  for (const [text, ok] of cases) {
    it(`${JSON.stringify(text)} is ${ok ? 'accepted' : 'rejected'}`, () => {
      const d = decodeBase64(text);
      assert.equal(d.ok, ok);
      if (!d.ok) assert.equal(d.code, 'invalid_base64');
    });
  }
  it('refuses messages over the size limit without decoding', () => {
    const d = decodeBase64('AAAA'.repeat(100), 30);
    assert.equal(d.ok, false);
    assert.equal(!d.ok && d.code, 'too_long');
  });
  it('round-trips bytes', () => {
    const data = Uint8Array.of(0, 1, 2, 250, 255);
    assert.deepEqual(unb64(encodeBase64(data)), data);
  });
});

describe('PLAIN (RFC 4616)', () => {
  it('encodes the §10 vector', () => {
    assert.equal(encodeBase64(encodePlain({ authcid: 'alice@example.com', password: 's3cret' })), V.plain);
  });
  it('decodes the §10 vector', () => {
    const d = decodePlain(unb64(V.plain));
    assert.deepEqual(d, { ok: true, value: { authzid: '', authcid: 'alice@example.com', password: 's3cret' } });
  });
  it('keeps an authzid and UTF-8', () => {
    const d = decodePlain(encodePlain({ authzid: 'boss@example.com', authcid: 'jürgen@example.com', password: 'pä ss' }));
    assert.deepEqual(d, { ok: true, value: { authzid: 'boss@example.com', authcid: 'jürgen@example.com', password: 'pä ss' } });
  });
  const bad: Array<[string, Uint8Array, string]> = [
    ['two fields', bytes('\0alice'), 'malformed'],
    ['four fields', bytes('\0alice\0pw\0x'), 'malformed'],
    ['empty user', bytes('\0\0pw'), 'malformed'],
    ['empty password', bytes('\0alice\0'), 'malformed'],
    ['empty message', new Uint8Array(), 'malformed'],
    ['invalid UTF-8', Uint8Array.of(0, 0x61, 0, 0xc3, 0x28), 'invalid_utf8'],
  ];
  for (const [name, input, code] of bad) {
    it(`rejects ${name}`, () => {
      const d = decodePlain(input);
      assert.equal(d.ok, false);
      assert.equal(!d.ok && d.code, code);
    });
  }
});

describe('GS2 header (RFC 5801)', () => {
  it('escapes = and , in saslname', () => {
    assert.equal(escapeSaslname('a=b,c'), 'a=3Db=2Cc');
    assert.deepEqual(unescapeSaslname('a=3Db=2Cc'), { ok: true, value: 'a=b,c' });
  });
  for (const bad of ['a=3', 'a=41', 'a,b', 'x=2c']) {
    it(`rejects saslname ${bad}`, () => assert.equal(unescapeSaslname(bad).ok, false));
  }
  const headers: Array<[string, string | undefined | null]> = [
    ['n,,', undefined],
    ['y,,', undefined],
    ['n,a=alice@example.com,', 'alice@example.com'],
    ['n,a=we=2Cird=3D@example.com,', 'we,ird=@example.com'],
    ['p=tls-unique,,', null],
    ['n,', null],
    ['n', null],
    ['n,b=x,', null],
    ['n,a=,', null],
    ['n,a=x', null],
  ];
  for (const [header, authzid] of headers) {
    it(`parses ${JSON.stringify(header)}`, () => {
      const d = parseGs2Header(header);
      if (authzid === null) assert.equal(d.ok, false);
      else assert.deepEqual(d, { ok: true, value: { authzid } });
    });
  }
});

describe('OAUTHBEARER (RFC 7628)', () => {
  it('encodes the §10 initial response', () => {
    const ir = encodeOAuthBearer({ authzid: 'alice@example.com', host: 'imap.example.com', port: 993, token: TOKEN });
    assert.equal(encodeBase64(ir), V.oauthbearerIr);
  });
  it('decodes the §10 initial response', () => {
    assert.deepEqual(decodeOAuthBearer(unb64(V.oauthbearerIr)), {
      ok: true,
      value: { kind: 'response', authzid: 'alice@example.com', host: 'imap.example.com', port: 993, token: TOKEN },
    });
  });
  it('decodes the §10 empty-token probe to an empty token', () => {
    const d = decodeOAuthBearer(unb64(V.oauthbearerProbe));
    assert.ok(d.ok && d.value.kind === 'response');
    assert.equal(d.value.token, '');
  });
  it('decodes the RFC 7628 §4.3 probe', () => {
    const d = decodeOAuthBearer(bytes('n,a=user@example.com,\x01host=server.example.com\x01port=143\x01auth=\x01\x01'));
    assert.deepEqual(d, {
      ok: true,
      value: { kind: 'response', authzid: 'user@example.com', host: 'server.example.com', port: 143, token: '' },
    });
  });
  it('decodes the 0x01 dummy response (§10: AQ==)', () => {
    assert.deepEqual(decodeOAuthBearer(unb64(V.dummy)), { ok: true, value: { kind: 'dummy' } });
    assert.equal(encodeBase64(OAUTHBEARER_DUMMY_RESPONSE), V.dummy);
  });
  it('un-escapes =2C and =3D in the authzid and round-trips', () => {
    const ir = encodeOAuthBearer({ authzid: 'o=dd,name@example.com', token: 'abc' });
    assert.match(Buffer.from(ir).toString(), /^n,a=o=3Ddd=2Cname@example.com,\x01/);
    const d = decodeOAuthBearer(ir);
    assert.ok(d.ok && d.value.kind === 'response');
    assert.equal(d.value.authzid, 'o=dd,name@example.com');
  });
  it('ignores unknown and reserved keys; scheme is case-insensitive', () => {
    const d = decodeOAuthBearer(bytes('n,,\x01mthd=POST\x01xyz=1\x01auth=bEaReR tok.en-_~+/=\x01\x01'));
    assert.deepEqual(d, {
      ok: true,
      value: { kind: 'response', authzid: undefined, host: undefined, port: undefined, token: 'tok.en-_~+/=' },
    });
  });
  const bad: Array<[string, string]> = [
    ['no final 0x01', 'n,,\x01auth=Bearer x\x01'],
    ['no auth', 'n,,\x01host=a\x01\x01'],
    ['channel binding', 'p=tls-unique,,\x01auth=Bearer x\x01\x01'],
    ['Basic scheme', 'n,,\x01auth=Basic eDp5\x01\x01'],
    ['leading-zero port', 'n,,\x01port=0993\x01auth=Bearer x\x01\x01'],
    ['port too big', 'n,,\x01port=65536\x01auth=Bearer x\x01\x01'],
    ['duplicate key', 'n,,\x01auth=Bearer x\x01auth=Bearer y\x01\x01'],
    ['non-alpha key', 'n,,\x01h0st=a\x01auth=Bearer x\x01\x01'],
    ['control char in value', 'n,,\x01host=a\x00b\x01auth=Bearer x\x01\x01'],
    ['empty pair', 'n,,\x01\x01auth=Bearer x\x01\x01'],
    ['token with space', 'n,,\x01auth=Bearer a b\x01\x01'],
    ['empty message', ''],
    ['two 0x01 only', '\x01\x01'],
  ];
  for (const [name, text] of bad) {
    it(`rejects ${name}`, () => {
      const d = decodeOAuthBearer(bytes(text));
      assert.equal(d.ok, false);
      assert.ok(!d.ok && !d.detail.includes('x\x01'), 'details never echo the payload');
    });
  }
  it('encodes the §10 failure challenge', () => {
    const json = encodeOAuthBearerFailure({
      status: 'invalid_token',
      scope: 'urn:ietf:params:oauth:scope:mail',
      openidConfiguration: 'https://auth.example.com/.well-known/openid-configuration',
    });
    assert.equal(encodeBase64(json), V.oauthbearerError);
  });
  it('decodes the §10 failure challenge', () => {
    assert.deepEqual(decodeOAuthBearerFailure(unb64(V.oauthbearerError)), {
      ok: true,
      value: {
        status: 'invalid_token',
        scope: 'urn:ietf:params:oauth:scope:mail',
        openidConfiguration: 'https://auth.example.com/.well-known/openid-configuration',
      },
    });
  });
  for (const bad of ['[]', '{"scope":"x"}', '{"status":1}', 'nope', '{"status":"x","scope":3}']) {
    it(`rejects failure challenge ${bad}`, () => assert.equal(decodeOAuthBearerFailure(bytes(bad)).ok, false));
  }
});

describe('XOAUTH2', () => {
  it('encodes the §10 (Google) initial response', () => {
    const ir = encodeXOAuth2({ user: 'someuser@example.com', token: 'ya29.vF9dft4qmTc2Nvb3RlckBhdHRhdmlzdGEuY29tCg' });
    assert.equal(encodeBase64(ir), V.xoauth2Ir);
  });
  it('decodes the §10 initial response', () => {
    assert.deepEqual(decodeXOAuth2(unb64(V.xoauth2Ir)), {
      ok: true,
      value: { user: 'someuser@example.com', token: 'ya29.vF9dft4qmTc2Nvb3RlckBhdHRhdmlzdGEuY29tCg' },
    });
  });
  it('encodes and decodes the §10 error challenge', () => {
    const e = encodeXOAuth2Failure({ status: '401', schemes: 'bearer', scope: 'https://mail.google.com/' });
    assert.equal(encodeBase64(e), V.xoauth2Error);
    assert.deepEqual(decodeXOAuth2Failure(e), { ok: true, value: { status: '401', schemes: 'bearer', scope: 'https://mail.google.com/' } });
  });
  for (const [name, text] of [
    ['no user', 'auth=Bearer x\x01\x01'],
    ['no auth', 'user=a\x01\x01'],
    ['no terminator', 'user=a\x01auth=Bearer x'],
    ['GS2 header', 'n,,\x01user=a\x01auth=Bearer x\x01\x01'],
  ]) {
    it(`rejects ${name}`, () => assert.equal(decodeXOAuth2(bytes(text!)).ok, false));
  }
});

describe('SASL exchange', () => {
  const ALL = ['PLAIN', 'LOGIN', 'OAUTHBEARER', 'XOAUTH2'];
  it('PLAIN with an initial response yields credentials at once', () => {
    const ex = new SaslExchange('plain', ALL);
    const step = ex.begin(V.plain);
    assert.deepEqual(step, {
      kind: 'credentials',
      credentials: { kind: 'password', username: 'alice@example.com', password: 's3cret', mechanism: 'PLAIN' },
    });
    assert.equal(ex.finished, true);
  });
  it('PLAIN without an initial response sends an empty challenge first', () => {
    const ex = new SaslExchange('PLAIN', ALL);
    assert.deepEqual(ex.begin(), { kind: 'challenge', data: new Uint8Array(), text: '' });
    const step = ex.respond(V.plain);
    assert.equal(step.kind, 'credentials');
  });
  it('PLAIN with authzid passes it through', () => {
    const ex = new SaslExchange('PLAIN', ALL);
    const step = ex.begin(encodeBase64(encodePlain({ authzid: 'b@x.test', authcid: 'a@x.test', password: 'pw' })));
    assert.ok(step.kind === 'credentials' && step.credentials.kind === 'password');
    assert.equal(step.credentials.authzid, 'b@x.test');
  });
  it('LOGIN asks Username: then Password:', () => {
    const ex = new SaslExchange('LOGIN', ALL);
    const s1 = ex.begin();
    assert.equal(s1.kind === 'challenge' && s1.text, 'VXNlcm5hbWU6');
    const s2 = ex.respond(b64('alice@example.com'));
    assert.equal(s2.kind === 'challenge' && s2.text, 'UGFzc3dvcmQ6');
    assert.deepEqual(ex.respond(b64('s3cret')), {
      kind: 'credentials',
      credentials: { kind: 'password', username: 'alice@example.com', password: 's3cret', mechanism: 'LOGIN' },
    });
  });
  it('LOGIN accepts the user name as initial response', () => {
    const ex = new SaslExchange('LOGIN', ALL);
    const s1 = ex.begin(b64('alice@example.com'));
    assert.equal(s1.kind === 'challenge' && s1.text, 'UGFzc3dvcmQ6');
    assert.equal(ex.respond(b64('pw')).kind, 'credentials');
  });
  it('OAUTHBEARER success path yields bearer credentials with host and port', () => {
    const ex = new SaslExchange('OAUTHBEARER', ALL);
    assert.deepEqual(ex.begin(V.oauthbearerIr), {
      kind: 'credentials',
      credentials: {
        kind: 'bearer',
        token: TOKEN,
        username: 'alice@example.com',
        host: 'imap.example.com',
        port: 993,
        mechanism: 'OAUTHBEARER',
      },
    });
  });
  it('OAUTHBEARER failure: JSON challenge, 0x01, then failure (STANDARDS §2.4)', () => {
    const ex = new SaslExchange('OAUTHBEARER', ALL);
    assert.equal(ex.begin(V.oauthbearerIr).kind, 'credentials');
    const c = ex.reject({
      status: 'invalid_token',
      scope: 'urn:ietf:params:oauth:scope:mail',
      openidConfiguration: 'https://auth.example.com/.well-known/openid-configuration',
    });
    assert.deepEqual(c.kind === 'challenge' && c.text, V.oauthbearerError);
    assert.equal(ex.finished, false);
    const end = ex.respond(V.dummy);
    assert.deepEqual(end, { kind: 'failed', reason: 'authentication_failed', detail: 'authentication failed' });
    assert.equal(ex.respond(V.dummy).kind, 'failed');
  });
  it('OAUTHBEARER failure can be aborted with *', () => {
    const ex = new SaslExchange('OAUTHBEARER', ALL);
    ex.begin(V.oauthbearerIr);
    ex.reject({ status: 'invalid_token' });
    assert.equal((ex.respond('*') as { reason: string }).reason, 'cancelled');
  });
  it('XOAUTH2 failure: status/schemes/scope challenge, empty response, failure', () => {
    const ex = new SaslExchange('XOAUTH2', ALL);
    assert.equal(ex.begin(V.xoauth2Ir).kind, 'credentials');
    const c = ex.reject({ status: 'invalid_token', scope: 'https://mail.google.com/' });
    assert.equal(c.kind === 'challenge' && c.text, V.xoauth2Error);
    assert.equal((ex.respond('') as { reason: string }).reason, 'authentication_failed');
  });
  it('a rejected PLAIN exchange fails without a challenge', () => {
    const ex = new SaslExchange('PLAIN', ALL);
    ex.begin(V.plain);
    assert.equal((ex.reject({ status: 'invalid_token' }) as { reason: string }).reason, 'authentication_failed');
  });
  const failures: Array<[string, string, string | undefined, string | undefined, string]> = [
    ['unknown mechanism', 'CRAM-MD5', undefined, undefined, 'unsupported_mechanism'],
    ['mechanism not offered', 'XOAUTH2', V.xoauth2Ir, undefined, 'unsupported_mechanism'],
    ['bad base64 IR', 'PLAIN', 'AG$$', undefined, 'invalid_base64'],
    ['bad base64 response', 'PLAIN', undefined, 'AGFs=aWNl', 'invalid_base64'],
    ['cancel', 'PLAIN', undefined, '*', 'cancelled'],
    ['zero-length IR', 'PLAIN', '=', undefined, 'malformed'],
    ['dummy as first message', 'OAUTHBEARER', 'AQ==', undefined, 'malformed'],
    ['malformed OAUTHBEARER', 'OAUTHBEARER', b64('n,,\x01auth=Bearer x\x01'), undefined, 'malformed'],
  ];
  for (const [name, mech, ir, response, reason] of failures) {
    it(`fails on ${name} with ${reason}`, () => {
      const ex = new SaslExchange(mech, name === 'mechanism not offered' ? ['PLAIN'] : ALL);
      let step = ex.begin(ir);
      if (response !== undefined) step = ex.respond(response);
      assert.equal(step.kind, 'failed');
      assert.equal((step as { reason: string }).reason, reason);
    });
  }
  it('answers protocol_error when used out of order', () => {
    const ex = new SaslExchange('PLAIN', ALL);
    assert.equal((ex.respond(V.plain) as { reason: string }).reason, 'protocol_error');
    const ex2 = new SaslExchange('PLAIN', ALL);
    ex2.begin(V.plain);
    assert.equal((ex2.begin(V.plain) as { reason: string }).reason, 'protocol_error');
  });
});
