// The asking side of a domain whose users sign in with an external issuer: other domains verify
// assertions against the issuer that domain's WebFinger names, whose keys this server does not
// hold, so remote attendees are reported as federation-unavailable (saying why) and never asked.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { caFetch } from '../helpers/https-fetch.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';

const PASSWORD = 'correct horse battery staple';

describe('free/busy asking side with an external issuer for the domain', () => {
  let server: TestServer;
  before(async () => {
    server = await startTestServer({
      domain: 'example.test',
      overrides: { auth: { issuers: [{ issuer: 'https://sso.example.invalid/realms/mail', domains: ['example.test'] }] } },
    });
    await server.services.accounts.addUser({ address: 'alice@example.test', password: PASSWORD });
  });
  after(() => server?.close());

  it('reports remote attendees as federation-unavailable and still answers for local ones', async () => {
    const res = await caFetch(server.ca)(`${server.baseUrl}/calendar/availability`, {
      method: 'POST',
      headers: {
        authorization: `Basic ${Buffer.from(`alice@example.test:${PASSWORD}`).toString('base64')}`,
        'content-type': 'application/json',
      },
      body: JSON.stringify({
        attendees: ['bob@two.example.invalid', 'alice@example.test'],
        start: '2026-11-02T00:00:00Z',
        end: '2026-11-03T00:00:00Z',
      }),
    });
    assert.equal(res.status, 200);
    const body = (await res.json()) as { attendees: Array<{ address: string; status: string; reason?: string; detail?: string }> };
    const [bob, alice] = body.attendees;
    assert.deepEqual([bob!.status, bob!.reason], ['unknown', 'federation-unavailable']);
    assert.match(bob!.detail!, /example\.test signs in with an external issuer/);
    assert.equal(alice!.status, 'known');
  });
});
