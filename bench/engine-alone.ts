/**
 * `npm run bench -- engine-alone`: the engine's own CPU per buffered request, quickly (no gateway, no plugin
 * server): access() in this process with a PDK answering from memory (bench/lib/engine-alone.ts), against the
 * bench's OpenAI-style upstream in its own process, alternating with undici alone making the same provider call.
 * The difference is the engine's own work. Both figures are CPU µs per request of this process (user + system,
 * all threads), so load from other processes moves them much less than wall-clock figures.
 *
 * Knobs: BENCH_ROUNDS (default 7), BENCH_REQUESTS per round (default 3000), BENCH_LOG_STATISTICS=1 (the target
 * logs statistics with costs: the ai.proxy block per request), BENCH_ONLY=engine|undici (one side only: for
 * `node --cpu-prof dist/bench/engine-alone.js`, so the profile holds one of them).
 */
import { benchChatConfig, CHAT_BODY, CHAT_HEADERS, startEngineUpstream } from './lib/chat';
import { engineCpuPerRequest, undiciCpuPerRequest } from './lib/engine-alone';
import { stopAll } from './lib/procs';
import os from 'node:os';

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 7);
const REQUESTS = Number(process.env.BENCH_REQUESTS ?? 3000);
const STATS = process.env.BENCH_LOG_STATISTICS === '1';
const ONLY = process.env.BENCH_ONLY;
const CONCURRENCY = 20;

function summary(xs: number[]): string {
  const s = [...xs].sort((a, b) => a - b);
  return `${s[0]!.toFixed(1)} µs/request (min), ${s[Math.floor(s.length / 2)]!.toFixed(1)} (median) over ${s.length} rounds`;
}

async function main(): Promise<void> {
  const up = await startEngineUpstream();
  try {
    const config = benchChatConfig(up.port, STATS, 'bench-engine-alone');
    const engine = (n: number, warmup = 0): Promise<number> =>
      engineCpuPerRequest(config, { body: CHAT_BODY, headers: CHAT_HEADERS, requests: n, warmup, concurrency: CONCURRENCY });
    const undici = (n: number): Promise<number> => undiciCpuPerRequest(up.port, CHAT_BODY, n, CONCURRENCY);
    const alone: number[] = [];
    const bare: number[] = [];
    if (ONLY !== 'undici') await engine(REQUESTS, 2000);
    for (let i = 0; i < ROUNDS; i++) {
      if (ONLY !== 'undici') alone.push(await engine(REQUESTS));
      if (ONLY !== 'engine') bare.push(await undici(REQUESTS));
    }
    console.log(`node ${process.version}, ${CONCURRENCY} requests in flight, ${REQUESTS} per round, log_statistics ${STATS ? 'on' : 'off'}, load average ${os.loadavg().map((l) => l.toFixed(2)).join(' ')}`);
    if (alone.length) console.log(`engine alone (no RPC, undici included): ${summary(alone)}`);
    if (bare.length) console.log(`undici alone (the provider call, no plugin): ${summary(bare)}`);
    if (alone.length && bare.length) {
      // The median only: the smallest difference pairs a quiet engine round with a disturbed undici one (it once read 0.4 µs).
      const d = alone.map((a, i) => a - bare[i]!).sort((a, b) => a - b);
      console.log(`engine's own work (median of ${d.length} paired differences): ${d[Math.floor(d.length / 2)]!.toFixed(1)} µs/request`);
    }
  } finally {
    stopAll();
  }
}

main().catch((e: Error) => {
  console.error(e.stack ?? e.message);
  process.exitCode = 1;
});
