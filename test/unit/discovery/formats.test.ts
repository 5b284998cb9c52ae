import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createHash, X509Certificate } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import { XMLParser } from 'fast-xml-parser';
import { loadConfig } from '../../../src/config/load.ts';
import { autoconfigXml } from '../../../src/discovery/autoconfig.ts';
import { readAutoconfig } from '../../../src/discovery/client/readers.ts';
import { OUTLOOK_NS, parsePoxRequest, poxResponse, RESPONSE_NS, v2Answer } from '../../../src/discovery/autodiscover.ts';
import { configDocument } from '../../../src/discovery/config-document.ts';
import { mobileconfig } from '../../../src/discovery/mobileconfig.ts';
import { paccBody, paccDigest, paccTxt } from '../../../src/discovery/pacc.ts';
import { domainServices, issuerForDomain } from '../../../src/discovery/services.ts';
import { ensureLocalTls } from '../../../src/net/local-ca.ts';
import { commandSkip } from '../../helpers/peers.ts';

const config = (overrides: Record<string, unknown> = {}) =>
  loadConfig({
    dataDir: '/nonexistent',
    env: {},
    overrides: {
      server: { hostname: 'mail.example.net', name: 'Example Mail' },
      imap: { port: 143, tls_port: 993 },
      pop3: { port: 110, tls_port: 995 },
      submission: { port: 587, tls_port: 465 },
      http: { port: 443 },
      ...overrides,
    },
  });

