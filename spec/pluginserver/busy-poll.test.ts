/**
 * BusyPoll (kong/rpc/busy-poll.ts) with an injected clock, and its two users: the plugin server polls only
 * while Kong owes it a Step, the Kong-side client only while a reply is due.
 */
import assert from 'node:assert/strict';
import net from 'node:net';
import { describe, test } from 'node:test';
import { BusyPoll, DEFAULT_BUSY_POLL_US, effectiveCpus } from '../../kong/rpc/busy-poll';
import { parseArgs } from '../../kong/pluginserver/args';
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

  test('effective CPUs: the machine, capped by a cgroup v2 or v1 CPU quota', () => {
    const files = (f: Record<string, string>) => (file: string): string => {
      const v = f[file];
      if (v === undefined) throw new Error(`ENOENT: ${file}`);
      return v;
    };
    const v2 = (cpuMax: string) => files({ '/sys/fs/cgroup/cpu.max': cpuMax });
    assert.equal(effectiveCpus(v2('max 100000\n'), 8), 8);
    assert.equal(effectiveCpus(v2('100000 100000\n'), 8), 1);
    assert.equal(effectiveCpus(v2('150000 100000'), 8), 1.5);
    assert.equal(effectiveCpus(v2('400000 100000'), 2), 2, 'a quota above the machine does not add CPUs');
    // cgroup v1: cfs_quota_us / cfs_period_us, -1 = no quota; mounted as cpu or cpu,cpuacct.
    const v1 = (dir: string, quota: string) => files({ [`${dir}/cpu.cfs_quota_us`]: `${quota}\n`, [`${dir}/cpu.cfs_period_us`]: '100000\n' });
    assert.equal(effectiveCpus(v1('/sys/fs/cgroup/cpu', '-1'), 8), 8);
    assert.equal(effectiveCpus(v1('/sys/fs/cgroup/cpu', '50000'), 8), 0.5);
    assert.equal(effectiveCpus(v1('/sys/fs/cgroup/cpu,cpuacct', '200000'), 8), 2);
    assert.equal(effectiveCpus(files({}), 8), 8, 'no cgroup CPU controller: the machine');
    assert.equal(new BusyPoll(100, () => 0, effectiveCpus(v2('100000 100000'), 8)).enabled, false, 'a one-CPU v2 quota turns polling off');
    assert.equal(new BusyPoll(100, () => 0, effectiveCpus(v1('/sys/fs/cgroup/cpu', '100000'), 8)).enabled, false, 'a one-CPU v1 quota turns polling off');
    assert.equal(new BusyPoll(100, () => 0, effectiveCpus(v1('/sys/fs/cgroup/cpu', '-1'), 8)).enabled, true);
  });

  test('timers and I/O run while it polls', async () => {
    const p = new BusyPoll(1_000_000, () => 0, 2);
    p.arm();
    // Each callback records whether polling was still going on when it ran: both must run in the middle of it.
    const timerRanWhilePolling = await new Promise<boolean>((r) => setTimeout(() => r(p.polling), 5));
    assert.equal(timerRanWhilePolling, true);
    const srv = net.createServer((s) => s.pipe(s));
    await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
    try {
      const echoedWhilePolling = await new Promise<boolean>((resolve, reject) => {
        const c = net.connect((srv.address() as net.AddressInfo).port, '127.0.0.1', () => c.write('ping'));
        c.on('data', () => {
          resolve(p.polling);
          c.destroy();
        });
        c.on('error', reject);
      });
      assert.equal(echoedWhilePolling, true);
    } finally {
      srv.close();
    }
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
      const internals = ps as unknown as { busyPoll: BusyPoll };
      // The machine's CPU count must not decide the outcome: the same window, as on a 2-CPU machine.
      internals.busyPoll = new BusyPoll(10_000_000, undefined, 2);
      const { Id } = (await ps.call('StartInstance', [{ Name: 'three-steps', Config: '{}' }])) as { Id: number };
      // The busy-poll state is private: read it the way a debugger would.
      const polling = (): boolean => internals.busyPoll.polling;
      let r = (await ps.call('HandleEvent', [{ InstanceId: Id, EventName: 'access' }])) as { Data: unknown; EventId: number };
      assert.notEqual(r.Data, 'ret');
      assert.equal(polling(), true, 'a PDK call went to Kong: its Step is due');
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

  test('off by default: the plugin server, the Kong-side client and the CLI', async () => {
    assert.equal(DEFAULT_BUSY_POLL_US, 0);
    assert.equal(parseArgs([]).busyPollUs, undefined, 'no flag: the server default');
    const tmp = makeTmpDir();
    try {
      const dir = writePlugins(tmp.dir, { 'three-steps.js': THREE_STEPS_PLUGIN });
      const ps = new PluginServer({ pluginDir: dir, logger: createLogger('error') });
      const bp = (ps as unknown as { busyPoll: BusyPoll }).busyPoll;
      assert.equal(bp.enabled, false);
      const { Id } = (await ps.call('StartInstance', [{ Name: 'three-steps', Config: '{}' }])) as { Id: number };
      const r = (await ps.call('HandleEvent', [{ InstanceId: Id, EventName: 'access' }])) as { Data: unknown };
      assert.notEqual(r.Data, 'ret');
      assert.equal(bp.polling, false, 'a Step is due, but polling is off');
      ps.close();
    } finally {
      tmp.cleanup();
    }
    const c = new PluginServerClient({ socketPath: '/nonexistent.sock' });
    assert.equal(c.busyPoll.enabled, false);
    c.close();
  });

  test('a plugin server started with --busy-poll-us 0 serves as before', async () => {
    const tmp = makeTmpDir();
    const dir = writePlugins(tmp.dir, { 'three-steps.js': THREE_STEPS_PLUGIN });
    const srv = await startServer('ours', { pluginsDir: dir, prefix: tmp.dir, sockName: 'bp0.sock', extraArgs: ['--busy-poll-us', '0'] });
    const c = new PluginServerClient({ socketPath: srv.socketPath, busyPollUs: 1_000_000 });
    // As on a 2-CPU machine, whatever this one has.
    (c as unknown as { busyPoll: BusyPoll }).busyPoll = new BusyPoll(1_000_000, undefined, 2);
    try {
      const { Id } = (await c.call('plugin.StartInstance', { Name: 'three-steps', Config: '{}' })) as { Id: number };
      let settled = false;
      const pending = c.call('plugin.HandleEvent', { InstanceId: Id, EventName: 'access' }).finally(() => (settled = true));
      // Watch the poller turn by turn until the reply is in (the call's read timeout bounds the wait).
      let polledWhileDue = false;
      while (!settled) {
        polledWhileDue ||= c.busyPoll.polling;
        await turn();
      }
      assert.equal(polledWhileDue, true, 'the client polls while its reply is due');
      const r = (await pending) as { Data: unknown };
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
