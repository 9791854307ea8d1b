/**
 * `npm run bench -- latency-ab`: added p50 at 1 connection (issue 10: <= 0.6 ms over direct), where every
 * process hop is the wake-up of a sleeping process, measured as ratios and differences within one run:
 *   direct     the bench upstream itself
 *   floor      the local gateway with bench/floor-answer (the same RPC calls as ai-proxy-advanced, no provider)
 *   call       the local gateway with bench/floor-call (the same RPC calls and the provider call on the same
 *              upstream, made with undici: what any plugin on this runtime pays for the request)
 *   gateway    the local gateway with ai-proxy-advanced on the same upstream
 * With BENCH_BASE=<another built checkout> the same two gateway paths also run from that build (A) beside this
 * one (B), each build with its own gateway and plugin servers, so a change's effect on the 1-connection p50 is
 * a paired difference of rounds taken in turn (order alternated), not two runs on a shared machine's drift.
 * Prints each path's p50 over all rounds, the added p50 over direct, the median of per-round differences, and
 * each plugin server's CPU per request at 1 connection.
 * Knobs: BENCH_ROUNDS (default 12), BENCH_ROUND_SECONDS (default 1), BENCH_LOG_PHASE (on|off, default off),
 * BENCH_CONNECTIONS (default 1: the rounds at that many connections instead, so that a change made for 1
 * connection is checked, paired the same way, where replies batch, e.g. 20; the CPU per request is then at that
 * many connections).
 */
import { mkdirSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { CHAT, chatRoute, startEngineUpstream, writeGatewayYaml } from './lib/chat';
import { load, merge, type LoadResult } from './lib/load';
import { cpuSecondsFine } from './lib/proc';
import { pluginServerPid, pluginServers, runBench, startGateway } from './lib/procs';

const BASE = process.env.BENCH_BASE;
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 12);
const SECS = Number(process.env.BENCH_ROUND_SECONDS ?? 1);
const LOG_PHASE = process.env.BENCH_LOG_PHASE ?? 'off';
const CONNS = Number(process.env.BENCH_CONNECTIONS ?? 1);
const THIS = path.resolve(__dirname, '..', '..');

const median = (a: number[]): number => {
  const s = [...a].sort((x, y) => x - y);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? (s[m] as number) : ((s[m - 1] as number) + (s[m] as number)) / 2;
};

