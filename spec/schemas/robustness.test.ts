/**
 * validateConfig never throws and never accepts garbage: a valid config is mutated at random places into
 * random values (seeded, bounded), and every outcome must be a well-formed result.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { validateConfig } from '../../schemas';
import { seededRandom } from '../helpers/seeded-random';


const BASE = {
  balancer: { algorithm: 'semantic', failover_criteria: ['error'] },
  embeddings: { auth: { header_name: 'a', header_value: 'b' }, model: { provider: 'openai', name: 'e' } },
  vectordb: { strategy: 'redis', dimensions: 4, distance_metric: 'cosine', redis: { sentinel_addresses: ['a:1'], port: 1 } },
  acls: { allow: [{ match: [{ type: 'header', key: 'k', values: ['v'] }] }] },
  targets: [
    { route_type: 'llm/v1/chat', description: 'a', model: { provider: 'gemini', options: { gemini: { api_endpoint: 'x', project_id: 'p', location_id: 'l' } } } },
    { route_type: 'llm/v1/completions', description: 'b', logging: { log_payloads: true }, model: { provider: 'anthropic', options: { anthropic_version: 'v' } } },
  ],
};

const ODD_VALUES: unknown[] = [null, 0, -1, 1.5, '', 'x', '{vault://env/X}', true, [], [null], {}, { a: 1 }, 1e309, '__proto__'];

function mutate(v: unknown, rnd: () => number, depth = 0): unknown {
  if (rnd() < 0.15 || depth > 6) return ODD_VALUES[Math.floor(rnd() * ODD_VALUES.length)];
  if (Array.isArray(v)) return v.map((x) => (rnd() < 0.5 ? mutate(x, rnd, depth + 1) : x));
  if (v && typeof v === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(v)) {
      if (rnd() < 0.05) continue;
      out[k] = rnd() < 0.5 ? mutate(x, rnd, depth + 1) : x;
    }
    if (rnd() < 0.05) out[`extra_${depth}`] = 1;
    return out;
  }
  return v;
}

test('validateConfig returns a well-formed result for 600 randomly damaged configs', () => {
  assert.equal(validateConfig(BASE).ok, true, 'the base config is valid');
  const rnd = seededRandom(20260522);
  let refused = 0;
  for (let i = 0; i < 600; i++) {
    const input = mutate(BASE, rnd);
    const r = validateConfig(input);
    if (r.ok) {
      assert.ok(Array.isArray(r.config.targets));
    } else {
      refused++;
      assert.ok(r.errors.length > 0);
      for (const e of r.errors) {
        assert.equal(typeof e.path, 'string');
        assert.ok(typeof e.message === 'string' && e.message.length > 0, JSON.stringify(e));
      }
    }
  }
  assert.ok(refused > 300, `only ${refused} of 600 damaged configs were refused`);
});
