// fingerpost setup snippets: what each mail client reads, with tokens from
// `fingerpost token --service`, implicit TLS and STARTTLS endpoints, a private CA, odd addresses.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { clientExitCode } from '../../../src/client/errors.ts';
import { shellWord, tokenCommand } from '../../../src/client/setup/common.ts';
import { snippet } from '../../../src/client/setup/index.ts';
import type { AccountFile } from '../../../src/client/store/account.ts';
import { account } from './fixture.ts';

const A = account('alice@example.test', { kind: 'file', reason: 't' });
const STARTTLS: AccountFile = {
  ...A,
  services: [
    {
      protocol: 'imap',
      host: 'mail.example.test',
      port: 143,
      tls: 'starttls',
      auth: ['OAUTHBEARER'],
      resource: 'imap://mail.example.test',
    },
    {
      protocol: 'submission',
      host: 'mail.example.test',
      port: 587,
      tls: 'starttls',
      auth: ['XOAUTH2'],
      resource: 'smtp://mail.example.test',
    },
  ],
};

describe('setup snippets', () => {
  it('says what keeps the token passphrase unlocked, since the mail client cannot show a prompt', () => {
    const age = account('alice@example.test', { kind: 'age', workFactor: 18, reason: 't' });
    for (const client of ['mutt', 'msmtp', 'mbsync', 'aerc'] as const)
      assert.match(snippet(client, { account: age, command: 'fingerpost' }), /fingerpost agent unlock alice@example\.test/);
    const command = account('alice@example.test', { kind: 'age', workFactor: 18, passphraseCommand: 'pass show fp', reason: 't' });
    assert.match(snippet('mutt', { account: command, command: 'fingerpost' }), /passphrase comes from the passphrase command/);
    assert.doesNotMatch(snippet('mutt', { account: A, command: 'fingerpost' }), /agent unlock/);
  });

  it('refuses an account without the services the client needs (exit 1), never a snippet that cannot work', () => {
    const none: AccountFile = { ...A, services: [] };
    for (const client of ['mutt', 'neomutt', 'msmtp', 'mbsync', 'aerc'] as const)
      assert.throws(
        () => snippet(client, { account: none, command: 'fingerpost' }),
        (err: Error) => /learned no services at all/.test(err.message) && clientExitCode(err) === 1,
      );
    const sendOnly: AccountFile = { ...A, services: A.services.filter((s) => s.protocol === 'submission') };
    assert.throws(() => snippet('mutt', { account: sendOnly, command: 'fingerpost' }), /has no imap or pop3 service/);
    assert.match(snippet('msmtp', { account: sendOnly, command: 'fingerpost' }), /^account alice@example\.test$/m);
  });

  it('mutt: IMAPS folder, SMTPS URL with the address escaped, refresh commands per service, TLS forced', () => {
    const s = snippet('mutt', { account: A, command: 'fingerpost' });
    assert.match(s, /^set folder = "imaps:\/\/alice%40example\.test@mail\.example\.test:993\/"$/m);
    assert.match(s, /^set imap_authenticators = "oauthbearer"$/m);
    assert.match(s, /^set imap_oauth_refresh_command = "fingerpost token alice@example\.test --service imap"$/m);
    assert.match(s, /^set smtp_url = "smtps:\/\/alice%40example\.test@mail\.example\.test:465\/"$/m);
    assert.match(s, /^set smtp_oauth_refresh_command = "fingerpost token alice@example\.test --service smtp"$/m);
    assert.match(s, /^set ssl_force_tls = yes$/m);
    assert.doesNotMatch(s, /ssl_starttls/);
  });

  it('mutt and neomutt: STARTTLS endpoints, the mechanism each service offers, a CA file', () => {
    for (const client of ['mutt', 'neomutt'] as const) {
      const s = snippet(client, { account: STARTTLS, command: 'fingerpost', ca: '/etc/ssl/my ca.pem' });
      assert.match(s, /^set folder = "imap:\/\/alice%40example\.test@mail\.example\.test:143\/"$/m);
      assert.match(s, /^set ssl_starttls = yes$/m);
      assert.match(s, /^set smtp_authenticators = "xoauth2"$/m);
      assert.match(s, /^set ssl_ca_certificates_file = "\/etc\/ssl\/my ca\.pem"$/m);
      assert.match(s, /--service imap --ca '\/etc\/ssl\/my ca\.pem'"$/m);
    }
  });

  it('msmtp: submission with passwordeval and the right TLS mode', () => {
    const s = snippet('msmtp', { account: A, command: 'fingerpost' });
    assert.match(s, /^account alice@example\.test$/m);
    assert.match(s, /^port 465$/m);
    assert.match(s, /^tls_starttls off$/m);
    assert.match(s, /^auth oauthbearer$/m);
    assert.match(s, /^passwordeval "fingerpost token alice@example\.test --service smtp"$/m);
    const t = snippet('msmtp', { account: STARTTLS, command: 'fingerpost', ca: '/ca.pem' });
    assert.match(t, /^tls_starttls on$/m);
    assert.match(t, /^auth xoauth2$/m);
    assert.match(t, /^tls_trust_file \/ca\.pem$/m);
  });

  it('mbsync: PassCmd, AuthMechs, SSLType, a maildir channel', () => {
    const s = snippet('mbsync', { account: A, command: 'fingerpost' });
    assert.match(s, /^IMAPAccount alice@example\.test$/m);
    assert.match(s, /^PassCmd "fingerpost token alice@example\.test --service imap"$/m);
    assert.match(s, /^AuthMechs OAUTHBEARER$/m, 'OAUTHBEARER when XOAUTH2 is not offered');
    const both = { ...A, services: [{ ...A.services[0]!, auth: ['OAUTHBEARER', 'XOAUTH2'] }] };
    assert.match(
      snippet('mbsync', { account: both, command: 'fingerpost' }),
      /^AuthMechs XOAUTH2$/m,
      'XOAUTH2, which Cyrus SASL plugins implement',
    );
    assert.match(s, /^SSLType IMAPS$/m);
    assert.match(s, /^Channel alice@example\.test$/m);
    assert.match(snippet('mbsync', { account: STARTTLS, command: 'fingerpost' }), /^SSLType STARTTLS$/m);
  });

  it('aerc: +oauthbearer URLs and cred commands', () => {
    const s = snippet('aerc', { account: A, command: 'fingerpost' });
    assert.match(s, /^\[alice@example\.test\]$/m);
    assert.match(s, /^source = imaps\+oauthbearer:\/\/alice%40example\.test@mail\.example\.test:993$/m);
    assert.match(s, /^source-cred-cmd = fingerpost token alice@example\.test --service imap$/m);
    assert.match(s, /^outgoing = smtps\+oauthbearer:\/\/alice%40example\.test@mail\.example\.test:465$/m);
    assert.match(snippet('aerc', { account: STARTTLS, command: 'fingerpost' }), /^outgoing = smtp\+xoauth2:\/\//m);
  });

  it('quotes what a shell or muttrc would otherwise interpret', () => {
    assert.equal(shellWord("o'brien@example.test"), `'o'\\''brien@example.test'`);
    assert.equal(shellWord('a$b@example.test'), `'a$b@example.test'`);
    const odd = { ...A, address: 'a$b`c@example.test' };
    assert.equal(tokenCommand({ account: odd, command: 'fingerpost' }, 'imap'), "fingerpost token 'a$b`c@example.test' --service imap");
    const s = snippet('mutt', { account: odd, command: 'fingerpost' });
    assert.match(s, /^set imap_oauth_refresh_command = "fingerpost token 'a\\\$b\\`c@example\.test' --service imap"$/m);
  });
});
