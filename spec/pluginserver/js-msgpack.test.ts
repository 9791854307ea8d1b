/**
 * Our reply encoder must write exactly what kong-pdk 0.6.0's listener writes (the default @msgpack/msgpack
 * Encoder), so Kong's Lua decoder cannot tell the servers apart. Compared byte for byte against the copy of
 * @msgpack/msgpack that kong-pdk itself loads.
 */
import assert from 'node:assert/strict';
import path from 'node:path';
import { describe, test } from 'node:test';
import { encodeJs } from '../../kong/pluginserver/js-msgpack';

const kongPdkDir = path.dirname(require.resolve('kong-pdk/server'));
// eslint-disable-next-line @typescript-eslint/no-require-imports
const stock = require(require.resolve('@msgpack/msgpack', { paths: [kongPdkDir] })) as {
  encode(v: unknown): Uint8Array;
};

const values: [string, unknown][] = [
  ['small ints', [0, 1, 127, 128, 255, 256, 65535, 65536, 2 ** 32 - 1, 2 ** 32, 2 ** 53 - 1]],
  ['negative ints', [-1, -32, -33, -128, -129, -32768, -32769, -(2 ** 31), -(2 ** 31) - 1, -(2 ** 53 - 1)]],
  ['floats and unsafe integers', [0.5, -1.25, 1e300, 2 ** 60, Number.NaN, Infinity, -0]],
  ['strings', ['', 'a', 'x'.repeat(31), 'x'.repeat(32), 'x'.repeat(255), 'x'.repeat(256), 'é'.repeat(200), 'x'.repeat(70000)]],
  // Around the encoder's inline ASCII copy (up to 64 characters): non-ASCII at the start, middle and end, and the
  // lengths either side of the limit and of the fixstr/str8 boundary. (Not a lone surrogate: @msgpack/msgpack's
  // own JS encoder for short strings writes it as ED A0 80, where Buffer#write, like its TextEncoder path for long
  // strings, writes the replacement character EF BF BD; a known difference, older than the inline copy.)
  ['short strings', ['é', 'aé', 'x'.repeat(30) + 'é', 'x'.repeat(63) + 'é', '😀', 'x'.repeat(64), 'x'.repeat(65), '\x7f\x00']],
  ['nil and booleans', [null, undefined, true, false, { a: undefined, b: null }]],
  ['binary', [Buffer.from([1, 2, 3]), new Uint8Array(300), Buffer.alloc(70000)]],
  ['dates', [new Date(0), new Date(1_700_000_000_000), new Date(1_700_000_000_123), new Date(-1000)]],
  [
    'a HandleEvent reply',
    [1, 42, undefined, { Data: { Method: 'kong.response.exit', Args: [403, '{"m":1}', { 'x-a': 'b' }] }, EventId: 7 }],
  ],
  ['large containers', { arr: Array.from({ length: 70000 }, (_, i) => i % 3), map: Object.fromEntries(Array.from({ length: 20 }, (_, i) => [`k${i}`, i])) }],
];

describe('reply encoding identical to kong-pdk (@msgpack/msgpack defaults)', () => {
  for (const [name, v] of values) {
    test(`encodes ${name} byte for byte like kong-pdk`, () => {
      assert.deepEqual(encodeJs(v), Buffer.from(stock.encode(v)));
    });
  }

  test('values kong-pdk cannot encode are refused with its message', () => {
    for (const bad of [() => 1, Symbol('s'), 10n]) {
      let stockMessage = '';
      try {
        stock.encode(bad);
      } catch (e) {
        stockMessage = (e as Error).message;
      }
      assert.match(stockMessage, /^Unrecognized object: \[object \w+\]$/);
      assert.throws(() => encodeJs({ bad }), (e: unknown) => (e as Error).message === stockMessage);
    }
  });
});
