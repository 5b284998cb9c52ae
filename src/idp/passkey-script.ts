import { createHash } from 'node:crypto';

/**
 * The one script of the sign-in and account pages: runs the WebAuthn ceremony of a form marked
 * `data-webauthn="create|get"` with the options in `data-options` (WebAuthn Level 3 §5.1.3,
 * §5.1.4), and posts the credential as JSON in the form's `webauthn` field. Served from this
 * origin under a hashed name, so the pages' CSP allows it with `script-src 'self'` only.
 */
export const PASSKEY_JS = `'use strict';
(() => {
  const b64 = (buf) => btoa(String.fromCharCode(...new Uint8Array(buf))).replace(/\\+/g, '-').replace(/\\//g, '_').replace(/=+$/, '');
  const bin = (s) => Uint8Array.from(atob(s.replace(/-/g, '+').replace(/_/g, '/') + '==='.slice((s.length + 3) % 4)), (c) => c.charCodeAt(0));
  const ids = (list) => (list || []).map((c) => ({ ...c, id: bin(c.id) }));
  for (const form of document.querySelectorAll('form[data-webauthn]')) {
    const status = form.querySelector('[data-webauthn-status]');
    form.addEventListener('submit', async (event) => {
      event.preventDefault();
      if (!window.PublicKeyCredential) {
        status.textContent = 'This browser cannot use passkeys.';
        return;
      }
      const o = JSON.parse(form.dataset.options);
      o.challenge = bin(o.challenge);
      try {
        let cred;
        if (form.dataset.webauthn === 'create') {
          o.user.id = bin(o.user.id);
          o.excludeCredentials = ids(o.excludeCredentials);
          cred = await navigator.credentials.create({ publicKey: o });
        } else {
          o.allowCredentials = ids(o.allowCredentials);
          cred = await navigator.credentials.get({ publicKey: o });
        }
        const r = cred.response;
        const response = { clientDataJSON: b64(r.clientDataJSON) };
        if (r.attestationObject) {
          response.attestationObject = b64(r.attestationObject);
          response.transports = r.getTransports ? r.getTransports() : [];
        } else {
          response.authenticatorData = b64(r.authenticatorData);
          response.signature = b64(r.signature);
          if (r.userHandle) response.userHandle = b64(r.userHandle);
        }
        const json = { id: cred.id, rawId: b64(cred.rawId), type: cred.type, response, clientExtensionResults: cred.getClientExtensionResults() };
        if (cred.authenticatorAttachment) json.authenticatorAttachment = cred.authenticatorAttachment;
        form.querySelector('input[name=webauthn]').value = JSON.stringify(json);
        status.textContent = 'Checking…';
        form.submit();
      } catch (err) {
        status.textContent = 'No passkey was used (' + err.name + '). Try again or use another way.';
      }
    });
  }
})();
`;

/** Where the script is served (under the provider's interaction pages); the name carries its hash. */
export function passkeyScriptPath(mountPath: string): string {
  return `${mountPath}/interaction/assets/passkey-${createHash('sha256').update(PASSKEY_JS).digest('hex').slice(0, 12)}.js`;
}
