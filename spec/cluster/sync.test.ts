/**
 * ClusterSync (plugins/ai-proxy-advanced/cluster/sync.ts) in one process: two "nodes" are two ClusterSync
 * instances with their own Redis connections and their own BalancerState objects, on a real redis-server.
 * The clock is injected (a variable both nodes read), flushes are stepped by hand (the timer interval is an
 * hour), so nothing depends on wall-clock timing; waits for pub/sub delivery are bounded.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import Redis from 'ioredis';
import { BalancerState, buildTargets } from '../../plugins/ai-proxy-advanced/balancer';
import { fingerprintOf } from '../../plugins/ai-proxy-advanced/balancer/registry';
import { LeastConnectionsBalancer } from '../../plugins/ai-proxy-advanced/balancer/least-connections';
import { MAX_RETRY_AFTER_MS } from '../../plugins/ai-proxy-advanced/balancer/circuit-breaker';
import { clusterUrl, FAIL_FAST } from '../../plugins/ai-proxy-advanced/cluster';
import { ClusterSync, NODE_TTL_MS } from '../../plugins/ai-proxy-advanced/cluster/sync';
import { holdsKey, pluginKey } from '../../plugins/ai-proxy-advanced/cluster/keys';
import type { BalancerConfig } from '../../schemas/config';
import { filledConfig } from '../helpers/filled-config';
import { RedisServer } from '../helpers/redis-server';

let redis: RedisServer;
let url: string;
let clock = 1_800_000_000_000;
const syncs: ClusterSync[] = [];
let seq = 0;

function node(name: string, logs: string[] = []): ClusterSync {
  const s = new ClusterSync(new Redis(url, FAIL_FAST), new Redis(url, { ...FAIL_FAST, enableOfflineQueue: true, lazyConnect: false }), {
    now: () => clock,
    nodeId: name,
    log: (m) => logs.push(m),
    flushIntervalMs: 3_600_000,
  });
  syncs.push(s);
  return s;
}

function state(id: string, balancer: BalancerConfig): BalancerState {
  const config = filledConfig({
    __plugin_id: id,
    targets: ['a', 'b'].map((m) => ({ route_type: 'llm/v1/chat', weight: 100, model: { provider: 'openai', name: m, options: { upstream_url: `http://127.0.0.1:9/${m}` } } })),
    balancer,
  } as never);
  const targets = buildTargets(config.targets);
  return new BalancerState(id, fingerprintOf(config, targets), config, targets, { now: () => clock, random: () => 0.5 });
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

  test('the setting accepts redis:// and rediss:// only', () => {
    assert.equal(clusterUrl({}), undefined);
    assert.equal(clusterUrl({ AI_PROXY_ADVANCED_CLUSTER_REDIS: ' ' }), undefined);
    assert.equal(clusterUrl({ AI_PROXY_ADVANCED_CLUSTER_REDIS: 'rediss://u:p@h:6380/2' }), 'rediss://u:p@h:6380/2');
    assert.throws(() => clusterUrl({ AI_PROXY_ADVANCED_CLUSTER_REDIS: 'http://h' }), /redis:\/\/ or rediss:\/\//);
    assert.throws(() => clusterUrl({ AI_PROXY_ADVANCED_CLUSTER_REDIS: 'not a url' }), /not a URL/);
  });
});
