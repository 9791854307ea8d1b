/**
 * `npm run bench -- cluster`: what AI_PROXY_ADVANCED_CLUSTER_REDIS costs and how fast nodes converge (issue 15).
 *
 * 1. Two local gateways with the same ai-proxy-advanced route (least-connections: its in-flight counts change
 *    with every request, so every flush has something to send) against the same local upstream, one without
 *    the setting (off, the baseline) and one with it (on, a real redis-server started here). On a shared,
 *    loaded machine a whole-run comparison measures the neighbours, so the paths are measured in many short
 *    PAIRED rounds (off then on, then on then off, ...) and each pair gives one ratio: the figure is the median
 *    of the paired ratios (req/s at 20 connections, target >= 0.95) and of the paired p50 differences (1
 *    connection, target <= 50 µs). Beside them, each plugin server's CPU time per request (/proc schedstat, ns,
 *    over the same rounds), which the machine's load moves far less, and each plugin server's CPU per second
 *    with no traffic at all (what the flush loop costs an idle node).
 * 2. Convergence between two nodes (two ClusterSync instances in this process, own Redis connections each, real
 *    timers): time from a circuit opening on node 1 until node 2 excludes the target (pub/sub, target <= 100 ms),
 *    and from in-flight requests on node 1 until node 2 counts them (flush/refresh, bounded by the interval).
 * Env: BENCH_PAIRS (default 16 per connection count), BENCH_ROUND_SECONDS (default 0.5 per path per pair).
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Redis from 'ioredis';
import type { BalancerConfig } from '../schemas/config';
import type { ClusterSync } from '../plugins/ai-proxy-advanced/cluster/sync';
import { FLUSH_INTERVAL_MS } from '../plugins/ai-proxy-advanced/cluster/sync';
import { syncNode, twoTargetState } from '../spec/helpers/cluster-node';
import { RedisServer } from '../spec/helpers/redis-server';
import { chatRoute, chatTarget, gatewayYaml } from './lib/chat';
import { load, type LoadResult } from './lib/load';
import { cpuSecondsFine } from './lib/proc';
import { findPluginServerPid, freePort, ROOT, startGateway, startNode, stopAll, waitForPort } from './lib/procs';

const PAIRS = Number(process.env.BENCH_PAIRS ?? 16);
const ROUND_SECONDS = Number(process.env.BENCH_ROUND_SECONDS ?? 0.5);
const IDLE_SECONDS = 4;
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
  const clock = (): number => performance.timeOrigin + performance.now();
  const mk = (name: string): ClusterSync => syncNode(url, name, clock, { flushIntervalMs: FLUSH_INTERVAL_MS });
  const n1 = mk('bench-1');
  const n2 = mk('bench-2');
  await Promise.all([n1.start(), n2.start()]);
  const build = (id: string, balancer: BalancerConfig) => twoTargetState(id, balancer, clock, [100, 100], Math.random);
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
    const b: BalancerConfig = { max_fails: 1, fail_timeout: 60_000, failover_criteria: ['http_500'] };
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

function median(xs: number[]): number {
  return pct(xs, 50);
}

interface Side {
  url: string;
  psPid: number | undefined;
  cpu: number;
  requests: number;
  errors: number;
  rounds: LoadResult[];
}

/** One round of `side` at `conns` connections, with its plugin server's CPU time over the round. */
async function round(side: Side, conns: number): Promise<LoadResult> {
  const cpu0 = side.psPid === undefined ? NaN : cpuSecondsFine(side.psPid);
  const r = await load({ url: side.url, body: CHAT }, conns, ROUND_SECONDS);
  side.cpu += side.psPid === undefined ? NaN : cpuSecondsFine(side.psPid) - cpu0;
  side.requests += r.requests;
  side.errors += r.errors;
  side.rounds.push(r);
  return r;
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
    const urls = { off: `http://127.0.0.1:${off.port}/v1/chat/completions`, on: `http://127.0.0.1:${on.port}/v1/chat/completions` };
    for (const [name, u] of Object.entries(urls)) {
      const r = await load({ url: u, body: CHAT }, 1, 0.3);
      if (r.errors > 0) throw new Error(`${name} answered errors during the sanity check`);
    }
    const pids = { off: findPluginServerPid(dirs[0]!), on: findPluginServerPid(dirs[1]!) };
    // Idle: no request for IDLE_SECONDS (after the sanity requests, so each plugin is configured and tracked, and
    // after a pause: the first seconds after those requests are JIT and GC work on both sides).
    await new Promise((r) => setTimeout(r, 2000));
    const idleCpu = { off: 0, on: 0 };
    const idle0 = { off: pids.off === undefined ? NaN : cpuSecondsFine(pids.off), on: pids.on === undefined ? NaN : cpuSecondsFine(pids.on) };
    await new Promise((r) => setTimeout(r, IDLE_SECONDS * 1000));
    for (const n of ['off', 'on'] as const) idleCpu[n] = (pids[n] === undefined ? NaN : cpuSecondsFine(pids[n]!) - idle0[n]) / IDLE_SECONDS;
    const figures: Record<number, { ratios: number[]; p50Us: number[]; off: Side; on: Side }> = {};
    for (const conns of [1, 20]) {
      const side = (n: 'off' | 'on'): Side => ({ url: urls[n], psPid: pids[n], cpu: 0, requests: 0, errors: 0, rounds: [] });
      const f = { ratios: [] as number[], p50Us: [] as number[], off: side('off'), on: side('on') };
      for (const u of Object.values(urls)) await load({ url: u, body: CHAT }, conns, 0.5);
      for (let i = 0; i < PAIRS; i++) {
        // Alternate which path goes first, so a drift in the machine's load favours neither.
        const [first, second] = i % 2 === 0 ? [f.off, f.on] : [f.on, f.off];
        const a = await round(first, conns);
        const b = await round(second, conns);
        const [offR, onR] = i % 2 === 0 ? [a, b] : [b, a];
        f.ratios.push(onR.rps / offR.rps);
        f.p50Us.push((onR.p50 - offR.p50) * 1000);
      }
      figures[conns] = f;
    }
    console.log(`\nnode ${process.version}, ${os.cpus().length} CPUs, load average ${os.loadavg()[0]!.toFixed(2)}; least-connections, 2 targets`);
    console.log(`${PAIRS} paired rounds of ${ROUND_SECONDS}s per path and connection count (order alternating), one Redis on this host`);
    console.log('conns  path     req/s   p50 ms  errors  plugin-server CPU/request');
    for (const c of [1, 20]) {
      for (const n of ['off', 'on'] as const) {
        const s = figures[c]![n];
        const rps = s.requests / s.rounds.reduce((a, r) => a + r.secs, 0);
        const p50 = median(s.rounds.map((r) => r.p50));
        console.log(`${String(c).padStart(5)}  ${n.padEnd(4)} ${fmt(rps).padStart(9)} ${fmt(p50, 3).padStart(8)} ${String(s.errors).padStart(7)}  ${fmt((s.cpu / s.requests) * 1e6, 1).padStart(8)} µs`);
      }
    }
    const r20 = figures[20]!.ratios;
    const ratio = median(r20);
    const addedUs = median(figures[1]!.p50Us);
    console.log(`\ncluster on / off req/s at 20 connections, median of ${r20.length} paired ratios: ${fmt(ratio, 3)} (min ${fmt(Math.min(...r20), 3)}, max ${fmt(Math.max(...r20), 3)}; target >= 0.95: ${ratio >= 0.95 ? 'met' : 'NOT met'})`);
    console.log(`added p50 at 1 connection, median of paired differences: ${fmt(addedUs, 1)} µs (target <= 50 µs: ${addedUs <= 50 ? 'met' : 'NOT met'})`);
    for (const c of [1, 20]) {
      const f = figures[c]!;
      const d = (f.on.cpu / f.on.requests - f.off.cpu / f.off.requests) * 1e6;
      console.log(`plugin-server CPU added per request at ${c} conn(s): ${fmt(d, 1)} µs (on ${fmt((f.on.cpu / f.on.requests) * 1e6, 1)}, off ${fmt((f.off.cpu / f.off.requests) * 1e6, 1)}; schedstat)`);
    }
    console.log(`plugin-server CPU with no traffic (${IDLE_SECONDS}s): on ${fmt(idleCpu.on * 1000, 2)} ms/s, off ${fmt(idleCpu.off * 1000, 2)} ms/s`);
    const keysClient = new Redis(url);
    const keys = await keysClient.keys('aipa:v1:*');
    keysClient.disconnect();
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
