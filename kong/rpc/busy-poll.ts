/**
 * Bounded busy polling of the event loop while a reply from the other side of a unix socket is due within
 * microseconds: the plugin server after it sent Kong a PDK call (Kong answers with a Step at once), the
 * gateway after it sent the plugin server a request.
 *
 * Why: a process that sleeps in epoll_wait must be woken by the peer's write. On virtual machines that wake is
 * the dominant cost of a round trip: a halted vCPU has to be brought back by the hypervisor (on the 2-vCPU
 * machines this project is built on, a Node-to-Node unix-socket ping-pong takes about 70 µs across vCPUs, 10 µs
 * when both sides poll). Kong drives a plugin with one round trip per PDK call, so these wakes add up to most of
 * the latency a plugin server adds. It is the trade Go's scheduler (spinning Ms) and Linux's
 * net.core.busy_poll make: spend a few microseconds of CPU polling instead of paying for a sleep and a wake.
 *
 * Bounds: polling starts only when `arm()` says a reply is due, stops as soon as nothing is due
 * (`settle(token)` for every `arm()`), and never lasts longer than `windowUs` after the last `arm()`; so an idle
 * process never polls, and a slow peer costs at most one window per reply it is slow with (per PDK call in the
 * plugin server). `windowUs <= 0` disables it.
 * Each poll is one event-loop turn (setImmediate makes libuv poll with a zero timeout), so I/O, timers and
 * other work run normally while it lasts. With one CPU (or a cgroup CPU quota of one or less) it is always off:
 * there the peer cannot run while this process polls, so polling only delays the reply it waits for (measured:
 * 0.83x the events/s) and burns the quota.
 */
import { readFileSync } from 'node:fs';
import os from 'node:os';

/**
 * Off by default, in the plugin server (`--busy-poll-us`) and the local gateway (`pluginserver_busy_poll_us`).
 * It was tuned on one pinned, sequential connection, where it saves 0.1–0.2 ms per request. Under steady
 * concurrency replies are always due, so the process never sleeps: it keeps a whole core busy, taken from the
 * nginx workers that share its container (kong/Dockerfile runs both), for a saving that is noise in front of
 * provider calls that take seconds. bench/busy-poll.ts measures both sides of that trade.
 */
export const DEFAULT_BUSY_POLL_US = 0;

/**
 * The window to opt in with: a little longer than a peer on another vCPU needs to wake up, run one PDK call or
 * plugin step, and answer (40–80 µs measured on 2-vCPU VMs).
 */
export const SUGGESTED_BUSY_POLL_US = 100;

/** Reads a cgroup file; throws when it does not exist. */
export type CgroupReader = (file: string) => string;

const readCgroup: CgroupReader = (file) => readFileSync(file, 'utf8');

/** The CPU quota of a cgroup, in CPUs, or undefined when there is none (or no cgroup CPU controller). */
function cgroupQuota(read: CgroupReader): number | undefined {
  // cgroup v2: "<quota> <period>" or "max <period>".
  try {
    const [quota, period] = read('/sys/fs/cgroup/cpu.max').trim().split(/\s+/);
    const q = Number(quota);
    const p = Number(period);
    return quota !== 'max' && q > 0 && p > 0 ? q / p : undefined;
  } catch {
    // not cgroup v2: try v1
  }
  // cgroup v1 (older Docker hosts, Kubernetes nodes on cgroup v1): cfs_quota_us is -1 without a limit. The
  // controller is mounted as cpu or as cpu,cpuacct depending on the distribution.
  for (const dir of ['/sys/fs/cgroup/cpu', '/sys/fs/cgroup/cpu,cpuacct']) {
    try {
      const q = Number(read(`${dir}/cpu.cfs_quota_us`).trim());
      const p = Number(read(`${dir}/cpu.cfs_period_us`).trim());
      return q > 0 && p > 0 ? q / p : undefined;
    } catch {
      // not mounted here
    }
  }
  return undefined;
}

/**
 * CPUs this process may use in time: the machine's, capped by a cgroup v2 or v1 CPU quota (`docker --cpus`,
 * Kubernetes limits), which os.cpus() does not see. Not the process's affinity: a process pinned to one CPU may
 * well be waiting for a peer on another.
 */
export function effectiveCpus(read: CgroupReader = readCgroup, machineCpus: number = os.cpus().length): number {
  const quota = cgroupQuota(read);
  return quota === undefined ? machineCpus : Math.min(machineCpus, quota);
}

export class BusyPoll {
  private due = 0;
  /** Bumped whenever the window lapses with replies still due: their late settle() must not cancel newer arms. */
  private generation = 0;
  private until = 0;
  private running = false;
  private readonly windowMs: number;

  constructor(
    windowUs: number,
    private readonly now: () => number = performance.now.bind(performance),
    cpus: number = effectiveCpus(),
  ) {
    this.windowMs = windowUs > 0 && cpus > 1 ? windowUs / 1000 : 0;
  }

  get enabled(): boolean {
    return this.windowMs > 0;
  }

  /** A reply is due: keep polling for up to the window from now. Returns the token to settle it with. */
  arm(): number {
    if (this.windowMs === 0) return this.generation;
    this.due++;
    this.until = this.now() + this.windowMs;
    if (!this.running) {
      this.running = true;
      setImmediate(this.tick);
    }
    return this.generation;
  }

  /** The reply `arm()` announced (and returned `token` for) arrived, or will never come. */
  settle(token: number): void {
    if (token === this.generation && this.due > 0) this.due--;
  }

  /** Stops polling at once (shutdown). */
  stop(): void {
    this.due = 0;
    this.until = 0;
    this.generation++;
  }

  /** True while the loop is being kept polling (for tests). */
  get polling(): boolean {
    return this.running;
  }

  private readonly tick = (): void => {
    if (this.due > 0 && this.now() < this.until) setImmediate(this.tick);
    else {
      this.running = false;
      // The peer is slower than a window (or never answers, like a Step Kong never sends): forget those arms.
      if (this.due > 0) {
        this.due = 0;
        this.generation++;
      }
    }
  };
}
