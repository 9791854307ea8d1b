/**
 * BusyPoll (kong/rpc/busy-poll.ts) with an injected clock, and its two users: the plugin server polls only
 * while Kong owes it a Step, the Kong-side client only while a reply is due.
 */
import assert from 'node:assert/strict';
import os from 'node:os';
import { describe, test } from 'node:test';
import { BusyPoll, effectiveCpus } from '../../kong/rpc/busy-poll';
import { PluginServerClient } from '../../kong/rpc/client';
import { createLogger } from '../../kong/pluginserver/log';
import { PluginServer } from '../../kong/pluginserver/server';
import { THREE_STEPS_PLUGIN, writePlugins } from '../helpers/pluginserver-plugins';
import { startServer } from '../helpers/pluginserver-process';
import { makeTmpDir } from '../helpers/pluginserver-tmp';

const turn = (): Promise<void> => new Promise((r) => setImmediate(r));

async function turns(n: number): Promise<void> {
  for (let i = 0; i < n; i++) await turn();
}

describe('BusyPoll', () => {
  test('off for a zero window and on a single CPU', () => {
    for (const p of [new BusyPoll(0, () => 0, 8), new BusyPoll(50, () => 0, 1)]) {
      assert.equal(p.enabled, false);
      p.arm();
      assert.equal(p.polling, false);
    }
    assert.equal(new BusyPoll(50, () => 0, 2).enabled, true);
  });

  test('polls from arm() until every armed reply has settled', async () => {
    const p = new BusyPoll(1_000_000, () => 0, 2);
    const t1 = p.arm();
    const t2 = p.arm();
    assert.equal(p.polling, true);
    await turns(5);
    assert.equal(p.polling, true, 'still polling while replies are due');
    p.settle(t1);
    await turns(5);
    assert.equal(p.polling, true, 'one reply is still due');
    p.settle(t2);
    await turns(2);
    assert.equal(p.polling, false);
  });

  test('never polls longer than the window after the last arm()', async () => {
    let now = 0;
    const p = new BusyPoll(50, () => now, 2);
    p.arm();
    now = 0.049; // ms
    await turns(3);
    assert.equal(p.polling, true);
    now = 0.051;
    await turns(2);
    assert.equal(p.polling, false, 'the peer is slower than the window: sleep instead');
    // The stale arm is forgotten: a later arm/settle pair stops polling as soon as it settles.
    const t = p.arm();
    assert.equal(p.polling, true);
    p.settle(t);
    await turns(2);
    assert.equal(p.polling, false);
  });

  test('a late settle of a lapsed arm does not cancel a newer one', async () => {
    let now = 0;
    const p = new BusyPoll(50, () => now, 2);
    const slow = p.arm();
    now = 1; // the window lapses with `slow` still due
    await turns(2);
    assert.equal(p.polling, false);
    const fresh = p.arm();
    p.settle(slow); // the slow reply finally arrives
    await turns(3);
    assert.equal(p.polling, true, 'the fresh reply is still due');
    p.settle(fresh);
    await turns(2);
    assert.equal(p.polling, false);
  });

  test('effective CPUs: the machine, capped by a cgroup v2 quota', () => {
    const cpus = os.cpus().length;
    assert.equal(effectiveCpus(() => 'max 100000\n'), cpus);
    assert.equal(effectiveCpus(() => '100000 100000\n'), Math.min(cpus, 1));
    assert.equal(effectiveCpus(() => '150000 100000'), Math.min(cpus, 1.5));
    assert.equal(
      effectiveCpus(() => {
        throw new Error('ENOENT');
      }),
      cpus,
    );
    assert.equal(new BusyPoll(100, () => 0, effectiveCpus(() => '100000 100000')).enabled, false, 'a one-CPU quota turns polling off');
  });

  test('timers and I/O still run while it polls', async () => {
    const p = new BusyPoll(1_000_000, () => 0, 2);
    p.arm();
    const fired = await new Promise<boolean>((r) => setTimeout(() => r(true), 5));
    assert.equal(fired, true);
    assert.equal(p.polling, true);
    p.stop();
    await turns(2);
    assert.equal(p.polling, false);
  });
});

describe('busy polling in the plugin server and the Kong-side client', () => {
  test('the plugin server polls while Kong owes a Step, and stops once the event returns', async () => {
    const tmp = makeTmpDir();
    try {
      const dir = writePlugins(tmp.dir, { 'three-steps.js': THREE_STEPS_PLUGIN });
      const ps = new PluginServer({ pluginDir: dir, logger: createLogger('error'), busyPollUs: 10_000_000 });
      const { Id } = (await ps.call('StartInstance', [{ Name: 'three-steps', Config: '{}' }])) as { Id: number };
      // The busy-poll state is private: read it the way a debugger would.
      const polling = (): boolean => (ps as unknown as { busyPoll: BusyPoll }).busyPoll.polling;
      let r = (await ps.call('HandleEvent', [{ InstanceId: Id, EventName: 'access' }])) as { Data: unknown; EventId: number };
      assert.notEqual(r.Data, 'ret');
      // (BusyPoll is always off on a single CPU.)
      assert.equal(polling(), effectiveCpus() > 1, 'a PDK call went to Kong: its Step is due');
      const answers = ['api.example.com', '/v1/chat', null];
      for (const a of answers) r = (await ps.call('Step', [{ EventId: r.EventId, Data: a }])) as typeof r;
      assert.equal(r.Data, 'ret');
      await turns(3);
      assert.equal(polling(), false, 'nothing is due from Kong any more');
      ps.close();
    } finally {
      tmp.cleanup();
    }
  });

  test('a plugin server started with --busy-poll-us 0 serves as before', async () => {
    const tmp = makeTmpDir();
    const dir = writePlugins(tmp.dir, { 'three-steps.js': THREE_STEPS_PLUGIN });
    const srv = await startServer('ours', { pluginsDir: dir, prefix: tmp.dir, sockName: 'bp0.sock', extraArgs: ['--busy-poll-us', '0'] });
    const c = new PluginServerClient({ socketPath: srv.socketPath, busyPollUs: 1_000_000 });
    try {
      const { Id } = (await c.call('plugin.StartInstance', { Name: 'three-steps', Config: '{}' })) as { Id: number };
      const r = (await c.call('plugin.HandleEvent', { InstanceId: Id, EventName: 'access' })) as { Data: unknown };
      assert.deepEqual(r.Data, { Method: 'kong.request.get_header', Args: ['host'] });
      await turns(3);
      assert.equal(c.busyPoll.polling, false, 'the client stops polling once its reply arrived');
    } finally {
      c.close();
      await srv.stop();
      tmp.cleanup();
    }
  });
});
