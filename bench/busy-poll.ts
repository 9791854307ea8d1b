/**
 * `npm run bench -- busy-poll`: what busy polling (kong/rpc/busy-poll.ts, off by default) buys and costs.
 * Two local gateways with ai-proxy-advanced in front of the same local OpenAI-style upstream, one with
 * pluginserver_busy_poll_us = 0 (the default) and one with 100 (opt-in; both the gateway's RPC client and the
 * plugin server poll). Each is measured in turn:
 *   - at 1 connection: p50 latency (what polling was tuned for);
 *   - at 20 connections next to a Kong-like neighbour: a CPU-bound process standing in for the nginx workers that
 *     share the plugin server's container (kong/Dockerfile), hashing as fast as it can. Printed: req/s, CPU per
 *     request of gateway + plugin server (from /proc), and the neighbour's work per second.
 * Ratios are on/off, measured in the same run. Knobs: BENCH_SECONDS (default 5 per mode and connection count,
 * in BENCH_ROUNDS = 5 alternating rounds).
 */
import os from 'node:os';
import path from 'node:path';
import { CHAT, chatRoute, startEngineUpstream, writeGatewayYaml } from './lib/chat';
import { load, merge, type LoadResult } from './lib/load';
import { cpuSeconds } from './lib/proc';
import { findPluginServerPid, runBench, startGateway, startNode, type Child } from './lib/procs';

const SECONDS = Number(process.env.BENCH_SECONDS ?? 5);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 5);

/** The neighbour: hashes in a loop and, on SIGUSR2, prints how many hashes it did since the last signal. */
const NEIGHBOUR = `
const { createHash } = require('crypto');
let n = 0;
process.on('SIGUSR2', () => { process.stdout.write(n + '\\n'); n = 0; });
process.stdout.write('ready\\n');
const buf = Buffer.alloc(1024, 7);
(function spin() { const end = Date.now() + 5; while (Date.now() < end) { createHash('sha256').update(buf).digest(); n++; } setImmediate(spin); })();
process.on('SIGTERM', () => process.exit(0));
`;

/** The neighbour's hash count since the previous call. */
async function neighbourCount(n: Child, lines: string[]): Promise<number> {
  const before = lines.length;
  n.proc.kill('SIGUSR2');
  const deadline = Date.now() + 5000;
  while (lines.length === before) {
    if (Date.now() > deadline) throw new Error('the neighbour did not answer');
    await new Promise((r) => setTimeout(r, 5));
  }
  return Number(lines[lines.length - 1]);
}

interface Mode {
  name: string;
  url: string;
  gwPid: number;
  psPid: number;
}

const fmt = (n: number, d = 0): string => (Number.isFinite(n) ? n.toFixed(d) : 'n/a');

async function main(scratch: string): Promise<void> {
  const { port: upPort } = await startEngineUpstream();
  const yml = writeGatewayYaml(scratch, [chatRoute(upPort)]);
  const modes: Mode[] = [];
  for (const [name, us] of [['off', '0'], ['on', '100']] as const) {
    const prefix = path.join(scratch, name);
    const { port, child } = await startGateway(prefix, yml, { KONG_PLUGINSERVER_BUSY_POLL_US: us });
    const psPid = findPluginServerPid(prefix);
    if (psPid === undefined) throw new Error(`no plugin server found for ${name}`);
    modes.push({ name, url: `http://127.0.0.1:${port}/v1/chat/completions`, gwPid: child.proc.pid!, psPid });
  }
  for (const m of modes) if ((await load({ url: m.url, body: CHAT }, 1, 0.3)).errors > 0) throw new Error(`${m.name} answered errors`);

  // 1 connection, no neighbour: latency.
  const one: Record<string, LoadResult[]> = {};
  for (const m of modes) await load({ url: m.url, body: CHAT }, 1, Math.min(1, SECONDS / 3));
  for (let r = 0; r < ROUNDS; r++) for (const m of modes) (one[m.name] ??= []).push(await load({ url: m.url, body: CHAT }, 1, SECONDS / ROUNDS));

  // 20 connections next to the neighbour.
  const nb = startNode('neighbour', ['-e', NEIGHBOUR], {});
  const nbLines: string[] = [];
  let buf = '';
  nb.proc.stdout?.on('data', (d: Buffer) => {
    buf += d.toString();
    const parts = buf.split('\n');
    buf = parts.pop() ?? '';
    nbLines.push(...parts);
  });
  // SIGUSR2 kills a node process that has not installed its handler yet: wait for the neighbour's 'ready'.
  const readyBy = Date.now() + 30_000;
  while (!nbLines.includes('ready')) {
    if (Date.now() > readyBy || nb.proc.exitCode !== null) throw new Error(`the neighbour did not start: ${nb.logs()}`);
    await new Promise((r) => setTimeout(r, 20));
  }
  const idleT0 = performance.now();
  await neighbourCount(nb, nbLines);
  await new Promise((r) => setTimeout(r, 1000 * Math.min(1, SECONDS / ROUNDS)));
  const alonePerSec = (await neighbourCount(nb, nbLines)) / ((performance.now() - idleT0) / 1000);
  const twenty: Record<string, { runs: LoadResult[]; cpu: number; hashes: number; secs: number }> = {};
  for (const m of modes) await load({ url: m.url, body: CHAT }, 20, Math.min(1, SECONDS / 3));
  for (let r = 0; r < ROUNDS; r++) {
    for (const m of modes) {
      const acc = (twenty[m.name] ??= { runs: [], cpu: 0, hashes: 0, secs: 0 });
      const c0 = cpuSeconds(m.gwPid) + cpuSeconds(m.psPid);
      await neighbourCount(nb, nbLines);
      const t0 = performance.now();
      acc.runs.push(await load({ url: m.url, body: CHAT }, 20, SECONDS / ROUNDS));
      acc.hashes += await neighbourCount(nb, nbLines);
      acc.secs += (performance.now() - t0) / 1000;
      acc.cpu += cpuSeconds(m.gwPid) + cpuSeconds(m.psPid) - c0;
    }
  }

  console.log(`\nnode ${process.version}, ${os.cpus().length} CPUs; ${SECONDS}s per mode and connection count in ${ROUNDS} alternating rounds`);
  console.log(`neighbour alone: ${fmt(alonePerSec)} hashes/s`);
  console.log('busy poll   p50 ms @1   req/s @20   CPU µs/req @20 (gw+ps)   neighbour hashes/s @20');
  const row: Record<string, { p50: number; rps: number; cpuUs: number; nbps: number }> = {};
  for (const m of modes) {
    const a = merge(one[m.name] ?? []);
    const t = twenty[m.name]!;
    const b = merge(t.runs);
    row[m.name] = { p50: a.p50, rps: b.rps, cpuUs: (t.cpu / b.requests) * 1e6, nbps: t.hashes / t.secs };
    const r = row[m.name]!;
    console.log(`${m.name.padEnd(9)} ${fmt(r.p50, 3).padStart(11)} ${fmt(r.rps).padStart(11)} ${fmt(r.cpuUs, 1).padStart(24)} ${fmt(r.nbps).padStart(24)}${b.errors ? `  errors ${b.errors}` : ''}`);
  }
  const on = row.on!;
  const off = row.off!;
  console.log('');
  console.log(`on/off: p50 @1 ${fmt(on.p50 / off.p50, 2)}x, req/s @20 ${fmt(on.rps / off.rps, 2)}x, CPU per request @20 ${fmt(on.cpuUs / off.cpuUs, 2)}x, neighbour's work @20 ${fmt(on.nbps / off.nbps, 2)}x`);
}

runBench('aipa-bench-bp-', main);
