import { tryParseAddress } from '../../core/address.ts';
import type { SieveAction } from './actions.ts';
import type { Argument } from './ast.ts';
import { Budget } from './budget.ts';
import { SieveError } from './errors.ts';
import { matchValue, order, relation } from './match.ts';
import type { SieveAddress, SieveMessage } from './message.ts';
import type { CompiledScript, Node } from './validate.ts';

/** Bounds on one run (RFC 5228 §2.10.6 lets a site limit what a script does). */
export interface RunLimits {
  /** Explicit actions (keep, fileinto, redirect, vacation, …) one run may take. */
  readonly maxActions: number;
  /** Redirects one run may take (RFC 5228 §4.2). */
  readonly maxRedirects: number;
  /** Work units: character comparisons and commands (budget.ts). */
  readonly steps: number;
  /** The :days of vacation are brought into this range (RFC 5230 §4.1). */
  readonly vacationDays: { readonly min: number; readonly max: number; readonly default: number };
}

export interface RunInput {
  readonly message: SieveMessage;
  /** The SMTP envelope (RFC 5228 §5.4): return path ("" for the null sender) and this recipient. */
  readonly envelope: { readonly from: string; readonly to: string };
  /** rspamd's verdict, for spamtest (RFC 5235); undefined when the message was not tested. */
  readonly spam?: { readonly score: number; readonly required: number } | undefined;
  /** Names of the account's mailboxes, for mailboxexists (RFC 5490 §3.1), compared as given. */
  readonly mailboxes: ReadonlySet<string>;
  readonly limits: RunLimits;
}

export interface RunResult {
  /** Every action, with the implicit keep (RFC 5228 §2.10.2) added last when nothing cancelled it. */
  readonly actions: readonly SieveAction[];
}

const MAX_VARIABLES = 128;
const MAX_VARIABLE_LENGTH = 4096;
const MAX_MATCH_VARIABLES = 10;

class Stop {}

function splitAddress(address: string): SieveAddress {
  const at = address.lastIndexOf('@');
  return at < 0 ? { local: address, domain: '' } : { local: address.slice(0, at), domain: address.slice(at + 1) };
}

/** The address part asked for (RFC 5228 §2.7.4, RFC 5233 §4 with "+" as the separator); undefined: no detail. */
function partOf(a: SieveAddress, part: Node['part']): string | undefined {
  const plus = a.local.indexOf('+');
  switch (part) {
    case 'all':
      return a.domain ? `${a.local}@${a.domain}` : a.local;
    case 'localpart':
      return a.local;
    case 'domain':
      return a.domain;
    case 'user':
      return plus < 0 ? a.local : a.local.slice(0, plus);
    case 'detail':
      return plus < 0 ? undefined : a.local.slice(plus + 1);
  }
}

function normalizeFlags(list: readonly string[]): string[] {
  const seen = new Map<string, string>();
  for (const s of list) for (const f of s.split(/\s+/)) if (f && !seen.has(f.toLowerCase())) seen.set(f.toLowerCase(), f);
  return [...seen.values()];
}

/**
 * Runs a compiled script against one message for one recipient (RFC 5228 §2.10): tests, control
 * flow, the actions list with the implicit keep, variables (RFC 5229), flags (RFC 5232), and the
 * action conflicts of RFC 5429 §2.1. A SieveError from a run means: keep the message (§2.10.6).
 */
export function runScript(script: CompiledScript, input: RunInput): RunResult {
  return new Run(script, input).execute();
}

class Run {
  readonly #script: CompiledScript;
  readonly #in: RunInput;
  readonly #budget: Budget;
  readonly #vars = new Map<string, string>();
  #captures: readonly string[] = [];
  #flags: string[] = [];
  readonly #actions: SieveAction[] = [];
  #implicitKeep = true;
  #redirects = 0;
  #explicit = 0;

  constructor(script: CompiledScript, input: RunInput) {
    this.#script = script;
    this.#in = input;
    this.#budget = new Budget(input.limits.steps);
  }

