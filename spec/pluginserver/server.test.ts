/**
 * Our plugin server in-process (PluginServer + listener on a real unix socket, driven by the Kong-side client),
 * so its internal state (live events, logs) can be inspected.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { listen, type Listening } from '../../kong/pluginserver/listener';
import { createLogger } from '../../kong/pluginserver/log';
import { PluginServer } from '../../kong/pluginserver/server';
import { PluginServerClient, RpcError } from '../../kong/rpc/client';
import { EXIT, runEvent } from '../../kong/rpc/event';
import { EXITER_PLUGIN, writePlugins } from '../helpers/pluginserver-plugins';
import { makeTmpDir } from '../helpers/pluginserver-tmp';
import { rawExchange, request } from '../helpers/pluginserver-wire';

/** Plugins that report what happened to them through a global the test can read (same process). */
const PROBE = String.raw`'use strict';
const probe = (globalThis.__psProbe = globalThis.__psProbe || []);
class Plugin {
  constructor(config) {
    if (config.explode) throw new Error('constructor refused: ' + config.explode);
    this.config = config;
  }
  async access(kong) {
    const mode = await kong.request.getHeader('x-mode');
    if (mode === 'exit-then-call') {
      await kong.response.exit(401, 'nope');
      try {
        await kong.log.info('after exit');
        probe.push('after-exit call resolved');
      } catch (e) {
        probe.push(e.name + ': ' + e.message);
      }
      return;
    }
    if (mode === 'abandoned') {
      try {
        await kong.request.getRawBody();
        probe.push('abandoned call resolved');
      } catch (e) {
        probe.push(e.name + ': ' + e.message);
      }
      return;
    }
    if (mode === 'fire-and-forget') {
      kong.log.debug('not awaited');
      await kong.response.exit(204);
      return;
    }
  }
  close() {
    if (this.config.badClose) throw new Error('close failed on purpose');
    probe.push('closed ' + this.config.tag);
  }
}
module.exports = { Plugin, Version: '0.1.0' };
`;

const SLEEPY = String.raw`'use strict';
class Plugin {
  async access(kong) {
    await new Promise((r) => setTimeout(r, 60));
    await kong.response.setHeader('x-slept', 'yes');
  }
}
module.exports = { Plugin, Version: '0.1.0' };
`;

/** Phase handlers that return without a promise: nothing to do, or one PDK call sent without awaiting it. */
const SYNC = String.raw`'use strict';
class Plugin {
  access() {}
  log(kong) {
    kong.log.notice('sent, not awaited');
  }
  response() {
    throw new Error('sync failure');
  }
}
module.exports = { Plugin, Version: '0.1.0' };
`;

const probe = (): string[] => ((globalThis as { __psProbe?: string[] }).__psProbe ??= []);
const until = async (cond: () => boolean, ms = 2000): Promise<void> => {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error('condition not reached in time');
    await new Promise((r) => setTimeout(r, 10));
  }
};