async function main(scratch: string): Promise<void> {
  const { port: up } = await startEngineUpstream();
  const routes = [
    { name: 'floor', paths: ['/floor'], pluginName: 'floor-answer', plugin: { serialize: false } },
    { name: 'call', paths: ['/floor-call'], pluginName: 'floor-call', plugin: { url: `http://127.0.0.1:${up}/v1/chat/completions`, serialize: false } },
    chatRoute(up),
  ];
  // The plugin server behind each gateway path: its CPU per request at 1 connection is steadier than the p50 on a
  // shared machine, and nearly all of it is on the request's critical path (nothing else runs between requests).
  const serverPid: Record<string, number> = {};
  const start = async (name: 'A' | 'B', root: string): Promise<number> => {
    const prefix = path.join(scratch, name);
    mkdirSync(prefix);
    const env = { ...pluginServers(prefix, false, 0, root), AI_PROXY_ADVANCED_LOG_PHASE: LOG_PHASE };
    const { port } = await startGateway(prefix, writeGatewayYaml(prefix, routes), env, undefined, root);
    serverPid[`${name}-floor`] = pluginServerPid(prefix, 'answer.socket');
    serverPid[`${name}-call`] = pluginServerPid(prefix, 'call.socket');
    serverPid[`${name}-gateway`] = pluginServerPid(prefix, 'js.socket');
    return port;
  };
  const builds: Array<['A' | 'B', string]> = BASE ? [['A', path.resolve(BASE)], ['B', THIS]] : [['B', THIS]];
  const paths: Record<string, string> = { direct: `http://127.0.0.1:${up}/v1/chat/completions` };
  for (const [name, root] of builds) {
    const port = await start(name, root);
    paths[`${name}-floor`] = `http://127.0.0.1:${port}/floor`;
    paths[`${name}-call`] = `http://127.0.0.1:${port}/floor-call`;
    paths[`${name}-gateway`] = `http://127.0.0.1:${port}/v1/chat/completions`;
  }
  const cpu: Record<string, { s: number; n: number }> = {};
  const roundCpu: Record<string, number[]> = {};
  const run = async (name: string, conns: number, secs: number): Promise<LoadResult> => {
    const headers: Record<string, string> = name === 'direct' ? { authorization: 'Bearer sk-bench' } : {};
    const pid = serverPid[name];
    const c0 = pid === undefined ? 0 : cpuSecondsFine(pid);
    const r = await load({ url: paths[name] as string, headers, body: CHAT }, conns, secs);
    if (r.errors > 0) throw new Error(`${r.errors} errors on ${name}`);
    if (pid !== undefined && conns === CONNS) {
      const c = (cpu[name] ??= { s: 0, n: 0 });
      const used = cpuSecondsFine(pid) - c0;
      c.s += used;
      c.n += r.requests;
      (roundCpu[name] ??= []).push(used / r.requests);
    }
    return r;
  };
  // Warm-up: every JIT settles (20 connections first, as bench/engine.ts does), then the rounds' connections for
  // 3 s per path: after the 20-connection warm-up the plugin server still optimized functions for the first 2–3 s
  // at 1 connection (--trace-opt: 24 functions in the first 3 s, 8 in the next 3, none after; the first 1-s round
  // cost 457 µs of CPU per request, later ones ~310, the difference on the compiler threads and in slower code).
  for (const name of Object.keys(paths)) await run(name, 20, 2);
  for (const name of Object.keys(paths)) await run(name, CONNS, 3);
  const names = Object.keys(paths);
  for (const k of Object.keys(cpu)) delete cpu[k];
  for (const k of Object.keys(roundCpu)) delete roundCpu[k];
  const rounds: Record<string, LoadResult[]> = {};
  const load0 = os.loadavg();
  for (let i = 0; i < ROUNDS; i++) {
    const order = i % 2 ? [...names].reverse() : names;
    for (const name of order) (rounds[name] ??= []).push(await run(name, CONNS, SECS));
  }
  const load1 = os.loadavg();
  const p50 = (name: string): number => merge(rounds[name] as LoadResult[]).p50;
  const paired = (a: string, b: string): number => median((rounds[b] as LoadResult[]).map((r, i) => r.p50 - (rounds[a] as LoadResult[])[i]!.p50));
  console.log(`\nnode ${process.version}, ${os.cpus().length} CPUs, ${CONNS} connection(s), ${ROUNDS} rounds of ${SECS} s taken in turn, log phase ${LOG_PHASE}`);
  console.log(`load average before ${load0.map((x) => x.toFixed(2)).join(' ')}, after ${load1.map((x) => x.toFixed(2)).join(' ')}`);
  if (BASE) console.log(`A = ${path.resolve(BASE)}\nB = ${THIS}`);
  for (const name of names) {
    const added = name === 'direct' ? '' : `  added over direct ${(p50(name) - p50('direct')).toFixed(3)} ms (paired median ${paired('direct', name).toFixed(3)})`;
    const c = cpu[name];
    const psCpu = c ? `; plugin server CPU ${((c.s / c.n) * 1e6).toFixed(0)} µs/request` : '';
    console.log(`${name.padEnd(10)} p50 ${p50(name).toFixed(3)} ms, ${merge(rounds[name] as LoadResult[]).rps.toFixed(0)} req/s${added}${psCpu}`);
  }
  // Plugin-server CPU per request, gateway minus call, per round: what ai-proxy-advanced costs beyond any plugin
  // that makes the same RPC calls and provider call on this runtime.
  const cpuOver = (a: string, b: string): number => median(roundCpu[b]!.map((x, i) => x - roundCpu[a]![i]!)) * 1e6;
  for (const [name] of builds) {
    console.log(
      `${name}: gateway over floor, paired median ${paired(`${name}-floor`, `${name}-gateway`).toFixed(3)} ms; over call ${paired(`${name}-call`, `${name}-gateway`).toFixed(3)} ms, ` +
        `plugin server CPU +${cpuOver(`${name}-call`, `${name}-gateway`).toFixed(0)} µs/request`,
    );
  }
  if (BASE) {
    console.log(`B - A gateway p50, paired median ${paired('A-gateway', 'B-gateway').toFixed(3)} ms; floor ${paired('A-floor', 'B-floor').toFixed(3)} ms`);
    // The plugin servers' CPU per request, B over A, per round (each round's pair taken back to back).
    const cpuRatio = (x: string): number => median(roundCpu[`B-${x}`]!.map((b, i) => b / roundCpu[`A-${x}`]![i]!));
    console.log(`B / A plugin server CPU per request, paired median: gateway ${cpuRatio('gateway').toFixed(3)}, call ${cpuRatio('call').toFixed(3)}, floor ${cpuRatio('floor').toFixed(3)}`);
  }
}

runBench('aipa-latab-', main);
