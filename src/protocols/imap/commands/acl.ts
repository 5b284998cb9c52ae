import { isFingerpostError } from '../../../core/errors.ts';
import { ANYONE, negativeOf } from '../../../mail/sharing/identifiers.ts';
import { ALL_RIGHTS, addRights, parseRights, removeRights, showRights } from '../../../mail/sharing/rights.ts';
import { refuseWithout } from '../acl-checks.ts';
import { bad, type CommandContext, command, no, ok, type Tagged } from '../context.ts';
import { resolveMailbox, splitSharedName, type Visible } from '../shared-mailboxes.ts';
import { SIGNED_IN, userOf } from '../state.ts';
import { astr } from '../wire/encoder.ts';

/** The mailbox a command names, or the NO to answer (RFC 4314 §3: NONEXISTENT when not visible). */
async function target(ctx: CommandContext, wire: string): Promise<Visible | Tagged> {
  const user = userOf(ctx.state)!;
  const name = ctx.mailboxFromWire(wire);
  const visible = name === null ? undefined : await resolveMailbox(ctx.deps, user, name);
  return visible ?? no('No such mailbox', 'NONEXISTENT');
}

function isTagged(x: Visible | Tagged): x is Tagged {
  return 'status' in x;
}

/**
 * SETACL, DELETEACL, GETACL, LISTRIGHTS and MYRIGHTS (RFC 4314 §3). Identifiers are account
 * addresses of the owner's domain, `anyone` (every such account) and their negative forms
 * (`-anyone`, `-<address>`, §2). The owner holds every right and cannot change that; the others
 * need the `a` right, MYRIGHTS any right. Rights go out with the obsolete `c` and `d` added
 * (§2.1.1); an unknown right is BAD.
 */
export const acl = command({
  names: ['SETACL', 'DELETEACL', 'GETACL', 'LISTRIGHTS', 'MYRIGHTS'],
  states: SIGNED_IN,
  async run(ctx, cmd): Promise<Tagged> {
    const user = userOf(ctx.state)!;
    const found = await target(ctx, cmd.mailbox);
    if (isTagged(found)) return found;
    const { mailbox, rights } = found;
    const wireName = ctx.mailboxToWire(mailbox.name);
    const sharing = ctx.deps.mail.sharing;
    if (cmd.name === 'MYRIGHTS') {
      ctx.send(`* MYRIGHTS ${wireName} ${showRights(rights)}\r\n`);
      return ok('MYRIGHTS completed');
    }
    const refused = refuseWithout(rights, 'a', cmd.name);
    if (refused) return refused;
    const owner = await sharing.account(mailbox.accountId);
    if (!owner) return no('No such mailbox', 'NONEXISTENT');
    if (cmd.name === 'GETACL') {
      const grants = await sharing.grantsOn(mailbox.id);
      const entries = [`${astr(owner.address, ctx.enc)} ${showRights(ALL_RIGHTS)}`];
      for (const g of grants) entries.push(`${astr(g.grantee.address, ctx.enc)} ${showRights(g.rights)}`);
      for (const e of await sharing.identifierEntriesOn(mailbox.id)) entries.push(`${astr(e.identifier, ctx.enc)} ${showRights(e.rights)}`);
      ctx.send(`* ACL ${wireName} ${entries.join(' ')}\r\n`);
      return ok('GETACL completed');
    }
    const identifier = 'identifier' in cmd ? cmd.identifier : '';
    const negated = negativeOf(identifier);
    // `anyone` and negative entries (RFC 4314 §2) are kept by identifier; accounts by their grant.
    const special = identifier.toLowerCase() === ANYONE ? ANYONE : negated === null ? null : `-${negated.toLowerCase()}`;
    const grantee = special === null ? await sharing.accountByAddress(identifier) : undefined;
    if (cmd.name === 'LISTRIGHTS') {
      // RFC 4314 §3.4: the owner has every right for good; anyone else may be given each right alone.
      const isOwner = grantee?.id === owner.id;
      const required = isOwner ? ALL_RIGHTS : '""';
      const optional = isOwner ? '' : ` ${[...ALL_RIGHTS, 'c', 'd'].join(' ')}`;
      ctx.send(`* LISTRIGHTS ${wireName} ${astr(identifier, ctx.enc)} ${required}${optional}\r\n`);
      return ok('LISTRIGHTS completed');
    }
    let current = '';
    if (special !== null) current = (await sharing.identifierEntriesOn(mailbox.id)).find((e) => e.identifier === special)?.rights ?? '';
    else if (grantee) current = (await sharing.grantsOn(mailbox.id)).find((g) => g.grantee.id === grantee.id)?.rights ?? '';
    let wanted = '';
    if ('rights' in cmd) {
      const mode = cmd.rights.startsWith('+') ? 'add' : cmd.rights.startsWith('-') ? 'remove' : 'set';
      const parsed = parseRights(mode === 'set' ? cmd.rights : cmd.rights.slice(1));
      if (parsed === null) return bad('Unknown right in the rights list');
      wanted = mode === 'add' ? addRights(current, parsed) : mode === 'remove' ? removeRights(current, parsed) : parsed;
    }
    const actor = await sharing.account(user.accountId);
    if ((!grantee && special === null) || !actor) return no('No such account', 'CANNOT');
    // The notification names the mailbox as its owner does.
    const asOwner = { ...mailbox, name: splitSharedName(mailbox.name)?.name ?? mailbox.name };
    try {
      if (special !== null) await sharing.setIdentifierRights(actor, asOwner, special, wanted);
      else await sharing.setRights(actor, asOwner, grantee!, wanted);
    } catch (err) {
      if (isFingerpostError(err, 'invalid_argument')) return no(err.message, 'CANNOT');
      if (isFingerpostError(err, 'forbidden')) return no(err.message, 'NOPERM');
      throw err;
    }
    return ok(`${cmd.name} completed`);
  },
});
