import { errorBody } from './multistatus.ts';

/**
 * A DAV failure: a status and, for a failed precondition, its element (RFC 4918 §16, RFC 4791
 * §5.3.2.1, §9.1.1), sent as a `<D:error>` body; otherwise a plain-text body.
 */
export class DavError extends Error {
  readonly status: number;
  readonly condition: { readonly ns: string; readonly name: string } | undefined;
  /** Extra rendered XML inside `<D:error>` next to the condition (e.g. the clashing href). */
  readonly conditionContent: string | undefined;
  constructor(status: number, message: string, condition?: { ns: string; name: string; content?: string }) {
    super(message);
    this.name = 'DavError';
    this.status = status;
    this.condition = condition ? { ns: condition.ns, name: condition.name } : undefined;
    this.conditionContent = condition?.content;
  }

  /** The body and its media type. */
  body(): { type: string; text: string } {
    if (!this.condition) return { type: 'text/plain; charset=utf-8', text: `${this.message}\n` };
    return {
      type: 'application/xml; charset=utf-8',
      text: errorBody(this.condition.ns, this.condition.name, this.message, this.conditionContent),
    };
  }
}
