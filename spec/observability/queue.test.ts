/**
 * The log queue's Kong semantics (kong/tools/queue.lua) with an injected clock: batches by size and by
 * coalescing delay, exponential back-off capped by max_retry_delay, a batch dropped after max_retry_time,
 * the oldest entries dropped beyond max_entries, and enqueue never waiting for a slow handler.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { KONG_QUEUE_DEFAULTS, LogQueue, type QueueConf, type QueueDeps } from '../../plugins/ai-proxy-advanced/observability/queue';

/** A manual clock: sleeps resolve only when the test advances time past them. */
class Clock {
  t = 0;
  private sleepers: Array<{ at: number; resolve: () => void }> = [];
  readonly sleeps: number[] = [];
  readonly warnings: string[] = [];
  deps: QueueDeps = {
    now: () => this.t,
    sleep: (ms) =>
      new Promise((resolve) => {
        this.sleeps.push(ms);
        this.sleepers.push({ at: this.t + ms, resolve });
      }),
    warn: (m) => this.warnings.push(m),
  };
  async advance(ms: number): Promise<void> {
    this.t += ms;
    const due = this.sleepers.filter((s) => s.at <= this.t);
    this.sleepers = this.sleepers.filter((s) => s.at > this.t);
    for (const s of due) s.resolve();
    await settle();
  }
}

const settle = async (): Promise<void> => {
  for (let i = 0; i < 20; i++) await Promise.resolve();
  await new Promise((r) => setImmediate(r));
};

function conf(over: Partial<QueueConf>): QueueConf {
  return { ...KONG_QUEUE_DEFAULTS, ...over };
}

describe('LogQueue', () => {
  test('a full batch goes at once; a partial one after max_coalescing_delay', async () => {
    const clock = new Clock();
    const batches: number[][] = [];
    const q = new LogQueue<number>('t', conf({ max_batch_size: 3, max_coalescing_delay: 2 }), async (b) => void batches.push(b), clock.deps);
    q.enqueue(1);
    q.enqueue(2);
    q.enqueue(3);
    q.enqueue(4);
    await settle();
    assert.deepEqual(batches, [[1, 2, 3]]);
    await clock.advance(1999);
    assert.deepEqual(batches, [[1, 2, 3]], 'the partial batch waits for the delay');
    await clock.advance(1);
    assert.deepEqual(batches, [[1, 2, 3], [4]]);
    await q.idle();
  });

  test('a failing batch is retried with doubling delays capped by max_retry_delay, then dropped after max_retry_time', async () => {
    const clock = new Clock();
    let calls = 0;
    const q = new LogQueue<string>(
      't',
      conf({ max_coalescing_delay: 0, initial_retry_delay: 0.01, max_retry_delay: 0.04, max_retry_time: 0.15 }),
      async () => {
        calls++;
        throw new Error('endpoint down');
      },
      clock.deps,
    );
    q.enqueue('a');
    await settle();
    for (let i = 0; i < 10; i++) await clock.advance(40);
    await q.idle();
    // 10, 20, 40, 40 ms… until more than 150 ms passed since the first try.
    assert.deepEqual(clock.sleeps.filter((ms) => ms > 0).slice(0, 4), [10, 20, 40, 40]);
    assert.ok(calls >= 4 && calls <= 6, String(calls));
    assert.equal(q.dropped, 1);
    assert.ok(clock.warnings.some((w) => /max_retry_time exceeded\. 1 queue entries were lost/.test(w)));
  });

  test('a handler returning false counts as a failure; success after a retry sends the batch once', async () => {
    const clock = new Clock();
    const seen: string[][] = [];
    let fail = 1;
    const q = new LogQueue<string>('t', conf({ max_coalescing_delay: 0 }), async (b) => {
      seen.push(b);
      return fail-- <= 0;
    }, clock.deps);
    q.enqueue('x');
    await settle();
    await clock.advance(10);
    await q.idle();
    assert.deepEqual(seen, [['x'], ['x']]);
    assert.equal(q.sentBatches, 1);
    assert.equal(q.dropped, 0);
  });

  test('beyond max_entries the oldest entries are dropped; enqueue never waits for the handler', async () => {
    const clock = new Clock();
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const sent: number[][] = [];
    const q = new LogQueue<number>('t', conf({ max_batch_size: 1, max_coalescing_delay: 0, max_entries: 3 }), async (b) => {
      await gate;
      sent.push(b);
    }, clock.deps);
    for (let i = 1; i <= 6; i++) q.enqueue(i); // returns at once although the handler is stuck on entry 1
    assert.equal(q.size, 3);
    assert.equal(q.dropped, 2);
    release();
    await q.idle();
    assert.deepEqual(sent, [[1], [4], [5], [6]]);
  });
  test('close() cuts a retry back-off short: the failing batch is dropped at once, not after max_retry_delay', async () => {
    const clock = new Clock();
    let calls = 0;
    const q = new LogQueue<number>('t', conf({ initial_retry_delay: 60, max_retry_delay: 60 }), async () => {
      calls++;
      throw new Error('down');
    }, clock.deps);
    q.enqueue(1);
    await clock.advance(1000);
    assert.equal(calls, 1);
    assert.deepEqual(clock.sleeps.slice(-1), [60_000], 'in its back-off');
    let closed = false;
    const done = q.close().then(() => (closed = true));
    await settle();
    assert.equal(closed, true, 'close() did not wait for the 60 s back-off');
    await done;
    assert.equal(calls, 2, 'one last try when closing');
    assert.equal(q.dropped, 1);
  });

  test('close(waitMs) gives up on a handler that never answers: what is left is dropped with a warning', async () => {
    const clock = new Clock();
    const q = new LogQueue<number>('t', conf({ max_batch_size: 1 }), () => new Promise<boolean>(() => undefined), clock.deps);
    q.enqueue(1);
    q.enqueue(2);
    q.enqueue(3);
    await settle();
    let closed = false;
    const done = q.close(5000).then(() => (closed = true));
    await clock.advance(4999);
    assert.equal(closed, false);
    await clock.advance(1);
    await done;
    assert.equal(q.dropped, 3, 'the batch in flight and the two queued');
    assert.ok(clock.warnings.some((w) => /closed with entries unsent after 5000 ms\. 3 queue entries were lost/.test(w)));
    q.enqueue(4);
    assert.equal(q.size, 0, 'closed: no new entries');
  });
});
