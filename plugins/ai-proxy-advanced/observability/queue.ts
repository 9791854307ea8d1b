/**
 * A batching, retrying log queue with Kong's semantics (kong/tools/queue.lua, kong/tools/queue_schema.lua):
 * - entries are sent in batches of up to `max_batch_size`, waiting at most `max_coalescing_delay` seconds after
 *   the first entry of a batch for more to arrive;
 * - one batch in flight at a time (`concurrency_limit` 1);
 * - a failed batch (handler throws or returns false) is retried after `initial_retry_delay`, doubled each time and
 *   capped by `max_retry_delay`, until `max_retry_time` seconds have passed since its first try, then dropped with
 *   an error;
 * - at most `max_entries` waiting: the oldest are dropped when a new one comes (a dead endpoint never makes the
 *   proxy wait or grow without bound).
 * `enqueue` never waits: it only pushes onto an array and arms a timer. Used by the local gateway's http-log and by
 * the plugin server's own log sink.
 */

export interface QueueConf {
  max_batch_size: number;
  /** seconds */
  max_coalescing_delay: number;
  max_entries: number;
  /** seconds */
  max_retry_time: number;
  /** seconds */
  initial_retry_delay: number;
  /** seconds */
  max_retry_delay: number;
}

/** Kong's defaults (queue_schema.lua). */
export const KONG_QUEUE_DEFAULTS: QueueConf = {
  max_batch_size: 1,
  max_coalescing_delay: 1,
  max_entries: 10_000,
  max_retry_time: 60,
  initial_retry_delay: 0.01,
  max_retry_delay: 60,
};

export interface QueueDeps {
  /** Monotonic ms. */
  now(): number;
  /** Resolves after ms; timers must not keep the process alive. */
  sleep(ms: number): Promise<void>;
  warn(message: string): void;
}

export const realQueueDeps = (warn: (m: string) => void): QueueDeps => ({
  now: () => performance.now(),
  sleep: (ms) =>
    new Promise((resolve) => {
      const t = setTimeout(resolve, ms);
      t.unref();
    }),
  warn,
});

export type BatchHandler<T> = (batch: T[]) => Promise<boolean | void>;

export class LogQueue<T> {
  private readonly entries: T[] = [];
  private running = false;
  private closed = false;
  /** Wakes the consumer when an entry arrives or the queue closes. */
  private wake: (() => void) | undefined;
  /** Settles when the consumer loop is idle with nothing left (tests, shutdown). */
  private idleWaiters: Array<() => void> = [];
  /** Settles when close() is called: cuts a retry back-off short (a dead endpoint must not hold shutdown for 60 s). */
  private readonly closing: Promise<void>;
  private signalClose!: () => void;
  /** The batch being sent, if any (counted as lost when close() gives up on it). */
  private sending = 0;
  /** close() gave up waiting: whatever is still in flight was already counted as lost. */
  private abandoned = false;
  dropped = 0;
  sentBatches = 0;

  constructor(
    readonly name: string,
    private readonly conf: QueueConf,
    private readonly handler: BatchHandler<T>,
    private readonly deps: QueueDeps,
  ) {
    this.closing = new Promise((r) => (this.signalClose = r));
  }

  get size(): number {
    return this.entries.length;
  }

  enqueue(entry: T): void {
    if (this.closed) return;
    if (this.entries.length >= this.conf.max_entries) {
      this.entries.shift();
      this.dropped++;
      this.deps.warn(`queue ${this.name}: queue full, dropping the oldest entry (${this.dropped} lost so far)`);
    }
    this.entries.push(entry);
    if (this.wake) {
      const w = this.wake;
      this.wake = undefined;
      w();
    }
    if (!this.running) {
      this.running = true;
      void this.run();
    }
  }

  /**
   * Stops accepting entries and sends what is queued now, without waiting for the coalescing delay and with no
   * retry (a failed batch is dropped at once). Waits at most `waitMs`: then drops what is left, with a warning.
   */
  async close(waitMs = Number.POSITIVE_INFINITY): Promise<void> {
    this.closed = true;
    this.signalClose();
    if (this.wake) this.wake();
    if (waitMs === Number.POSITIVE_INFINITY) return this.idle();
    let late = false;
    await Promise.race([this.idle(), this.deps.sleep(Math.max(0, waitMs)).then(() => (late = true))]);
    if (!late || (!this.running && this.entries.length === 0)) return;
    const lost = this.entries.length + this.sending;
    this.entries.length = 0;
    this.abandoned = true;
    this.dropped += lost;
    this.deps.warn(`queue ${this.name}: closed with entries unsent after ${waitMs} ms. ${lost} queue entries were lost`);
  }

  /** Resolves once nothing is queued or in flight. */
  idle(): Promise<void> {
    if (!this.running && this.entries.length === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  private async run(): Promise<void> {
    try {
      while (this.entries.length > 0) {
        // Coalesce: wait for a full batch or the delay since this batch's first entry, whichever is first.
        const deadline = this.deps.now() + this.conf.max_coalescing_delay * 1000;
        while (!this.closed && this.entries.length < this.conf.max_batch_size) {
          const left = deadline - this.deps.now();
          if (left <= 0) break;
          await Promise.race([this.deps.sleep(left), new Promise<void>((r) => (this.wake = r))]);
          this.wake = undefined;
        }
        const batch = this.entries.splice(0, this.conf.max_batch_size);
        this.sending = batch.length;
        await this.send(batch);
        this.sending = 0;
      }
    } finally {
      this.running = false;
      const waiters = this.idleWaiters;
      this.idleWaiters = [];
      for (const w of waiters) w();
    }
  }

  private async send(batch: T[]): Promise<void> {
    const started = this.deps.now();
    for (let retry = 0; ; retry++) {
      let ok = false;
      let why = 'handler returned false';
      try {
        ok = (await this.handler(batch)) !== false;
      } catch (err) {
        why = (err as Error)?.message ?? String(err);
      }
      if (ok) {
        this.sentBatches++;
        return;
      }
      if (this.abandoned) return;
      if (this.deps.now() - started > this.conf.max_retry_time * 1000 || this.closed) {
        this.dropped += batch.length;
        this.deps.warn(`queue ${this.name}: could not send entries due to max_retry_time exceeded. ${batch.length} queue entries were lost (${why})`);
        return;
      }
      this.deps.warn(`queue ${this.name}: handler could not process entries: ${why}`);
      const delay = Math.min(this.conf.max_retry_delay, 2 ** retry * this.conf.initial_retry_delay) * 1000;
      await Promise.race([this.deps.sleep(delay), this.closing]);
    }
  }
}