  execute(): RunResult {
    try {
      this.#block(this.#script.commands);
    } catch (err) {
      if (!(err instanceof Stop)) throw err;
    }
    const kinds = new Set(this.#actions.map((a) => a.kind));
    // RFC 5429 §2.1–2.2: reject is incompatible with keeping, filing, redirecting and vacation.
    if (kinds.has('reject') && (kinds.has('keep') || kinds.has('fileinto') || kinds.has('redirect') || kinds.has('vacation')))
      throw new SieveError('reject cannot be combined with keep, fileinto, redirect or vacation');
    const actions = [...this.#actions];
    if (this.#implicitKeep) actions.push({ kind: 'keep', flags: this.#flags, implicit: true });
    return { actions };
  }

  #has(cap: string): boolean {
    return this.#script.capabilities.has(cap);
  }

  /** A string with `${...}` references replaced (RFC 5229 §3) when variables are in use. */
  #expand(s: string): string {
    if (!this.#has('variables') || !s.includes('${')) return s;
    const out = s.replace(/\$\{([A-Za-z0-9_.]+)\}/g, (whole, name: string) => {
      if (/^[0-9]+$/.test(name)) return this.#captures[Number(name)] ?? '';
      if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(name)) return whole; // a namespace we do not know
      return this.#vars.get(name.toLowerCase()) ?? '';
    });
    this.#budget.spend(out.length);
    return out;
  }

  #strings(a: Argument | true | undefined): string[] {
    if (!a || a === true || a.kind !== 'strings') return [];
    return a.values.map((v) => this.#expand(v));
  }

  #string(a: Argument | true | undefined): string {
    return this.#strings(a)[0] ?? '';
  }

