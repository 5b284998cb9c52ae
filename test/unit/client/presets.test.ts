// Provider presets: which addresses they cover, and that they carry endpoints and scopes but no
// client id (the user brings their own).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { findPreset } from '../../../src/client/oauth/presets.ts';

describe('provider presets', () => {
  it('match Gmail and Outlook.com addresses, and --provider for other domains', () => {
    assert.equal(findPreset(undefined, 'gmail.com')?.name, 'google');
    assert.equal(findPreset(undefined, 'hotmail.com')?.name, 'microsoft');
    assert.equal(findPreset(undefined, 'example.com'), undefined);
    assert.equal(findPreset('google', 'example.com')?.name, 'google');
    assert.equal(findPreset('nope', 'example.com'), undefined);
  });

  it('use the consumers tenant for personal Microsoft accounts, common or the given tenant otherwise', () => {
    assert.equal(
      findPreset(undefined, 'outlook.com')?.metadata?.token_endpoint,
      'https://login.microsoftonline.com/consumers/oauth2/v2.0/token',
    );
    assert.equal(findPreset('microsoft', 'contoso.com')?.issuer, 'https://login.microsoftonline.com/common/v2.0');
    assert.equal(
      findPreset('microsoft', 'contoso.com', 'contoso.onmicrosoft.com')?.metadata?.device_authorization_endpoint,
      'https://login.microsoftonline.com/contoso.onmicrosoft.com/oauth2/v2.0/devicecode',
    );
  });

  it('carry the documented scopes and hosts, XOAUTH2, and no client id', () => {
    const g = findPreset('google', 'gmail.com')!;
    assert.deepEqual(g.scopes, ['https://mail.google.com/']);
    assert.deepEqual(g.flows, ['loopback', 'paste'], 'Google’s device flow does not allow the Gmail scope');
    assert.equal(g.authParams.access_type, 'offline');
    const m = findPreset('microsoft', 'outlook.com')!;
    assert.ok(m.scopes.includes('https://outlook.office.com/SMTP.Send') && m.scopes.includes('offline_access'));
    assert.ok(m.services.some((s) => 'host' in s && s.host === 'smtp.office365.com' && s.port === 587 && s.tls === 'starttls'));
    for (const p of [g, m]) {
      assert.equal(p.sasl, 'XOAUTH2');
      assert.ok(!JSON.stringify(p).match(/client_?id"\s*:/i), 'no client id is shipped');
    }
  });
});
