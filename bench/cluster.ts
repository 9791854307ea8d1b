/**
 * `npm run bench -- cluster`: what AI_PROXY_ADVANCED_CLUSTER_REDIS costs and how fast nodes converge (issue 15).
 *
 * 1. Two local gateways with the same ai-proxy-advanced route against the same local upstream, one without the
 *    setting (off, the baseline) and one with it (on, a real redis-server started here), measured in alternating
 *    rounds at 1 and 20 connections. Targets: on/off req/s at 20 connections >= 0.95; added p50 at 1 connection
 *    <= 50 µs.
 * 2. Convergence between two nodes (two ClusterSync instances in this process, own Redis connections each, real
 *    timers): time from a circuit opening on node 1 until node 2 excludes the target (pub/sub, target <= 100 ms),
 *    and from in-flight requests on node 1 until node 2 counts them (flush/refresh, bounded by the interval).
 * Env: BENCH_SECONDS (default 4 per path per connection count), BENCH_ROUNDS (default 4).
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Redis from 'ioredis';
import { BalancerState, buildTargets } from '../plugins/ai-proxy-advanced/balancer';
import { fingerprintOf } from '../plugins/ai-proxy-advanced/balancer/registry';
import { FAIL_FAST } from '../plugins/ai-proxy-advanced/cluster';
import { ClusterSync, FLUSH_INTERVAL_MS } from '../plugins/ai-proxy-advanced/cluster/sync';
import { filledConfig } from '../spec/helpers/filled-config';
import { RedisServer } from '../spec/helpers/redis-server';
import { chatRoute, chatTarget, gatewayYaml } from './lib/chat';
import { load, merge, type LoadResult } from './lib/load';
import { freePort, ROOT, startGateway, startNode, stopAll, waitForPort } from './lib/procs';

const SECONDS = Number(process.env.BENCH_SECONDS ?? 4);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 4);
const CHAT = JSON.stringify({ messages: [{ role: 'user', content: 'What is 1 + 1?' }] });
const fmt = (n: number, d = 0): string => (Number.isFinite(n) ? n.toFixed(d) : 'n/a');

function kongYml(upPort: number): string {
  return gatewayYaml([
    {
      ...chatRoute(upPort),
      pluginId: '6f1c1b4e-8a43-4c55-9a55-000000000015',
      plugin: { balancer: { algorithm: 'least-connections' }, targets: [chatTarget(upPort), chatTarget(upPort, { model: 'gpt-4o' })] },
    },
  ]);
}

function pct(xs: number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))] ?? NaN;
}

async function convergence(url: string): Promise<{ pubsub: number[]; refresh: number[] }> {
  const mk = (name: string): ClusterSync =>
    new ClusterSync(new Redis(url, FAIL_FAST), new Redis(url, { ...FAIL_FAST, enableOfflineQueue: true, lazyConnect: false }), {
      now: () => performance.timeOrigin + performance.now(),
      nodeId: name,
      log: () => undefined,
    });
  const n1 = mk('bench-1');
  const n2 = mk('bench-2');
  await Promise.all([n1.start(), n2.start()]);
  const build = (id: string, balancer: Record<string, unknown>): BalancerState => {
    const config = filledConfig({
      __plugin_id: id,
      targets: ['a', 'b'].map((m) => ({ route_type: 'llm/v1/chat', weight: 100, model: { provider: 'openai', name: m, options: { upstream_url: `http://127.0.0.1:9/${m}` } } })),
      balancer,
    } as never);
    const targets = buildTargets(config.targets);
    return new BalancerState(id, fingerprintOf(config, targets), config, targets, { now: () => performance.timeOrigin + performance.now(), random: Math.random });
  };
  const waitFor = async (fn: () => boolean): Promise<number> => {
    const t0 = performance.now();
    while (!fn()) {
      if (performance.now() - t0 > 5000) return NaN;
      await new Promise((r) => setImmediate(r));
    }
    return performance.now() - t0;
  };
  await new Promise((r) => setTimeout(r, 100)); // both subscriptions in place
  const pubsub: number[] = [];
  for (let i = 0; i < 30; i++) {
    const b = { max_fails: 1, fail_timeout: 60_000, failover_criteria: ['http_500'] };
    const [s1, s2] = [build(`conv-${i}`, b), build(`conv-${i}`, b)];
    n1.created(s1);
    n2.created(s2);
    await new Promise((r) => setTimeout(r, 20));
    const t0 = performance.now();
    s1.health.recordFailure(0, { kind: 'http', status: 500 });
    await waitFor(() => s2.exclusions(new Set()).has(0));
    pubsub.push(performance.now() - t0);
  }
  const refresh: number[] = [];
  for (let i = 0; i < 10; i++) {
    const [s1, s2] = [build(`lc-${i}`, { algorithm: 'least-connections' }), build(`lc-${i}`, { algorithm: 'least-connections' })];
    n1.created(s1);
    n2.created(s2);
    await new Promise((r) => setTimeout(r, Math.random() * FLUSH_INTERVAL_MS));
    const t0 = performance.now();
    for (let k = 0; k < 3; k++) s1.pick({ exclude: new Set([1]) });
    // Node 2 sees node 1's three in-flight requests on target 0 when its picks go to target 1 only.
    await waitFor(() => {
      const a = s2.pick({ exclude: new Set() })!;
      s2.report(a, { ok: true });
      const b = s2.pick({ exclude: new Set() })!;
      s2.report(b, { ok: true });
      return a.index === 1 && b.index === 1;
    });
    refresh.push(performance.now() - t0);
  }
  n1.close();
  n2.close();
  return { pubsub, refresh };
}

async function main(): Promise<void> {
  const redis = await RedisServer.start();
  const url = `redis://127.0.0.1:${redis.port}`;
  const dirs = [mkdtempSync(path.join(os.tmpdir(), 'aipa-bc-off-')), mkdtempSync(path.join(os.tmpdir(), 'aipa-bc-on-'))];
  try {
    const upPort = await freePort();
    const up = startNode('upstream', [path.join(ROOT, 'dist', 'bench', 'lib', 'engine-upstream.js')], { PORT: String(upPort) });
    await waitForPort(upPort, 'upstream', up);
    for (const d of dirs) writeFileSync(path.join(d, 'kong.yml'), kongYml(upPort));
    // The parent's environment must not turn the baseline on.
    const off = await startGateway(dirs[0]!, path.join(dirs[0]!, 'kong.yml'), { AI_PROXY_ADVANCED_CLUSTER_REDIS: '' });
    const on = await startGateway(dirs[1]!, path.join(dirs[1]!, 'kong.yml'), { AI_PROXY_ADVANCED_CLUSTER_REDIS: url });
    const targets = { off: `http://127.0.0.1:${off.port}/v1/chat/completions`, on: `http://127.0.0.1:${on.port}/v1/chat/completions` };
    for (const [name, u] of Object.entries(targets)) {
      const r = await load({ url: u, body: CHAT }, 1, 0.3);
      if (r.errors > 0) throw new Error(`${name} answered errors during the sanity check`);
    }
    const results: Record<string, Record<number, LoadResult>> = {};
    for (const conns of [1, 20]) {
      for (const u of Object.values(targets)) await load({ url: u, body: CHAT }, conns, 0.5);
      const rounds: Record<string, LoadResult[]> = {};
      for (let r = 0; r < ROUNDS; r++) {
        for (const [name, u] of Object.entries(targets)) (rounds[name] ??= []).push(await load({ url: u, body: CHAT }, conns, SECONDS / ROUNDS));
      }
      for (const [name, rs] of Object.entries(rounds)) (results[name] ??= {})[conns] = merge(rs);
    }
    const keys = await new Redis(url).keys('aipa:v1:*');
    console.log(`\nnode ${process.version}, ${os.cpus().length} CPUs, ${SECONDS}s per path in ${ROUNDS} alternating rounds; least-connections, 2 targets`);
    console.log('path  conns     req/s  p50 ms   p99 ms  errors');
    for (const c of [1, 20]) {
      for (const n of ['off', 'on']) {
        const r = results[n]![c]!;
        console.log(`${n.padEnd(5)} ${String(c).padStart(5)} ${fmt(r.rps).padStart(9)} ${fmt(r.p50, 3).padStart(8)} ${fmt(r.p99, 3).padStart(8)} ${String(r.errors).padStart(6)}`);
      }
    }
    const ratio = results.on![20]!.rps / results.off![20]!.rps;
    const addedUs = (results.on![1]!.p50 - results.off![1]!.p50) * 1000;
    console.log(`\ncluster on / off req/s at 20 connections: ${fmt(ratio, 3)} (target >= 0.95: ${ratio >= 0.95 ? 'met' : 'NOT met'})`);
    console.log(`added p50 at 1 connection: ${fmt(addedUs, 1)} µs (target <= 50 µs: ${addedUs <= 50 ? 'met' : 'NOT met'})`);
    console.log(`redis keys written by the 'on' node: ${keys.length} (${keys.length > 0 ? 'sharing' : 'NOT sharing'})`);

    const { pubsub, refresh } = await convergence(url);
    console.log(`\nconvergence, circuit opening node 1 -> node 2 (pub/sub), ${pubsub.length} runs: p50 ${fmt(pct(pubsub, 50), 2)} ms, max ${fmt(Math.max(...pubsub), 2)} ms (target <= 100 ms)`);
    console.log(`convergence, in-flight counts node 1 -> node 2 (flush every ${FLUSH_INTERVAL_MS} ms + refresh), ${refresh.length} runs: p50 ${fmt(pct(refresh, 50), 1)} ms, max ${fmt(Math.max(...refresh), 1)} ms`);
  } finally {
    stopAll();
    await redis.stop();
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  }
}

main().then(
  () => process.exit(process.exitCode ?? 0),
  (e: Error) => {
    stopAll();
    console.error(e.stack ?? e.message);
    process.exit(1);
  },
);
