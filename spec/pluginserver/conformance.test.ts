/**
 * Conformance: the same RPC scenarios, sent the way Kong sends them (kong/rpc client, real unix sockets),
 * against stock kong-js-pluginserver (kong-pdk 0.6.0) and ours, loading the same plain-JS test plugins.
 * Each scenario asserts what Kong must see and that both servers reply identically. Where ours deliberately
 * differs, see pluginserver/differences.test.ts.
 */
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { PluginServerClient, RpcError } from '../../kong/rpc/client';
import { EXIT, runEvent } from '../../kong/rpc/event';
import { decodeMsgpack } from '../../kong/rpc/lua-msgpack';
import { CONFORM_PLUGIN, EXITER_PLUGIN, writePlugins } from '../helpers/pluginserver-plugins';
import { runDump, startServer, type RunningServer, type ServerKind } from '../helpers/pluginserver-process';
import { makeTmpDir } from '../helpers/pluginserver-tmp';
import { fakeKong, normalise, rawExchange, request } from '../helpers/pluginserver-wire';

const KINDS: ServerKind[] = ['stock', 'ours'];
const tmp = makeTmpDir();
const pluginsDir = path.join(tmp.dir, 'plugins');
const servers = {} as Record<ServerKind, RunningServer>;
const clients = {} as Record<ServerKind, PluginServerClient>;

/** Runs `scenario` against both servers (stock first) and returns both results. */
async function both<T>(scenario: (c: PluginServerClient, kind: ServerKind) => Promise<T>): Promise<Record<ServerKind, T>> {
  const out = {} as Record<ServerKind, T>;
  for (const k of KINDS) out[k] = await scenario(clients[k], k);
  return out;
}

async function outcome(p: Promise<unknown>): Promise<unknown> {
  try {
    return { ok: normalise(await p) };
  } catch (e) {
    assert.ok(e instanceof RpcError, `expected an error reply, got ${String(e)}`);
    return { err: e.message };
  }
}

async function start(c: PluginServerClient, config: Record<string, unknown>): Promise<number> {
  const r = (await c.call('plugin.StartInstance', { Name: 'conform', Config: JSON.stringify(config) })) as { Id: number };
  return r.Id;
}

