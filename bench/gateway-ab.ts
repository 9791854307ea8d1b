/**
 * `BENCH_BASE=<another built checkout> npm run bench -- gateway-ab`: the gateway process's CPU per request of
 * this build against another, paired. Two gateways (each with its own plugin server) run side by side against
 * one upstream; rounds alternate between them (A B, then B A), so the drift of a shared machine's load hits
 * both alike, and each round's B/A ratio is one paired sample. Prints, per route (the ai-proxy-advanced chat
 * route and a plain proxied route), the median CPU per request of each and the median of the paired ratios.
 * Unpaired figures from separate `engine` runs differ by more than the changes measured here whenever the
 * machine is shared; use this to decide whether a change to kong/gateway or kong/rpc pays.
 * Knobs: BENCH_ROUNDS (default 16), BENCH_ROUND_SECONDS (default 1.5), BENCH_CONNECTIONS (default 20).
 * BENCH_ROUTES=plugin (or plain) measures one route only.
 * BENCH_ENV_A / BENCH_ENV_B (`NAME=value,NAME=value`) add environment variables to one gateway only, to compare
 * a switch within one build (BENCH_BASE then defaults to this checkout).
 * Without BENCH_BASE or either env knob it says so and exits (npm run bench runs every benchmark).
 */
import { mkdirSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { CHAT, chatRoute, startEngineUpstream, writeGatewayYaml } from './lib/chat';
import { load } from './lib/load';
import { cpuSecondsFine } from './lib/proc';
import { findPluginServerPid, runBench, startGateway } from './lib/procs';

const envKnob = (v: string | undefined): Record<string, string> =>
  Object.fromEntries((v ?? '').split(',').filter((kv) => kv.includes('=')).map((kv) => [kv.slice(0, kv.indexOf('=')), kv.slice(kv.indexOf('=') + 1)]));
const ENV = { A: envKnob(process.env.BENCH_ENV_A), B: envKnob(process.env.BENCH_ENV_B) };
const BASE = process.env.BENCH_BASE ?? (Object.keys(ENV.A).length + Object.keys(ENV.B).length > 0 ? path.resolve(__dirname, '..', '..') : undefined);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 16);
const SECS = Number(process.env.BENCH_ROUND_SECONDS ?? 1.5);
const CONNS = Number(process.env.BENCH_CONNECTIONS ?? 20);
const THIS = path.resolve(__dirname, '..', '..');

const median = (a: number[]): number => {
  const s = [...a].sort((x, y) => x - y);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? (s[m] as number) : ((s[m - 1] as number) + (s[m] as number)) / 2;
};

/**
 * Context switches of a process's main thread (voluntary: it slept, mostly in epoll; involuntary: it was
 * preempted), from /proc/<pid>/status: how often a request's hops wake it, steadier than CPU time on a shared
 * machine.
 */
function contextSwitches(pid: number): number {
  const st = readFileSync(`/proc/${pid}/status`, 'utf8');
  const n = (name: string): number => Number(new RegExp(`${name}:\\s+(\\d+)`).exec(st)?.[1] ?? NaN);
  return n('voluntary_ctxt_switches') + n('nonvoluntary_ctxt_switches');
}

interface Target {
  path: string;
  headers: Record<string, string>;
}

interface Gw {
  pid: number;
  ps: number | undefined;
  port: number;
}

