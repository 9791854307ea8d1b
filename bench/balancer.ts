/**
 * `npm run bench -- balancer`: the cost of one balancer pick per algorithm at 100 targets, beside a baseline
 * measured in the same process (a call through the same harness that only indexes the targets array).
 * Target from issue 5: pick <= 1 µs at 100 targets. Figures are printed, never asserted.
 *
 * Each case runs ROUNDS rounds of ITERATIONS calls after a warm-up; the median round is reported, in ns per
 * call, with the baseline subtracted ("net") and as a ratio to the baseline.
 */
import { cpus, loadavg } from 'node:os';
import type { BalancerTarget, PickRequest } from '../plugins/ai-proxy-advanced/balancer/balancer';
import { balancerStateFor, buildTargets, clearBalancerRegistry, createBalancer } from '../plugins/ai-proxy-advanced/balancer';
import type { Algorithm, BalancerConfig, PluginConfig, TargetConfig } from '../schemas/config';
import { seededRandom } from '../spec/helpers/seeded-random';
import { filledBalancer, filledConfig, filledTarget } from '../spec/helpers/filled-config';

const TARGETS = 100;
const ITERATIONS = 200_000;
const ROUNDS = 15;
const TARGET_NS = 1000;


const random = seededRandom(42);
let clock = 1_700_000_000_000;
const deps = { now: () => clock, random };

function targetConfigs(weightOf: (i: number) => number): TargetConfig[] {
  return Array.from({ length: TARGETS }, (_, i) => ({
    route_type: 'llm/v1/chat' as const,
    model: { provider: 'openai' as const, name: `model-${i}`, options: { upstream_url: `http://127.0.0.1:${9000 + i}/v1/chat/completions` } },
    auth: { header_name: 'Authorization', header_value: 'Bearer bench' },
    weight: weightOf(i),
  }));
}

const variedWeights = targetConfigs(() => 1 + Math.floor(random() * 100));
const groupedWeights = targetConfigs((i) => (5 - (i % 5)) * 10); // 5 priority groups of 20
const keys = Array.from({ length: 1024 }, (_, i) => `session-${(i * 2654435761) >>> 0}`);
const NONE: ReadonlySet<number> = new Set();
const ONE_TRIED: ReadonlySet<number> = new Set([7]);

let sink = 0;

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

function measure(fn: (i: number) => BalancerTarget | undefined): number {
  for (let i = 0; i < ITERATIONS; i++) sink += fn(i)?.index ?? 0; // warm-up
  const rounds: number[] = [];
  for (let r = 0; r < ROUNDS; r++) {
    const start = process.hrtime.bigint();
    for (let i = 0; i < ITERATIONS; i++) sink += fn(i)?.index ?? 0;
    rounds.push(Number(process.hrtime.bigint() - start) / ITERATIONS);
  }
  return median(rounds);
}

interface Case {
  name: string;
  run: (i: number) => BalancerTarget | undefined;
}

function balancerCase(name: string, config: BalancerConfig, configs: TargetConfig[], opts: { report?: boolean; exclude?: ReadonlySet<number>; key?: boolean } = {}): Case {
  const targets = buildTargets(configs.map(filledTarget));
  const b = createBalancer(filledBalancer(config), targets, deps);
  // Give the EWMA balancers data so scores differ (otherwise every pick is a tie at −∞).
  for (let i = 0; i < 2000; i++) {
    const t = b.pick({ exclude: NONE })!;
    b.report(t, { ok: true, latencyMs: 100 + (t.index % 17) * 10, usage: { prompt_tokens: 10, completion_tokens: 20 + t.index, total_tokens: 30 + t.index } });
    clock += 5;
  }
  const exclude = opts.exclude ?? NONE;
  const req: { hashKey: string | undefined; exclude: ReadonlySet<number> } = { hashKey: undefined, exclude };
  const outcome = { ok: true, latencyMs: 120, usage: { prompt_tokens: 10, completion_tokens: 30, total_tokens: 40 } };
  if (opts.report === true) {
    return {
      name,
      run: (i) => {
        if (opts.key === true) req.hashKey = keys[i & 1023];
        const t = b.pick(req as PickRequest);
        if (t !== undefined) b.report(t, outcome);
        return t;
      },
    };
  }
  return {
    name,
    run: (i) => {
      if (opts.key === true) req.hashKey = keys[i & 1023];
      return b.pick(req as PickRequest);
    },
  };
}

function stateCase(): Case {
  clearBalancerRegistry();
  const config: PluginConfig = {
    __plugin_id: 'bench',
    targets: variedWeights,
    balancer: { algorithm: 'lowest-latency', max_fails: 3, failover_criteria: ['error', 'timeout', 'http_500'] },
  };
  const filled = filledConfig(config);
  const tried = new Set<number>();
  const outcome = { ok: true, latencyMs: 120, usage: { prompt_tokens: 10, completion_tokens: 30, total_tokens: 40 } };
  return {
    name: 'lowest-latency via registry: lookup + exclusions + pick + settle',
    run: () => {
      const s = balancerStateFor(filled, deps);
      const t = s.pick({ exclude: s.exclusions(tried) });
      if (t !== undefined) s.settle(t, outcome);
      return t;
    },
  };
}

const plain = buildTargets(variedWeights.map(filledTarget));
const cases: Case[] = [
  { name: 'baseline: call + array index', run: (i) => plain[i % TARGETS] },
];
const algos: Array<[Algorithm, TargetConfig[]]> = [
  ['round-robin', variedWeights],
  ['consistent-hashing', variedWeights],
  ['lowest-latency', variedWeights],
  ['lowest-usage', variedWeights],
  ['least-connections', variedWeights],
  ['priority', groupedWeights],
];
for (const [algorithm, configs] of algos) {
  const key = algorithm === 'consistent-hashing';
  cases.push(balancerCase(`${algorithm}: pick`, { algorithm }, configs, { key }));
  cases.push(balancerCase(`${algorithm}: pick, 1 target excluded (retry)`, { algorithm }, configs, { key, exclude: ONE_TRIED }));
  if (algorithm === 'lowest-latency' || algorithm === 'lowest-usage' || algorithm === 'least-connections') {
    cases.push(balancerCase(`${algorithm}: pick + report`, { algorithm }, configs, { key, report: true }));
  }
}
cases.push(balancerCase('consistent-hashing: no header (round-robin fallback)', { algorithm: 'consistent-hashing' }, variedWeights));
cases.push(stateCase());

const results = cases.map((c) => ({ name: c.name, ns: measure(c.run) }));
const base = results[0]!.ns;
console.log(`node ${process.version}, ${TARGETS} targets, median of ${ROUNDS} rounds x ${ITERATIONS} calls`);
console.log(`${cpus().length} CPUs, load average ${loadavg().map((l) => l.toFixed(2)).join(' ')} (figures are noisy on a busy machine; compare with the baseline)`);
console.log(`${'case'.padEnd(66)} ${'ns/call'.padStart(8)} ${'net ns'.padStart(8)} ${'x base'.padStart(7)}  <= ${TARGET_NS} ns`);
for (const r of results) {
  const net = r.ns - base;
  const verdict = r === results[0] ? '' : net <= TARGET_NS ? 'yes' : 'NO';
  console.log(`${r.name.padEnd(66)} ${r.ns.toFixed(1).padStart(8)} ${net.toFixed(1).padStart(8)} ${(r.ns / base).toFixed(1).padStart(7)}  ${verdict}`);
}
if (sink === -1) console.log('unreachable'); // keeps `sink` observable so the loops are not optimised away
