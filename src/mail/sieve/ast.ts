/** The syntax tree of a Sieve script (RFC 5228 §8.2), before any command is checked. */

export type Argument =
  | { readonly kind: 'strings'; readonly values: readonly string[]; readonly list: boolean; readonly line: number }
  | { readonly kind: 'number'; readonly value: number; readonly line: number }
  | { readonly kind: 'tag'; readonly name: string; readonly line: number };

export interface Test {
  readonly name: string;
  readonly args: readonly Argument[];
  readonly tests: readonly Test[];
  /** True when the tests were written as a parenthesised test-list. */
  readonly list: boolean;
  readonly line: number;
}

export interface Command extends Test {
  /** The `{ ... }` block, or null when the command ended with ";". */
  readonly block: readonly Command[] | null;
}
