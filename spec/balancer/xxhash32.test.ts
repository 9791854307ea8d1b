import assert from 'node:assert/strict';
import { test } from 'node:test';
import { xxhash32, xxhash32Bytes } from '../../plugins/ai-proxy-advanced/balancer/xxhash32';

// Reference values of XXH32 with seed 0 (xxHash's own test vectors and python-xxhash).
const VECTORS: Array<[string, number]> = [
  ['', 0x02cc5d05],
  ['a', 0x550d7456],
  ['abc', 0x32d153ff],
  ['Nobody inspects the spammish repetition', 0xe2293b2f],
];

for (const [input, expected] of VECTORS) {
  test(`xxhash32(${JSON.stringify(input)}) is 0x${expected.toString(16)}`, () => {
    assert.equal(xxhash32(input), expected);
    assert.equal(xxhash32Bytes(Buffer.from(input)), expected);
  });
}

test('strings hash over their UTF-8 bytes, long ones included', () => {
  for (const s of ['héllo wörld', '日本語のキー', 'x'.repeat(1000)]) {
    assert.equal(xxhash32(s), xxhash32Bytes(Buffer.from(s, 'utf8')));
  }
});

test('a seed changes the hash', () => {
  assert.notEqual(xxhash32('abc', 1), xxhash32('abc'));
});

test('ASCII strings of every length up to 100 hash as their bytes do', () => {
  let s = '';
  for (let n = 0; n <= 100; n++) {
    assert.equal(xxhash32(s), xxhash32Bytes(Buffer.from(s, 'latin1')), `length ${n}`);
    s += String.fromCharCode(32 + ((n * 37) % 95));
  }
});