/** Python's own parsers (xml.etree, plistlib) as an independent reader of what we generate. */
function python(script: string, input: string): unknown {
  const r = spawnSync('python3', ['-c', script], { input, encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  return JSON.parse(r.stdout);
}

const READ_AUTOCONFIG = `
import sys, json, xml.etree.ElementTree as ET
root = ET.fromstring(sys.stdin.buffer.read())
p = root.find('emailProvider')
def server(s):
    return {'type': s.get('type'), 'hostname': s.findtext('hostname'), 'port': s.findtext('port'), 'url': s.findtext('url'),
            'socketType': s.findtext('socketType'), 'auth': [a.text for a in s.findall('authentication')], 'username': s.findtext('username')}
print(json.dumps({'version': root.get('version'), 'id': p.get('id'), 'domains': [d.text for d in p.findall('domain')],
  'displayName': p.findtext('displayName'), 'displayShortName': p.findtext('displayShortName'),
  'incoming': [server(s) for s in p.findall('incomingServer')], 'outgoing': [server(s) for s in p.findall('outgoingServer')],
  'issuer': root.findtext('oAuth2/issuer'), 'scope': root.findtext('oAuth2/scope'),
  'authURL': root.findtext('oAuth2/authURL'), 'tokenURL': root.findtext('oAuth2/tokenURL')}))
`;

// biome-ignore lint/suspicious/noExplicitAny: documents read back by Python's parsers are untyped JSON
type Parsed = any;

describe('Thunderbird config-v1.1.xml', () => {
  const skip = commandSkip('python3', 'python3');
  it('carries what Thunderbird reads: servers in preference order, socket types, OAuth2 first, username', { skip }, () => {
    const c = config();
    const xml = autoconfigXml(domainServices(c, 'example.com'), 'bob+tag@example.com');
    const doc = python(READ_AUTOCONFIG, xml) as Record<string, Parsed>;
    assert.equal(doc.version, '1.2');
    assert.equal(doc.id, 'example.com');
    assert.deepEqual(doc.domains, ['example.com']);
    assert.equal(doc.displayName, 'Example Mail');
    assert.ok(doc.displayShortName.length <= 20);
    const imap = doc.incoming.filter((s: Parsed) => s.type === 'imap');
    assert.deepEqual(
      imap.map((s: Parsed) => [s.hostname, s.port, s.socketType]),
      [
        ['mail.example.net', '993', 'SSL'],
        ['mail.example.net', '143', 'STARTTLS'],
      ],
    );
    assert.deepEqual(imap[0].auth, ['OAuth2', 'password-cleartext']);
    assert.equal(imap[0].username, 'bob+tag@example.com');
    assert.deepEqual(
      doc.incoming.filter((s: Parsed) => s.type === 'pop3').map((s: Parsed) => s.port),
      ['995', '110'],
    );
    const jmap = doc.incoming.find((s: Parsed) => s.type === 'jmap');
    assert.equal(jmap.url, 'https://mail.example.net/.well-known/jmap');
    assert.deepEqual(
      doc.outgoing.map((s: Parsed) => [s.type, s.port, s.socketType]),
      [
        ['smtp', '465', 'SSL'],
        ['smtp', '587', 'STARTTLS'],
      ],
    );
    // The ISPDB shape: the authorization server's host name, and its endpoints.
    assert.equal(doc.issuer, 'mail.example.net');
    assert.equal(doc.authURL, 'https://mail.example.net/oidc/auth');
    assert.equal(doc.tokenURL, 'https://mail.example.net/oidc/token');
    assert.match(doc.scope, /urn:ietf:params:oauth:scope:mail/);
    assert.match(doc.scope, /offline_access/);
    // Fingerpost's own reader gets the issuer URL back from it.
    assert.equal(readAutoconfig(xml, 'bob+tag@example.com')?.issuer, 'https://mail.example.net/oidc');
  });

  it('names an external issuer by host, without endpoints it does not know here', { skip }, () => {
    const c = config({ auth: { issuers: [{ issuer: 'https://sso.corp.example/realms/mail', domains: ['example.com'] }] } });
    const doc = python(READ_AUTOCONFIG, autoconfigXml(domainServices(c, 'example.com'), undefined)) as Record<string, Parsed>;
    assert.equal(doc.issuer, 'sso.corp.example');
    assert.equal(doc.authURL, null);
    assert.equal(doc.tokenURL, null);
  });

  it('keeps %EMAILADDRESS% without an address and drops OAuth2 when OAuth is off', { skip }, () => {
    const doc = python(
      READ_AUTOCONFIG,
      autoconfigXml(domainServices(config({ auth: { oauth: false } }), 'example.com'), undefined),
    ) as Record<string, Parsed>;
    assert.equal(doc.incoming[0].username, '%EMAILADDRESS%');
    assert.deepEqual(doc.incoming[0].auth, ['password-cleartext']);
    assert.equal(doc.issuer, null);
  });

  it('escapes provider names so the XML stays well-formed', () => {
    const xml = autoconfigXml(domainServices(config({ discovery: { provider_name: 'A & B <Mail>' } }), 'example.com'), undefined);
    const parsed = new XMLParser().parse(xml, true);
    assert.equal(parsed.clientConfig.emailProvider.displayName, 'A & B <Mail>');
  });
});

describe('PACC', () => {
  it('the TXT digest is the SHA-256 of exactly the served bytes', () => {
    const body = paccBody(domainServices(config(), 'example.com'));
    const recomputed = createHash('sha256').update(Buffer.from(body, 'utf8')).digest('base64');
    assert.equal(paccDigest(body), recomputed);
    assert.equal(paccTxt(body), `v=UAAC1; a=sha256; d=${recomputed}`);
    const doc = JSON.parse(body);
    assert.deepEqual(doc.protocols.imap, { host: 'mail.example.net' });
    assert.deepEqual(doc.protocols.smtp, { host: 'mail.example.net' });
    assert.equal(doc.protocols.jmap.url, 'https://mail.example.net/jmap/session');
    assert.equal(doc.authentication['oauth-public'].issuer, 'https://mail.example.net/oidc');
    assert.equal(doc.authentication.password, true);
    assert.equal(doc.info.provider.name, 'Example Mail');
    assert.deepEqual(doc.protocols.caldav, { url: 'https://mail.example.net/dav/' });
    assert.deepEqual(doc.protocols.carddav, { url: 'https://mail.example.net/dav/' });
  });
  it('names non-standard ports and is byte-stable', () => {
    const c = config({ imap: { tls_port: 1993 } });
    const a = paccBody(domainServices(c, 'example.com'));
    assert.equal(a, paccBody(domainServices(c, 'example.com')));
    assert.deepEqual(JSON.parse(a).protocols.imap, { host: 'mail.example.net', port: 1993 });
  });
});

describe('issuer per domain', () => {
  it('takes the first external issuer listing the domain, else the embedded one', () => {
    const c = config({
      auth: {
        issuers: [
          { issuer: 'https://sso.corp.example', domains: ['corp.example'] },
          { issuer: 'https://other.example', domains: ['corp.example'] },
        ],
      },
    });
    assert.deepEqual(issuerForDomain(c, 'corp.example'), { issuer: 'https://sso.corp.example', embedded: false });
    assert.deepEqual(issuerForDomain(c, 'example.com'), { issuer: 'https://mail.example.net/oidc', embedded: true });
    assert.equal(issuerForDomain(config({ auth: { oauth: false } }), 'example.com'), undefined);
  });
});

describe('account configuration document', () => {
  it('lists every service with auth, the OAuth request and password facts', () => {
    const doc = configDocument(
      domainServices(config({ discovery: { app_password_url: 'https://mail.example.net/account' } }), 'example.com'),
      'alice@example.com',
    );
    assert.equal(doc.username, 'alice@example.com');
    assert.equal(doc.certificateHost, 'mail.example.net');
    assert.deepEqual(
      doc.services.map((s) => s.protocol),
      ['imap', 'imap', 'pop3', 'pop3', 'submission', 'submission', 'jmap', 'calendar'],
    );
    assert.deepEqual(doc.oauth?.resources, [
      'imap://mail.example.net',
      'pop3://mail.example.net',
      'smtp://mail.example.net',
      'https://mail.example.net/jmap/session',
      'https://mail.example.net/calendar',
    ]);
    assert.equal(doc.oauth?.openidConfiguration, 'https://mail.example.net/oidc/.well-known/openid-configuration');
    assert.equal(doc.password.appPasswordUrl, 'https://mail.example.net/account');
    assert.equal(doc.oneCredential, true);
    const cal = doc.services.find((s) => s.protocol === 'calendar');
    assert.equal(cal && 'url' in cal ? cal.freeBusyUrl : '', 'https://mail.example.net/freebusy/alice@example.com');
  });
  it('per-listener policy shows: passwords off on IMAP means OAuth only there', () => {
    const doc = configDocument(domainServices(config({ imap: { auth_plain: false } }), 'example.com'), undefined);
    assert.deepEqual(doc.services[0]?.auth, ['OAUTHBEARER', 'XOAUTH2']);
    assert.equal(doc.oneCredential, true, 'OAuth still covers everything');
    const noOauth = configDocument(
      domainServices(config({ imap: { auth_plain: false }, pop3: { auth_oauth: false } }), 'example.com'),
      undefined,
    );
    assert.equal(noOauth.oneCredential, false);
  });
});

describe('Microsoft Autodiscover', () => {
  it('reads a POX request, refuses DTDs, and answers with the literal namespaces and SPA off', () => {
    const req = `<?xml version="1.0" encoding="utf-8"?><Autodiscover xmlns="http://schemas.microsoft.com/exchange/autodiscover/outlook/requestschema/2006"><Request><EMailAddress>alice@example.com</EMailAddress><AcceptableResponseSchema>${OUTLOOK_NS}</AcceptableResponseSchema></Request></Autodiscover>`;
    assert.deepEqual(parsePoxRequest(req), { ok: true, email: 'alice@example.com', schema: OUTLOOK_NS });
    assert.equal(parsePoxRequest('<!DOCTYPE x [<!ENTITY a "b">]><Autodiscover/>').ok, false);
    assert.equal(parsePoxRequest('<Autodiscover><Request>').ok, false);
    assert.equal(parsePoxRequest('<Autodiscover/>').ok, false);
    const xml = poxResponse(domainServices(config(), 'example.com'), 'alice@example.com');
    const doc = new XMLParser({ ignoreAttributes: false, parseTagValue: false }).parse(xml, true);
    assert.equal(doc.Autodiscover['@_xmlns'], RESPONSE_NS);
    assert.equal(doc.Autodiscover.Response['@_xmlns'], OUTLOOK_NS);
    const protocols = doc.Autodiscover.Response.Account.Protocol;
    assert.deepEqual(
      protocols.map((p: Parsed) => [p.Type, p.Port, p.SPA, p.SSL, p.LoginName]),
      [
        ['IMAP', '993', 'off', 'on', 'alice@example.com'],
        ['POP3', '995', 'off', 'on', 'alice@example.com'],
        ['SMTP', '465', 'off', 'on', 'alice@example.com'],
      ],
    );
  });
  it('v2 JSON points AutodiscoverV1 at the POX endpoint and refuses other protocols', () => {
    assert.deepEqual(v2Answer('https://m', 'autodiscoverv1'), {
      status: 200,
      body: { Protocol: 'AutodiscoverV1', Url: 'https://m/autodiscover/autodiscover.xml' },
    });
    assert.equal(v2Answer('https://m', 'ActiveSync').status, 400);
  });
});

describe('Apple .mobileconfig', () => {
  const skip = commandSkip('python3', 'python3');
  it('is a plist Apple tooling reads, with IMAP and SMTP over TLS and no password', { skip }, () => {
    const xml = mobileconfig(domainServices(config(), 'example.com'), 'alice@example.com');
    assert.ok(xml);
    const doc = python(
      'import sys, json, plistlib; print(json.dumps(plistlib.loads(sys.stdin.buffer.read()), default=str))',
      xml,
    ) as Record<string, Parsed>;
    assert.equal(doc.PayloadType, 'Configuration');
    const mail = doc.PayloadContent[0];
    assert.equal(mail.PayloadType, 'com.apple.mail.managed');
    assert.equal(mail.EmailAccountType, 'EmailTypeIMAP');
    assert.equal(mail.IncomingMailServerPortNumber, 993);
    assert.equal(mail.IncomingMailServerUseSSL, true);
    assert.equal(mail.OutgoingMailServerPortNumber, 465);
    assert.equal(mail.OutgoingMailServerUseSSL, true);
    assert.equal(mail.IncomingMailServerAuthentication, 'EmailAuthPassword');
    assert.equal('IncomingPassword' in mail, false);
    assert.match(mail.PayloadUUID, /^[0-9A-F]{8}-[0-9A-F]{4}-5[0-9A-F]{3}-[89AB][0-9A-F]{3}-[0-9A-F]{12}$/);
    assert.notEqual(mail.PayloadUUID, doc.PayloadUUID);
    const [caldav, carddav] = doc.PayloadContent.slice(1);
    assert.equal(caldav.PayloadType, 'com.apple.caldav.account');
    assert.equal(caldav.CalDAVHostName, 'mail.example.net');
    assert.equal(caldav.CalDAVPort, 443);
    assert.equal(caldav.CalDAVUseSSL, true);
    assert.equal(caldav.CalDAVPrincipalURL, 'https://mail.example.net/dav/principals/alice@example.com/');
    assert.equal(caldav.CalDAVUsername, 'alice@example.com');
    assert.equal(carddav.PayloadType, 'com.apple.carddav.account');
    assert.equal(carddav.CardDAVPrincipalURL, 'https://mail.example.net/dav/principals/alice@example.com/');
    assert.equal('CalDAVPassword' in caldav, false);
  });
  it('carries the local CA as a root certificate payload when the server uses it', { skip }, async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'fp-mobileconfig-'));
    try {
      const files = await ensureLocalTls(dir, ['mail.example.com']);
      const pem = await readFile(files.caCert, 'utf8');
      const xml = mobileconfig(domainServices(config(), 'example.com'), 'alice@example.com', pem);
      assert.ok(xml);
      const doc = python(
        'import sys, json, hashlib, plistlib; d = plistlib.loads(sys.stdin.buffer.read()); ca = d["PayloadContent"][1]; ca["PayloadContent"] = hashlib.sha256(ca["PayloadContent"]).hexdigest(); print(json.dumps(d))',
        xml,
      ) as { PayloadContent: Record<string, string>[] };
      const ca = doc.PayloadContent[1]!;
      assert.equal(ca.PayloadType, 'com.apple.security.root');
      assert.equal(ca.PayloadContent, createHash('sha256').update(new X509Certificate(pem).raw).digest('hex'), 'the DER of the CA');
      assert.match(ca.PayloadDisplayName!, /^Fingerpost local CA/);
      assert.notEqual(ca.PayloadUUID, doc.PayloadContent[0]!.PayloadUUID);
      const without = mobileconfig(domainServices(config(), 'example.com'), 'alice@example.com');
      assert.doesNotMatch(without!, /com\.apple\.security\.root/, 'no CA payload for a server with a real certificate');
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
  it('is refused when passwords are off everywhere (the payload cannot carry OAuth)', () => {
    assert.equal(mobileconfig(domainServices(config({ auth: { plain: false } }), 'example.com'), 'alice@example.com'), undefined);
  });
});
