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
import path from 'node:path';
import { createStreamDecoder } from '../rpc/lua-msgpack';
import { encodeJs } from './js-msgpack';
import { redactForLog } from './redact';
import { ReplyWriter } from './reply-writer';
import { closeHooks, hooksBusy } from './shutdown-hooks';
import type { Logger } from './log';
import { LATER, RPC_METHODS, type PluginServer } from './server';

/** "plugin.<method>" -> method, for the names Kong sends (one Map lookup instead of a split per request). */
const COMMANDS: ReadonlyMap<string, string> = new Map([...RPC_METHODS].map((m) => [`plugin.${m}`, m]));

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
  private readonly out: ReplyWriter;

  /** Requests on this connection not yet answered (or answered in a frame not yet handed to the socket). */
  pending(): number {
    return this.socket.destroyed ? 0 : this.queue.length + this.out.queued;
  }

  constructor(
    private readonly socket: net.Socket,
    private readonly ps: PluginServer,
    private readonly logger: Logger,
  ) {
    // One live event in the whole process (a single request, as at 1 connection): its replies have nothing to
    // batch with, so they are written at once (reply-writer.ts).
    this.out = new ReplyWriter(socket, () => ps.events.size <= 1);
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
    const quick = this.dispatch(msg, slot);
    if (quick !== undefined) this.settle(slot, quick);
  }

  private settle(slot: Slot, frame: Buffer): void {
    slot.frame = frame;
    const q = this.queue;
    while (q.length > 0 && q[0]!.frame !== undefined) {
      this.out.write(q.shift()!.frame!);
    }
  }

  /** Returns the reply frame at once (a bad request, or a reply known at once), or arranges for `slot` to get it later. */
  private dispatch(msg: unknown, slot: Slot): Buffer | undefined {
    if (!Array.isArray(msg)) return errorFrame(0, 'RPC request must be an array [type, msgid, method, params]');
    const msgid: unknown = msg[1];
    const method: unknown = msg[2];
    if (typeof method !== 'string') return errorFrame(msgid, 'RPC request has no method name');
    let cmd = COMMANDS.get(method);
    if (cmd === undefined) {
      // Not a name Kong sends: kong-pdk's checks and error texts, from its split at dots ("plugin.Step.x" is Step).
      const [ns, c = ''] = method.split('.');
      if (ns !== 'plugin') return errorFrame(msgid, `RPC for ${ns} is not supported`);
      cmd = c;
    }
    if (this.logger.enabled('debug')) {
      this.logger.debug(`rpc: #${String(msgid)} method: ${method} args: ${redactForLog(msg[3])}`);
    }
    if (!RPC_METHODS.has(cmd)) {
      const err = `method ${cmd} not implemented`;
      this.logger.error(`rpc: #${String(msgid)} ${err}`);
      return errorFrame(msgid, err);
    }
    const params: unknown = msg[3] ?? [];
    if (!Array.isArray(params)) return errorFrame(msgid, `params of ${cmd} must be an array`);
    let r: unknown;
    try {
      r = this.ps.invoke(cmd, params, (ok, v) => this.settle(slot, ok ? replyFrame(msgid, v) : this.failed(msgid, v)));
    } catch (e) {
      return this.failed(msgid, e);
    }
    // A reply known at once (HandleEvent whose first message is ready) goes out in this turn.
    return r === LATER ? undefined : replyFrame(msgid, r);
  }

  private failed(msgid: unknown, err: unknown): Buffer {
    this.logger.error(`rpc: # ${String(msgid)} ${errorText(err)}`);
    return errorFrame(msgid, err);
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

/** The least time plugins' shutdown hooks get to close, even when the drain used up the deadline. */
const HOOK_CLOSE_FLOOR_MS = 250;

export interface Listening {
  server: net.Server;
  /** Requests received and not yet answered, over all connections. */
  inFlight(): number;
  /** Stops accepting, waits (up to `drainMs`) for in-flight requests to be answered, then closes. */
  close(drainMs?: number): Promise<void>;
}

/**
 * Listens on `socketPath` so that closing removes only the socket this process created: the server listens on
 * a private name first and renames it into place (atomic, and it replaces a stale socket), and on close the
 * path is unlinked only while it is still that socket (same device and inode). Otherwise an orphaned server
 * being stopped would unlink the socket a newer server is listening on (issue 11), and net.Server's own
 * unlink-on-close would do so too if it had listened on the shared path.
 */
export function listen(ps: PluginServer, socketPath: string, logger: Logger): Promise<Listening> {
  removeStaleSocket(socketPath);
  const sockets = new Set<net.Socket>();
  const connections = new Set<Connection>();
  const server = net.createServer((socket) => {
    sockets.add(socket);
    const c = new Connection(socket, ps, logger);
    connections.add(c);
    socket.on('close', () => {
      sockets.delete(socket);
      connections.delete(c);
    });
  });
  const privateName = path.join(path.dirname(socketPath), `.${path.basename(socketPath)}.${process.pid}`);
  // sun_path holds 107 bytes: if the private name does not fit, listen on the path itself.
  const viaRename = Buffer.byteLength(privateName) < 104;
  const inFlight = (): number => {
    // Replies not yet written, events between two of Kong's Steps (their next Step must still find us), and
    // what plugins report through their shutdown hooks (responses they serve themselves, such as live streams).
    let n = ps.events.size + hooksBusy();
    for (const c of connections) n += c.pending();
    return n;
  };
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    if (viaRename) removeStaleSocket(privateName);
    // Created owner-only (the chmod below makes sure of it whatever happens to the umask): no one else can connect
    // between the bind and the chmod. listen() binds synchronously in this process, so the umask is back at once.
    const umask = process.umask(0o077);
    try {
      server.listen(viaRename ? privateName : socketPath, onListening);
    } finally {
      process.umask(umask);
    }
    function onListening(): void {
      server.off('error', reject);
      let own: fs.Stats;
      try {
        // Owner only, whatever the umask: anyone who can connect can start plugin instances and read what Kong
        // passes them (configs with provider keys, request bodies). Set before the rename, so the socket is
        // never reachable under its public name with a wider mode.
        fs.chmodSync(viaRename ? privateName : socketPath, 0o600);
        if (viaRename) fs.renameSync(privateName, socketPath);
        own = fs.lstatSync(socketPath);
      } catch (e) {
        server.close();
        reject(e as Error);
        return;
      }
      server.on('error', (e) => logger.error(`listener error: ${e.message}`));
      logger.info(`server started at ${socketPath}`);
      let closing: Promise<void> | undefined;
      resolve({
        server,
        inFlight,
        close: (drainMs = 0) =>
          (closing ??= (async () => {
            // Stop accepting first, and take the socket name away only if it is still ours.
            const closed = new Promise<void>((done) => server.close(() => done()));
            unlinkIfOwn(socketPath, own, logger);
            const deadline = Date.now() + drainMs;
            while (inFlight() > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
            if (inFlight() > 0) logger.warn(`closing with ${inFlight()} requests still in flight after ${drainMs} ms`);
            for (const s of sockets) s.destroy();
            await closed;
            // Then the plugins flush (log sinks), within what is left of the deadline; a short floor so that a
            // drain that used it all still lets buffered lines reach their file.
            const late = await closeHooks(Math.max(HOOK_CLOSE_FLOOR_MS, deadline - Date.now()));
            if (late.length > 0) logger.warn(`shutdown hooks still running at the deadline: ${late.join(', ')}`);
          })()),
      });
    }
  });
}

function unlinkIfOwn(socketPath: string, own: fs.Stats, logger: Logger): void {
  try {
    const now = fs.lstatSync(socketPath);
    if (now.dev === own.dev && now.ino === own.ino) fs.unlinkSync(socketPath);
    else logger.info(`${socketPath} now belongs to another server; leaving it in place`);
  } catch {
    /* already gone */
  }
}
