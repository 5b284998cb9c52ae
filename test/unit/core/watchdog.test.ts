// The event-loop watchdog: a stall is logged with the commands that were running (also one that
// ended right after holding the loop), and the delay figures /healthz reports show it.
import assert from 'node:assert/strict';
import { it } from 'node:test';
import { ActivityRegistry } from '../../../src/core/activity.ts';
import { createLogger } from '../../../src/core/log.ts';
import { LoopWatchdog } from '../../../src/core/watchdog.ts';

/** Holds the event loop (what a hostile request did) until `ms` have passed on the monotonic clock. */
function holdLoop(ms: number): void {
  const until = performance.now() + ms;
  while (performance.now() < until) {
    // busy: nothing else runs meanwhile
  }
}

const nextTimers = (n: number) =>
  new Promise<void>((resolve) => {
    let left = n;
    const step = () => (--left <= 0 ? resolve() : setTimeout(step, 100));
    setTimeout(step, 100);
  });

it('logs a stall with the protocol commands that were running, and reports it in the delay figures', async () => {
  const lines: Record<string, unknown>[] = [];
  const sink = { write: (l: string) => lines.push(JSON.parse(l)) } as unknown as NodeJS.WritableStream;
  const registry = new ActivityRegistry();
  const stalls: number[] = [];
  const watchdog = new LoopWatchdog({
    logger: createLogger('info', sink),
    stallMs: 150,
    activities: registry,
    onStall: (ms) => stalls.push(ms),
  });
  watchdog.start();
  try {
    await nextTimers(2);
    const idle = registry.begin('imap', 'IDLE', 'c-idle');
    await nextTimers(1);
    const culprit = registry.begin('smtp', 'DATA', 's-big');
    holdLoop(400);
    culprit(); // ended before the watchdog's timer could run: still named
    await nextTimers(2);
    idle();

    // On a busy machine other stalls may be logged too; the one we caused names the culprit.
    const stall = lines.find(
      (l) => l['event'] === 'event_loop_stall' && (l['running'] as Array<Record<string, unknown>>).some((r) => r['what'] === 'DATA'),
    );
    assert.ok(stall, 'the stall was logged');
    assert.ok((stall['stalled_ms'] as number) >= 150);
    const running = stall['running'] as Array<Record<string, unknown>>;
    assert.deepEqual(
      running.map((r) => `${r['protocol']} ${r['what']} ${r['session']}`),
      ['imap IDLE c-idle', 'smtp DATA s-big'],
      'oldest first',
    );
    assert.equal(running[1]!['ended'], true);
    assert.ok((running[1]!['for_ms'] as number) >= 150);
    assert.ok(stalls.length >= 1);
    const delay = watchdog.delay();
    assert.ok(delay.maxMs >= 150, `max ${delay.maxMs} ms`);
    assert.ok(delay.windowMs > 0);
  } finally {
    watchdog.stop();
  }
});

it('forgets what ended before the stall began', () => {
  let now = 0;
  const registry = new ActivityRegistry(() => now);
  const early = registry.begin('pop3', 'RETR');
  now = 10;
  early();
  now = 50;
  const late = registry.begin('http', 'POST /jmap/api');
  now = 900;
  assert.deepEqual(
    registry.during(40).map((a) => a.what),
    ['POST /jmap/api'],
  );
  late();
  assert.deepEqual(
    registry.during(40).map((a) => a.what),
    ['POST /jmap/api'],
  );
});
