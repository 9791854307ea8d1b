import assert from 'node:assert/strict';
import { test } from 'node:test';
import * as mod from '../../plugins/ai-proxy-advanced';

test('the plugin module exports the kong-pdk contract with Kong-valid metadata', () => {
  assert.equal(mod.Name, 'ai-proxy-advanced');
  assert.match(mod.Version, /^\d+\.\d+\.\d+$/);
  assert.equal(mod.Priority, 770);
  assert.ok(Array.isArray(mod.Schema));
  assert.equal(typeof mod.Plugin.prototype.access, 'function');
});
