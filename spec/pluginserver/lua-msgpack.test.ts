import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  checkPdkArgs,
  createStreamDecoder,
  decodeMsgpack,
  EMPTY_MAP,
  encodeLua,
  LUA_NULL,
} from '../../kong/rpc/lua-msgpack';
import { getStepMethod, mustFix } from '../../kong/rpc/event';
import { msgpackValueEnd } from '../../kong/rpc/msgpack-frame';
import { encodeJs } from '../../kong/pluginserver/js-msgpack';
import msgpack from 'msgpack-lite';

const hex = (b: Buffer): string => b.toString('hex');

describe('Lua-style msgpack encoding (lua-MessagePack as patched by Kong mp_rpc.lua)', () => {
  test('an empty table, whether written as {} or [], packs as the empty array 0x90', () => {
    assert.equal(hex(encodeLua({})), '90');
    assert.equal(hex(encodeLua([])), '90');
    assert.equal(hex(encodeLua({ a: undefined, b: null })), '90');
  });

  test('the empty-map marker packs as 0x80, as mp_empty_map does for empty multimaps', () => {
    assert.equal(hex(encodeLua(EMPTY_MAP)), '80');
    assert.deepEqual(decodeMsgpack(encodeLua(EMPTY_MAP)), {});
  });

  test('strings of 32..255 bytes use str16, never str8 (string_compat)', () => {
    assert.equal(hex(encodeLua('abc')), 'a3616263');
    const s = 'x'.repeat(40);
    const b = encodeLua(s);
    assert.equal(b[0], 0xda);
    assert.equal(b.readUInt16BE(1), 40);
    assert.equal(decodeMsgpack(b), s);
    const multi = 'é'.repeat(20); // 40 bytes in UTF-8
    assert.equal(encodeLua(multi)[0], 0xda);
    assert.equal(decodeMsgpack(encodeLua(multi)), multi);
  });

  test('buffers pack as bin and decode back to Buffers', () => {
    const raw = Buffer.from([0xff, 0x00, 0xcf]);
    assert.equal(hex(encodeLua(raw)), 'c403ff00cf');
    const back = decodeMsgpack(encodeLua({ body: raw })) as { body: Buffer };
    assert.ok(Buffer.isBuffer(back.body));
    assert.deepEqual(back.body, raw);
    const big = Buffer.alloc(70000, 7);
    assert.equal(encodeLua(big)[0], 0xc6);
  });

  test('nil map values are dropped but cjson.null keeps its key as nil', () => {
    assert.deepEqual(decodeMsgpack(encodeLua({ a: 1, b: undefined, c: null, d: LUA_NULL })), { a: 1, d: null });
  });

  test('integers take the smallest int format and other numbers float64', () => {
    assert.equal(hex(encodeLua(5)), '05');
    assert.equal(hex(encodeLua(-3)), 'fd');
    assert.equal(hex(encodeLua(200)), 'ccc8');
    assert.equal(hex(encodeLua(-200)), 'd1ff38');
    assert.equal(hex(encodeLua(70000)), 'ce00011170');
    assert.equal(hex(encodeLua(2 ** 40)), 'cf0000010000000000');
    assert.equal(hex(encodeLua(1.5)), 'cb3ff8000000000000');
    assert.equal(hex(encodeLua(true)), 'c3');
    assert.equal(hex(encodeLua(undefined)), 'c0');
  });

  test('an array with an interior nil becomes a map keyed 1..n and trailing nils vanish', () => {
    assert.deepEqual(decodeMsgpack(encodeLua([1, null, 3])), { 1: 1, 3: 3 });
    assert.equal(hex(encodeLua([1, 2, undefined, null])), '920102');
  });

  test('functions and unknown symbols are refused with a clear error', () => {
    assert.throws(() => encodeLua({ f: () => 1 }), /cannot pack a function/);
    assert.throws(() => encodeLua(Symbol('x')), /cannot pack Symbol\(x\)/);
  });

  test('the stream decoder yields every message of a chunk and reassembles split messages', () => {
    const got: unknown[] = [];
    const d = createStreamDecoder((m) => got.push(m));
    const a = encodeLua([0, 1, 'plugin.GetStatus', []]);
    const b = encodeLua([0, 2, 'plugin.Step', [{ EventId: 1, Data: 'x'.repeat(300) }]]);
    const both = Buffer.concat([a, b, a]);
    d.push(both.subarray(0, 3));
    assert.equal(got.length, 0);
    d.push(both.subarray(3, a.length + 10));
    assert.equal(got.length, 1);
    d.push(both.subarray(a.length + 10));
    assert.equal(got.length, 3);
    assert.deepEqual(got[0], [0, 1, 'plugin.GetStatus', []]);
    assert.deepEqual(got[2], got[0]);
  });
});

