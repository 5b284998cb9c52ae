import type { Argument, Command, Test } from './ast.ts';
import { SieveError } from './errors.ts';
import { COMMANDS, EXTENSIONS, type ArgKind, type Spec, TESTS } from './grammar.ts';
import { COMPARATORS, type ComparatorName, type MatchType, REL_OPS, type RelOp } from './match.ts';
import { type ParseLimits, parseScript } from './parser.ts';

/** A checked command or test: tags by name (value, or true for a bare tag), positional arguments in order. */
export interface Node {
  readonly name: string;
  readonly line: number;
  readonly tags: ReadonlyMap<string, Argument | true>;
  readonly args: readonly Argument[];
  readonly tests: readonly Node[];
  readonly block: readonly Node[] | null;
  /** Comparator, match type and address part with their defaults (RFC 5228 §2.7.1–2.7.4). */
  readonly comparator: ComparatorName;
  readonly match: MatchType;
  readonly part: 'all' | 'localpart' | 'domain' | 'user' | 'detail';
}

/** A script that passed parsing and validation, ready to run. */
export interface CompiledScript {
  readonly commands: readonly Node[];
  readonly capabilities: ReadonlySet<string>;
}

const kindOf = (a: Argument): ArgKind => (a.kind === 'number' ? 'number' : a.kind === 'strings' && !a.list ? 'string' : 'strings');
const fits = (want: ArgKind, a: Argument) => (want === 'strings' ? a.kind === 'strings' : kindOf(a) === want);
const VAR_NAME = /^[a-z_][a-z0-9_]*$/i;

function check(item: Test | Command, spec: Spec, caps: ReadonlySet<string>, what: string, depth: number): Node {
  const tags = new Map<string, Argument | true>();
  const groups = new Map<string, string>();
  const positional: Argument[] = [];
  const args = item.args;
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    if (a.kind !== 'tag') {
      positional.push(a);
      continue;
    }
    const t = spec.tags[a.name];
    if (!t) throw new SieveError(`${what} "${item.name}" has no tag :${a.name}`, a.line);
    if (t.ext && !caps.has(t.ext)) throw new SieveError(`:${a.name} needs require "${t.ext}"`, a.line);
    if (tags.has(a.name)) throw new SieveError(`:${a.name} given twice`, a.line);
    if (t.group) {
      const other = groups.get(t.group);
      if (other) throw new SieveError(`:${a.name} cannot be used with :${other}`, a.line);
      groups.set(t.group, a.name);
    }
    if (t.value) {
      const v = args[i + 1];
      if (!v || v.kind === 'tag' || !fits(t.value, v))
        throw new SieveError(`:${a.name} takes a ${t.value === 'strings' ? 'string list' : t.value}`, a.line);
      tags.set(a.name, v);
      i++;
    } else tags.set(a.name, true);
  }
  let want = spec.positional;
  if (spec.optionalFirst && positional.length === want.length + 1) {
    if (!caps.has(spec.optionalFirst.ext))
      throw new SieveError(`a variable name here needs require "${spec.optionalFirst.ext}"`, item.line);
    want = [spec.optionalFirst.kind, ...want];
  }
  if (positional.length !== want.length)
    throw new SieveError(
      `${what} "${item.name}" takes ${want.length} argument${want.length === 1 ? '' : 's'}, got ${positional.length}`,
      item.line,
    );
  for (const [i, kind] of want.entries())
    if (!fits(kind, positional[i]!))
      throw new SieveError(
        `argument ${i + 1} of "${item.name}" must be a ${kind === 'strings' ? 'string list' : kind}`,
        positional[i]!.line,
      );
  if (spec.tests === 'none' && item.tests.length) throw new SieveError(`"${item.name}" takes no test`, item.line);
  if (spec.tests === 'one' && (item.tests.length !== 1 || item.list))
    throw new SieveError(`"${item.name}" takes exactly one test`, item.line);
  if (spec.tests === 'list' && !item.list) throw new SieveError(`"${item.name}" takes a test list in parentheses`, item.line);

  const comparatorArg = tags.get('comparator');
  const comparator = (
    comparatorArg && comparatorArg !== true && comparatorArg.kind === 'strings' ? comparatorArg.values[0]! : 'i;ascii-casemap'
  ).toLowerCase();
  if (!(COMPARATORS as readonly string[]).includes(comparator)) throw new SieveError(`unknown comparator "${comparator}"`, item.line);
  if (comparator === 'i;ascii-numeric' && !caps.has('comparator-i;ascii-numeric'))
    throw new SieveError('the i;ascii-numeric comparator needs require "comparator-i;ascii-numeric"', item.line);
  let match: MatchType = { kind: 'is' };
  for (const kind of ['contains', 'matches'] as const) if (tags.has(kind)) match = { kind };
  for (const kind of ['value', 'count'] as const) {
    const v = tags.get(kind);
    if (v && v !== true && v.kind === 'strings') {
      const op = v.values[0]!.toLowerCase();
      if (!(REL_OPS as readonly string[]).includes(op)) throw new SieveError(`unknown relational operator "${op}"`, v.line);
      match = { kind, op: op as RelOp };
    }
  }
  if (comparator === 'i;ascii-numeric' && (match.kind === 'contains' || match.kind === 'matches'))
    throw new SieveError(`i;ascii-numeric does not support :${match.kind}`, item.line);
  const part = (['localpart', 'domain', 'user', 'detail'] as const).find((p) => tags.has(p)) ?? 'all';
  const tests = item.tests.map((t) => checkTest(t, caps, depth + 1));
  return {
    name: item.name,
    line: item.line,
    tags,
    args: positional,
    tests,
    block: null,
    comparator: comparator as ComparatorName,
    match,
    part,
  };
}

