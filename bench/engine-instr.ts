/**
 * `npm run bench -- engine-instr`: the plugin server's work per buffered request counted in CPU instructions,
 * which, unlike CPU time, does not change with what else the machine runs (the benchmarks share 2 CPUs with
 * other work). The plugin server runs under `valgrind --tool=callgrind` (user-space
 * instructions of the whole process, JIT code included); this process plays Kong with the kong/rpc client as
 * bench/engine-rpc.ts does, against the bench's OpenAI-style upstream. After a warm-up, callgrind's counters are
 * read (callgrind_control -e) before and after N requests of each case: start-up, module loading and warm-up
 * are not counted. Also reported per request, from a run of the same build without valgrind: read and write
 * system calls of the server (/proc/<pid>/io syscr, syscw), whose kernel work instructions do not see.
 *
 * Builds: BENCH_DISTS=<dist>,<dist>,... (default: this build's dist/) — an older build checked out with
 * `git worktree add` and compiled gives an A/B on the same machine. Cases: access only (no log phase), access
 * plus the log event Kong sends every request, and with `logging.log_statistics` (set_serialize_value).
 * Knobs: BENCH_INSTR_N (default 500), BENCH_INSTR_WARMUP (default 3000), BENCH_INSTR_CONCURRENCY (default 4).
 * Needs valgrind (callgrind_control); slow: minutes per build on a busy machine.
 */
import { spawn, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { PluginServerClient } from '../kong/rpc/client';
import { runEvent } from '../kong/rpc/event';
import { canConnect } from '../spec/helpers/pluginserver-process';
import { makeTmpDir } from '../spec/helpers/pluginserver-tmp';
import { benchChatConfig, chatPdk, startEngineUpstream } from './lib/chat';
import { stopAll } from './lib/procs';

const N = Number(process.env.BENCH_INSTR_N ?? 500);
const WARMUP = Number(process.env.BENCH_INSTR_WARMUP ?? 3000);
const CONCURRENCY = Number(process.env.BENCH_INSTR_CONCURRENCY ?? 4);
const DISTS = (process.env.BENCH_DISTS ?? path.resolve(__dirname, '..')).split(',').filter((d) => d !== '');

interface Case {
  name: string;
  log: boolean;
  stats: boolean;
}
const CASES: Case[] = [
  { name: 'access', log: false, stats: false },
  { name: 'access + log event', log: true, stats: false },
  { name: 'log_statistics, access + log', log: true, stats: true },
];

/**
 * The instructions a callgrind run counted so far: all threads (V8's compiler and GC threads too) and the main
 * thread alone (the JS that runs per request; background compilation after warm-up is noise).
 */
function instructions(pid: number): { all: number; main: number } {
  const r = spawnSync('callgrind_control', ['-e', 'Ir', String(pid)], { encoding: 'utf8', timeout: 120_000 });
  let all = 0;
  let main = 0;
  for (const m of r.stdout.matchAll(/^\s*Th (\d+)\s+([\d,]+)\s*$/gm)) {
    const n = Number(m[2]!.replace(/,/g, ''));
    all += n;
    if (m[1] === '1') main = n;
  }
  if (all === 0) throw new Error(`callgrind_control gave no counts:\n${r.stdout}${r.stderr}`);
  return { all, main };
}

function syscalls(pid: number): { r: number; w: number } {
  const io = readFileSync(`/proc/${pid}/io`, 'utf8');
  return { r: Number(/syscr:\s+(\d+)/.exec(io)?.[1]), w: Number(/syscw:\s+(\d+)/.exec(io)?.[1]) };
}

async function drive(client: PluginServerClient, iid: number, c: Case, count: number): Promise<void> {
  const { pdk, failed } = chatPdk();
  let started = 0;
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (started < count) {
        started++;
        await runEvent(client, iid, 'access', pdk);
        if (c.log) await runEvent(client, iid, 'log', pdk);
      }
    }),
  );
  if (failed() > 0) throw new Error(`${failed()} requests did not exit with 200`);
}

interface Server {
  pid: number;
  client: PluginServerClient;
  /** Instance id per case. */
  ids: number[];
  stop(): Promise<void>;
}