describe('msgpack value boundaries (stream framing)', () => {
  const samples: [string, Buffer][] = [
    ['request', encodeLua([0, 1, 'plugin.Step', [{ EventId: 3, Data: 'x'.repeat(300) }]])],
    ['nested maps and arrays', encodeLua({ a: [1, -200, 70000, 2 ** 40, 1.5, true, null], b: { c: { d: 'e'.repeat(70000) } } })],
    ['bin32 body', encodeLua(Buffer.alloc(70000, 1))],
    ['str8, negative ints, float32-free JS encoding', encodeJs([1, 2, undefined, { s: 'y'.repeat(40), n: -40000, f: 0.25 }])],
    ['timestamp ext', encodeJs([new Date(1_700_000_000_123), new Date(0)])],
    ['ext8 and fixext', Buffer.concat([Buffer.from([0x92, 0xc7, 0x03, 0x05, 1, 2, 3, 0xd5, 0x01, 9, 9])])],
    ['map16 and array16', msgpack.encode(Object.fromEntries(Array.from({ length: 20 }, (_, i) => [`k${i}`, Array(20).fill(i)])))],
  ];
  for (const [name, buf] of samples) {
    test(`finds the end of a complete value and a safe lower bound for every truncation: ${name}`, () => {
      assert.equal(msgpackValueEnd(buf, 0), buf.length);
      assert.equal(msgpackValueEnd(Buffer.concat([buf, Buffer.from([0xc0])]), 0), buf.length);
      for (let i = 0; i < buf.length; i += Math.max(1, Math.floor(buf.length / 400))) {
        const r = msgpackValueEnd(buf.subarray(0, i), 0);
        assert.ok(r < 0, `prefix ${i} reported complete`);
        assert.ok(-r > i && -r <= buf.length, `prefix ${i}: bound ${-r} outside (${i}, ${buf.length}]`);
      }
    });
  }

  test('a multi-megabyte message arriving in 64 KB reads decodes once, followed by the next message', () => {
    const body = Buffer.alloc(5 * 1024 * 1024, 0xab);
    const big = encodeLua([0, 1, 'plugin.Step', [{ EventId: 1, Data: body }]]);
    const small = encodeLua([0, 2, 'plugin.GetStatus', []]);
    const stream = Buffer.concat([big, small]);
    const got: unknown[][] = [];
    const d = createStreamDecoder((m) => got.push(m as unknown[]));
    for (let i = 0; i < stream.length; i += 65536) d.push(stream.subarray(i, i + 65536));
    assert.equal(got.length, 2);
    const data = (got[0]![3] as { Data: Buffer }[])[0]!.Data;
    assert.ok(Buffer.isBuffer(data) && data.equals(body));
    assert.deepEqual(got[1], [0, 2, 'plugin.GetStatus', []]);
  });
});

describe('PDK argument and result handling of the Kong-side loop', () => {
  test('an interior nil argument is rejected because unpack() would scramble it', () => {
    assert.throws(() => checkPdkArgs('kong.response.exit', [200, undefined, { a: 'b' }]), /argument #2 is nil/);
    assert.doesNotThrow(() => checkPdkArgs('kong.response.exit', [200, 'body', undefined, null]));
    assert.doesNotThrow(() => checkPdkArgs('kong.log.info', []));
  });

  test('multimap results get array values and an empty one becomes an empty map', () => {
    assert.equal(mustFix('kong.request.get_headers', {}), EMPTY_MAP);
    assert.deepEqual(decodeMsgpack(encodeLua(mustFix('kong.request.get_query', { a: 'x', b: true, c: ['1', '2'] }))), {
      a: ['x'],
      b: [],
      c: ['1', '2'],
    });
    assert.throws(() => mustFix('kong.request.get_headers', undefined), /table expected, got nil/);
  });

  test('raw bodies travel as bin and a nil raw body fails as it does inside Kong', () => {
    const fixed = mustFix('kong.request.get_raw_body', 'héllo');
    assert.ok(Buffer.isBuffer(fixed));
    assert.equal(encodeLua(fixed)[0], 0xc4);
    assert.throws(() => mustFix('kong.service.response.get_raw_body', undefined), /attempt to get length/);
    assert.equal(mustFix('kong.request.get_header', 'x'), 'x');
  });

  test('results are stepped back with the method Kong picks for them', () => {
    assert.equal(getStepMethod('kong.request.get_headers', {}), 'plugin.StepMultiMap');
    assert.equal(getStepMethod('kong.client.get_consumer', { id: 'c' }), 'plugin.StepConsumer');
    assert.equal(getStepMethod('kong.router.get_route', { _method: 'plugin.StepX' }), 'plugin.StepX');
    assert.equal(getStepMethod('kong.request.get_header', 'v'), 'plugin.Step');
  });
});
