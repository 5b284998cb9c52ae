/** RFC 2449 §4: command lines are at most 255 octets, CRLF included. */
export const MAX_COMMAND = 255;
/** RFC 5034 §4: AUTH lines and SASL responses may be as long as the mechanism needs (bearer tokens are long). */
export const MAX_SASL_LINE = 64 * 1024;

/** One POP3 command line, split (RFC 1939 §3), or why it is refused. */
export type Pop3Command =
  | {
      readonly kind: 'command';
      /** The keyword, upper-cased ('' for an empty line). */
      readonly verb: string;
      /** The arguments, split on single spaces. */
      readonly args: readonly string[];
      /** Everything after the first space, as sent (PASS takes a password with spaces). */
      readonly rest: string;
    }
  | { readonly kind: 'too_long' };

/**
 * Splits a command line read with at most `MAX_SASL_LINE` octets: keyword and arguments are
 * separated by single spaces (RFC 1939 §3); every line but AUTH must fit in `MAX_COMMAND` octets
 * with its CRLF (RFC 2449 §4), an AUTH line carries an initial response (RFC 5034 §4).
 */
export function parseCommand(line: string): Pop3Command {
  if (!/^auth /i.test(line) && Buffer.byteLength(line) > MAX_COMMAND - 2) return { kind: 'too_long' };
  const [word = '', ...args] = line.split(' ');
  return { kind: 'command', verb: word.toUpperCase(), args, rest: line.slice(word.length + 1) };
}
