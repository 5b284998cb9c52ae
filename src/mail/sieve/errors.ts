/**
 * A script that cannot be parsed or validated (RFC 5228 §2.10.6 compile errors), or a run that
 * failed (runtime errors: limits, action conflicts); `line` is 1-based where one is known.
 */
export class SieveError extends Error {
  readonly line: number | undefined;
  constructor(message: string, line?: number) {
    super(line === undefined ? message : `line ${line}: ${message}`);
    this.name = 'SieveError';
    this.line = line;
  }
}
