// Redirects of self-registered clients (RFC 7591, RFC 8252 §7, RFC 9700 §4.11.2): a stranger's
// client may not turn the provider's logout (or sign-in) into a redirect to a web site of theirs.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { caFetch, FormBrowser, formAction, hiddenInput } from '../helpers/https-fetch.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';

const EVIL = 'https://evil.example/';

describe('embedded OpenID provider: redirects of self-registered clients', () => {
  let server: TestServer;
  let issuer: string;
  let fetch: ReturnType<typeof caFetch>;

  const register = async (body: Record<string, unknown>) => {
    const res = await fetch(`${issuer}/reg`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
    return { status: res.status, body: (await res.json()) as { client_id?: string; error?: string; error_description?: string } };
  };

  /**
   * Runs RP-initiated logout as a browser without a provider session would: the end-session
   * request, the auto-submitted confirmation form, then redirects. Returns where it ends.
   */
  const logout = async (params: Record<string, string>): Promise<{ status: number; location: string | null; body: string }> => {
    const browser = new FormBrowser(server.ca);
    const start = await browser.request(`${issuer}/session/end?${new URLSearchParams(params)}`);
    const page = await start.text();
    if (start.status !== 200) return { status: start.status, location: start.headers.get('location'), body: page };
    const action = formAction(page, '/session/end/confirm');
    assert.ok(action, `a confirmation form: ${page.slice(0, 300)}`);
    const confirmed = await browser.request(new URL(action, issuer), {
      form: { xsrf: hiddenInput(page, 'xsrf') ?? '', logout: hiddenInput(page, 'logout') ?? 'yes' },
    });
    return { status: confirmed.status, location: confirmed.headers.get('location'), body: await confirmed.text() };
  };

  before(async () => {
    server = await startTestServer();
    issuer = `${server.baseUrl}/oidc`;
    fetch = caFetch(server.ca);
  });

  after(async () => {
    await server.close();
  });

  it("the logout request with a self-registered client's post_logout_redirect_uri never ends on that site", async () => {
    const theirs = await register({ redirect_uris: ['http://127.0.0.1/cb'], post_logout_redirect_uris: [EVIL] });
    // Either the registration is refused, or the redirect is: try the attack with whatever client exists.
    const clientId =
      theirs.body.client_id ?? (await register({ redirect_uris: ['http://127.0.0.1/cb'], client_name: 'innocent' })).body.client_id!;
    const end = await logout({ client_id: clientId, post_logout_redirect_uri: EVIL });
    assert.ok(!end.location?.startsWith(EVIL), `logout ended on ${end.location}`);
    assert.doesNotMatch(end.body, /evil\.example/);

    assert.equal(theirs.status, 400, 'the registration itself is refused');
    assert.equal(theirs.body.error, 'invalid_client_metadata');
    assert.match(theirs.body.error_description ?? '', /post_logout_redirect_uris/);
  });

  it('post-logout redirects follow the rule of redirect URIs: loopback and reverse-domain schemes pass, web sites do not', async () => {
    const refusedRedirect = await register({ redirect_uris: ['https://evil.example/cb'] });
    assert.equal(refusedRedirect.status, 400, 'a claimed https redirect would let prompt=none errors land on any site');
    assert.equal(refusedRedirect.body.error, 'invalid_redirect_uri');
    for (const uri of ['x-safari-https://evil.example/', 'intent://evil.example/#Intent;scheme=https;end', 'javascript:alert(1)']) {
      const r = await register({ redirect_uris: ['http://127.0.0.1/cb'], post_logout_redirect_uris: [uri] });
      assert.equal(r.status, 400, uri);
      const s = await register({ redirect_uris: [uri] });
      assert.equal(s.status, 400, uri);
    }

    const app = await register({
      redirect_uris: ['com.example.mail:/oauth2redirect', 'http://127.0.0.1/cb'],
      post_logout_redirect_uris: ['http://127.0.0.1/signed-out', 'com.example.mail:/signed-out'],
    });
    assert.equal(app.status, 201, JSON.stringify(app.body));
    const end = await logout({ client_id: app.body.client_id!, post_logout_redirect_uri: 'http://127.0.0.1/signed-out', state: 'st' });
    assert.equal(end.status, 303);
    assert.equal(end.location, 'http://127.0.0.1/signed-out?state=st', 'a registered loopback post-logout redirect still works');
  });

  it('clients the administrator adds may still use web-site redirects', async () => {
    const client = await server.services.idp.clients.add({
      name: 'Webmail',
      redirectUris: ['https://webmail.example.test/cb'],
      postLogoutRedirectUris: ['https://webmail.example.test/'],
      public: false,
    });
    const end = await logout({ client_id: client.info.clientId, post_logout_redirect_uri: 'https://webmail.example.test/' });
    assert.equal(end.location, 'https://webmail.example.test/');
  });
});
