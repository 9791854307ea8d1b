import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import msgpack from 'msgpack-lite';
import { createStreamDecoder, encodeLua } from '../../kong/rpc/lua-msgpack';
import { encodeJs } from '../../kong/pluginserver/js-msgpack';

/** Seeded xorshift so a failure can be replayed. */
function rng(seed: number): () => number {
  let s = seed >>> 0 || 1;
  return () => {
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    return s / 0x100000000;
  };
}

function randomValue(r: () => number, depth: number): unknown {
  const k = Math.floor(r() * (depth > 3 ? 8 : 11));
  const ints = [0, 1, 127, 128, 255, 256, 65535, 65536, 2 ** 31, 2 ** 32 - 1, 2 ** 32, 2 ** 53 - 1, -1, -32, -33, -128, -129, -32768, -32769, -(2 ** 31), -(2 ** 31) - 1, -(2 ** 53)];
  switch (k) {
    case 0:
      return null;
    case 1:
      return r() < 0.5;
    case 2:
      return ints[Math.floor(r() * ints.length)];
    case 3:
      return (r() - 0.5) * 1e6;
    case 4: {
      const n = r() < 0.01 ? 70000 : [0, 5, 31, 32, 255, 256][Math.floor(r() * 6)]!;
      return 'aé€😀'.repeat(n).slice(0, n) + (r() < 0.2 ? '\uD800' : '');
    }
    case 5:
      return Buffer.alloc(r() < 0.01 ? 70000 : [0, 3, 300][Math.floor(r() * 3)]!, 7);
    case 6:
      return Math.floor(r() * 1000);
    case 7:
      return 'k' + Math.floor(r() * 100);
    case 8:
    case 9: {
      const n = [0, 3, 15, 16, 40][Math.floor(r() * 5)]!;
      return Array.from({ length: n }, () => randomValue(r, depth + 1));
    }
    default: {
      const n = [1, 3, 15, 16, 40][Math.floor(r() * 5)]!;
      const o: Record<string, unknown> = {};
      for (let i = 0; i < n; i++) o[`key${i}`] = randomValue(r, depth + 1);
      return o;
    }
  }
}

function decodeInChunks(stream: Buffer, r: () => number): unknown[] {
  const out: unknown[] = [];
  const d = createStreamDecoder((m) => out.push(m));
  for (let pos = 0; pos < stream.length; ) {
    const n = r() < 0.3 ? stream.length : 1 + Math.floor(r() * 200);
    d.push(stream.subarray(pos, pos + n));
    pos += n;
  }
  return out;
}

describe('the stream decoder gives exactly what msgpack-lite decodes', () => {
  test('random values from every encoder, split at random read boundaries, decode as msgpack-lite decodes them', () => {
    const r = rng(20261122);
    for (let round = 0; round < 300; round++) {
      const values = Array.from({ length: 1 + Math.floor(r() * 4) }, () => randomValue(r, 0));
      const frames = values.map((v, i) => (i % 3 === 0 ? encodeLua(v) : i % 3 === 1 ? encodeJs(v) : msgpack.encode(v)));
      const got = decodeInChunks(Buffer.concat(frames), r);
      assert.deepEqual(got, frames.map((f) => msgpack.decode(f)), `round ${round}`);
    }
  });

  test('64-bit integers, floats and ext values decode as msgpack-lite decodes them', () => {
    const frames = [
      Buffer.from('cf0000000100000000', 'hex'),
      Buffer.from('d3ffffffff00000000', 'hex'),
      Buffer.from('ca3fc00000', 'hex'),
      msgpack.encode(new Date(1700000000000)),
      Buffer.from('92cf001fffffffffffffc3', 'hex'),
    ];
    const got = decodeInChunks(Buffer.concat(frames), rng(7));
    assert.deepEqual(got, frames.map((f) => msgpack.decode(f)));
  });

  test('a bin value is a copy that does not share memory with the chunk it was read from', () => {
    const chunk = Buffer.from('c403616263', 'hex');
    const out: unknown[] = [];
    createStreamDecoder((m) => out.push(m)).push(chunk);
    chunk.fill(0);
    assert.deepEqual(out, [Buffer.from('abc')]);
  });

  test('an invalid byte fails with msgpack-lite\'s error after the messages before it were delivered', () => {
    const out: unknown[] = [];
    const d = createStreamDecoder((m) => out.push(m));
    assert.throws(() => d.push(Buffer.from('01c1', 'hex')), /Invalid type: 0xc1/);
    assert.deepEqual(out, [1]);
  });
});

describe('stream decoder work stays linear in the message size (issue 11)', () => {
  test('a 16 MB message of small tokens in 4 KB reads is scanned once and copied a bounded number of times', () => {
    // Many small strings: the kind of message (a decoded JSON body as a table) that a resume-less scan
    // re-walks from the start on every read.
    const items = Array.from({ length: 1_000_000 }, (_, i) => `v${i % 1000}-abcdefghijk`);
    const msg = encodeLua([0, 7, 'plugin.Step', [{ EventId: 1, Data: items }]]);
    assert.ok(msg.length > 16e6, `message is ${msg.length} bytes`);
    const stats = { tokens: 0, copied: 0 };
    const out: unknown[] = [];
    const d = createStreamDecoder((m) => out.push(m), stats);
    for (let pos = 0; pos < msg.length; pos += 4096) d.push(msg.subarray(pos, pos + 4096));
    assert.equal(out.length, 1);
    assert.equal(((out[0] as unknown[])[3] as Array<{ Data: string[] }>)[0]!.Data[999_999], items[999_999]);
    // Each token once (a re-scan per read would be ~4,000 times more), each byte copied at most ~3 times.
    assert.ok(stats.tokens <= 1_000_010, `tokens scanned: ${stats.tokens}`);
    assert.ok(stats.copied <= 3 * msg.length, `bytes copied: ${stats.copied} for ${msg.length}`);
  });

  test('a map key __proto__ from the peer stays an own property', () => {
    const out: unknown[] = [];
    // fixmap {"__proto__": {"polluted": true}}, as a request header or query name could make Kong send.
    const bytes = Buffer.concat([Buffer.from([0x81, 0xa9]), Buffer.from('__proto__'), Buffer.from([0x81, 0xa8]), Buffer.from('polluted'), Buffer.from([0xc3])]);
    createStreamDecoder((m) => out.push(m)).push(bytes);
    const o = out[0] as Record<string, unknown>;
    assert.equal(Object.getPrototypeOf(o), Object.prototype);
    assert.deepEqual(Object.getOwnPropertyDescriptor(o, '__proto__')?.value, { polluted: true });
    assert.equal((o as { polluted?: unknown }).polluted, undefined);
  });

  test('short strings come back right however often they repeat or collide in the decoder\'s string cache', () => {
    // 5000 distinct 6-byte keys and values (many more than the cache has slots, so entries collide and are
    // replaced), ASCII and not, each message decoded twice: every string must be what msgpack-lite decodes.
    const o: Record<string, unknown> = {};
    for (let i = 0; i < 5000; i++) o[`k${String(i).padStart(5, '0')}`] = i % 3 === 0 ? `é${i}` : i % 3 === 1 ? `v${i}` : '';
    const bytes = encodeJs(o);
    const want = msgpack.decode(bytes) as unknown;
    for (let round = 0; round < 2; round++) {
      const out: unknown[] = [];
      createStreamDecoder((m) => out.push(m)).push(bytes);
      assert.deepEqual(out[0], want);
    }
  });
});
