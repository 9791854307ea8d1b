/**
 * AI_PROXY_ADVANCED_CLUSTER_REDIS in its Redis Cluster and Sentinel forms (cluster/setting.ts), on real
 * topologies: three cluster-enabled redis-servers joined by `redis-cli --cluster create`, and a master watched
 * by a real Sentinel. Two in-process nodes per topology (ClusterSync, injected clock, flushes stepped by hand);
 * the plugins' keys land on different slots, so this covers the hash tags (one plugin's pipeline and scripts on
 * one slot) and the restore (one pipeline per plugin).
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { MAX_RETRY_AFTER_MS } from '../../plugins/ai-proxy-advanced/balancer/circuit-breaker';
import type { ClusterSync } from '../../plugins/ai-proxy-advanced/cluster/sync';
import type { BalancerConfig } from '../../schemas/config';
import { syncNode, twoTargetState } from '../helpers/cluster-node';
import { startRedisCluster, startSentinel, type Topology } from '../helpers/redis-topology';

let clock = 1_900_000_000_000;
const now = (): number => clock;

async function until(fn: () => boolean, what: string): Promise<void> {
  const end = Date.now() + 5000;
  while (!fn()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

const forms: Array<[string, () => Promise<Topology>]> = [
  ['Redis Cluster (redis+cluster://, 3 masters)', () => startRedisCluster(3)],
  ['Sentinel (redis+sentinel://)', startSentinel],
];

for (const [name, startTopology] of forms) {
  describe(name, () => {
    let topo: Topology;
    const syncs: ClusterSync[] = [];
    const node = (n: string): ClusterSync => {
      const s = syncNode(topo.url, n, now);
      syncs.push(s);
      return s;
    };
    before(async () => {
      topo = await startTopology();
    });
    after(async () => {
      for (const s of syncs) s.close();
      await topo?.stop();
    });

    test('circuit openings by pub/sub, cluster-wide failure counts and the shared round robin, plugin by plugin', async () => {
      const [n1, n2] = [node('a1'), node('a2')];
      await Promise.all([n1.start(), n2.start()]);
      // Eight plugins: their hash tags spread over the slots (and, in Redis Cluster, over the three masters).
      for (let p = 0; p < 8; p++) {
        const id = `${name}-plugin-${p}`;
        const b: BalancerConfig = { max_fails: 2, fail_timeout: 30_000, failover_criteria: ['http_500'] };
        const [s1, s2] = [twoTargetState(id, b, now, [3, 1]), twoTargetState(id, b, now, [3, 1])];
        n1.created(s1);
        n2.created(s2);
        // One failure on each node: the script counts both (max_fails 2) on the plugin's slot.
        s1.health.recordFailure(1, { kind: 'http', status: 500 });
        s2.health.recordFailure(1, { kind: 'http', status: 500 });
        await n1.flushAll();
        await n2.flushAll();
        await n1.flushAll();
        assert.ok(s1.exclusions(new Set()).has(1) && s2.exclusions(new Set()).has(1), `plugin ${p}: the failures were not counted together`);
        // Retry-After on node 1 reaches node 2 without a flush (PUBLISH in a cluster reaches every node's subscribers).
        s1.health.recordFailure(0, { kind: 'http', status: 429, retryAfterMs: 10_000 });
        await until(() => s2.health.status(0).reason === 'retry-after', `plugin ${p}: the hold on node 2`);
      }
      // Round robin over one shared sequence: 3:1 across the nodes, alternating with a refresh around each pick.
      const id = `${name}-rr`;
      const [r1, r2] = [twoTargetState(id, {}, now, [3, 1]), twoTargetState(id, {}, now, [3, 1])];
      n1.created(r1);
      n2.created(r2);
      const served = [0, 0];
      for (let i = 0; i < 16; i++) {
        const [n, s] = i % 2 === 0 ? [n1, r1] : [n2, r2];
        await n.flushAll();
        served[s.pick({ exclude: new Set() })!.index]!++;
        await n.flushAll();
      }
      assert.deepEqual(served, [12, 4]);
    });

    test('a node started later reads every plugin back before its first pick', async () => {
      const n1 = node('b1');
      await n1.start();
      const ids = Array.from({ length: 8 }, (_, p) => `${name}-restore-${p}`);
      for (const id of ids) {
        const s = twoTargetState(id, {}, now);
        n1.created(s);
        s.health.recordFailure(1, { kind: 'http', status: 429, retryAfterMs: MAX_RETRY_AFTER_MS });
      }
      await n1.flushAll();
      const n2 = node('b2');
      await n2.start();
      for (const id of ids) {
        const s = twoTargetState(id, {}, now);
        n2.created(s);
        assert.equal(s.health.status(1).reason, 'retry-after', `${id} was not restored`);
        assert.equal(s.health.status(1).excludedUntil, clock + MAX_RETRY_AFTER_MS);
      }
    });
  });
}
