import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createSemantic } from '../../plugins/ai-proxy-advanced/balancer/semantic';
import type { BalancerTarget } from '../../plugins/ai-proxy-advanced/balancer/balancer';
import { bytesToVector, cosineDistance, distanceFor, euclidean, squaredEuclidean, vectorToBytes } from '../../plugins/ai-proxy-advanced/semantic/vector';

const v = (...n: number[]) => Float32Array.from(n);

test('cosine distance is 1 − cosine similarity; a zero vector is at distance 1', () => {
  assert.equal(cosineDistance(v(1, 0), v(1, 0)), 0);
  assert.equal(cosineDistance(v(1, 0), v(0, 1)), 1);
  assert.equal(cosineDistance(v(1, 0), v(-1, 0)), 2);
  assert.ok(Math.abs(cosineDistance(v(1, 1), v(1, 0)) - (1 - Math.SQRT1_2)) < 1e-7);
  assert.equal(cosineDistance(v(0, 0), v(1, 0)), 1);
});

test("euclidean is what each store computes: RediSearch's L2 squared, pgvector's <-> plain", () => {
  assert.equal(squaredEuclidean(v(0, 0), v(3, 4)), 25);
  assert.equal(euclidean(v(0, 0), v(3, 4)), 5);
  assert.equal(distanceFor('euclidean', 'redis')(v(0, 0), v(3, 4)), 25);
  assert.equal(distanceFor('euclidean', 'pgvector')(v(0, 0), v(3, 4)), 5);
  assert.equal(distanceFor('cosine', 'redis'), cosineDistance);
});

test('float32 little-endian bytes round-trip; a stored vector of another length is ignored', () => {
  const x = v(0.5, -1.25, 3e-8, 1e6);
  const b = vectorToBytes(x);
  assert.equal(b.length, 16);
  assert.equal(b.readFloatLE(4), -1.25);
  assert.deepEqual(bytesToVector(b, 4), x);
  assert.equal(bytesToVector(b, 3), undefined);
});

test('the semantic balancer: weight picks inside the first group with a free member, then the next group', () => {
  const targets: BalancerTarget[] = [75, 25, 100].map((weight, index) => ({ index, id: `t${index}`, weight, config: {} as BalancerTarget['config'] }));
  let r = 0;
  const b = createSemantic({}, targets, { now: () => 0, random: () => r });
  const groups = { groups: [[0, 1], [2]] };
  r = 0.74;
  assert.equal(b.pick({ exclude: new Set(), semantic: groups })?.index, 0);
  r = 0.76;
  assert.equal(b.pick({ exclude: new Set(), semantic: groups })?.index, 1);
  r = 0;
  assert.equal(b.pick({ exclude: new Set([0]), semantic: groups })?.index, 1);
  assert.equal(b.pick({ exclude: new Set([0, 1]), semantic: groups })?.index, 2);
  assert.equal(b.pick({ exclude: new Set([0, 1, 2]), semantic: groups }), undefined);
});
