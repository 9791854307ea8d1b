/**
 * Kong's side of the MessagePack plugin-server RPC, as kong/runloop/plugin_servers/rpc/mp_rpc.lua `Rpc:call`
 * does it (kong-plugin-protocol.md §2.6, §6.3):
 * - every call takes a pooled keepalive unix connection (or opens one), writes exactly one
 *   `[0, msgId, method, params]`, reads until `[1, msgId, err, result]` arrives, then returns the connection to
 *   the pool; so there is one request in flight per connection and never any pipelining;
 * - `msgId` is a counter starting at 1 for this client (Kong: per Rpc object and worker);
 * - notifications `[2, label, args]` are skipped (handed to `onNotification` when given);
 * - an error reply rejects with `RpcError(message)`; a read that gets nothing within `readTimeoutMs`
 *   (lua_socket_read_timeout, 60 s) or hits EOF rejects with `Error('no data')`, as `reader()` failing does;
 * - a reply of the wrong type or id is a protocol violation (Kong asserts): the connection is dropped.
 * At most `poolSize` idle connections are kept (lua_socket_pool_size, 256 since 3.5); extras are closed.
 */
import net from 'node:net';
import { BusyPoll } from './busy-poll';
import { createStreamDecoder, encodeLua } from './lua-msgpack';

/**
 * The read buffer every connection's socket reads into. One is enough: a read is handed to its connection's
 * decoder synchronously, before the next read into the buffer can happen.
 */
const READ_BUFFER = Buffer.allocUnsafe(64 * 1024);

export class RpcError extends Error {
  override name = 'RpcError';
}

/** The plugin server could not be reached (Kong: `trying to connect: <err>`; fail-open or 500, §2.9). */
export class RpcConnectError extends Error {
  override name = 'RpcConnectError';
  constructor(
    message: string,
    readonly code: string | undefined,
  ) {
    super(message);
  }
}

export interface PluginServerClientOptions {
  socketPath: string;
  /** Idle keepalive connections kept (Kong 3.5+: 256). */
  poolSize?: number;
  /** Wait for a reply before failing with 'no data' (ngx_lua lua_socket_read_timeout: 60000). */
  readTimeoutMs?: number;
  /** Pooled connections idle longer than this are closed (ngx_lua keepalive timeout: 60000). */
  idleTimeoutMs?: number;
  onNotification?: (label: unknown, args: unknown) => void;
  /**
   * Poll the event loop for up to this many µs for each reply instead of sleeping until it wakes the process
   * (kong/rpc/busy-poll.ts). Default 0: Kong's nginx does not, and the benchmarks that play Kong must not either.
   */
  busyPollUs?: number;
}

interface Pending {
  msgId: number;
  /** busy-poll token of this call */
  poll: number;
  resolve: (v: unknown) => void;
  reject: (e: Error) => void;
}

/**
 * One pooled unix connection. Its socket never holds the process open by itself (an idle pooled connection must
 * not, as ngx_lua's pool does not); a call in flight does, through the connection's read timer, which is
 * referenced only while a reply is due. The timer is one object per connection, re-armed for each call
 * (`refresh`) rather than created and cleared per call: the gateway makes four or five calls per request.
 */
class Connection {
  pending: Pending | undefined;
  dead = false;
  idleSince = 0;
  private readonly decoder;
  private timer: NodeJS.Timeout | undefined;

  constructor(
    readonly socket: net.Socket,
    private readonly owner: PluginServerClient,
  ) {
    socket.unref();
    this.decoder = createStreamDecoder((msg) => this.onMessage(msg));
    socket.on('error', (e) => this.fail(new Error(`no data (${e.message})`)));
    socket.on('close', () => this.fail(new Error('no data')));
  }

  /** Bytes read from the socket (a view of the shared read buffer, valid only during this call). */
  onData(chunk: Buffer): void {
    try {
      this.decoder.push(chunk);
    } catch (e) {
      this.fail(new Error(`undecodable reply from plugin server: ${(e as Error).message}`));
    }
  }

  private onMessage(msg: unknown): void {
    const p = this.pending;
    if (!p) {
      // nginx closes a pooled connection that receives unexpected data.
      this.fail(new Error('unexpected data on an idle plugin server connection'));
      return;
    }
    if (!Array.isArray(msg)) return this.fail(new Error('RPC response expected from plugin server'));
    if (msg[0] === 2) {
      this.owner.notify(msg[1], msg[2]);
      return;
    }
    if (msg[0] !== 1) return this.fail(new Error('RPC response expected from plugin server'));
    if (msg[1] !== p.msgId) {
      return this.fail(new Error(`unexpected RPC response ID from plugin server: got ${msg[1]}, want ${p.msgId}`));
    }
    this.timer?.unref();
    this.pending = undefined;
    this.owner.busyPoll.settle(p.poll);
    this.owner.release(this);
    const err = msg[2];
    if (err !== undefined && err !== null) p.reject(new RpcError(String(err)));
    else p.resolve(msg[3] ?? undefined);
  }

  send(msgId: number, frame: Buffer, timeoutMs: number): Promise<unknown> {
    return new Promise((resolve, reject) => {
      this.pending = { msgId, poll: 0, resolve, reject };
      if (this.timer === undefined) this.timer = setTimeout(this.onTimeout, timeoutMs);
      else this.timer.refresh().ref();
      this.socket.write(frame);
      this.pending.poll = this.owner.busyPoll.arm();
    });
  }

  /** The read timer fired: a reply still due has not come within the read timeout (an idle connection ignores it). */
  private readonly onTimeout = (): void => {
    if (this.pending) this.fail(new Error('no data'));
  };

