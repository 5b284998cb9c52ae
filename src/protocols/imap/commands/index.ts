import type { CommandSpec } from '../context.ts';
import type { CommandName } from '../wire/types.ts';
import { acl } from './acl.ts';
import { append } from './append.ts';
import { authenticate } from './authenticate.ts';
import { cancelupdate } from './cancelupdate.ts';
import { capability } from './capability.ts';
import { close } from './close.ts';
import { compress } from './compress.ts';
import { copy } from './copy.ts';
import { create } from './create.ts';
import { del } from './delete.ts';
import { enable } from './enable.ts';
import { expunge } from './expunge.ts';
import { fetch } from './fetch.ts';
import { getmetadata } from './getmetadata.ts';
import { id } from './id.ts';
import { idle } from './idle.ts';
import { list } from './list.ts';
import { login } from './login.ts';
import { logout } from './logout.ts';
import { lsub } from './lsub.ts';
import { namespace } from './namespace.ts';
import { noop } from './noop.ts';
import { notify } from './notify.ts';
import { quota } from './quota.ts';
import { rename } from './rename.ts';
import { replace } from './replace.ts';
import { search } from './search.ts';
import { select } from './select.ts';
import { setmetadata } from './setmetadata.ts';
import { sort } from './sort.ts';
import { starttls } from './starttls.ts';
import { status } from './status.ts';
import { store } from './store.ts';
import { subscribe } from './subscribe.ts';
import { thread } from './thread.ts';

const ALL: ReadonlyArray<CommandSpec<never>> = [
  acl,
  append,
  authenticate,
  cancelupdate,
  capability,
  close,
  compress,
  copy,
  create,
  del,
  enable,
  expunge,
  fetch,
  getmetadata,
  id,
  idle,
  list,
  login,
  logout,
  lsub,
  namespace,
  noop,
  notify,
  quota,
  rename,
  replace,
  search,
  select,
  setmetadata,
  sort,
  starttls,
  status,
  store,
  subscribe,
  thread,
] as unknown as ReadonlyArray<CommandSpec<never>>;

/** Every command by name (RFC 9051 §6 plus extensions); the dispatcher looks commands up here. */
export const COMMANDS: ReadonlyMap<CommandName, CommandSpec> = new Map(
  ALL.flatMap((spec) => (spec.names as readonly CommandName[]).map((n) => [n, spec as unknown as CommandSpec] as const)),
);