describe('our plugin server, in-process', () => {
  const tmp = makeTmpDir();
  const lines: string[] = [];
  let ps: PluginServer;
  let listening: Listening;
  let client: PluginServerClient;
  let sock: string;

  before(async () => {
    const dir = writePlugins(path.join(tmp.dir, 'plugins'), {
      'probe.js': PROBE,
      'sleepy.js': SLEEPY,
      'exiter.js': EXITER_PLUGIN,
      'sync.js': SYNC,
    });
    const logger = createLogger('debug', (l) => lines.push(l));
    ps = new PluginServer({ pluginDir: dir, logger, abandonAfterMs: 100, sweepMs: 20 });
    ps.startSweeper();
    sock = tmp.sock();
    // The socket's mode must not depend on the umask the server was started with.
    const umask = process.umask(0);
    try {
      listening = await listen(ps, sock, logger);
    } finally {
      process.umask(umask);
    }
    client = new PluginServerClient({ socketPath: sock, readTimeoutMs: 3000 });
  });

  after(async () => {
    client.close();
    ps.close();
    await listening.close();
    tmp.cleanup();
  });

  test('the socket is owner-only (0600) even under umask 0', () => {
    assert.equal(fs.statSync(sock).mode & 0o777, 0o600);
  });

  async function instance(name: string, config: Record<string, unknown> = {}): Promise<number> {
    return ((await client.call('plugin.StartInstance', { Name: name, Config: JSON.stringify(config) })) as { Id: number })
      .Id;
  }

  test('every event that ends in kong.response.exit is released at once', async () => {
    const id = await instance('exiter');
    await Promise.all(
      Array.from({ length: 8 }, async () => {
        for (let i = 0; i < 100; i++) {
          assert.deepEqual(await runEvent(client, id, 'access', () => EXIT), { exited: true });
        }
      }),
    );
    assert.equal(ps.events.size, 0);
  });

  test('a handler that returns without a promise is answered "ret" in the same turn, with no event left', async () => {
    const id = await instance('sync');
    const reply = ps.call('HandleEvent', [{ InstanceId: id, EventName: 'access' }]);
    assert.ok(!(reply instanceof Promise), 'HandleEvent answered synchronously');
    assert.equal((reply as { Data: unknown }).Data, 'ret');
    assert.equal(ps.events.size, 0);
    // Through the socket too, many at once.
    await Promise.all(Array.from({ length: 20 }, () => runEvent(client, id, 'access', () => undefined)));
    assert.equal(ps.events.size, 0);
  });

  test('a sync handler\'s unawaited PDK call still reaches Kong before "ret"; a sync throw is logged and ends in "ret"', async () => {
    const id = await instance('sync');
    const calls: string[] = [];
    assert.equal(await runEvent(client, id, 'log', (m) => void calls.push(m)), 'ret');
    assert.deepEqual(calls, ['kong.log.notice']);
    assert.equal(await runEvent(client, id, 'response', () => undefined), 'ret');
    assert.ok(lines.some((l) => l.includes('unhandled exception in sync.response') && l.includes('sync failure')));
    assert.equal(ps.events.size, 0);
  });

  test('a PDK call made after exit rejects with a PDKError instead of waiting for ever', async () => {
    const id = await instance('probe');
    const res = await runEvent(client, id, 'access', (m) => (m === 'kong.response.exit' ? EXIT : 'exit-then-call'));
    assert.deepEqual(res, { exited: true });
    await until(() => probe().some((p) => p.includes('after exit') || p.includes('already ended')));
    assert.match(probe().at(-1)!, /^PDKError: PDK method kong\.log\.info failed: event #\d+ already ended \(kong\.response\.exit was sent to Kong\)/);
    assert.equal(ps.events.size, 0);
  });

  test('an unawaited PDK call queued before exit still reaches Kong before the exit', async () => {
    const id = await instance('probe');
    const calls: string[] = [];
    const res = await runEvent(client, id, 'access', (m) => {
      calls.push(m);
      return m === 'kong.response.exit' ? EXIT : m === 'kong.request.get_header' ? 'fire-and-forget' : undefined;
    });
    assert.deepEqual(res, { exited: true });
    assert.deepEqual(calls, ['kong.request.get_header', 'kong.log.debug', 'kong.response.exit']);
  });

  test('an event whose PDK call Kong never answers is released after abandonAfterMs', async () => {
    const id = await instance('probe');
    // A Lua error inside the PDK function (here: a nil raw body) unwinds Kong's handler: no Step ever comes.
    await assert.rejects(
      runEvent(client, id, 'access', (m) => (m === 'kong.request.get_header' ? 'abandoned' : undefined)),
      /attempt to get length of local 'str'/,
    );
    assert.equal(ps.events.size, 1);
    await until(() => ps.events.size === 0);
    await until(() => probe().some((p) => p.includes('abandoned')));
    assert.match(probe().at(-1)!, /PDKError: PDK method kong\.request\.get_raw_body failed: .*Kong abandoned it/);
  });

  test('replies leave in request order even when a later request finishes first', async () => {
    const id = await instance('sleepy');
    const both = Buffer.concat([
      request(1, 'plugin.HandleEvent', { InstanceId: id, EventName: 'access' }),
      request(2, 'plugin.GetPluginInfo', 'exiter'),
    ]);
    const x = await rawExchange(sock, [both], 2);
    const replies = x.replies as unknown[][];
    assert.deepEqual(
      replies.map((r) => r[1]),
      [1, 2],
    );
    assert.deepEqual((replies[0]![3] as { Data: unknown }).Data, {
      Method: 'kong.response.set_header',
      Args: ['x-slept', 'yes'],
    });
  });

  test('a second Step while the plugin is still working on the first is refused, and the first completes', async () => {
    const id = await instance('sleepy');
    // Both Steps arrive in one read: the first hands the plugin its answer, the second finds it still running.
    const x = await rawExchange(sock, [request(1, 'plugin.HandleEvent', { InstanceId: id, EventName: 'access' })], 1);
    const eid = ((x.replies[0] as unknown[])[3] as { EventId: number }).EventId;
    const y = await rawExchange(sock, [Buffer.concat([request(2, 'plugin.Step', { EventId: eid }), request(3, 'plugin.Step', { EventId: eid })])], 2);
    assert.deepEqual(
      (y.replies as unknown[][]).map((r) => [r[1], r[2] ?? (r[3] as { Data: unknown }).Data]),
      [
        [2, 'ret'],
        [3, `event id ${eid} is still running; Step it once per PDK call`],
      ],
    );
  });

  test('CloseInstance calls close(); a failing close() is logged and the close still succeeds', async () => {
    const good = await instance('probe', { tag: 'g1' });
    const bad = await instance('probe', { badClose: true });
    await client.call('plugin.CloseInstance', good);
    assert.equal(probe().at(-1), 'closed g1');
    const r = (await client.call('plugin.CloseInstance', bad)) as { Id: number };
    assert.equal(r.Id, bad);
    assert.ok(lines.some((l) => l.includes('close() of probe instance') && l.includes('close failed on purpose')));
  });

  test('a constructor that throws fails StartInstance and still uses up an instance id, as stock does', async () => {
    const a = await instance('probe');
    await assert.rejects(client.call('plugin.StartInstance', { Name: 'probe', Config: '{"explode":"x"}' }), (e: unknown) => {
      assert.ok(e instanceof RpcError);
      assert.equal(e.message, 'constructor refused: x');
      return true;
    });
    assert.equal(await instance('probe'), a + 2);
  });

  test('GetStatus lists the live instances of each plugin', async () => {
    const id = await instance('sleepy');
    const st = (await client.call('plugin.GetStatus')) as { Pid: number; Plugins: Record<string, { Instances: { Id: number }[] }> };
    assert.equal(st.Pid, process.pid);
    assert.ok(st.Plugins.sleepy!.Instances.some((i) => i.Id === id));
  });

  test('undecodable bytes close only that connection; the server keeps serving', async () => {
    const x = await rawExchange(sock, [Buffer.from([0xc1, 0xc1, 0xc1])], 1, { timeoutMs: 1000 });
    assert.equal(x.closed, true);
    assert.deepEqual(x.replies, []);
    assert.ok(lines.some((l) => l.includes('undecodable data')));
    const info = (await client.call('plugin.GetPluginInfo', 'exiter')) as { Name: string };
    assert.equal(info.Name, 'exiter');
  });

  test('malformed requests get an error reply instead of a crash', async () => {
    const x = await rawExchange(
      sock,
      [
        Buffer.concat([
          request(5, 'plugin.Step', 'not-an-object'),
          Buffer.from([0x94, 0x00, 0x06, 0x07, 0x90]), // [0, 6, 7, []]: method is not a string
          Buffer.from([0x94, 0x00, 0x08, 0xab, ...Buffer.from('plugin.Step'), 0x05]), // params not an array
        ]),
      ],
      3,
    );
    assert.deepEqual(x.replies, [
      [1, 5, 'event id undefined not found', null],
      [1, 6, 'RPC request has no method name', null],
      [1, 8, 'params of Step must be an array', null],
    ]);
  });
});