async function main(scratch: string): Promise<void> {
  if (!BASE) {
    console.log('gateway-ab: set BENCH_BASE to another built checkout (npm ci && npx tsc -b there) to compare with; skipped');
    return;
  }
  const { port: up } = await startEngineUpstream();
  const routes = [{ name: 'plain', paths: ['/plain'], url: `http://127.0.0.1:${up}/v1/chat/completions` }, chatRoute(up)];
  const start = async (name: 'A' | 'B', root: string): Promise<Gw> => {
    const prefix = path.join(scratch, name);
    mkdirSync(prefix);
    const { port, child } = await startGateway(prefix, writeGatewayYaml(prefix, routes), { AI_PROXY_ADVANCED_LOG_PHASE: 'off', ...ENV[name] }, undefined, root);
    return { pid: child.proc.pid as number, ps: findPluginServerPid(prefix), port };
  };
  const gws = { A: await start('A', path.resolve(BASE)), B: await start('B', THIS) };
  const paths: Record<string, Target> = {
    plain: { path: '/plain', headers: { authorization: 'Bearer sk-bench' } },
    plugin: { path: '/v1/chat/completions', headers: {} },
  };
  const run = async (g: Gw, p: Target, secs: number): Promise<{ gw: number; ps: number; rps: number; cs: number }> => {
    const s0 = contextSwitches(g.pid);
    const c0 = cpuSecondsFine(g.pid);
    const p0 = g.ps === undefined ? 0 : cpuSecondsFine(g.ps);
    const r = await load({ url: `http://127.0.0.1:${g.port}${p.path}`, headers: p.headers, body: CHAT }, CONNS, secs);
    if (r.errors > 0) throw new Error(`${r.errors} errors from gateway on ${p.path}`);
    return {
      gw: ((cpuSecondsFine(g.pid) - c0) / r.requests) * 1e6,
      ps: g.ps === undefined ? NaN : ((cpuSecondsFine(g.ps) - p0) / r.requests) * 1e6,
      rps: r.rps,
      cs: (contextSwitches(g.pid) - s0) / r.requests,
    };
  };
  // Warm-up: both builds' JIT settles before anything counts.
  for (const [name, p] of Object.entries(paths)) {
    if (process.env.BENCH_ROUTES && !process.env.BENCH_ROUTES.split(',').includes(name)) continue;
    for (const g of Object.values(gws)) await run(g, p, 4);
  }
  const envText = (k: 'A' | 'B'): string => (Object.keys(ENV[k]).length ? ` with ${process.env[`BENCH_ENV_${k}`]}` : '');
  console.log(`\nA = ${path.resolve(BASE)}${envText('A')}\nB = ${THIS}${envText('B')}`);
  console.log(`${CONNS} connections, ${ROUNDS} paired rounds of ${SECS} s, load average before ${os.loadavg().map((x) => x.toFixed(2)).join(' ')}`);
  const only = process.env.BENCH_ROUTES?.split(',');
  for (const [name, p] of Object.entries(paths)) {
    if (only && !only.includes(name)) continue;
    const a: number[] = [];
    const b: number[] = [];
    const ratio: number[] = [];
    const psA: number[] = [];
    const psB: number[] = [];
    const rpsRatio: number[] = [];
    const csA: number[] = [];
    const csB: number[] = [];
    for (let i = 0; i < ROUNDS; i++) {
      const got: Partial<Record<'A' | 'B', { gw: number; ps: number; rps: number; cs: number }>> = {};
      for (const k of i % 2 ? (['B', 'A'] as const) : (['A', 'B'] as const)) got[k] = await run(gws[k], p, SECS);
      a.push(got.A!.gw);
      b.push(got.B!.gw);
      ratio.push(got.B!.gw / got.A!.gw);
      psA.push(got.A!.ps);
      psB.push(got.B!.ps);
      rpsRatio.push(got.B!.rps / got.A!.rps);
      csA.push(got.A!.cs);
      csB.push(got.B!.cs);
    }
    console.log(
      `${name.padEnd(6)} gateway process CPU per request: A ${median(a).toFixed(1)} µs, B ${median(b).toFixed(1)} µs; ` +
        `paired B/A median ${median(ratio).toFixed(3)} [${ratio.map((x) => x.toFixed(2)).join(' ')}]`,
    );
    if (name === 'plugin') {
      console.log(`       plugin server CPU per request: A ${median(psA).toFixed(1)} µs, B ${median(psB).toFixed(1)} µs`);
      // On a saturated machine req/s follows the CPU all processes spend per request, not the gateway's alone.
      const sum = a.map((x, i) => (b[i]! + psB[i]!) / (x + psA[i]!));
      console.log(`       gateway + plugin server CPU per request, paired B/A median ${median(sum).toFixed(3)} [${sum.map((x) => x.toFixed(2)).join(' ')}]`);
    }
    console.log(`       gateway context switches per request: A ${median(csA).toFixed(2)}, B ${median(csB).toFixed(2)}`);
    console.log(`       req/s paired B/A median ${median(rpsRatio).toFixed(3)} [${rpsRatio.map((x) => x.toFixed(2)).join(' ')}]`);
  }
  console.log(`load average after ${os.loadavg().map((x) => x.toFixed(2)).join(' ')}`);
}

runBench('aipa-gwab-', main);
