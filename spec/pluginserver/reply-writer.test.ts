/**
 * Reply frames leave at the end of the event-loop turn (kong/pluginserver/reply-writer.ts): nothing reaches the
 * socket before the turn ends, each connection's frames keep their order, several connections' frames go out in
 * the same check phase, a later frame starts a new flush, and a socket destroyed in between gets nothing. A writer
 * told it is alone writes at once, unless frames are already queued (they keep their order).
 */
import assert from 'node:assert/strict';
import net from 'node:net';
import { after, before, describe, test } from 'node:test';
import { ReplyWriter } from '../../kong/pluginserver/reply-writer';
import { makeTmpDir, type TmpDir } from '../helpers/pluginserver-tmp';

/** A connected pair over a real unix socket: `ours` writes, `peer` collects what arrives. */
interface Pair {
  ours: net.Socket;
  received(): Buffer;
  waitFor(bytes: number): Promise<Buffer>;
}

describe('ReplyWriter', () => {
  let tmp: TmpDir;
  let server: net.Server;
  const accepted: net.Socket[] = [];
  let n = 0;

  before(async () => {
    tmp = makeTmpDir();
    server = net.createServer((s) => accepted.push(s));
    await new Promise<void>((r) => server.listen(tmp.sock(), r));
  });
  after(async () => {
    for (const s of accepted) s.destroy();
    await new Promise((r) => server.close(r));
    tmp.cleanup();
  });

  async function pair(): Promise<Pair> {
    const want = ++n;
    const peer = net.createConnection(tmp.sock());
    await new Promise((r) => peer.once('connect', r));
    while (accepted.length < want) await new Promise((r) => setImmediate(r));
    const ours = accepted[want - 1]!;
    const chunks: Buffer[] = [];
    peer.on('data', (c: Buffer) => chunks.push(c));
    return {
      ours,
      received: () => Buffer.concat(chunks),
      waitFor: async (bytes) => {
        const deadline = Date.now() + 5_000;
        while (Buffer.concat(chunks).length < bytes) {
          if (Date.now() > deadline) throw new Error(`only ${Buffer.concat(chunks).length} of ${bytes} bytes arrived within 5 s`);
          await new Promise((r) => setTimeout(r, 5));
        }
        peer.destroy();
        return Buffer.concat(chunks);
      },
    };
  }

  test('holds frames until the turn ends, then writes them in order', async () => {
    const a = await pair();
    const w = new ReplyWriter(a.ours);
    w.write(Buffer.from('one,'));
    w.write(Buffer.from('two,'));
    w.write(Buffer.from('three'));
    assert.equal(w.queued, 3);
    assert.equal(a.ours.bytesWritten, 0, 'nothing may reach the socket before the turn ends');
    await new Promise((r) => setImmediate(r));
    assert.equal(w.queued, 0);
    assert.equal((await a.waitFor(13)).toString(), 'one,two,three');
  });

  test("flushes every connection's frames in the same check phase", async () => {
    const a = await pair();
    const b = await pair();
    const wa = new ReplyWriter(a.ours);
    const wb = new ReplyWriter(b.ours);
    wa.write(Buffer.from('A1'));
    wb.write(Buffer.from('B1'));
    wa.write(Buffer.from('A2'));
    await new Promise((r) => setImmediate(r));
    assert.equal(wa.queued + wb.queued, 0);
    assert.equal(a.ours.bytesWritten, 4);
    assert.equal(b.ours.bytesWritten, 2);
    assert.equal((await a.waitFor(4)).toString(), 'A1A2');
    assert.equal((await b.waitFor(2)).toString(), 'B1');
  });

  test('a frame queued after a flush is written by the next one', async () => {
    const a = await pair();
    const b = await pair();
    const wa = new ReplyWriter(a.ours);
    const wb = new ReplyWriter(b.ours);
    wa.write(Buffer.from('first'));
    await new Promise((r) => setImmediate(r));
    // queued after the flush above ran: must not be lost, and is written by the next flush
    wb.write(Buffer.from('second'));
    assert.equal(wb.queued, 1);
    await new Promise((r) => setImmediate(r));
    assert.equal(wb.queued, 0);
    assert.equal((await b.waitFor(6)).toString(), 'second');
    assert.equal((await a.waitFor(5)).toString(), 'first');
  });

  test('a writer that is alone writes at once, in the same turn', async () => {
    const a = await pair();
    let asked = 0;
    const w = new ReplyWriter(a.ours, () => (asked++, true));
    w.write(Buffer.from('now,'));
    assert.equal(asked, 1);
    assert.equal(w.queued, 0);
    assert.equal(a.ours.bytesWritten, 4, 'a lone frame is handed to the socket before the turn ends');
    w.write(Buffer.from('again'));
    assert.equal(a.ours.bytesWritten, 9);
    assert.equal((await a.waitFor(9)).toString(), 'now,again');
  });

  test('a frame that finds frames queued waits behind them even when alone', async () => {
    const a = await pair();
    let alone = false;
    const w = new ReplyWriter(a.ours, () => alone);
    w.write(Buffer.from('first,'));
    alone = true;
    w.write(Buffer.from('second'));
    assert.equal(w.queued, 2, 'the second frame may not overtake the first');
    assert.equal(a.ours.bytesWritten, 0);
    await new Promise((r) => setImmediate(r));
    assert.equal(w.queued, 0);
    assert.equal((await a.waitFor(12)).toString(), 'first,second');
  });

  test('a lone frame for a destroyed socket is dropped', async () => {
    const a = await pair();
    const w = new ReplyWriter(a.ours, () => true);
    a.ours.destroy();
    w.write(Buffer.from('lost'));
    assert.equal(w.queued, 0);
    assert.equal(a.ours.bytesWritten, 0);
  });

  test('drops the frames of a socket destroyed before the turn ended', async () => {
    const a = await pair();
    const w = new ReplyWriter(a.ours);
    w.write(Buffer.from('lost'));
    w.write(Buffer.from('too'));
    a.ours.destroy();
    await new Promise((r) => setImmediate(r));
    assert.equal(w.queued, 0);
    assert.equal(a.ours.bytesWritten, 0);
  });
});