/** A plugin server of `dist` (under callgrind when `valgrind`), one instance per case, warmed up. */
async function start(dist: string, upPort: number, valgrind: boolean, tmpDir: string): Promise<Server> {
  const sock = path.join(tmpDir, `ps-${valgrind ? 'vg' : 'plain'}.sock`);
  const cli = [path.join(dist, 'kong', 'pluginserver', 'cli.js'), '-p', tmpDir, '--sock-name', path.basename(sock)];
  const proc = valgrind
    ? spawn('valgrind', ['--tool=callgrind', `--callgrind-out-file=${path.join(tmpDir, 'callgrind.out')}`, process.execPath, ...cli], { stdio: ['ignore', 'ignore', 'pipe'] })
    : spawn(process.execPath, cli, { stdio: ['ignore', 'ignore', 'pipe'] });
  let err = '';
  proc.stderr!.on('data', (d: Buffer) => (err = (err + d.toString()).slice(-4000)));
  const exited = new Promise<void>((r) => proc.once('exit', () => r()));
  const deadline = Date.now() + 600_000;
  while (!(await canConnect(sock))) {
    if (proc.exitCode !== null || Date.now() > deadline) throw new Error(`plugin server did not start:\n${err}`);
    await new Promise((r) => setTimeout(r, 200));
  }
  const client = new PluginServerClient({ socketPath: sock, readTimeoutMs: 600_000 });
  const ids: number[] = [];
  for (const c of CASES) {
    const config = JSON.stringify(benchChatConfig(upPort, c.stats, `bench-instr-${c.stats ? 'stats' : 'plain'}`));
    ids.push(((await client.call('plugin.StartInstance', { Name: 'ai-proxy-advanced', Config: config })) as { Id: number }).Id);
  }
  for (let i = 0; i < CASES.length; i++) await drive(client, ids[i]!, CASES[i]!, WARMUP);
  return {
    pid: proc.pid!,
    client,
    ids,
    stop: async () => {
      client.close();
      proc.kill('SIGTERM');
      await exited;
    },
  };
}

async function main(): Promise<void> {
  if (spawnSync('valgrind', ['--version']).status !== 0) throw new Error('engine-instr needs valgrind on PATH');
  const up = await startEngineUpstream();
  const tmp = makeTmpDir('aipa-instr-');
  const rows: string[] = [];
  try {
    for (const dist of DISTS) {
      // Instructions: one callgrind run per build; counters read before and after each case's N requests.
      const vg = await start(dist, up.port, true, tmp.dir);
      const ir: { all: number; main: number }[] = [];
      for (let i = 0; i < CASES.length; i++) {
        const i0 = instructions(vg.pid);
        await drive(vg.client, vg.ids[i]!, CASES[i]!, N);
        const i1 = instructions(vg.pid);
        ir.push({ all: (i1.all - i0.all) / N, main: (i1.main - i0.main) / N });
      }
      await vg.stop();
      // System calls: the same build without valgrind (valgrind makes its own).
      const plain = await start(dist, up.port, false, tmp.dir);
      for (let i = 0; i < CASES.length; i++) {
        const s0 = syscalls(plain.pid);
        await drive(plain.client, plain.ids[i]!, CASES[i]!, 10 * N);
        const s1 = syscalls(plain.pid);
        rows.push(
          `${CASES[i]!.name.padEnd(30)} ${dist.padEnd(34)} ${(ir[i]!.all / 1000).toFixed(0).padStart(12)} ${(ir[i]!.main / 1000).toFixed(0).padStart(10)} ${((s1.r - s0.r) / (10 * N)).toFixed(2).padStart(7)} ${((s1.w - s0.w) / (10 * N)).toFixed(2).padStart(7)}`,
        );
        console.log(rows[rows.length - 1]);
      }
      await plain.stop();
    }
  } finally {
    tmp.cleanup();
  }
  console.log(`\nnode ${process.version}, callgrind, ${CONCURRENCY} requests in flight, N=${N} after ${WARMUP} warm-up per case`);
  console.log(`${'case'.padEnd(30)} ${'build'.padEnd(34)} ${'k instr/req'.padStart(12)} ${'(main thr)'.padStart(10)} ${'reads'.padStart(7)} ${'writes'.padStart(7)}  (syscalls per request)`);
  for (const r of rows) console.log(r);
}

main()
  .catch((e: Error) => {
    console.error(e.stack ?? e.message);
    process.exitCode = 1;
  })
  .finally(() => stopAll());