describe('conformance with kong-pdk 0.6.0 kong-js-pluginserver', () => {
  before(async () => {
    writePlugins(pluginsDir, { 'conform.js': CONFORM_PLUGIN, 'exiter.js': EXITER_PLUGIN });
    await Promise.all(
      KINDS.map(async (k) => {
        servers[k] = await startServer(k, { pluginsDir, prefix: tmp.dir, sockName: `${k}.sock` });
        clients[k] = new PluginServerClient({ socketPath: servers[k].socketPath, readTimeoutMs: 5000 });
      }),
    );
  });

  after(async () => {
    for (const k of KINDS) {
      clients[k]?.close();
      await servers[k]?.stop();
    }
    tmp.cleanup();
  });

  test('--dump-all-plugins prints the same JSON array, with names, versions, phases, priorities and schemas', () => {
    const dumps = KINDS.map((k) => runDump(k, ['-d', pluginsDir, '--dump-all-plugins']));
    for (const d of dumps) assert.equal(d.status, 0, d.stderr);
    const [stock, ours] = dumps.map((d) => JSON.parse(d.stdout.toString()) as unknown[]);
    assert.deepEqual(ours, stock);
    assert.deepEqual(ours, [
      {
        Name: 'conform',
        Version: '1.2.3',
        Phases: ['log', 'access', 'response'],
        Priority: 1000,
        Schema: {
          name: 'conform',
          fields: [
            {
              config: {
                type: 'record',
                fields: [{ message: { type: 'string', required: true, default: 'hi' } }, { tag: { type: 'string' } }],
              },
            },
          ],
        },
      },
      {
        Name: 'exiter',
        Version: '0.1.0',
        Phases: ['access'],
        Priority: 10,
        Schema: { name: 'exiter', fields: [{ config: { type: 'record', fields: [] } }] },
      },
    ]);
  });

  test('--dump-plugin-info writes byte-identical msgpack and the single-dash spelling works', () => {
    const [stock, ours] = KINDS.map((k) => runDump(k, ['-d', pluginsDir, '-dump-plugin-info', 'conform']));
    assert.equal(stock!.status, 0, stock!.stderr);
    assert.equal(ours!.status, 0, ours!.stderr);
    assert.ok(ours!.stdout.equals(stock!.stdout), 'msgpack dumps differ');
    assert.equal((decodeMsgpack(ours!.stdout) as { Name: string }).Name, 'conform');
  });

  test('GetPluginInfo answers known plugins and names unknown ones in the same error text', async () => {
    const r = await both(async (c) => [
      await outcome(c.call('plugin.GetPluginInfo', 'exiter')),
      await outcome(c.call('plugin.GetPluginInfo', 'nope')),
    ]);
    assert.deepEqual(r.ours, r.stock);
    assert.deepEqual(r.ours[1], { err: 'nope not initizlied' });
  });

  test('StartInstance parses the Config JSON and numbers instances from 0; bad input fails alike', async () => {
    const r = await both(async (c) => [
      await outcome(c.call('plugin.StartInstance', { Name: 'conform', Config: '{"message":"hey","tag":"a"}' })),
      await outcome(c.call('plugin.StartInstance', { Name: 'missing', Config: '{}' })),
      await outcome(c.call('plugin.StartInstance', { Name: 'conform', Config: '{not json' })),
      await outcome(c.call('plugin.InstanceStatus', 0)),
    ]);
    assert.deepEqual(r.ours, r.stock);
    assert.deepEqual(r.ours[0], {
      ok: { Name: 'conform', Id: 0, Config: { message: 'hey', tag: 'a' }, StartTime: '<number>' },
    });
    assert.deepEqual(r.ours[1], { err: 'missing not initizlied' });
    assert.match((r.ours[2] as { err: string }).err, /JSON/);
  });

  test('a HandleEvent -> Step loop carries several PDK calls, parallel ones in call order, to "ret"', async () => {
    const r = await both(async (c) => {
      const id = await start(c, { message: 'hello', tag: 'basic' });
      const k = fakeKong({ 'x-scenario': 'basic', host: 'example.com' });
      const res = await runEvent(c, id, 'access', k.pdk);
      return { res, calls: k.calls };
    });
    assert.deepEqual(r.ours, r.stock);
    assert.equal(r.ours.res, 'ret');
    assert.deepEqual(r.ours.calls, [
      ['kong.request.get_header', ['x-scenario']],
      ['kong.request.get_header', ['host']],
      ['kong.request.get_path', []],
      ['kong.request.get_method', []],
      ['kong.response.set_header', ['x-hello', 'hello example.com /v1/chat/completions POST']],
      ['kong.ctx.shared.set', ['seen', { host: 'example.com', n: [1, 2, 3] }]],
    ]);
  });

  test('multimaps come back through StepMultiMap as arrays, an empty one as {}, raw bodies as Buffers', async () => {
    const r = await both(async (c) => {
      const id = await start(c, { tag: 'mm' });
      const k = fakeKong({ 'x-scenario': 'multimap', host: 'h' });
      await runEvent(c, id, 'access', k.pdk);
      return k.calls.at(-1);
    });
    assert.deepEqual(r.ours, r.stock);
    assert.deepEqual(r.ours, [
      'kong.response.set_header',
      ['x-seen', '{"x-scenario":["multimap"],"host":["h"],"x-multi":["a","b"],"x-flag":[]} {} true ff00cf'],
    ]);
  });

  test('a 1 MB raw body crosses as a Buffer and a 1.3 MB exit body comes back intact', async () => {
    const body = randomBytes(1024 * 1024);
    const r = await both(async (c) => {
      const id = await start(c, { tag: 'big' });
      let exitArgs: unknown[] = [];
      const res = await runEvent(c, id, 'access', (m, args) => {
        if (m === 'kong.request.get_header') return 'big-body';
        if (m === 'kong.request.get_raw_body') return body;
        if (m === 'kong.response.exit') {
          exitArgs = args;
          return EXIT;
        }
        return undefined;
      });
      return { res, exitArgs };
    });
    assert.deepEqual(r.ours, r.stock);
    assert.deepEqual(r.ours.exitArgs, [
      200,
      body.toString('base64'),
      { 'x-sha256': createHash('sha256').update(body).digest('hex') },
    ]);
  });

  test('StepError rejects the pending PDK call with the same PDKError text', async () => {
    const r = await both(async (c) => {
      const id = await start(c, { tag: 'se' });
      const first = (await c.call('plugin.HandleEvent', { InstanceId: id, EventName: 'access' })) as {
        EventId: number;
      };
      const second = await c.call('plugin.Step', { EventId: first.EventId, Data: 'step-error' });
      const third = await c.call('plugin.StepError', { EventId: first.EventId, Data: 'header not allowed' });
      const last = await c.call('plugin.Step', { EventId: first.EventId });
      return normalise([second, third, last]) as { Data: unknown }[];
    });
    assert.deepEqual(r.ours, r.stock);
    assert.deepEqual(
      r.ours.map((x) => x.Data),
      [
        { Method: 'kong.request.get_header', Args: ['x-fails'] },
        { Method: 'kong.log.err', Args: ['PDK method kong.request.get_header failed:  header not allowed [PDKError]'] },
        'ret',
      ],
    );
  });

  test('kong.response.exit and kong.response.error reach Kong with their arguments and end the loop', async () => {
    const r = await both(async (c) => {
      const id = await start(c, { tag: 'ex' });
      const out = [];
      for (const scenario of ['exit', 'error']) {
        const k = fakeKong({ 'x-scenario': scenario });
        out.push({ res: await runEvent(c, id, 'access', k.pdk), last: k.calls.at(-1) });
      }
      return out;
    });
    assert.deepEqual(r.ours, r.stock);
    assert.deepEqual(r.ours, [
      {
        res: { exited: true },
        last: ['kong.response.exit', [403, '{"message":"denied"}', { 'content-type': 'application/json' }]],
      },
      { res: { exited: true }, last: ['kong.response.error', [503, 'try later']] },
    ]);
  });

  test('an exception thrown by the plugin still ends the event with "ret"', async () => {
    const r = await both(async (c) => {
      const id = await start(c, { tag: 'th' });
      const k = fakeKong({ 'x-scenario': 'throw' });
      return { res: await runEvent(c, id, 'access', k.pdk), calls: k.calls };
    });
    assert.deepEqual(r.ours, r.stock);
    assert.equal(r.ours.res, 'ret');
    assert.deepEqual(r.ours.calls.at(-1), ['kong.log.info', ['about to throw']]);
  });

  test('response and log phases run their handlers (log gets kong.log.serialize as a JSON string)', async () => {
    const r = await both(async (c) => {
      const id = await start(c, { tag: 'ph' });
      const resp = fakeKong({});
      const log = fakeKong({});
      await runEvent(c, id, 'response', resp.pdk);
      await runEvent(c, id, 'log', log.pdk);
      return [resp.calls, log.calls];
    });
    assert.deepEqual(r.ours, r.stock);
    assert.deepEqual(r.ours, [
      [['kong.response.set_header', ['x-response', 'yes']]],
      [
        ['kong.log.serialize', []],
        ['kong.log.info', ['{"request":{"method":"POST"}}']],
      ],
    ]);
  });

  test('concurrent events on pooled connections each complete with their own answers', async () => {
    const r = await both(async (c) => {
      const id = await start(c, { tag: 'cc' });
      const runs = await Promise.all(
        Array.from({ length: 8 }, async () => {
          const k = fakeKong({ 'x-scenario': 'slow' });
          return [await runEvent(c, id, 'access', k.pdk), k.calls.at(-1)];
        }),
      );
      return runs;
    });
    assert.deepEqual(r.ours, r.stock);
    for (const run of r.ours) assert.deepEqual(run, ['ret', ['kong.response.set_header', ['x-slow', 'done']]]);
  });

  test('unknown instances, events, methods and namespaces fail with the texts Kong keys on', async () => {
    const r = await both(async (c) => [
      await outcome(c.call('plugin.HandleEvent', { InstanceId: 4242, EventName: 'access' })),
      await outcome(c.call('plugin.CloseInstance', 4242)),
      await outcome(c.call('plugin.InstanceStatus', 4242)),
      await outcome(c.call('plugin.Step', { EventId: 98765, Data: 'x' })),
      await outcome(c.call('plugin.Nope')),
      await outcome(c.call('other.GetStatus')),
    ]);
    assert.deepEqual(r.ours, r.stock);
    assert.deepEqual(r.ours, [
      { err: 'no plugin instance #4242' },
      { err: 'no plugin instance #4242' },
      { err: 'no plugin instance #4242' },
      { err: 'event id 98765 not found' },
      { err: 'method Nope not implemented' },
      { err: 'RPC for other is not supported' },
    ]);
  });

  test('CloseInstance replies with the instance and later events on it get "no plugin instance"', async () => {
    const r = await both(async (c, kind) => {
      const id = await start(c, { tag: `close-${kind}` });
      return [
        await outcome(c.call('plugin.CloseInstance', id)),
        await outcome(c.call('plugin.HandleEvent', { InstanceId: id, EventName: 'access' })),
      ];
    });
    assert.deepEqual(normalise(r.ours), normalise(JSON.parse(JSON.stringify(r.stock).replaceAll('close-stock', 'close-ours'))));
    const closed = r.ours[0] as { ok: { Name: string; Config: unknown } };
    assert.deepEqual(closed.ok.Config, { tag: 'close-ours' });
    assert.match((r.ours[1] as { err: string }).err, /^no plugin instance #\d+$/);
    // Ours calls the plugin's close(); stock kong-pdk never does (differences.test.ts shows both).
    assert.ok(existsSync(path.join(tmp.dir, 'closed-close-ours')));
    assert.ok(!existsSync(path.join(tmp.dir, 'closed-close-stock')));
  });

  test('a request split across several writes is reassembled and answered once', async () => {
    const req = request(7, 'plugin.GetPluginInfo', 'exiter');
    // Cut where stock's one-shot decoder reports "Insufficient data"; a cut right after a type byte crashes it
    // instead (differences.test.ts).
    const cuts = [0, 5, 12, 20, req.length];
    const chunks = cuts.slice(1).map((end, i) => req.subarray(cuts[i], end));
    const r = {} as Record<ServerKind, unknown>;
    for (const k of KINDS) {
      const x = await rawExchange(servers[k].socketPath, chunks, 2, { gapMs: 15, timeoutMs: 300 });
      r[k] = x.replies;
    }
    assert.deepEqual(r.ours, r.stock);
    const replies = r.ours as unknown[][];
    assert.equal(replies.length, 1);
    assert.deepEqual(replies[0]!.slice(0, 3), [1, 7, null]);
    assert.equal((replies[0]![3] as { Name: string }).Name, 'exiter');
  });

  test('both servers are still alive after the whole suite', () => {
    for (const k of KINDS) assert.equal(servers[k].hasExited(), false, `${k} exited:\n${servers[k].stderr()}`);
  });
});
