/**
 * The Kong-side client against a scripted peer on a real unix socket: the peer decides each reply so the
 * protocol edges (notifications, wrong ids, silence) can be produced on demand.
 */
import assert from 'node:assert/strict';
import net from 'node:net';
import { after, before, describe, test } from 'node:test';
import { PluginServerClient, RpcConnectError, RpcError } from '../../kong/rpc/client';
import msgpack from 'msgpack-lite';
import { createStreamDecoder } from '../../kong/rpc/lua-msgpack';
import { makeTmpDir } from '../helpers/pluginserver-tmp';

type Reply = (msg: unknown[], write: (v: unknown) => void) => void;

interface Peer {
  path: string;
  frames: unknown[][];
  connections: number;
  maxInFlightPerConnection: number;
  reply: Reply;
  close(): Promise<void>;
}

async function startPeer(path: string): Promise<Peer> {
  const peer: Peer = {
    path,
    frames: [],
    connections: 0,
    maxInFlightPerConnection: 0,
    reply: (msg, write) => write([1, msg[1], null, { echo: msg[2], params: msg[3] }]),
    close: () => new Promise((r) => server.close(() => r())),
  };
  const sockets = new Set<net.Socket>();
  const server = net.createServer((s) => {
    peer.connections++;
    sockets.add(s);
    let inFlight = 0;
    const d = createStreamDecoder((m) => {
      const msg = m as unknown[];
      peer.frames.push(msg);
      inFlight++;
      peer.maxInFlightPerConnection = Math.max(peer.maxInFlightPerConnection, inFlight);
      peer.reply(msg, (v) => {
        inFlight--;
        s.write(msgpack.encode(v)); // JS-server style, nils kept in arrays
      });
    });
    s.on('data', (c) => d.push(c));
    s.on('close', () => sockets.delete(s));
    s.on('error', () => {});
  });
  const origClose = peer.close;
  peer.close = () => {
    for (const s of sockets) s.destroy();
    return origClose();
  };
  await new Promise<void>((r) => server.listen(path, r));
  return peer;
}