function checkTest(test: Test, caps: ReadonlySet<string>, depth: number): Node {
  const spec = TESTS[test.name];
  if (!spec) throw new SieveError(`unknown test "${test.name}"`, test.line);
  if (spec.ext && !caps.has(spec.ext)) throw new SieveError(`test "${test.name}" needs require "${spec.ext}"`, test.line);
  const node = check(test, spec, caps, 'test', depth);
  if (test.name === 'size' && !node.tags.has('over') && !node.tags.has('under'))
    throw new SieveError('size needs :over or :under', test.line);
  return node;
}

function checkCommands(commands: readonly Command[], caps: Set<string>, depth: number, top: boolean): Node[] {
  const out: Node[] = [];
  let requiresDone = !top;
  for (const [i, c] of commands.entries()) {
    const spec = COMMANDS[c.name];
    if (!spec) throw new SieveError(`unknown command "${c.name}"`, c.line);
    if (c.name === 'require') {
      // RFC 5228 §3.2: require only before every other command.
      if (requiresDone) throw new SieveError('require must come before any other command', c.line);
      const list = c.args[0];
      if (c.args.length !== 1 || list?.kind !== 'strings') throw new SieveError('require takes a string list', c.line);
      for (const name of list.values) {
        const ext = name.toLowerCase();
        if (!(EXTENSIONS as readonly string[]).includes(ext)) throw new SieveError(`unsupported extension "${name}"`, c.line);
        caps.add(ext);
        if (ext === 'spamtestplus') caps.add('spamtest');
      }
      if (c.block) throw new SieveError('require ends with ";"', c.line);
      continue;
    }
    requiresDone = true;
    if (spec.ext && !caps.has(spec.ext)) throw new SieveError(`"${c.name}" needs require "${spec.ext}"`, c.line);
    if ((c.name === 'elsif' || c.name === 'else') && !['if', 'elsif'].includes(commands[i - 1]?.name ?? ''))
      throw new SieveError(`"${c.name}" must follow "if" or "elsif"`, c.line);
    if (spec.block && !c.block) throw new SieveError(`"${c.name}" needs a block`, c.line);
    if (!spec.block && c.block) throw new SieveError(`"${c.name}" ends with ";", not a block`, c.line);
    const node = check(c, spec, caps, 'command', depth);
    const first = node.args[0];
    if (c.name === 'set' && !(first?.kind === 'strings' && VAR_NAME.test(first.values[0]!)))
      throw new SieveError('set needs a variable name (letters, digits, "_")', c.line);
    if (c.name === 'vacation') {
      const days = node.tags.get('days');
      if (days && days !== true && days.kind === 'number' && days.value < 1) throw new SieveError(':days must be at least 1', c.line);
    }
    out.push({ ...node, block: c.block ? checkCommands(c.block, caps, depth + 1, false) : null });
  }
  return out;
}

/**
 * Parses and validates a script (RFC 5228 §2.10.6: every error is found before the script runs):
 * known commands and tests, the arguments each takes, extensions declared by `require`, and
 * if/elsif/else in order. Throws SieveError naming the line.
 */
export function compile(script: string, limits: ParseLimits): CompiledScript {
  const caps = new Set<string>();
  const commands = checkCommands(parseScript(script, limits), caps, 0, true);
  return { commands, capabilities: caps };
}
