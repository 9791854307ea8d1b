/**
 * The timers read_timeout and write_timeout run on in production (engine/upstream.ts NATIVE_TIMERS): one list
 * per duration for the whole process, each on at most one native timer.
 *
 * Why not one setTimeout per provider call: Node's timers module keeps a list per duration too, but deletes it
 * when its last timer is cleared and builds it again (a TimersList and a priority-queue insert, then a removal)
 * for the next. A plugin server has only a few provider calls in flight at any moment, often none between two
 * requests, so the 60 s list was rebuilt for nearly every request: in a CPU profile of the plugin server behind
 * the gateway (bench engine, 20 connections) the read_timeout timer was the largest item of the engine's own
 * JS after the JSON work, most of it in that rebuild. Here a duration's list and its native timer outlive the
 * calls: arming, refreshing and clearing a timer are a few pointer moves, with no allocation but the timer.
 *
 * Every timer of one list has the same duration, so arming order is deadline order: a refreshed timer moves to
 * the tail, the head always expires first, and the native timer only ever needs the head's deadline. It is not
 * stopped when the list empties: it fires once at the old deadline, finds nothing due, and is not armed again
 * (an empty list is dropped then). Deadlines use the monotonic clock at native resolution, as before (the
 * fast-timers concern in upstream.ts). The native timer is unref'd: an in-flight provider call keeps the process
 * alive through its socket, and an idle list must not hold a process (or a test run) for a minute.
 */
export interface ListTimer {
  refresh(): unknown;
}

/** What the lists need from the runtime; tests pass their own clock and native timer. */
export interface TimerListHost {
  /** Monotonic milliseconds. */
  now(): number;
  /** Calls `fn` after about `ms` milliseconds without holding the process; the returned value is not used. */
  schedule(fn: () => void, ms: number): unknown;
}

export const NODE_HOST: TimerListHost = {
  now: () => performance.now(),
  schedule: (fn, ms) => setTimeout(fn, ms).unref(),
};

class Entry implements ListTimer {
  prev: Entry | undefined = undefined;
  next: Entry | undefined = undefined;
  deadline = 0;
  linked = false;

  constructor(
    readonly list: DurationList,
    readonly fn: () => void,
  ) {}

  refresh(): this {
    this.list.touch(this);
    return this;
  }
}

class DurationList {
  head: Entry | undefined = undefined;
  tail: Entry | undefined = undefined;
  /** A native timer is pending (it fires at or before the head's deadline, never after). */
  private scheduled = false;

  constructor(
    private readonly lists: TimerLists,
    private readonly ms: number,
    private readonly host: TimerListHost,
  ) {}

  /** Arms `e` (again) for `ms` from now, at the tail. */
  touch(e: Entry): void {
    if (e.linked) this.unlink(e);
    e.deadline = this.host.now() + this.ms;
    e.linked = true;
    const tail = this.tail;
    e.prev = tail;
    e.next = undefined;
    if (tail) tail.next = e;
    else this.head = e;
    this.tail = e;
    if (!this.scheduled) this.schedule(this.ms);
  }

  unlink(e: Entry): void {
    if (!e.linked) return;
    e.linked = false;
    const { prev, next } = e;
    if (prev) prev.next = next;
    else this.head = next;
    if (next) next.prev = prev;
    else this.tail = prev;
    e.prev = e.next = undefined;
  }

  private schedule(ms: number): void {
    this.scheduled = true;
    // Whole milliseconds, rounded up: a timer never fires before its deadline is due.
    this.host.schedule(this.fire, Math.max(1, Math.ceil(ms)));
  }

  private readonly fire = (): void => {
    this.scheduled = false;
    const now = this.host.now();
    let e = this.head;
    while (e !== undefined && e.deadline <= now) {
      this.unlink(e);
      // A callback may arm or clear timers of this list; it is read again from the head each time.
      e.fn();
      e = this.head;
    }
    if (this.scheduled) return;
    if (e !== undefined) this.schedule(e.deadline - now);
    else this.lists.drop(this.ms, this);
  };
}

/** One DurationList per duration in use; `setTimeout` / `clearTimeout` as engine/upstream.ts's UpstreamTimers. */
export class TimerLists {
  private readonly lists = new Map<number, DurationList>();

  constructor(private readonly host: TimerListHost = NODE_HOST) {}

  setTimeout(fn: () => void, ms: number): ListTimer {
    let list = this.lists.get(ms);
    if (list === undefined) {
      list = new DurationList(this, ms, this.host);
      this.lists.set(ms, list);
    }
    const e = new Entry(list, fn);
    list.touch(e);
    return e;
  }

  clearTimeout(timer: ListTimer | undefined): void {
    if (timer instanceof Entry) timer.list.unlink(timer);
  }

  /** Durations with a list (tests). */
  get durations(): number {
    return this.lists.size;
  }

  /** An emptied list whose native timer fired: a later timer of that duration builds a new one. */
  drop(ms: number, list: DurationList): void {
    if (this.lists.get(ms) === list && list.head === undefined) this.lists.delete(ms);
  }
}
