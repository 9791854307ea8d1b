import assert from 'node:assert/strict';
import { test } from 'node:test';
import { assignOwn, withOwn } from '../../plugins/ai-proxy-advanced/providers/translator-kit/assign-own';

test('assignOwn merges like object spread: later keys win, order kept, a __proto__ key stays an own property', () => {
  const a = JSON.parse('{"x":"1","__proto__":"p","y":"2"}') as Record<string, string>;
  const b = { y: '3', z: '4' };
  const got = assignOwn(assignOwn({}, a), b);
  assert.deepEqual(Object.entries(got), Object.entries({ ...a, ...b }));
  assert.equal(Object.getPrototypeOf(got), Object.prototype);
  assert.equal(Object.prototype.hasOwnProperty.call(got, '__proto__'), true);
});

test('withOwn copies like { ...src, ...changes }: the source is left alone, changes win in place, new keys come last', () => {
  const src = JSON.parse('{"model":"a","__proto__":"p","stream":false}') as Record<string, unknown>;
  const got = withOwn(src, { stream: true, extra: 1 });
  assert.deepEqual(Object.entries(got), Object.entries({ ...src, stream: true, extra: 1 }));
  assert.equal(Object.prototype.hasOwnProperty.call(got, '__proto__'), true);
  assert.equal(src.stream, false);
  assert.notEqual(got, src);
});
