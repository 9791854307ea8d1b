/**
 * ClusterSync (plugins/ai-proxy-advanced/cluster/sync.ts) in one process: two "nodes" are two ClusterSync
 * instances with their own Redis connections and their own BalancerState objects, on a real redis-server.
 * The clock is injected (a variable both nodes read), flushes are stepped by hand (the timer interval is an
 * hour), so nothing depends on wall-clock timing; waits for pub/sub delivery are bounded.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import Redis from 'ioredis';
import type { BalancerState } from '../../plugins/ai-proxy-advanced/balancer';
import { LeastConnectionsBalancer } from '../../plugins/ai-proxy-advanced/balancer/least-connections';
import { MAX_RETRY_AFTER_MS } from '../../plugins/ai-proxy-advanced/balancer/circuit-breaker';
import { parseClusterSetting, clusterSetting } from '../../plugins/ai-proxy-advanced/cluster';
import { ClusterSync, NODE_TTL_MS, REFRESH_INTERVAL_MS, FLUSH_INTERVAL_MS, KEY_TTL_MS, RR_BATCH_LIFETIME_MS } from '../../plugins/ai-proxy-advanced/cluster/sync';
import { holdsKey, nodesKey, pluginKey, RR_SEQ_FIELD, rrKey } from '../../plugins/ai-proxy-advanced/cluster/keys';
import type { BalancerConfig } from '../../schemas/config';
import { syncNode, twoTargetState } from '../helpers/cluster-node';
import { canConnect, REPO_ROOT, startServer } from '../helpers/pluginserver-process';
import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { RedisServer } from '../helpers/redis-server';

let redis: RedisServer;
let url: string;
let clock = 1_800_000_000_000;
const syncs: ClusterSync[] = [];
let seq = 0;

function node(name: string, logs: string[] = []): ClusterSync {
  const s = syncNode(url, name, () => clock, { logs });
  syncs.push(s);
  return s;
}

function state(id: string, balancer: BalancerConfig, weights = [100, 100]): BalancerState {
  return twoTargetState(id, balancer, () => clock, weights);
}

/** Two started nodes, each with its own state of one new plugin. */
async function twoNodes(names: [string, string], balancer: BalancerConfig, weights?: number[]) {
  const [n1, n2] = [node(names[0]), node(names[1])];
  await Promise.all([n1.start(), n2.start()]);
  const id = `p${++seq}`;
  const [s1, s2] = [state(id, balancer, weights), state(id, balancer, weights)];
  n1.created(s1);
  n2.created(s2);
  return { n1, n2, s1, s2, id };
}