  fail(err: Error): void {
    if (!this.dead) {
      this.dead = true;
      this.socket.destroy();
      this.owner.forget(this);
    }
    if (this.timer !== undefined) clearTimeout(this.timer);
    const p = this.pending;
    if (p) {
      this.pending = undefined;
      this.owner.busyPoll.settle(p.poll);
      p.reject(err);
    }
  }
}

export class PluginServerClient {
  readonly socketPath: string;
  private readonly poolSize: number;
  private readonly readTimeoutMs: number;
  private readonly idleTimeoutMs: number;
  private readonly onNotification: ((label: unknown, args: unknown) => void) | undefined;
  private readonly idle: Connection[] = [];
  private readonly busy = new Set<Connection>();
  private msgId = 0;
  private closed = false;
  private sweeper: NodeJS.Timeout | undefined;
  /** @internal */
  readonly busyPoll: BusyPoll;

  constructor(opts: PluginServerClientOptions) {
    this.socketPath = opts.socketPath;
    this.poolSize = opts.poolSize ?? 256;
    this.readTimeoutMs = opts.readTimeoutMs ?? 60_000;
    this.idleTimeoutMs = opts.idleTimeoutMs ?? 60_000;
    this.onNotification = opts.onNotification;
    this.busyPoll = new BusyPoll(opts.busyPollUs ?? 0);
  }

  /** Sends `[0, msgId, method, params]` and resolves with the result (rejects with RpcError on an error reply). */
  call(method: string, ...params: unknown[]): Promise<unknown> {
    if (this.closed) return Promise.reject(new Error('plugin server client is closed'));
    const msgId = ++this.msgId;
    let frame: Buffer;
    try {
      frame = encodeLua([0, msgId, method, params]);
    } catch (e) {
      return Promise.reject(e as Error);
    }
    // A pooled connection is taken and written to in this same turn (no promise in between); only a new
    // connection waits for its connect.
    const conn = this.takeIdle();
    if (conn) return conn.send(msgId, frame, this.readTimeoutMs);
    return this.connect().then((c) => c.send(msgId, frame, this.readTimeoutMs));
  }

  /** Number of open connections, idle and busy (for tests and diagnostics). */
  get connections(): { idle: number; busy: number } {
    return { idle: this.idle.length, busy: this.busy.size };
  }

  close(): void {
    this.closed = true;
    this.busyPoll.stop();
    if (this.sweeper) clearInterval(this.sweeper);
    for (const c of [...this.idle, ...this.busy]) c.fail(new Error('plugin server client is closed'));
    this.idle.length = 0;
    this.busy.clear();
  }

  /** The most recently used live idle connection, now busy; undefined when none is left. */
  private takeIdle(): Connection | undefined {
    const now = Date.now();
    for (let c = this.idle.pop(); c; c = this.idle.pop()) {
      if (c.dead) continue;
      if (now - c.idleSince > this.idleTimeoutMs) {
        c.fail(new Error('idle timeout'));
        continue;
      }
      this.busy.add(c);
      return c;
    }
    return undefined;
  }

  private async connect(): Promise<Connection> {
    let conn: Connection | undefined;
    const socket = await new Promise<net.Socket>((resolve, reject) => {
      const s = net.createConnection({
        path: this.socketPath,
        // Reads land in one shared buffer and go straight to the decoder, which copies whatever it keeps (a
        // split message's head; strings and bins it decodes): no Buffer per read and no stream 'data' machinery.
        onread: {
          buffer: READ_BUFFER,
          callback: (n: number, buf: Uint8Array): boolean => {
            // Nothing is due before the first call: a server that talks first is not speaking the protocol.
            if (conn) conn.onData((buf as Buffer).subarray(0, n));
            else s.destroy();
            return true;
          },
        },
      });
      const timer = setTimeout(() => {
        s.destroy();
        reject(new RpcConnectError(`failed to connect to ${this.socketPath}: timeout`, 'ETIMEDOUT'));
      }, this.readTimeoutMs);
      s.once('connect', () => {
        clearTimeout(timer);
        s.removeAllListeners('error');
        resolve(s);
      });
      s.once('error', (e: NodeJS.ErrnoException) => {
        clearTimeout(timer);
        reject(new RpcConnectError(`failed to connect to ${this.socketPath}: ${e.message}`, e.code));
      });
    });
    if (this.closed) {
      socket.destroy();
      throw new Error('plugin server client is closed');
    }
    socket.setNoDelay?.(true);
    conn = new Connection(socket, this);
    this.busy.add(conn);
    return conn;
  }

  /** @internal called by a connection once its reply has been read. */
  release(c: Connection): void {
    this.busy.delete(c);
    if (this.closed || this.idle.length >= this.poolSize) {
      c.dead = true;
      c.socket.destroy();
      return;
    }
    c.idleSince = Date.now();
    this.idle.push(c);
    this.startSweeper();
  }

  /** @internal */
  forget(c: Connection): void {
    this.busy.delete(c);
    const i = this.idle.indexOf(c);
    if (i >= 0) this.idle.splice(i, 1);
  }

  /** @internal */
  notify(label: unknown, args: unknown): void {
    this.onNotification?.(label, args);
  }

  private startSweeper(): void {
    if (this.sweeper) return;
    const every = Math.max(1000, Math.min(this.idleTimeoutMs, 30_000));
    this.sweeper = setInterval(() => {
      const limit = Date.now() - this.idleTimeoutMs;
      for (const c of this.idle.filter((x) => x.idleSince < limit)) c.fail(new Error('idle timeout'));
    }, every);
    this.sweeper.unref();
  }
}

export { runEvent, EXIT, getStepMethod, mustFix } from './event';
export type { PdkCallback, StepIn, PdkCall } from './event';
