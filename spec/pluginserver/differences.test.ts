/**
 * Where our plugin server deliberately differs from stock kong-js-pluginserver (kong-pdk 0.6.0), each test
 * shows both behaviours over a real unix socket: stock's defect and our fix.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { PluginServerClient, RpcError } from '../../kong/rpc/client';
import { CONFORM_PLUGIN, EXITER_PLUGIN, writePlugins } from '../helpers/pluginserver-plugins';
import { canConnect, cliFor, runDump, startServer, type RunningServer, type ServerKind } from '../helpers/pluginserver-process';
import { makeTmpDir } from '../helpers/pluginserver-tmp';
import { rawExchange, request } from '../helpers/pluginserver-wire';

const tmp = makeTmpDir();
const pluginsDir = writePlugins(path.join(tmp.dir, 'plugins'), { 'conform.js': CONFORM_PLUGIN, 'exiter.js': EXITER_PLUGIN });
let sockCount = 0;

async function fresh(kind: ServerKind, dir = pluginsDir): Promise<RunningServer> {
  return startServer(kind, { pluginsDir: dir, prefix: tmp.dir, sockName: `${kind}-${++sockCount}.sock` });
}

function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  return Promise.race([
    p,
    new Promise<T>((_, reject) => setTimeout(() => reject(new Error(`${what} did not happen within ${ms} ms`)), ms)),
  ]);
}

describe('deliberate differences from stock kong-js-pluginserver', () => {
  const started: RunningServer[] = [];
  const keep = (s: RunningServer): RunningServer => (started.push(s), s);
  after(async () => {
    for (const s of started) await s.stop();
    tmp.cleanup();
  });

  test('two requests in one write: stock dies of a RangeError, ours answers both in order', async () => {
    const two = Buffer.concat([request(1, 'plugin.GetPluginInfo', 'exiter'), request(2, 'plugin.GetPluginInfo', 'conform')]);

    const stock = keep(await fresh('stock'));
    const s = await rawExchange(stock.socketPath, [two], 2, { timeoutMs: 2000 });
    const code = await withTimeout(stock.exited, 5000, 'stock exit');
    assert.deepEqual(s.replies, []);
    assert.notEqual(code, 0);
    assert.match(stock.stderr(), /RangeError: Extra \d+ of \d+ byte/);

    const ours = keep(await fresh('ours'));
    const o = await rawExchange(ours.socketPath, [two], 2);
    assert.deepEqual(
      (o.replies as unknown[][]).map((r) => [r[0], r[1], r[2], (r[3] as { Name: string }).Name]),
      [
        [1, 1, null, 'exiter'],
        [1, 2, null, 'conform'],
      ],
    );
    assert.equal(ours.hasExited(), false);
  });

  test('a read that ends right after a type byte: stock crashes, ours waits for the rest', async () => {
    const req = request(3, 'plugin.GetPluginInfo', 'exiter');
    const chunks = [req.subarray(0, 1), req.subarray(1)];

    const stock = keep(await fresh('stock'));
    const s = await rawExchange(stock.socketPath, chunks, 1, { gapMs: 20, timeoutMs: 1500 });
    assert.deepEqual(s.replies, []);
    await withTimeout(stock.exited, 5000, 'stock exit');
    assert.match(stock.stderr(), /RangeError/);

    const ours = keep(await fresh('ours'));
    const o = await rawExchange(ours.socketPath, chunks, 1, { gapMs: 20 });
    assert.deepEqual((o.replies[0] as unknown[]).slice(0, 3), [1, 3, null]);
  });

  test('after kong.response.exit stock keeps the event for ever (a later Step still finds it), ours releases it', async () => {
    const results: Record<string, unknown> = {};
    for (const kind of ['stock', 'ours'] as const) {
      const srv = keep(await fresh(kind));
      const c = new PluginServerClient({ socketPath: srv.socketPath, readTimeoutMs: 3000 });
      const { Id } = (await c.call('plugin.StartInstance', { Name: 'exiter', Config: '{}' })) as { Id: number };
      const ev = (await c.call('plugin.HandleEvent', { InstanceId: Id, EventName: 'access' })) as {
        EventId: number;
        Data: { Method: string };
      };
      assert.equal(ev.Data.Method, 'kong.response.exit');
      // Kong never sends this Step; sending it reveals whether the server still holds the event.
      try {
        results[kind] = await c.call('plugin.Step', { EventId: ev.EventId });
      } catch (e) {
        assert.ok(e instanceof RpcError);
        results[kind] = e.message;
      }
      c.close();
    }
    assert.deepEqual(results.stock, { Data: 'ret', EventId: 0 });
    assert.equal(results.ours, 'event id 0 not found');
  });

  test('CloseInstance: stock never tells the plugin, ours calls its close()', async () => {
    for (const kind of ['stock', 'ours'] as const) {
      const srv = keep(await fresh(kind));
      const c = new PluginServerClient({ socketPath: srv.socketPath });
      const tag = `diff-${kind}`;
      const { Id } = (await c.call('plugin.StartInstance', { Name: 'conform', Config: JSON.stringify({ tag }) })) as {
        Id: number;
      };
      await c.call('plugin.CloseInstance', Id);
      c.close();
      assert.equal(existsSync(path.join(tmp.dir, `closed-${tag}`)), kind === 'ours', kind);
    }
  });

  test('bad files in the plugins directory: stock corrupts or aborts the dump, ours reports them on stderr', () => {
    const dir = writePlugins(path.join(tmp.dir, 'messy'), {
      'conform.js': CONFORM_PLUGIN,
      'broken.js': "throw new Error('syntax is fine but loading fails');\n",
      'util.js': 'module.exports = { helper() {} };\n',
      'noisy.js':
        "console.log('hello from plugin load');\nclass Plugin { async access() {} }\n" +
        "module.exports = { Plugin, Version: '0.0.1' };\n",
      'types.d.ts': 'export declare const x: number;\n',
      'README.md': '# notes\n',
      '.gitkeep': '',
    });
    const stock = runDump('stock', ['-d', dir, '--dump-all-plugins']);
    assert.throws(() => JSON.parse(stock.stdout.toString()), SyntaxError, 'stock stdout should not be valid JSON');
    assert.match(stock.stdout.toString(), /error loading plugin/);

    const ours = runDump('ours', ['-d', dir, '--dump-all-plugins']);
    assert.equal(ours.status, 0, ours.stderr);
    const names = (JSON.parse(ours.stdout.toString()) as { Name: string }[]).map((p) => p.Name);
    assert.deepEqual(names, ['conform', 'noisy']);
    assert.match(ours.stderr, /error loading plugin "broken"/);
    assert.match(ours.stderr, /error loading plugin "util".*does not export a Plugin class/);
    assert.match(ours.stderr, /hello from plugin load/);
  });

  test('a folder without an entry point: stock crashes even in dump mode, ours skips it', () => {
    const dir = writePlugins(path.join(tmp.dir, 'folders'), {
      'exiter.js': EXITER_PLUGIN,
      'assets/data.json': '{}',
      'pkg/index.js': EXITER_PLUGIN.replace("Priority: 10", "Priority: 11"),
    });
    const stock = runDump('stock', ['-d', dir, '--dump-all-plugins']);
    assert.notEqual(stock.status, 0);
    assert.match(stock.stderr, /Cannot find module/);

    const ours = runDump('ours', ['-d', dir, '--dump-all-plugins']);
    assert.equal(ours.status, 0, ours.stderr);
    // A folder plugin without Name is named after its folder (stock would call it "index").
    assert.deepEqual(
      (JSON.parse(ours.stdout.toString()) as { Name: string; Priority: number }[]).map((p) => [p.Name, p.Priority]),
      [
        ['exiter', 10],
        ['pkg', 11],
      ],
    );
    assert.match(ours.stderr, /skipping .*assets/);
  });

  test('a plugin that starts a timer at load: stock\'s dump never exits (Kong start hangs), ours exits', () => {
    const dir = writePlugins(path.join(tmp.dir, 'timer'), {
      'keeper.js': "setInterval(() => {}, 1000);\nclass Plugin { async access() {} }\nmodule.exports = { Plugin, Version: '0.1.0' };\n",
    });
    const stock = spawnSync(process.execPath, [cliFor('stock'), '-d', dir, '--dump-all-plugins'], { timeout: 3000 });
    assert.equal(stock.status, null, 'stock should still be running when the timeout kills it');
    assert.equal(stock.signal, 'SIGTERM');
    const ours = spawnSync(process.execPath, [cliFor('ours'), '-d', dir, '--dump-all-plugins'], { timeout: 10_000 });
    assert.equal(ours.status, 0);
    assert.equal((JSON.parse(ours.stdout.toString()) as { Name: string }[])[0]!.Name, 'keeper');
  });

  test('SIGTERM: stock dies by the signal leaving its socket file, ours closes it and exits 0', async () => {
    const stock = keep(await fresh('stock'));
    stock.proc.kill('SIGTERM');
    assert.equal(await withTimeout(stock.exited, 5000, 'stock exit'), 'SIGTERM');
    assert.equal(existsSync(stock.socketPath), true);

    const ours = keep(await fresh('ours'));
    ours.proc.kill('SIGTERM');
    assert.equal(await withTimeout(ours.exited, 5000, 'ours exit'), 0);
    assert.equal(existsSync(ours.socketPath), false);
    assert.match(ours.stderr(), /SIGTERM received/);
  });

  test('a stale socket file left by a killed server is replaced at start; a non-socket file is refused', async () => {
    const first = keep(await fresh('ours'));
    first.proc.kill('SIGKILL');
    await first.exited;
    assert.equal(existsSync(first.socketPath), true, 'SIGKILL should leave the socket file behind');
    assert.equal(await canConnect(first.socketPath), false);
    const again = keep(
      await startServer('ours', { pluginsDir, prefix: tmp.dir, sockName: path.basename(first.socketPath) }),
    );
    assert.equal(await canConnect(again.socketPath), true);
    await again.stop();

    mkdirSync(path.join(tmp.dir, 'plain'), { recursive: true });
    writeFileSync(path.join(tmp.dir, 'plain', 'js.sock'), 'not a socket');
    await assert.rejects(
      startServer('ours', { pluginsDir, prefix: path.join(tmp.dir, 'plain'), sockName: 'js.sock' }),
      /not a socket; refusing to replace it/,
    );
  });
});
