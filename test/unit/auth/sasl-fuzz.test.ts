// A bounded, seeded fuzz run: the SASL decoders and the exchange return typed results for any
// input and never throw (issue 3, "Bad input").
import assert from 'node:assert/strict';
import { it } from 'node:test';
import { parseBasic } from '../../../src/auth/http/authenticator.ts';
import { decodeBase64, encodeBase64 } from '../../../src/auth/sasl/base64.ts';
import { SaslExchange } from '../../../src/auth/sasl/exchange.ts';
import { decodeLoginField } from '../../../src/auth/sasl/login.ts';
import { decodeOAuthBearer, decodeOAuthBearerFailure, encodeOAuthBearer } from '../../../src/auth/sasl/oauthbearer.ts';
import { decodePlain } from '../../../src/auth/sasl/plain.ts';
import { parseWwwAuthenticate } from '../../../src/auth/sasl/www-authenticate.ts';
import { decodeXOAuth2, decodeXOAuth2Failure } from '../../../src/auth/sasl/xoauth2.ts';
import { prng } from '../../helpers/prng.ts';

const ITERATIONS = 4000;

const SEED = Number(process.env.FP_FUZZ_SEED ?? 0x5a51);
const rand = prng(SEED);
const int = (n: number) => Math.floor(rand() * n);
const ALPHABET = ['\x01', '\0', '=', ',', 'a', 'n', 'auth', 'Bearer ', 'host', 'port=', '=2C', '=3D', '\r', ' ', '{', '"', 'é', '\xff'];
const VALID = encodeOAuthBearer({ authzid: 'a@b.c', host: 'h', port: 1, token: 'tok' });

function randomBytes(): Uint8Array {
  switch (int(4)) {
    case 0:
      return Uint8Array.from({ length: int(64) }, () => int(256));
    case 1: {
      const parts = Array.from({ length: int(12) }, () => ALPHABET[int(ALPHABET.length)]!);
      return new Uint8Array(Buffer.from(parts.join(''), 'utf8'));
    }
    case 2: {
      // mutate a valid message
      const b = Uint8Array.from(VALID);
      for (let i = 0; i < 1 + int(3); i++) b[int(b.length)] = int(256);
      return b;
    }
    default:
      return VALID.subarray(0, int(VALID.length));
  }
}

function randomText(): string {
  const chars = 'AQIDBA==+/=*-_ \t\r\nABCxyz09\u0000é';
  return Array.from({ length: int(40) }, () => chars[int(chars.length)]).join('');
}

it(`decoders return typed results for ${ITERATIONS} random inputs (seed ${SEED})`, () => {
  for (let i = 0; i < ITERATIONS; i++) {
    const input = randomBytes();
    for (const decode of [
      decodePlain,
      decodeOAuthBearer,
      decodeXOAuth2,
      decodeOAuthBearerFailure,
      decodeXOAuth2Failure,
      (b: Uint8Array) => decodeLoginField(b, 'password'),
    ]) {
      const r = decode(input);
      assert.equal(typeof r.ok, 'boolean');
      if (!r.ok) assert.ok(['invalid_base64', 'invalid_utf8', 'malformed', 'too_long'].includes(r.code));
    }
    const text = randomText();
    const d = decodeBase64(text);
    if (d.ok) assert.equal(encodeBase64(d.value), text, 'accepted base64 is canonical');
    const challenges = parseWwwAuthenticate(text);
    assert.ok(Array.isArray(challenges));
    const basic = parseBasic(int(2) ? text : encodeBase64(input));
    assert.ok(basic === undefined || (basic.username.length > 0 && basic.password.length > 0));
  }
});

it(`the exchange never throws on ${ITERATIONS} random conversations (seed ${SEED})`, () => {
  const mechs = ['PLAIN', 'LOGIN', 'OAUTHBEARER', 'XOAUTH2', 'plain', 'X'];
  for (let i = 0; i < ITERATIONS / 4; i++) {
    const ex = new SaslExchange(mechs[int(mechs.length)]!, ['PLAIN', 'LOGIN', 'OAUTHBEARER', 'XOAUTH2']);
    const lines = () => (int(2) ? encodeBase64(randomBytes()) : randomText());
    let step = ex.begin(int(2) ? lines() : undefined);
    for (let n = 0; n < 4; n++) {
      assert.ok(['challenge', 'credentials', 'failed'].includes(step.kind));
      if (step.kind === 'credentials') step = ex.reject(int(2) ? { status: 'invalid_token' } : undefined);
      else step = ex.respond(lines());
    }
  }
});
