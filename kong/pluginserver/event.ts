/**
 * One HandleEvent: the two-way channel between a running plugin phase and Kong.
 *
 * The plugin side is the `pipe` handed to kong-pdk's own PDK bridge (kong-pdk/pdk.js `rpcCall`): it `put`s
 * `{Method, Args}` for every PDK call (or "ret" when the phase ends) and `get`s `[result, error]` for every
 * call that returns. The server side takes the plugin's next message to send to Kong (`next`) and hands
 * Kong's Step data back (`deliver`). Messages queue in order on both sides, so parallel PDK calls
 * (`Promise.all`) still run one at a time, in call order, as they do in kong-pdk's PipePair.
 *
 * Unlike kong-pdk, an event knows when it is over for Kong: after forwarding `kong.response.exit` or
 * `kong.response.error` (Kong never sends Step after those, kong-plugin-protocol.md §2.5) or when Kong
 * abandoned it, the server releases it; any PDK call the plugin still makes then rejects instead of waiting
 * for ever, and nothing keeps the event alive.
 */

export type PdkMessage = { Method: string; Args: unknown[] } | 'ret';
type Result = [unknown, unknown];

export const RET = 'ret';
const NON_RETURN = new Set(['kong.response.exit', 'kong.response.error']);

export function isNonReturn(msg: PdkMessage): boolean {
  return msg !== RET && NON_RETURN.has(msg.Method);
}

export interface PdkPipe {
  put(msg: PdkMessage): void;
  get(): Promise<Result>;
}

type ErrorFactory = (message: string) => Error;

export class PluginEvent {
  /** Set when the event ends without "ret" reaching Kong; names why. */
  releasedBecause: string | undefined;
  /** Sweep tick at which the last PDK call was sent to Kong (0: Kong is not holding the ball). */
  awaitingKongSince = 0;
  /** The busy-poll token of the PDK call Kong holds (kong/rpc/busy-poll.ts). */
  pollToken = 0;
  private readonly outbox: PdkMessage[] = [];
  private serverWaiter: ((m: PdkMessage) => void) | undefined;
  private readonly inbox: Result[] = [];
  private readonly pluginWaiters: { resolve: (r: Result) => void; reject: (e: Error) => void }[] = [];
  private lastMethod = '';
  readonly pipe: PdkPipe;

  constructor(
    readonly id: number,
    private readonly pdkError: ErrorFactory,
  ) {
    this.pipe = {
      put: (msg) => this.fromPlugin(msg),
      get: () => this.toPlugin(),
    };
  }

  /** The plugin's next message for Kong, in order. */
  next(): Promise<PdkMessage> | PdkMessage {
    const m = this.outbox.shift();
    if (m !== undefined) return m;
    if (this.serverWaiter) throw new Error(`event #${this.id} is already waiting for the plugin`);
    return new Promise((resolve) => {
      this.serverWaiter = resolve;
    });
  }

  /** True while a HandleEvent/Step is waiting for the plugin's next message. */
  get busy(): boolean {
    return this.serverWaiter !== undefined;
  }

  /** Kong's answer to the oldest outstanding PDK call: `[data, undefined]` for Step, `[undefined, err]` for StepError. */
  deliver(r: Result): void {
    const w = this.pluginWaiters.shift();
    if (w) w.resolve(r);
    else this.inbox.push(r);
  }

  /** Ends the event for good: pending and later PDK calls reject; queued messages are dropped. */
  release(reason: string): void {
    if (this.releasedBecause !== undefined) return;
    this.releasedBecause = reason;
    this.outbox.length = 0;
    this.inbox.length = 0;
    for (const w of this.pluginWaiters.splice(0)) w.reject(this.afterRelease());
    this.serverWaiter = undefined;
  }

  private fromPlugin(msg: PdkMessage): void {
    if (msg !== RET) this.lastMethod = msg.Method;
    if (this.releasedBecause !== undefined) return;
    const w = this.serverWaiter;
    if (w) {
      this.serverWaiter = undefined;
      w(msg);
    } else {
      this.outbox.push(msg);
    }
  }

  private toPlugin(): Promise<Result> {
    if (this.releasedBecause !== undefined) return Promise.reject(this.afterRelease());
    const r = this.inbox.shift();
    if (r !== undefined) return Promise.resolve(r);
    return new Promise((resolve, reject) => this.pluginWaiters.push({ resolve, reject }));
  }

  private afterRelease(): Error {
    return this.pdkError(
      `PDK method ${this.lastMethod} failed: event #${this.id} already ended (${this.releasedBecause}); ` +
        'Kong never answers a PDK call made after that',
    );
  }
}
