import assert from 'node:assert/strict';
import { test } from 'node:test';
import { assignOwn } from '../../plugins/ai-proxy-advanced/engine/assign-own';

test('assignOwn merges like object spread: later keys win, order kept, a __proto__ key stays an own property', () => {
  const a = JSON.parse('{"x":"1","__proto__":"p","y":"2"}') as Record<string, string>;
  const b = { y: '3', z: '4' };
  const got = assignOwn(assignOwn({}, a), b);
  assert.deepEqual(Object.entries(got), Object.entries({ ...a, ...b }));
  assert.equal(Object.getPrototypeOf(got), Object.prototype);
  assert.equal(Object.prototype.hasOwnProperty.call(got, '__proto__'), true);
});