  #block(nodes: readonly Node[]): void {
    let taken = false;
    for (const node of nodes) {
      this.#budget.spend(1);
      switch (node.name) {
        case 'if':
          taken = this.#test(node.tests[0]!);
          if (taken) this.#block(node.block!);
          break;
        case 'elsif':
          if (!taken && this.#test(node.tests[0]!)) {
            taken = true;
            this.#block(node.block!);
          }
          break;
        case 'else':
          if (!taken) this.#block(node.block!);
          break;
        default:
          this.#command(node);
      }
    }
  }

  #act(action: SieveAction, cancelsKeep: boolean): void {
    if (++this.#explicit > this.#in.limits.maxActions) throw new SieveError(`more than ${this.#in.limits.maxActions} actions`);
    this.#actions.push(action);
    if (cancelsKeep) this.#implicitKeep = false;
  }

  #flagsArg(node: Node): string[] {
    return node.tags.has('flags') ? normalizeFlags(this.#strings(node.tags.get('flags'))) : [...this.#flags];
  }

  #command(node: Node): void {
    const copy = node.tags.has('copy');
    switch (node.name) {
      case 'stop':
        throw new Stop();
      case 'keep':
        this.#act({ kind: 'keep', flags: this.#flagsArg(node), implicit: false }, true);
        return;
      case 'discard':
        this.#implicitKeep = false;
        this.#actions.push({ kind: 'discard' });
        return;
      case 'fileinto': {
        const mailbox = this.#string(node.args[0]);
        if (!mailbox) throw new SieveError('fileinto needs a mailbox name', node.line);
        this.#act({ kind: 'fileinto', mailbox, flags: this.#flagsArg(node), create: node.tags.has('create') }, !copy);
        return;
      }
      case 'redirect': {
        const address = this.#string(node.args[0]);
        if (!tryParseAddress(address)) throw new SieveError(`redirect to "${address.slice(0, 100)}" is not an address`, node.line);
        if (++this.#redirects > this.#in.limits.maxRedirects)
          throw new SieveError(`more than ${this.#in.limits.maxRedirects} redirects`, node.line);
        this.#act({ kind: 'redirect', address }, !copy);
        return;
      }
      case 'reject':
      case 'ereject':
        this.#act({ kind: 'reject', reason: this.#string(node.args[0]), protocol: node.name === 'ereject' }, true);
        return;
      case 'vacation':
        this.#vacation(node);
        return;
      case 'set':
        this.#set(node);
        return;
      case 'setflag':
      case 'addflag':
      case 'removeflag':
        this.#flagCommand(node);
        return;
      default:
        throw new SieveError(`"${node.name}" cannot run here`, node.line);
    }
  }

  #vacation(node: Node): void {
    if (this.#actions.some((a) => a.kind === 'vacation')) throw new SieveError('only one vacation per run (RFC 5230 §4)', node.line);
    const reason = this.#string(node.args[0]);
    const daysArg = node.tags.get('days');
    const limits = this.#in.limits.vacationDays;
    const asked = daysArg && daysArg !== true && daysArg.kind === 'number' ? daysArg.value : limits.default;
    const subject = node.tags.has('subject') ? this.#string(node.tags.get('subject')) : undefined;
    const from = node.tags.has('from') ? this.#string(node.tags.get('from')) : undefined;
    // RFC 5230 §4.2: without :handle, replies with the same reason, subject, from and mime are the
    // same; they are compared as written, so a subject built from ${...} still names one reply.
    const raw = (a: Argument | true | undefined) => (a && a !== true && a.kind === 'strings' ? (a.values[0] ?? '') : '');
    const handle = node.tags.has('handle')
      ? this.#string(node.tags.get('handle'))
      : JSON.stringify([raw(node.args[0]), raw(node.tags.get('subject')), raw(node.tags.get('from')), node.tags.has('mime')]);
    this.#act(
      {
        kind: 'vacation',
        reason,
        subject,
        from,
        addresses: this.#strings(node.tags.get('addresses')),
        mime: node.tags.has('mime'),
        handle,
        days: Math.min(limits.max, Math.max(limits.min, asked)),
      },
      false,
    );
  }

  #setVar(name: string, value: string): void {
    const key = name.toLowerCase();
    if (!this.#vars.has(key) && this.#vars.size >= MAX_VARIABLES) throw new SieveError(`more than ${MAX_VARIABLES} variables`);
    this.#vars.set(key, value.slice(0, MAX_VARIABLE_LENGTH));
  }

  /** set (RFC 5229 §4): modifiers applied by precedence, :lower/:upper first, :length last. */
  #set(node: Node): void {
    const name = (node.args[0] as { values: readonly string[] }).values[0]!;
    let value = this.#string(node.args[1]);
    if (node.tags.has('lower')) value = value.toLowerCase();
    if (node.tags.has('upper')) value = value.toUpperCase();
    if (node.tags.has('lowerfirst')) value = value.charAt(0).toLowerCase() + value.slice(1);
    if (node.tags.has('upperfirst')) value = value.charAt(0).toUpperCase() + value.slice(1);
    if (node.tags.has('quotewildcard')) value = value.replace(/[*?\\]/g, '\\$&');
    if (node.tags.has('length')) value = String([...value].length);
    this.#setVar(name, value);
  }

  /** setflag/addflag/removeflag (RFC 5232 §3), on the internal flags or a named variable. */
  #flagCommand(node: Node): void {
    const named = node.args.length === 2;
    const variable = named ? this.#string(node.args[0]) : undefined;
    const list = this.#strings(node.args[named ? 1 : 0]);
    const current = variable === undefined ? this.#flags : normalizeFlags([this.#vars.get(variable.toLowerCase()) ?? '']);
    const given = normalizeFlags(list);
    let next: string[];
    if (node.name === 'setflag') next = given;
    else if (node.name === 'addflag') next = normalizeFlags([...current, ...given]);
    else {
      const drop = new Set(given.map((f) => f.toLowerCase()));
      next = current.filter((f) => !drop.has(f.toLowerCase()));
    }
    if (variable === undefined) this.#flags = next;
    else this.#setVar(variable, next.join(' '));
  }

  /**
   * Matches values against keys under the node's comparator and match type; `:count` compares
   * the number of values (RFC 5231 §4). A successful `:matches` sets the match variables.
   */
  #match(node: Node, values: readonly string[], keys: readonly string[]): boolean {
    const { comparator, match } = node;
    if (match.kind === 'count') {
      const count = String(values.length);
      return keys.some((k) => relation(match.op, order('i;ascii-numeric', count, k)));
    }
    for (const value of values)
      for (const key of keys) {
        const r = matchValue(comparator, match, value, key, this.#budget);
        if (r.matched) {
          if (r.captures && this.#has('variables')) this.#captures = r.captures.slice(0, MAX_MATCH_VARIABLES);
          return true;
        }
      }
    return false;
  }

  #test(node: Node): boolean {
    this.#budget.spend(1);
    const msg = this.#in.message;
    // Each header name looked up scans the header section once.
    if (node.name === 'header' || node.name === 'address' || node.name === 'exists')
      this.#budget.spend(msg.fieldCount * this.#strings(node.args[0]).length);
    switch (node.name) {
      case 'true':
        return true;
      case 'false':
        return false;
      case 'not':
        return !this.#test(node.tests[0]!);
      case 'allof':
        return node.tests.every((t) => this.#test(t));
      case 'anyof':
        return node.tests.some((t) => this.#test(t));
      case 'exists':
        return this.#strings(node.args[0]).every((h) => msg.headers(h).length > 0);
      case 'size': {
        const limit = (node.args[0] as { value: number }).value;
        return node.tags.has('over') ? msg.size > limit : msg.size < limit;
      }
      case 'header': {
        const values = this.#strings(node.args[0]).flatMap((h) => msg.headers(h));
        return this.#match(node, values, this.#strings(node.args[1]));
      }
      case 'address': {
        const values = this.#strings(node.args[0])
          .flatMap((h) => msg.addresses(h))
          .flatMap((a) => partOf(a, node.part) ?? []);
        return this.#match(node, values, this.#strings(node.args[1]));
      }
      case 'envelope': {
        const env = this.#in.envelope;
        const values = this.#strings(node.args[0]).flatMap((part) => {
          const p = part.toLowerCase();
          if (p !== 'from' && p !== 'to') throw new SieveError(`envelope part "${part}" is not supported`, node.line);
          const address = env[p];
          // RFC 5228 §5.4: the null reverse-path is the empty string, matched only as a whole.
          if (!address) return node.part === 'all' ? [''] : [];
          return partOf(splitAddress(address), node.part) ?? [];
        });
        return this.#match(node, values, this.#strings(node.args[1]));
      }
      case 'string': {
        const source = this.#strings(node.args[0]);
        // RFC 5229 §5: :count counts the non-empty source strings.
        const values = node.match.kind === 'count' ? source.filter((s) => s !== '') : source;
        return this.#match(node, values, this.#strings(node.args[1]));
      }
      case 'hasflag': {
        const named = node.args.length === 2;
        const flags = named ? normalizeFlags(this.#strings(node.args[0]).map((v) => this.#vars.get(v.toLowerCase()) ?? '')) : this.#flags;
        return this.#match(node, flags, this.#strings(node.args[named ? 1 : 0]));
      }
      case 'mailboxexists':
        return this.#strings(node.args[0]).every((m) => this.#in.mailboxes.has(m));
      case 'body': {
        const content = node.tags.get('content');
        const transform = node.tags.has('raw')
          ? ({ kind: 'raw' } as const)
          : content
            ? ({ kind: 'content', types: this.#strings(content) } as const)
            : ({ kind: 'text' } as const);
        const texts = msg.body(transform);
        this.#budget.spend(texts.reduce((n, t) => n + t.length, 0));
        return this.#match(node, texts, this.#strings(node.args[0]));
      }
      case 'spamtest':
        return this.#match(node, [this.#spamValue(node.tags.has('percent'))], [this.#string(node.args[0])]);
      default:
        throw new SieveError(`unknown test "${node.name}"`, node.line);
    }
  }

  /**
   * The spamtest value (RFC 5235 §3.1–3.2) from rspamd's score against its reject threshold:
   * "0" not tested, "1" clearly not spam up to "10" at or over the threshold; with :percent 0–100.
   */
  #spamValue(percent: boolean): string {
    const spam = this.#in.spam;
    if (!spam) return '0';
    const ratio = spam.required > 0 ? Math.min(1, Math.max(0, spam.score / spam.required)) : spam.score > 0 ? 1 : 0;
    return percent ? String(Math.round(ratio * 100)) : String(1 + Math.round(ratio * 9));
  }
}
