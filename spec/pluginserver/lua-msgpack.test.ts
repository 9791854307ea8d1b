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
