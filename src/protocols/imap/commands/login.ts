import { NOT_AUTHENTICATED } from '../state.ts';
import { command, no } from '../context.ts';
import { signInAnswer } from './sign-in.ts';

/**
 * LOGIN (RFC 9051 §6.2.3): only over TLS (LOGINDISABLED on cleartext, RFC 9051 §11.7) and only
 * where the listener allows passwords; the auth core checks the password or app password.
 */
export const login = command({
  names: ['LOGIN'],
  states: NOT_AUTHENTICATED,
  async run(ctx, cmd) {
    if (!ctx.secure) {
      ctx.authFailed();
      return no('Use STARTTLS first: no passwords on a cleartext connection', 'PRIVACYREQUIRED');
    }
    if (!ctx.deps.auth.policy(ctx.listener).plain) {
      ctx.authFailed();
      return no('Passwords are not accepted here; use AUTHENTICATE', 'CANNOT');
    }
    const outcome = await ctx.deps.auth.authenticate(
      { kind: 'password', username: cmd.username, password: cmd.password, mechanism: 'IMAP-LOGIN' },
      ctx.authContext,
    );
    return signInAnswer(ctx, outcome);
  },
});
