import type { Argument, Command, Test } from './ast.ts';
import { SieveError } from './errors.ts';
import { type Token, tokenize } from './lexer.ts';

/** Bounds on what a script may be (each refusal is a compile error naming the limit). */
export interface ParseLimits {
  /** Octets of script text. */
  readonly maxBytes: number;
  /** Blocks and tests inside one another. */
  readonly maxDepth: number;
  /** Strings in one string list. */
  readonly maxListItems?: number;
}

/**
 * Parses a script into commands (RFC 5228 §8.2 grammar): `commands = *command`, each an
 * identifier, arguments (string lists, numbers, tags), an optional test or test-list, and ";" or a
 * block. Nothing about the meaning of a command is checked here (that is validate.ts).
 */
export function parseScript(script: string, limits: ParseLimits): Command[] {
  if (Buffer.byteLength(script, 'utf8') > limits.maxBytes) throw new SieveError(`script larger than ${limits.maxBytes} octets`);
  const tokens = tokenize(script);
  let pos = 0;
  const maxItems = limits.maxListItems ?? 1024;
  const peek = (): Token | undefined => tokens[pos];
  const lastLine = () => tokens.at(-1)?.line ?? 1;
  const isSpecial = (t: Token | undefined, v: string) => t?.kind === 'special' && t.value === v;
  const expect = (v: string) => {
    const t = tokens[pos];
    if (!isSpecial(t, v)) throw new SieveError(`expected "${v}"${t ? '' : ' before the end of the script'}`, t?.line ?? lastLine());
    pos++;
  };

  const argument = (): Argument | undefined => {
    const t = peek();
    if (!t) return undefined;
    if (t.kind === 'string') {
      pos++;
      return { kind: 'strings', values: [t.value], list: false, line: t.line };
    }
    if (t.kind === 'number') {
      pos++;
      return { kind: 'number', value: t.value, line: t.line };
    }
    if (t.kind === 'tag') {
      pos++;
      return { kind: 'tag', name: t.value, line: t.line };
    }
    if (isSpecial(t, '[')) {
      pos++;
      const values: string[] = [];
      for (;;) {
        const s = tokens[pos++];
        if (s?.kind !== 'string') throw new SieveError('a string list holds strings only', s?.line ?? lastLine());
        values.push(s.value);
        if (values.length > maxItems) throw new SieveError(`string list longer than ${maxItems}`, s.line);
        if (isSpecial(peek(), ',')) pos++;
        else break;
      }
      expect(']');
      return { kind: 'strings', values, list: true, line: t.line };
    }
    return undefined;
  };

  const test = (depth: number): Test => {
    const t = tokens[pos++];
    if (t?.kind !== 'identifier') throw new SieveError('expected a test', t?.line ?? lastLine());
    if (depth > limits.maxDepth) throw new SieveError(`tests nested deeper than ${limits.maxDepth}`, t.line);
    const { args, tests, list } = argumentsOf(depth);
    return { name: t.value, args, tests, list, line: t.line };
  };

  const argumentsOf = (depth: number): { args: Argument[]; tests: Test[]; list: boolean } => {
    const args: Argument[] = [];
    for (let a = argument(); a; a = argument()) args.push(a);
    const next = peek();
    if (next?.kind === 'identifier') return { args, tests: [test(depth + 1)], list: false };
    if (isSpecial(next, '(')) {
      pos++;
      const tests = [test(depth + 1)];
      while (isSpecial(peek(), ',')) {
        pos++;
        tests.push(test(depth + 1));
      }
      expect(')');
      return { args, tests, list: true };
    }
    return { args, tests: [], list: false };
  };

  const commands = (depth: number): Command[] => {
    const out: Command[] = [];
    for (let t = peek(); t && !isSpecial(t, '}'); t = peek()) {
      if (t.kind !== 'identifier') throw new SieveError('expected a command', t.line);
      pos++;
      const { args, tests, list } = argumentsOf(depth);
      const end = peek();
      if (isSpecial(end, ';')) {
        pos++;
        out.push({ name: t.value, args, tests, list, block: null, line: t.line });
      } else if (isSpecial(end, '{')) {
        if (depth >= limits.maxDepth) throw new SieveError(`blocks nested deeper than ${limits.maxDepth}`, end?.line);
        pos++;
        const block = commands(depth + 1);
        expect('}');
        out.push({ name: t.value, args, tests, list, block, line: t.line });
      } else throw new SieveError(`expected ";" or a block after "${t.value}"`, end?.line ?? lastLine());
    }
    return out;
  };

  const script_ = commands(0);
  if (pos < tokens.length) throw new SieveError('unexpected "}"', tokens[pos]!.line);
  return script_;
}