describe('PluginServerClient (Kong mp_rpc Rpc:call)', () => {
  const tmp = makeTmpDir();
  let peer: Peer;
  before(async () => {
    peer = await startPeer(tmp.sock());
  });
  after(async () => {
    await peer.close();
    tmp.cleanup();
  });

  test('sends [0, msgId, method, params] with ids counting from 1 and resolves with the result', async () => {
    peer.frames.length = 0;
    const c = new PluginServerClient({ socketPath: peer.path });
    const r1 = await c.call('plugin.HandleEvent', { InstanceId: 0, EventName: 'access' });
    const r2 = await c.call('plugin.CloseInstance', 7);
    assert.deepEqual(r1, { echo: 'plugin.HandleEvent', params: [{ InstanceId: 0, EventName: 'access' }] });
    assert.deepEqual(r2, { echo: 'plugin.CloseInstance', params: [7] });
    assert.deepEqual(
      peer.frames.map((f) => [f[0], f[1]]),
      [
        [0, 1],
        [0, 2],
      ],
    );
    c.close();
  });

  test('reuses one pooled connection for sequential calls', async () => {
    const before = peer.connections;
    const c = new PluginServerClient({ socketPath: peer.path });
    for (let i = 0; i < 5; i++) await c.call('plugin.GetStatus');
    assert.equal(peer.connections - before, 1);
    assert.deepEqual(c.connections, { idle: 1, busy: 0 });
    c.close();
  });

  test('never pipelines: concurrent calls use separate connections and the pool keeps at most poolSize', async () => {
    const before = peer.connections;
    peer.maxInFlightPerConnection = 0;
    const saved = peer.reply;
    peer.reply = (msg, write) => setTimeout(() => saved(msg, write), 5);
    const c = new PluginServerClient({ socketPath: peer.path, poolSize: 2 });
    const results = await Promise.all(Array.from({ length: 6 }, (_, i) => c.call('plugin.Step', { EventId: i })));
    peer.reply = saved;
    assert.equal(results.length, 6);
    assert.equal(peer.maxInFlightPerConnection, 1);
    assert.equal(peer.connections - before, 6);
    assert.deepEqual(c.connections, { idle: 2, busy: 0 });
    c.close();
  });

  test('an error reply rejects with RpcError carrying the server text', async () => {
    const saved = peer.reply;
    peer.reply = (msg, write) => write([1, msg[1], 'no plugin instance #42', null]);
    const c = new PluginServerClient({ socketPath: peer.path });
    await assert.rejects(c.call('plugin.HandleEvent', { InstanceId: 42, EventName: 'access' }), (e: unknown) => {
      assert.ok(e instanceof RpcError);
      assert.equal(e.message, 'no plugin instance #42');
      return true;
    });
    peer.reply = saved;
    c.close();
  });

  test('notifications before the reply are skipped and handed to onNotification', async () => {
    const saved = peer.reply;
    peer.reply = (msg, write) => {
      write([2, 'serverPid', 1234]);
      write([1, msg[1], null, 'ok']);
    };
    const seen: unknown[] = [];
    const c = new PluginServerClient({ socketPath: peer.path, onNotification: (l, a) => seen.push([l, a]) });
    assert.equal(await c.call('plugin.GetStatus'), 'ok');
    assert.deepEqual(seen, [['serverPid', 1234]]);
    peer.reply = saved;
    c.close();
  });

  test('a reply with the wrong id rejects and the connection is dropped', async () => {
    const saved = peer.reply;
    peer.reply = (msg, write) => write([1, (msg[1] as number) + 100, null, 'late']);
    const c = new PluginServerClient({ socketPath: peer.path });
    await assert.rejects(c.call('plugin.GetStatus'), /unexpected RPC response ID/);
    assert.deepEqual(c.connections, { idle: 0, busy: 0 });
    peer.reply = saved;
    c.close();
  });

  test('a server that stays silent past readTimeoutMs gives "no data"', async () => {
    const saved = peer.reply;
    peer.reply = () => {};
    const c = new PluginServerClient({ socketPath: peer.path, readTimeoutMs: 50 });
    await assert.rejects(c.call('plugin.GetStatus'), (e: unknown) => (e as Error).message === 'no data');
    peer.reply = saved;
    c.close();
  });

  test('a pooled connection re-arms its read timer per call: idle time never counts, silence still does', { timeout: 15_000 }, async () => {
    const saved = peer.reply;
    const before = peer.connections;
    const c = new PluginServerClient({ socketPath: peer.path, readTimeoutMs: 1000 });
    assert.equal((await c.call('plugin.GetStatus')) !== undefined, true);
    // Idle past the read timeout: the timer armed for the first call fires with nothing due and must not
    // touch the pooled connection.
    await new Promise((r) => setTimeout(r, 1200));
    assert.deepEqual(c.connections, { idle: 1, busy: 0 });
    // A reply that comes 0.4 s after its call (but 1.6 s after the first call) is in time.
    peer.reply = (msg, write) => setTimeout(() => saved(msg, write), 400);
    assert.deepEqual(await c.call('plugin.GetStatus'), { echo: 'plugin.GetStatus', params: [] });
    assert.equal(peer.connections - before, 1);
    // And the re-armed timer still ends a silent call.
    peer.reply = () => {};
    await assert.rejects(c.call('plugin.GetStatus'), (e: unknown) => (e as Error).message === 'no data');
    assert.deepEqual(c.connections, { idle: 0, busy: 0 });
    peer.reply = saved;
    c.close();
  });

  test('a missing socket rejects with RpcConnectError naming the cause', async () => {
    const c = new PluginServerClient({ socketPath: tmp.sock('absent.sock') });
    await assert.rejects(c.call('plugin.GetStatus'), (e: unknown) => {
      assert.ok(e instanceof RpcConnectError);
      assert.equal(e.code, 'ENOENT');
      return true;
    });
    c.close();
  });
});
