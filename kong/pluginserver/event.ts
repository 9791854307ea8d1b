/**
 * One HandleEvent: the two-way channel between a running plugin phase and Kong.
 *
 * The plugin side is what the PDK bridge (pdk-bridge.ts) calls: `call` sends a PDK call to Kong and returns the
 * promise of its answer, `send` sends kong.response.exit / error, which Kong never answers, and `end` says the
 * phase is over ("ret"). The server side takes the plugin's next message for Kong (`next`, or `wait` for it)
 * and hands Kong's Step data back (`deliver`). Messages queue in order on both sides, so parallel PDK calls (`Promise.all`) still run
 * one at a time, in call order, as they do in kong-pdk's PipePair.
 *
 * kong-pdk passes every message through two promise queues and an async function (`rpcCall` awaits
 * `pipe.get()` and unpacks `[result, error]`); here a PDK call's promise is settled directly by Kong's answer and
 * the server is handed the next message through a callback, which saves several promises and microtask turns per
 * PDK call. What a plugin sees is unchanged: the promise resolves with the result, or rejects with kong-pdk's
 * PDKError and message.
 *
 * Unlike kong-pdk, an event knows when it is over for Kong: after forwarding `kong.response.exit` or
 * `kong.response.error` (Kong never sends Step after those, kong-plugin-protocol.md §2.5) or when Kong
 * abandoned it, the server releases it; any PDK call the plugin still makes then rejects instead of waiting
 * for ever, and nothing keeps the event alive.
 */

export type PdkMessage = { Method: string; Args: unknown[] } | 'ret';

export const RET = 'ret';
const NON_RETURN = new Set(['kong.response.exit', 'kong.response.error']);

export function isNonReturn(msg: PdkMessage): boolean {
  return msg !== RET && NON_RETURN.has(msg.Method);
}

/** What the PDK bridge needs from an event. */
export interface PdkChannel {
  /** Sends a PDK call to Kong; resolves with Kong's answer, rejects with a PDKError on a StepError. */
  call(method: string, args: unknown[]): Promise<unknown>;
  /** Sends a PDK call Kong never answers (kong.response.exit / error). */
  send(method: string, args: unknown[]): void;
}

type ErrorFactory = (message: string) => Error;

/** A PDK call waiting for Kong's answer. */
interface Waiting {
  method: string;
  resolve: (v: unknown) => void;
  reject: (e: Error) => void;
}

export class PluginEvent implements PdkChannel {
  /** Set when the event ends without "ret" reaching Kong; names why. */
  releasedBecause: string | undefined;
  /** Sweep tick at which the last PDK call was sent to Kong (0: Kong is not holding the ball). */
  awaitingKongSince = 0;
  /** The busy-poll token of the PDK call Kong holds (kong/rpc/busy-poll.ts). */
  pollToken = 0;
  /** Messages for Kong the server has not taken yet (a phase that made calls without awaiting them). */
  private readonly outbox: PdkMessage[] = [];
  private serverWaiter: ((m: PdkMessage) => void) | undefined;
  /** PDK calls sent to Kong and not answered yet, oldest first. */
  private readonly waiting: Waiting[] = [];
  private lastMethod = '';

  constructor(
    readonly id: number,
    private readonly pdkError: ErrorFactory,
  ) {}

  call(method: string, args: unknown[]): Promise<unknown> {
    this.lastMethod = method;
    if (this.releasedBecause !== undefined) return Promise.reject(this.afterRelease());
    return new Promise((resolve, reject) => {
      this.waiting.push({ method, resolve, reject });
      this.toKong({ Method: method, Args: args });
    });
  }

  send(method: string, args: unknown[]): void {
    this.lastMethod = method;
    if (this.releasedBecause === undefined) this.toKong({ Method: method, Args: args });
  }

  /** The phase handler is done: "ret" follows whatever it sent before. */
  end(): void {
    if (this.releasedBecause === undefined) this.toKong(RET);
  }

  /** The plugin's next message for Kong, in order, if it has sent one the server has not taken yet. */
  next(): PdkMessage | undefined {
    return this.outbox.shift();
  }

  /** Hands the plugin's next message to `then` when it sends it (call after `next` found none). */
  wait(then: (m: PdkMessage) => void): void {
    if (this.serverWaiter) throw new Error(`event #${this.id} is already waiting for the plugin`);
    this.serverWaiter = then;
  }

  /** True while a HandleEvent/Step is waiting for the plugin's next message. */
  get busy(): boolean {
    return this.serverWaiter !== undefined;
  }

  /**
   * Kong's answer to the oldest outstanding PDK call: its Step data, or its StepError text (`isError`). An answer
   * no call waits for is dropped: Kong answers only what it was sent, and only a call sends.
   */
  deliver(data: unknown, isError: boolean): void {
    const w = this.waiting.shift();
    if (w === undefined) return;
    // kong-pdk: `if (err) throw new PDK.Error(...)`, so a falsy error text counts as success (with no result).
    if (isError && data) w.reject(this.pdkError(`PDK method ${w.method} failed:  ${data as string}`));
    else w.resolve(isError ? undefined : data);
  }

  /** Ends the event for good: pending and later PDK calls reject; queued messages are dropped. */
  release(reason: string): void {
    if (this.releasedBecause !== undefined) return;
    this.releasedBecause = reason;
    this.outbox.length = 0;
    for (const w of this.waiting.splice(0)) w.reject(this.afterRelease());
    this.serverWaiter = undefined;
  }

  private toKong(msg: PdkMessage): void {
    const w = this.serverWaiter;
    if (w) {
      this.serverWaiter = undefined;
      w(msg);
    } else {
      this.outbox.push(msg);
    }
  }

  private afterRelease(): Error {
    return this.pdkError(
      `PDK method ${this.lastMethod} failed: event #${this.id} already ended (${this.releasedBecause}); ` +
        'Kong never answers a PDK call made after that',
    );
  }
}
