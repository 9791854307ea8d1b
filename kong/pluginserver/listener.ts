/**
 * The unix-socket side of the plugin server (kong-pdk 0.6.0 listener.js; kong-plugin-protocol.md §1.6).
 * Requests are `[type, msgid, "plugin.<Method>", params]` (type ignored); replies are `[1, msgid, nil, result]`
 * or `[1, msgid, "<error>", nil]`, with kong-pdk's error texts for a foreign namespace and an unknown method.
 *
 * Framing uses the incremental decoder of kong/rpc/lua-msgpack.ts (msgpack-lite's results): a read may carry
 * any number of messages and a message may span reads (kong-pdk decodes exactly one message per read and crashes on two). Requests on one connection
 * run concurrently but their replies are written in request order, one reply per request. A connection that
 * sends undecodable bytes is closed; the server keeps running.
 */
import fs from 'node:fs';
import net from 'node:net';
import { createStreamDecoder } from '../rpc/lua-msgpack';
import { encodeJs } from './js-msgpack';
import type { Logger } from './log';
import { RPC_METHODS, type PluginServer } from './server';

function errorText(err: unknown): string {
  if (typeof err === 'string') return err;
  if (err !== null && typeof err === 'object' && 'message' in err) return String((err as Error).message);
  if (err !== null && err !== undefined && typeof (err as object).toString === 'function') return String(err);
  return 'Unknown plugin listener error encountered';
}

function errorFrame(msgid: unknown, err: unknown): Buffer {
  return encodeJs([1, msgid, errorText(err), undefined]);
}

function replyFrame(msgid: unknown, result: unknown): Buffer {
  try {
    return encodeJs([1, msgid, undefined, result]);
  } catch (e) {
    // As in kong-pdk, a result that cannot be encoded becomes an error reply.
    return errorFrame(msgid, e);
  }
}

interface Slot {
  frame: Buffer | undefined;
}

class Connection {
  /** Replies in request order; a slot's frame stays undefined while its request is still running. */
  private readonly queue: Slot[] = [];
  private readonly decoder;

  constructor(
    private readonly socket: net.Socket,
    private readonly ps: PluginServer,
    private readonly logger: Logger,
  ) {
    this.decoder = createStreamDecoder((m) => this.onRequest(m));
    socket.on('data', (chunk: Buffer) => {
      try {
        this.decoder.push(chunk);
      } catch (e) {
        this.logger.error(`closing a connection that sent undecodable data: ${(e as Error).message}`);
        socket.destroy();
      }
    });
    socket.on('error', (e) => this.logger.debug(`connection error: ${e.message}`));
  }

  private onRequest(msg: unknown): void {
    const slot: Slot = { frame: undefined };
    this.queue.push(slot);
    const settle = (frame: Buffer): void => {
      slot.frame = frame;
      this.flush();
    };
    const quick = this.dispatch(msg, settle);
    if (quick) settle(quick);
  }

  private flush(): void {
    const q = this.queue;
    while (q.length > 0 && q[0]!.frame !== undefined) {
      const frame = q.shift()!.frame!;
      if (!this.socket.destroyed) this.socket.write(frame);
    }
  }

  /** Returns an error frame at once for a bad request, or arranges for `settle` to get the reply later. */
  private dispatch(msg: unknown, settle: (frame: Buffer) => void): Buffer | undefined {
    if (!Array.isArray(msg)) return errorFrame(0, 'RPC request must be an array [type, msgid, method, params]');
    const msgid: unknown = msg[1];
    const method: unknown = msg[2];
    if (typeof method !== 'string') return errorFrame(msgid, 'RPC request has no method name');
    const [ns, cmd = ''] = method.split('.');
    if (ns !== 'plugin') return errorFrame(msgid, `RPC for ${ns} is not supported`);
    if (this.logger.enabled('debug')) {
      this.logger.debug(`rpc: #${String(msgid)} method: ${method} args: ${safeJson(msg[3])}`);
    }
    if (!RPC_METHODS.has(cmd)) {
      const err = `method ${cmd} not implemented`;
      this.logger.error(`rpc: #${String(msgid)} ${err}`);
      return errorFrame(msgid, err);
    }
    const params: unknown = msg[3] ?? [];
    if (!Array.isArray(params)) return errorFrame(msgid, `params of ${cmd} must be an array`);
    let p: Promise<unknown>;
    try {
      p = this.ps.call(cmd, params);
    } catch (e) {
      return errorFrame(msgid, e);
    }
    p.then(
      (ret) => settle(replyFrame(msgid, ret)),
      (err: unknown) => {
        this.logger.error(`rpc: # ${String(msgid)} ${errorText(err)}`);
        settle(errorFrame(msgid, err));
      },
    );
    return undefined;
  }
}

function safeJson(v: unknown): string {
  try {
    return JSON.stringify(v, (_k, val: unknown) => (Buffer.isBuffer(val) ? `<${val.length} bytes>` : val));
  } catch {
    return '<unprintable>';
  }
}

/**
 * Replaces a stale socket file left by a crashed server (Kong respawns the server and expects it to listen
 * again at the same path), but refuses to delete anything that is not a socket.
 */
export function removeStaleSocket(socketPath: string): void {
  let st: fs.Stats;
  try {
    st = fs.lstatSync(socketPath);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw e;
  }
  if (!st.isSocket()) throw new Error(`${socketPath} exists and is not a socket; refusing to replace it`);
  fs.unlinkSync(socketPath);
}

export interface Listening {
  server: net.Server;
  close(): Promise<void>;
}

export function listen(ps: PluginServer, socketPath: string, logger: Logger): Promise<Listening> {
  removeStaleSocket(socketPath);
  const sockets = new Set<net.Socket>();
  const server = net.createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    new Connection(socket, ps, logger);
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(socketPath, () => {
      server.off('error', reject);
      server.on('error', (e) => logger.error(`listener error: ${e.message}`));
      logger.info(`server started at ${socketPath}`);
      resolve({
        server,
        close: () =>
          new Promise<void>((done) => {
            server.close(() => done());
            for (const s of sockets) s.destroy();
            // net.Server unlinks its unix socket on close; make sure no file stays behind either way.
            try {
              fs.unlinkSync(socketPath);
            } catch {
              /* already gone */
            }
          }),
      });
    });
  });
}
