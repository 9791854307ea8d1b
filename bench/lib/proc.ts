/** Per-process figures from /proc (Linux), for benchmarks that measure servers running as child processes. */
import { readdirSync, readFileSync } from 'node:fs';

/**
 * utime + stime of a process (all its threads) in seconds: /proc/<pid>/stat fields 14 and 15, in clock ticks
 * (USER_HZ = 100 on Linux). The fields are counted after the last ')' because the command name may hold spaces.
 */
export function cpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

/** Resident set size of a process in MB (/proc/<pid>/status VmRSS). */
export function rssMb(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) / 1024 : NaN;
}

/**
 * CPU time of a process in seconds with nanosecond resolution: the first field of /proc/<pid>/task/<tid>/schedstat
 * (time on CPU, ns) summed over its threads. For short rounds, where cpuSeconds' 10 ms ticks are too coarse;
 * threads that have exited no longer count (Node's threads live as long as the process).
 */
export function cpuSecondsFine(pid: number): number {
  let ns = 0;
  for (const tid of readdirSync(`/proc/${pid}/task`)) {
    try {
      ns += Number(readFileSync(`/proc/${pid}/task/${tid}/schedstat`, 'utf8').split(' ')[0]);
    } catch {
      // thread gone
    }
  }
  return ns / 1e9;
}