async function until(fn: () => boolean, what: string): Promise<void> {
  const end = Date.now() + 5000;
  while (!fn()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

const serverError = { kind: 'http', status: 500 } as const;

before(async () => {
  redis = await RedisServer.start();
  url = `redis://127.0.0.1:${redis.port}`;
});
after(async () => {
  for (const s of syncs) s.close();
  await redis.stop();
});

describe('cluster sync', () => {
  test('a circuit opening reaches the other node by pub/sub, without a flush', async () => {
    const [n1, n2] = [node('n1'), node('n2')];
    await Promise.all([n1.start(), n2.start()]);
    const id = `p${++seq}`;
    const [s1, s2] = [state(id, { max_fails: 1, fail_timeout: 30_000, failover_criteria: ['http_500'] }), state(id, { max_fails: 1, fail_timeout: 30_000, failover_criteria: ['http_500'] })];
    n1.created(s1);
    n2.created(s2);
    await new Promise((r) => setTimeout(r, 50)); // both SUBSCRIBEs are in (bounded: start() resolved already)
    s1.health.recordFailure(0, serverError);
    await until(() => s2.exclusions(new Set()).has(0), 'the opening on node 2');
    assert.equal(s2.health.status(0).state, 'open');
    assert.equal(s2.health.status(0).excludedUntil, clock + 30_000);
    // Node 2's own circuit is untouched: when the hold ends (injected clock), the target is back.
    clock += 30_001;
    assert.equal(s2.exclusions(new Set()).has(0), false);
  });

  test('failures count cluster-wide within fail_timeout: one on each node opens a max_fails=2 circuit', async () => {
    const [n1, n2] = [node('n3'), node('n4')];
    await Promise.all([n1.start(), n2.start()]);
    const id = `p${++seq}`;
    const b = { max_fails: 2, fail_timeout: 10_000, failover_criteria: ['http_500'] } as const;
    const [s1, s2] = [state(id, { ...b, failover_criteria: [...b.failover_criteria] }), state(id, { ...b, failover_criteria: [...b.failover_criteria] })];
    n1.created(s1);
    n2.created(s2);
    s1.health.recordFailure(1, serverError);
    s2.health.recordFailure(1, serverError);
    assert.equal(s1.exclusions(new Set()).has(1), false, 'one local failure must not open max_fails=2');
    await n1.flushAll();
    await n2.flushAll();
    await n1.flushAll();
    assert.ok(s1.exclusions(new Set()).has(1));
    assert.ok(s2.exclusions(new Set()).has(1));
    // Outside the window the count restarts (nginx's max_fails model): a later single failure opens nothing.
    clock += 10_001;
    await n1.flushAll();
    assert.equal(s1.exclusions(new Set()).has(1), false);
  });

  test("least-connections adds the other node's in-flight requests, and a silent node's expire", async () => {
    const [n1, n2] = [node('n5'), node('n6')];
    await Promise.all([n1.start(), n2.start()]);
    const id = `p${++seq}`;
    const [s1, s2] = [state(id, { algorithm: 'least-connections' }), state(id, { algorithm: 'least-connections' })];
    n1.created(s1);
    n2.created(s2);
    const none = new Set<number>();
    // Node 1: three requests in flight on target 0 (picks with 1 excluded).
    for (let i = 0; i < 3; i++) assert.equal(s1.pick({ exclude: new Set([1]) })?.index, 0);
    await n1.flushAll();
    await n2.flushAll();
    // Node 2 alone would alternate; with node 1's three, target 1 takes the next three.
    const picks = [0, 1, 2].map(() => s2.pick({ exclude: none })!.index);
    assert.deepEqual(picks, [1, 1, 1]);
    assert.ok(s2.algorithm instanceof LeastConnectionsBalancer);
    // Node 1 goes silent (no flush) past NODE_TTL_MS: its connections no longer count on node 2.
    clock += NODE_TTL_MS + 1;
    await n2.flushAll();
    assert.equal(s2.pick({ exclude: none })!.index, 0);
  });

  test('lowest-latency blends the other nodes EWMA', async () => {
    const [n1, n2] = [node('n7'), node('n8')];
    await Promise.all([n1.start(), n2.start()]);
    const id = `p${++seq}`;
    const [s1, s2] = [state(id, { algorithm: 'lowest-latency', latency_strategy: 'e2e' }), state(id, { algorithm: 'lowest-latency', latency_strategy: 'e2e' })];
    n1.created(s1);
    n2.created(s2);
    s1.report(s1.targets[0]!, { ok: true, latencyMs: 2000 });
    s1.report(s1.targets[1]!, { ok: true, latencyMs: 20 });
    await n1.flushAll();
    await n2.flushAll();
    for (let i = 0; i < 5; i++) assert.equal(s2.pick({ exclude: new Set() })!.index, 1);
  });

  test('a new node reads holds back at start, before its first pick', async () => {
    const n1 = node('n9');
    await n1.start();
    const id = `p${++seq}`;
    const s1 = state(id, {});
    n1.created(s1);
    s1.health.recordFailure(0, { kind: 'http', status: 429, retryAfterMs: MAX_RETRY_AFTER_MS });
    await n1.flushAll();
    // A restarted node: its state is built after start() resolved, from the restored view, synchronously.
    const n2 = node('n10');
    await n2.start();
    const s2 = state(id, {});
    n2.created(s2);
    assert.equal(s2.health.status(0).reason, 'retry-after');
    assert.equal(s2.health.status(0).excludedUntil, clock + MAX_RETRY_AFTER_MS);
  });

  test('redis down: flushes resolve at once, one log line each way, holds re-sent when it is back', async () => {
    const logs: string[] = [];
    const n1 = node('n11', logs);
    await n1.start();
    const id = `p${++seq}`;
    const s1 = state(id, {});
    n1.created(s1);
    await n1.flushAll();
    await redis.stop();
    await until(() => logs.some((l) => l.includes('unreachable')), 'the outage log line');
    s1.health.recordFailure(1, { kind: 'http', status: 429, retryAfterMs: 60_000 });
    await n1.flushAll(); // returns without touching the network
    await redis.startProcess();
    await until(() => logs.some((l) => l.includes('reachable again')), 'the recovery log line');
    await n1.flushAll();
    const c = new Redis(url);
    const holds = await c.hgetall(holdsKey(pluginKey(id)));
    c.disconnect();
    assert.equal(Number(holds[`r:${s1.targets[1]!.id}`]), clock + 60_000);
    assert.equal(logs.filter((l) => l.includes('unreachable')).length, 1);
  });

  test('round-robin weights hold cluster-wide: two nodes, 3:1, requests alternating', async () => {
    const { n1, n2, s1, s2, id } = await twoNodes(['rr1', 'rr2'], {}, [3, 1]);
    const none = new Set<number>();
    const served = [0, 0];
    /** Largest gap seen between target B's count and its 1/4 share, after every request. */
    let worst = 0;
    const serve = (s: BalancerState): void => {
      served[s.pick({ exclude: none })!.index]!++;
      worst = Math.max(worst, Math.abs(served[1]! - (served[0]! + served[1]!) / 4));
    };
    // Low traffic: every request finds the view refreshed (as when requests are further apart than a flush).
    for (let i = 0; i < 40; i++) {
      const [n, s] = i % 2 === 0 ? [n1, s1] : [n2, s2];
      await n.flushAll();
      serve(s);
      await n.flushAll();
    }
    assert.deepEqual(served, [30, 10]);
    assert.ok(worst <= 0.75, `cluster split drifted by ${worst} requests (one weighted sequence drifts < 1)`);

    // High traffic: five requests per node between two flushes, alternating. Both nodes pick from the same view
    // between flushes, so the split may drift by about one request per node, and each flush corrects it.
    worst = 0;
    served.fill(0);
    for (let round = 0; round < 12; round++) {
      for (let i = 0; i < 10; i++) serve(i % 2 === 0 ? s1 : s2);
      await n1.flushAll();
      await n2.flushAll();
    }
    assert.ok(worst <= 2, `cluster split drifted by ${worst} requests with two nodes`);
    assert.ok(Math.abs(served[1]! - 30) <= 1, `B served ${served[1]} of 120`);

    // The same alternating traffic on per-node wheels (cluster off) that happen to shuffle alike: the cluster-wide
    // split drifts further than the shared sequence ever does. This is what the shared position fixes.
    const [w1, w2] = [state(`${id}-local`, {}, [3, 1]), state(`${id}-local`, {}, [3, 1])];
    worst = 0;
    served.fill(0);
    for (let i = 0; i < 40; i++) serve(i % 2 === 0 ? w1 : w2);
    assert.ok(worst >= 1, `per-node wheels drifted only ${worst}`);
  });

  test('round-robin: a target out of rotation is not owed a burst when it returns', async () => {
    const { n1, n2, s1, s2, id } = await twoNodes(['rr3', 'rr4'], {}, [1, 1]);
    // Target A excluded (circuit open) for 50 requests across both nodes: B takes them all.
    for (let i = 0; i < 50; i++) {
      assert.equal((i % 2 === 0 ? s1 : s2).pick({ exclude: new Set([0]) })!.index, 1);
      if (i % 10 === 9) await Promise.all([n1.flushAll(), n2.flushAll()]);
    }
    await n1.flushAll();
    await n2.flushAll();
    await n1.flushAll();
    // Back in rotation: 1:1 from here, not 50 requests to A to catch up.
    const served = [0, 0];
    for (let i = 0; i < 20; i++) {
      served[(i % 2 === 0 ? s1 : s2).pick({ exclude: new Set() })!.index]!++;
      await (i % 2 === 0 ? n1 : n2).flushAll();
    }
    assert.ok(served[0]! <= 12, `A took ${served[0]} of 20 after its return`);
  });

  /**
   * One node serving a 3:1 round-robin plugin, and an admin connection to Redis. `assertCountedOnce`: the shared
   * vector holds each pick once (a target is owed its weight per pick, less the total weight per serve).
   * `lostReply`: a flush Redis applies after the client's command timeout (writes held by CLIENT PAUSE), so its
   * batch stays in flight; resolves once Redis has applied it.
   */
  async function withRrNode(name: string, body: (rr: Awaited<ReturnType<typeof rrNode>>) => Promise<void>): Promise<void> {
    const rr = await rrNode(name);
    try {
      await body(rr);
    } finally {
      await rr.close();
    }
  }

  async function rrNode(name: string) {
    const n1 = node(name);
    await n1.start();
    const id = `p${++seq}`;
    const s1 = state(id, {}, [3, 1]);
    n1.created(s1);
    await n1.flushAll();
    const pk = pluginKey(id);
    const admin = new Redis(url);
    admin.on('error', () => undefined);
    const served = [0, 0];
    const vector = async (): Promise<string[]> => {
      const got = await admin.hgetall(rrKey(pk));
      return s1.targets.map((t) => got[t.id] ?? '0');
    };
    return {
      n1,
      s1,
      pk,
      admin,
      pick(k: number): number[] {
        const out: number[] = [];
        for (let i = 0; i < k; i++) out.push(s1.pick({ exclude: new Set() })!.index);
        for (const i of out) served[i]!++;
        return out;
      },
      async assertCountedOnce(what: string): Promise<void> {
        const picks = served[0]! + served[1]!;
        assert.deepEqual(await vector(), s1.targets.map((t) => String(t.weight * picks - 4 * served[t.index]!)), what);
      },
      /** Two flushes (the batch in flight acknowledged, then the picks since sent), then assertCountedOnce. */
      async settle(what: string): Promise<void> {
        await n1.flushAll();
        await n1.flushAll();
        await this.assertCountedOnce(what);
      },
      async lostReply(): Promise<void> {
        const before = JSON.stringify(await vector());
        await admin.client('PAUSE', 60_000, 'WRITE');
        await n1.flushAll();
        await admin.client('UNPAUSE');
        const end = Date.now() + 5000;
        while (JSON.stringify(await vector()) === before) {
          if (Date.now() > end) throw new Error('timed out waiting for Redis to apply the held batch');
          await new Promise((r) => setTimeout(r, 5));
        }
      },
      async close(): Promise<void> {
        await admin.client('UNPAUSE').catch(() => undefined);
        admin.disconnect();
      },
    };
  }

  test('round-robin: a flush that half failed or timed out counts its picks once, sent again until acknowledged', async () => {
    await withRrNode('rrOnce', async (rr) => {
      // Another command of the flush fails (the nodes hash is not a hash): the round-robin batch was applied.
      rr.pick(3);
      await rr.admin.set(nodesKey(rr.pk), 'not a hash');
      await rr.n1.flushAll();
      await rr.admin.del(nodesKey(rr.pk));
      await rr.n1.flushAll();
      await rr.assertCountedOnce('after a flush with a failed command');
      // Redis holds writes past the client's command timeout and applies them later: the reply is lost, the
      // batch was applied, and the next flush sends it again with more picks made meanwhile.
      rr.pick(5);
      await rr.lostReply();
      rr.pick(2);
      await rr.settle('after a flush whose reply timed out');
    });
  });

  test('round-robin: a view read while a batch is in flight (the start-up restore) does not count that batch twice', async () => {
    await withRrNode('rrRestore', async (rr) => {
      rr.pick(3);
      await rr.lostReply();
      // The start-up restore reads every plugin and can land after a flush whose reply was lost (requests flow
      // once restoreTimeoutMs has passed): the view it reads includes the batch still in flight here.
      await (rr.n1 as unknown as { restore(): Promise<void> }).restore();
      // A node that starts now sees the cluster's vector, which counts the batch once; node 1, which counts it
      // in its own delta, must see the same vector, so both pick the same sequence.
      const n2 = node('rrRestore2');
      await n2.start();
      const s2 = state(rr.s1.key, {}, [3, 1]);
      n2.created(s2);
      await n2.flushAll();
      const theirs = [...Array(8)].map(() => s2.pick({ exclude: new Set() })!.index);
      assert.deepEqual(rr.pick(8), theirs);
      await rr.settle('after the batch was acknowledged');
    });
  });

  test('round-robin: a batch unanswered for hours is given up before Redis forgets its number, never counted twice', async () => {
    await withRrNode('rrExpired', async (rr) => {
      rr.pick(3);
      await rr.lostReply();
      // Two hours without a reply: Redis has forgotten the batch's number (KEY_TTL_MS; deleted here rather than
      // waited for). Sent again, the batch would be applied again.
      const fields = Object.keys(await rr.admin.hgetall(rrKey(rr.pk))).filter((f) => f.startsWith(RR_SEQ_FIELD));
      assert.equal(fields.length, 1, 'one batch number in the rr hash');
      await rr.admin.hdel(rrKey(rr.pk), fields[0]!);
      clock += KEY_TTL_MS + 1;
      rr.pick(2);
      await rr.settle('after the expired batch');
      // Redis remembers a number KEY_TTL_MS from the batch's application, never before its first send.
      assert.ok(RR_BATCH_LIFETIME_MS < KEY_TTL_MS);
    });
  });

  test('round-robin: the batch number lives in the rr hash itself, so eviction cannot drop it alone; stale numbers are dropped', async () => {
    await withRrNode('rrEvict', async (rr) => {
      rr.pick(3);
      await rr.n1.flushAll();
      // Nothing of the round-robin state is kept outside the rr hash: a Redis under maxmemory evicts both or neither.
      assert.deepEqual((await rr.admin.keys(`aipa:v1:{${rr.pk}}:rr*`)).sort(), [rrKey(rr.pk)]);
      // A dead node's number, older than KEY_TTL_MS by Redis's clock, goes at the next write; a recent one stays.
      const [sec] = await rr.admin.time();
      const nowMs = Number(sec) * 1000;
      await rr.admin.hset(rrKey(rr.pk), `${RR_SEQ_FIELD}dead-node`, `7:${nowMs - KEY_TTL_MS - 60_000}`, `${RR_SEQ_FIELD}live-node`, `7:${nowMs}`);
      rr.pick(2);
      await rr.settle('with other nodes\' numbers in the hash');
      const fields = Object.keys(await rr.admin.hgetall(rrKey(rr.pk)));
      assert.ok(!fields.includes(`${RR_SEQ_FIELD}dead-node`), 'the stale number is dropped');
      assert.ok(fields.includes(`${RR_SEQ_FIELD}live-node`), 'a recent number stays');
    });
  });

  test('an idle plugin costs no Redis command between refreshes; its heartbeat goes on', async () => {
    const { n1, n2, s1, s2 } = await twoNodes(['idle1', 'idle2'], { algorithm: 'least-connections' });
    for (let i = 0; i < 3; i++) s1.pick({ exclude: new Set([1]) });
    await Promise.all([n1.flushAll(), n2.flushAll()]); // scripts loaded, entries sent
    const info = new Redis(url);
    info.on('error', () => undefined); // a failed assertion leaves it open until redis stops
    const calls = async (): Promise<number> => {
      const text = await info.info('commandstats');
      let n = 0;
      for (const m of text.matchAll(/^cmdstat_(\w+):calls=(\d+)/gm)) if (m[1] !== 'info') n += Number(m[2]);
      return n;
    };
    let before = await calls();
    await n1.flushAll();
    const perFlush = (await calls()) - before;
    assert.ok(perFlush >= 4, `a flush is ${perFlush} commands`);
    // 20 ticks of FLUSH_INTERVAL_MS on both nodes, three requests in flight on node 1 and nothing changing: only
    // the bounded refreshes (one per REFRESH_INTERVAL_MS and node) reach Redis. (Redis counts the commands a
    // script runs too, so perFlush includes the scripts' own PEXPIRE and HGETALL.)
    before = await calls();
    const ticks = 20;
    for (let i = 0; i < ticks; i++) {
      clock += FLUSH_INTERVAL_MS;
      await n1.tick();
      await n2.tick();
    }
    const idle = (await calls()) - before;
    assert.equal(idle, 2 * ((ticks * FLUSH_INTERVAL_MS) / REFRESH_INTERVAL_MS) * perFlush);
    // 4 s of simulated idleness is past NODE_TTL_MS: node 2 still counts node 1's requests thanks to the heartbeat.
    assert.ok(ticks * FLUSH_INTERVAL_MS > NODE_TTL_MS);
    await n2.flushAll();
    assert.equal(s2.pick({ exclude: new Set() })!.index, 1);
    // A change is news: the next tick flushes at once.
    s1.report(s1.targets[0]!, { ok: true });
    before = await calls();
    await n1.tick();
    assert.equal((await calls()) - before, perFlush);
    await n1.tick();
    assert.equal((await calls()) - before, perFlush, 'a tick with nothing new sent something');
    // A request served between two ticks (picked and answered: the counts are as before) wants a fresh view.
    s1.report(s1.pick({ exclude: new Set() })!, { ok: true });
    before = await calls();
    await n1.tick();
    assert.equal((await calls()) - before, perFlush);
    info.disconnect();
  });

  test('the setting: one server, Sentinel and Cluster forms; errors name the variable, never the password', () => {
    assert.equal(clusterSetting({}), undefined);
    assert.equal(clusterSetting({ AI_PROXY_ADVANCED_CLUSTER_REDIS: ' ' }), undefined);
    assert.deepEqual(clusterSetting({ AI_PROXY_ADVANCED_CLUSTER_REDIS: 'rediss://u:p@h:6380/2' }), { kind: 'server', url: 'rediss://u:p@h:6380/2' });
    assert.deepEqual(parseClusterSetting('redis+sentinel://app:p%40ss@s1:26380,s2,[::1]:26381/mymaster/3?sentinelPassword=sp'), {
      kind: 'sentinel',
      options: {
        username: 'app',
        password: 'p@ss',
        sentinels: [
          { host: 's1', port: 26380 },
          { host: 's2', port: 26379 },
          { host: '::1', port: 26381 },
        ],
        name: 'mymaster',
        db: 3,
        sentinelPassword: 'sp',
      },
    });
    const tlsSentinel = parseClusterSetting('rediss+sentinel://s1/m');
    assert.equal(tlsSentinel.kind === 'sentinel' && tlsSentinel.options.enableTLSForSentinelMode, true);
    assert.deepEqual(parseClusterSetting('redis+cluster://:pw@10.0.0.1:7000,10.0.0.2:7001'), {
      kind: 'cluster',
      nodes: [
        { host: '10.0.0.1', port: 7000 },
        { host: '10.0.0.2', port: 7001 },
      ],
      redisOptions: { password: 'pw' },
    });
    const bad: Array<[string, RegExp]> = [
      ['http://h', /unknown scheme http:\/\//],
      ['not a url', /not a URL/],
      ['redis+sentinel://u:hunter2@s1:26379', /needs the master name/],
      ['redis+cluster://u:hunter2@h1:7000,h2:7001/0', /nothing may follow the hosts/],
      ['redis+cluster://u:hunter2@h1', /needs a port/],
      ['redis+cluster://u:hunter2@h1:99999', /out of range/],
      ['redis+sentinel://u:hunter2@s1/m?password=x', /unknown option 'password'/],
      ['redis+sentinel://u:hunter2@s1/m/x', /database 'x' is not a number/],
      ['redis+sentinel://u:hunter2@bad host/m', /is not host\[:port\]/],
      // Unencoded '/' or '?' in a password cut the authority short: what is left is never echoed.
      ['redis+sentinel://u:hunter2/x@s1/m', /host 1 is not host\[:port\].*percent-encoded/],
      ['redis+cluster://u:hunter2?x@h1:7000', /takes no \?options/],
      ['redis+sentinel://s1/m?hunter2@x=1', /unknown option \(known/],
    ];
    for (const [value, why] of bad) {
      assert.throws(
        () => clusterSetting({ AI_PROXY_ADVANCED_CLUSTER_REDIS: value }),
        (e: Error) => why.test(e.message) && e.message.startsWith('AI_PROXY_ADVANCED_CLUSTER_REDIS: ') && !e.message.includes('hunter2'),
        value,
      );
    }
  });

  test('a bad setting is one error line at plugin-server start, naming the variable, and the plugin still loads', async () => {
    const saved = process.env.AI_PROXY_ADVANCED_CLUSTER_REDIS;
    process.env.AI_PROXY_ADVANCED_CLUSTER_REDIS = 'redis+cluster://app:hunter2@h1,h2:7001';
    let server;
    try {
      server = await startServer('ours', { pluginsDir: path.join(REPO_ROOT, 'dist', 'plugins'), prefix: mkdtempSync(path.join(os.tmpdir(), 'aipa-cs-')), sockName: 'aipa.sock' });
    } finally {
      if (saved === undefined) delete process.env.AI_PROXY_ADVANCED_CLUSTER_REDIS;
      else process.env.AI_PROXY_ADVANCED_CLUSTER_REDIS = saved;
    }
    try {
      await until(() => server.stderr().includes('AI_PROXY_ADVANCED_CLUSTER_REDIS'), 'the error line');
      const line = server.stderr().split('\n').find((l) => l.includes('AI_PROXY_ADVANCED_CLUSTER_REDIS'))!;
      assert.match(line, /error: AI_PROXY_ADVANCED_CLUSTER_REDIS: every Redis Cluster seed needs a port .*balancer state stays local/);
      assert.ok(!server.stderr().includes('hunter2'), 'the password was printed');
      assert.ok(await canConnect(server.socketPath), 'the plugin server is not serving');
    } finally {
      await server.stop();
    }
  });
});
