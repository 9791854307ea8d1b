/**
 * The per-duration timer lists read_timeout and write_timeout run on (engine/timer-lists.ts), on a clock and a
 * native timer the test drives: no wall clock. What upstream.ts relies on: a timer fires once its duration has
 * passed since it was armed or last refreshed, never before; a cleared one never fires; a fired one can be armed
 * again with refresh(); a list keeps one native timer however many timers it holds, and is dropped once its
 * native timer finds it empty.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { TimerLists, type TimerListHost } from '../../plugins/ai-proxy-advanced/engine/timer-lists';

class Host implements TimerListHost {
  t = 0;
  pending: { at: number; fn: () => void }[] = [];
  scheduled = 0;

  now(): number {
    return this.t;
  }

  schedule(fn: () => void, ms: number): void {
    this.scheduled++;
    this.pending.push({ at: this.t + ms, fn });
  }

  /** Moves the clock to `t`, running every native timer due by then in order (those they schedule too). */
  advance(t: number): void {
    for (;;) {
      this.pending.sort((a, b) => a.at - b.at);
      const next = this.pending[0];
      if (next === undefined || next.at > t) break;
      this.pending.shift();
      this.t = next.at;
      next.fn();
    }
    this.t = t;
  }
}

describe('timer lists', () => {
  test('a timer fires once its duration has passed, not before', () => {
    const host = new Host();
    const lists = new TimerLists(host);
    const fired: number[] = [];
    lists.setTimeout(() => fired.push(host.t), 100);
    host.advance(99);
    assert.deepEqual(fired, []);
    host.advance(100);
    assert.deepEqual(fired, [100]);
    host.advance(1000);
    assert.deepEqual(fired, [100], 'fires once');
  });

  test('a fractional clock never fires a timer early', () => {
    const host = new Host();
    host.t = 0.4;
    const lists = new TimerLists(host);
    const fired: number[] = [];
    lists.setTimeout(() => fired.push(host.t), 10);
    host.advance(10.39);
    assert.deepEqual(fired, []);
    host.advance(12);
    assert.equal(fired.length, 1);
    assert.ok(fired[0]! >= 10.4, `fired at ${fired[0]}`);
  });

  test('refresh moves the deadline; the head expires first and the native timer follows it', () => {
    const host = new Host();
    const lists = new TimerLists(host);
    const fired: string[] = [];
    const a = lists.setTimeout(() => fired.push(`a@${host.t}`), 100);
    host.advance(30);
    lists.setTimeout(() => fired.push(`b@${host.t}`), 100);
    host.advance(60);
    a.refresh(); // a is now due at 160, after b (130)
    host.advance(129);
    assert.deepEqual(fired, []);
    host.advance(200);
    assert.deepEqual(fired, ['b@130', 'a@160']);
  });

  test('a cleared timer never fires, and the emptied list is dropped when its native timer comes', () => {
    const host = new Host();
    const lists = new TimerLists(host);
    let fired = 0;
    const a = lists.setTimeout(() => fired++, 100);
    const b = lists.setTimeout(() => fired++, 100);
    lists.clearTimeout(a);
    lists.clearTimeout(b);
    lists.clearTimeout(b); // twice is harmless
    lists.clearTimeout(undefined);
    assert.equal(lists.durations, 1, 'the list outlives its last timer until its native timer fires');
    host.advance(500);
    assert.equal(fired, 0);
    assert.equal(lists.durations, 0);
  });

  test('one native timer per list, whatever the number of timers armed, refreshed and cleared', () => {
    const host = new Host();
    const lists = new TimerLists(host);
    let fired = 0;
    for (let i = 0; i < 50; i++) {
      const t = lists.setTimeout(() => fired++, 1000);
      t.refresh();
      lists.clearTimeout(t);
    }
    assert.equal(host.scheduled, 1);
    lists.setTimeout(() => fired++, 250);
    assert.equal(host.scheduled, 2, 'another duration has its own');
    assert.equal(lists.durations, 2);
    host.advance(5000);
    assert.equal(fired, 1);
  });

  test('a fired timer is armed again by refresh(), and a callback may arm timers of its own list', () => {
    const host = new Host();
    const lists = new TimerLists(host);
    const fired: string[] = [];
    const a = lists.setTimeout(() => {
      fired.push(`a@${host.t}`);
      lists.setTimeout(() => fired.push(`c@${host.t}`), 100);
    }, 100);
    host.advance(100);
    a.refresh();
    host.advance(1000);
    assert.deepEqual(fired, ['a@100', 'c@200', 'a@200', 'c@300']);
  });
});
