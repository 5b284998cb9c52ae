import { SIGNED_IN } from '../state.ts';
import { ALREADY_SENT, bad, command, no, type Tagged } from '../context.ts';
import { tagged } from '../wire/encoder.ts';

/**
 * COMPRESS DEFLATE (RFC 4978 §3): once signed in, the session switches both directions to raw
 * DEFLATE right after the CRLF of the tagged OK. A second COMPRESS is `NO [COMPRESSIONACTIVE]`,
 * another mechanism `BAD`. Pending mailbox updates go out before the switch, so the OK is the
 * last uncompressed line the client reads.
 */
export const compress = command({
  names: ['COMPRESS'],
  states: SIGNED_IN,
  async run(ctx, cmd): Promise<Tagged> {
    if (cmd.mechanism !== 'DEFLATE') return bad('Unknown compression mechanism');
    if (ctx.compressed) return no('DEFLATE is already active', 'COMPRESSIONACTIVE');
    await ctx.sendUpdates(true);
    ctx.startCompression(tagged(cmd.tag, 'OK', 'DEFLATE active'));
    return ALREADY_SENT;
  },
});
