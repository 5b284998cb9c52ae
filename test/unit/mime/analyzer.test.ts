// Large messages are parsed in a worker thread: same result as in place, and the event loop keeps
// turning while a hostile 20 MB message is parsed (counted in loop turns, not timed).
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { MessageAnalyzer } from '../../../src/mail/mime/analyzer.ts';
import { analyzeMessage } from '../../../src/mail/mime/parse.ts';
import { CORPUS } from './corpus.ts';

describe('message analyzer', () => {
  const analyzer = new MessageAnalyzer({ offloadBytes: 1024 });
  after(() => analyzer.close());

  it('gives the same structure and search text from the worker as in place', async () => {
    for (const raw of CORPUS) {
      const padded = Buffer.concat([raw, Buffer.from(`\r\n${'filler line\r\n'.repeat(200)}`)]);
      assert.deepEqual(await analyzer.analyze(padded), analyzeMessage(padded));
    }
  });

  it('keeps the event loop turning while a 20 MB message without a header end is parsed', async () => {
    const raw = Buffer.from('x\r\n'.repeat(7_000_000));
    let turns = 0;
    let parsing = true;
    const spin = () => {
      if (!parsing) return;
      turns++;
      setImmediate(spin);
    };
    setImmediate(spin);
    const result = await analyzer.analyze(raw);
    parsing = false;
    assert.equal(result.parsed.root.bodyStart, raw.length);
    // In place the parse would run in one go and the loop would not turn at all meanwhile.
    assert.ok(turns >= 20, `${turns} turns of the event loop during the parse`);
  });

  it('fails a parse that overruns its time instead of waiting forever', async () => {
    const hasty = new MessageAnalyzer({ offloadBytes: 1024, timeoutMs: 1 });
    try {
      await assert.rejects(hasty.analyze(Buffer.from('x\r\n'.repeat(3_000_000))), /message parse failed: no result after 1 ms/);
      const small = Buffer.from('Subject: small\r\n\r\nbody\r\n');
      assert.equal((await hasty.analyze(small)).parsed.subject, 'small', 'small messages are parsed in place');
    } finally {
      hasty.close();
    }
  });
});
