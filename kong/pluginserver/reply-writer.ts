/**
 * Reply frames leave at the end of the event-loop turn that produced them, all connections' together, instead of
 * one `write` as each becomes ready.
 *
 * Why: every write to Kong wakes the nginx worker (or the gateway) that waits on that connection, and a woken
 * peer that has slept longer than this process usually preempts it on the spot (CFS wake-up preemption). Writing
 * each reply as soon as it is ready interleaves those wakes with the rest of the turn's work (the next request
 * decoded, a provider response parsed), so under concurrency the process was switched out about twice per
 * proxied request. Deferring the writes to the check phase (setImmediate, which runs once the poll phase has
 * handled every ready socket) puts them back to back: the peer is woken once per burst and the process keeps its
 * CPU while it works. `npm run bench -- engine-rpc`, 20 events in flight: involuntary context switches 2.0 -> 0.6
 * per request, plugin-server CPU per request 0.90x (paired rounds, load 10).
 *
 * A lone request has nothing to batch with, and there the deferral is pure cost: the setImmediate, its check-phase
 * callback and the rest of the turn come before the peer is woken (a Node unix-socket echo on the 2-vCPU VM:
 * +6 µs of CPU and +8 µs p50 per round trip with the write deferred, medians of 6 paired rounds; a proxied request
 * has four replies). So a writer whose `alone()` says no other reply can be due (the listener: at most one live
 * event in the whole process) writes at once when it has nothing queued, and defers otherwise. Measured with
 * `BENCH_BASE=<before> npm run bench -- latency-ab`, 11 paired runs at 1 connection on a shared machine (load
 * 3-8): p50 -15 µs for ai-proxy-advanced and for bench/floor-answer (medians of the runs; 7 and 8 of 11 lower),
 * plugin-server CPU per request 0.98x and 0.93x; at 20 connections no change beyond the noise (CPU 1.01x, 6 runs).
 *
 * Frames of one connection keep their order; two or more in one turn go out in one writev (cork/uncork).
 */
import type net from 'node:net';

const due: ReplyWriter[] = [];
const never = (): boolean => false;
let scheduled = false;

function flushDue(): void {
  scheduled = false;
  // A frame queued while this runs (a socket 'error' handler that answers) re-registers its writer: it is flushed
  // by this loop (the length is read on every pass) or, at worst, by the next turn's flush.
  for (let i = 0; i < due.length; i++) due[i]!.flushNow();
  due.length = 0;
}

export class ReplyWriter {
  private readonly frames: Buffer[] = [];

  /**
   * `alone`: true when no other reply can join this one's batch (asked per frame, so it must be cheap); the
   * default never writes at once.
   */
  constructor(
    private readonly socket: net.Socket,
    private readonly alone: () => boolean = never,
  ) {}

  /** Frames queued and not yet handed to the socket. */
  get queued(): number {
    return this.frames.length;
  }

  /** Queues `frame` for the end of this turn, or writes it now when it is alone (nothing queued before it). */
  write(frame: Buffer): void {
    if (this.frames.length === 0 && this.alone()) {
      if (!this.socket.destroyed) this.socket.write(frame);
      return;
    }
    if (this.frames.push(frame) > 1) return;
    due.push(this);
    if (!scheduled) {
      scheduled = true;
      setImmediate(flushDue);
    }
  }

  /** Hands the queued frames to the socket now (dropped if it was destroyed meanwhile). */
  flushNow(): void {
    const frames = this.frames;
    const n = frames.length;
    const s = this.socket;
    if (n === 1) {
      const f = frames[0]!;
      frames.length = 0;
      if (!s.destroyed) s.write(f);
      return;
    }
    if (n === 0 || s.destroyed) {
      frames.length = 0;
      return;
    }
    s.cork();
    for (let i = 0; i < n; i++) s.write(frames[i]!);
    frames.length = 0;
    s.uncork();
  }
}
