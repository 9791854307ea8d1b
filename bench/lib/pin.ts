/**
 * CPU pinning for benchmarks that compare servers on round-trip-bound workloads. On a virtual machine a
 * round trip between processes on two vCPUs costs several times one on a single vCPU (about 70 µs against
 * 15 µs for a Node-to-Node unix-socket ping-pong on this project's 2-vCPU machines), and the scheduler decides
 * afresh for every process where it runs: two runs of the same server binary then differ by 30% or more
 * depending on where each landed. Pinning "Kong" (the bench process) to one CPU and every server to another
 * makes every server pay the same cross-CPU price, which is also how Kong runs them (nginx workers and the
 * plugin server are separate processes). `taskset` is util-linux; without it, or on one CPU, nothing is pinned.
 */
import { spawnSync } from 'node:child_process';
import os from 'node:os';

export interface Pinning {
  /** Pins every thread of `pid` to the server CPU (no-op when pinning is off). */
  server(pid: number): void;
  /** How the run was pinned, for the report. */
  describe: string;
}

function taskset(cpu: number, pid: number): boolean {
  const r = spawnSync('taskset', ['-a', '-p', '-c', String(cpu), String(pid)], { stdio: 'ignore' });
  return r.status === 0;
}

/** Pins this process to CPU 0 and returns how to pin servers to CPU 1; BENCH_PIN=0 turns it off. */
export function pinForBench(env: NodeJS.ProcessEnv = process.env): Pinning {
  const off = (why: string): Pinning => ({ server: () => {}, describe: `not pinned (${why})` });
  if (env.BENCH_PIN === '0') return off('BENCH_PIN=0');
  if (os.availableParallelism() < 2) return off('one CPU');
  if (!taskset(0, process.pid)) return off('taskset unavailable');
  return {
    server: (pid) => {
      if (!taskset(1, pid)) throw new Error(`taskset could not pin process ${pid} to CPU 1`);
    },
    describe: 'bench process (Kong side) on CPU 0, every server on CPU 1',
  };
}
