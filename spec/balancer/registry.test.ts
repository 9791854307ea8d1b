import assert from 'node:assert/strict';
import { afterEach, describe, test } from 'node:test';
import {
  ALGORITHMS,
  type AiProxyAdvancedConfig,
  type BalancerConfig,
  type PluginConfig,
  type TargetConfig,
} from '../../schemas/config';
import {
  balancerStateFor,
  buildTargets,
  clearBalancerRegistry,
  createBalancer,
  forgetBalancerState,
} from '../../plugins/ai-proxy-advanced/balancer';
import { LowestLatencyBalancer } from '../../plugins/ai-proxy-advanced/balancer/lowest-latency';
import { MAX_STATES } from '../../plugins/ai-proxy-advanced/balancer/registry';
import { ConfigError, UnsupportedFeatureError } from '../../plugins/ai-proxy-advanced/errors';
import { fakeDeps, nameOf, NONE, targetConfig, targets } from '../helpers/balancer-random';

afterEach(() => clearBalancerRegistry());

function plugin(id: string | undefined, ts: TargetConfig[], balancer: BalancerConfig = {}): PluginConfig {
  const c: AiProxyAdvancedConfig & { __plugin_id?: string } = { targets: ts, balancer };
  if (id !== undefined) c.__plugin_id = id;
  return c;
}

describe('target ids', () => {
  test('ids are derived from the definition, readable, and identical for identical input', () => {
    const [a] = buildTargets([targetConfig('gpt-4o')]);
    const [b] = buildTargets([targetConfig('gpt-4o')]);
    assert.equal(a!.id, b!.id);
    assert.match(a!.id, /^openai\/gpt-4o@llm\/v1\/chat~[0-9a-f]{12}$/);
  });

  test('null and absent fields, key order, auth, weight, description and pricing do not change the id', () => {
    const base = targetConfig('gpt-4o');
    const variants: TargetConfig[] = [
      { ...base, auth: { header_name: 'Authorization', header_value: 'Bearer another-key' } },
      { ...base, weight: 7, description: 'fast', metadata: { team: 'x' }, logging: { log_statistics: true } },
      { ...base, model: { ...base.model, model_alias: null, options: { max_tokens: 512, temperature: null, input_cost: 3, output_cost: 9 } } },
      { route_type: 'llm/v1/chat', model: { options: { max_tokens: 512 }, name: 'gpt-4o', provider: 'openai' } },
    ];
    const id = buildTargets([base])[0]!.id;
    for (const v of variants) assert.equal(buildTargets([v])[0]!.id, id, JSON.stringify(v));
  });

  test('provider, model, route type, upstream_url and other options make different ids', () => {
    const base = targetConfig('gpt-4o');
    const variants: TargetConfig[] = [
      { ...base, model: { ...base.model, name: 'gpt-4o-mini' } },
      { ...base, model: { ...base.model, provider: 'azure' } },
      { ...base, route_type: 'llm/v1/completions' },
      { ...base, model: { ...base.model, options: { max_tokens: 512, upstream_url: 'http://127.0.0.1:9999/v1/chat/completions' } } },
      { ...base, model: { ...base.model, options: { max_tokens: 256 } } },
    ];
    const ids = new Set(buildTargets([base, ...variants]).map((t) => t.id.replace(/#\d+$/, '')));
    assert.equal(ids.size, variants.length + 1);
  });

  test('identical targets are told apart by occurrence, and the first keeps its plain id', () => {
    const ts = buildTargets([targetConfig('m'), targetConfig('other'), targetConfig('m'), targetConfig('m')]);
    assert.equal(ts[2]!.id, `${ts[0]!.id}#1`);
    assert.equal(ts[3]!.id, `${ts[0]!.id}#2`);
    assert.equal(buildTargets([targetConfig('m')])[0]!.id, ts[0]!.id);
    assert.deepEqual(ts.map((t) => t.index), [0, 1, 2, 3]);
    assert.deepEqual(ts.map((t) => t.weight), [100, 100, 100, 100]);
  });

  test('no secret from auth appears in an id', () => {
    const t = targetConfig('m', 1, { auth: { header_name: 'api-key', header_value: 'sk-very-secret', param_value: 'also-secret' } });
    const id = buildTargets([t])[0]!.id;
    assert.ok(!id.includes('secret'), id);
  });
});

describe('createBalancer', () => {
  test('builds every algorithm of the config enum except semantic', () => {
    for (const algorithm of ALGORITHMS) {
      if (algorithm === 'semantic') continue;
      const b = createBalancer({ algorithm }, targets({ a: 1, b: 2 }), fakeDeps());
      assert.ok(b.pick({ hashKey: 'k', exclude: NONE }) !== undefined, algorithm);
    }
  });

  test('a single target is served by every algorithm, and excluding it leaves no peer', () => {
    // Kong < 3.12 answered 500 for lowest-latency with a single target (spec §4, changelog).
    for (const algorithm of ALGORITHMS) {
      if (algorithm === 'semantic') continue;
      const ts = targets({ only: 100 });
      const b = createBalancer({ algorithm }, ts, fakeDeps());
      for (let i = 0; i < 3; i++) {
        const t = b.pick({ hashKey: `k${i}`, exclude: NONE });
        assert.equal(nameOf(t), 'only', algorithm);
        b.report(t!, { ok: i !== 1, latencyMs: 10 });
      }
      assert.equal(b.pick({ hashKey: 'k', exclude: new Set([0]) }), undefined, algorithm);
    }
  });

  test('no targets means no peer rather than an exception, for every algorithm', () => {
    for (const algorithm of ALGORITHMS) {
      if (algorithm === 'semantic') continue;
      const b = createBalancer({ algorithm }, [], fakeDeps());
      assert.equal(b.pick({ hashKey: 'k', exclude: NONE }), undefined, algorithm);
      assert.equal(b.pick({ exclude: NONE }), undefined, algorithm);
    }
  });

  test('defaults to round-robin', () => {
    const b = createBalancer({}, targets({ a: 3, b: 1 }), fakeDeps());
    const names = Array.from({ length: 8 }, () => nameOf(b.pick({ exclude: NONE })));
    assert.deepEqual(names.filter((n) => n === 'a').length, 6);
  });

  test('semantic picks only inside the candidate groups the engine passes, and without them has no peer', () => {
    const b = createBalancer({ algorithm: 'semantic' }, targets({ a: 1, b: 1, c: 1 }), fakeDeps());
    assert.equal(b.pick({ exclude: NONE }), undefined);
    assert.equal(nameOf(b.pick({ exclude: NONE, semantic: { groups: [[2], [0]] } })), 'c');
    assert.equal(nameOf(b.pick({ exclude: new Set([2]), semantic: { groups: [[2], [0]] } })), 'a');
    assert.equal(b.pick({ exclude: new Set([0, 2]), semantic: { groups: [[2], [0]] } }), undefined);
  });

  test('an unknown algorithm or an invalid weight is a ConfigError naming the field', () => {
    assert.throws(
      () => createBalancer({ algorithm: 'random' as never }, targets({ a: 1 }), fakeDeps()),
      (e: unknown) => e instanceof ConfigError && /balancer\.algorithm 'random'/.test(e.message),
    );
    const bad = buildTargets([targetConfig('a', 0)]);
    assert.throws(() => createBalancer({}, bad, fakeDeps()), (e: unknown) => e instanceof ConfigError && /targets\[0\]\.weight/.test(e.message));
  });
});

describe('balancer state registry', () => {
  test('the same config object gets the same state', () => {
    const c = plugin('p1', [targetConfig('a'), targetConfig('b')]);
    assert.equal(balancerStateFor(c, fakeDeps()), balancerStateFor(c, fakeDeps()));
  });

  test('a new config for the same plugin with the same targets keeps the state but serves the new target configs', () => {
    const deps = fakeDeps();
    const first = plugin('p1', [targetConfig('a'), targetConfig('b')], { algorithm: 'least-connections' });
    const s1 = balancerStateFor(first, deps);
    const held = s1.pick({ exclude: NONE })!;
    const rotated = plugin('p1', [
      targetConfig('a', undefined, { auth: { header_name: 'Authorization', header_value: 'Bearer rotated' } }),
      targetConfig('b', undefined, { auth: { header_name: 'Authorization', header_value: 'Bearer rotated' } }),
    ], { algorithm: 'least-connections' });
    const s2 = balancerStateFor(rotated, deps);
    assert.equal(s2, s1, 'state kept');
    const next = s2.pick({ exclude: NONE })!;
    assert.notEqual(next.index, held.index, 'the in-flight count survived the config change');
    assert.equal(next.config.auth?.header_value, 'Bearer rotated');
    s2.report(held, { ok: true });
  });

  test('changed targets rebuild the state, carrying circuit state and learned latency by target id', () => {
    const deps = fakeDeps();
    const balancer: BalancerConfig = { algorithm: 'lowest-latency', latency_strategy: 'e2e', max_fails: 1 };
    const s1 = balancerStateFor(plugin('p1', [targetConfig('a'), targetConfig('b')], balancer), deps);
    const [a, b] = s1.targets;
    s1.settle(a!, { ok: true, latencyMs: 100 });
    s1.settle(b!, { ok: false, latencyMs: 5 }, { kind: 'error' });
    const s2 = balancerStateFor(plugin('p1', [targetConfig('c'), targetConfig('b'), targetConfig('a')], balancer), deps);
    assert.notEqual(s2, s1);
    assert.deepEqual([...s2.health.excluded()], [1], 'b is still circuit-broken at its new position');
    const scores = s2.algorithm as LowestLatencyBalancer;
    assert.equal(scores.scores.value(2), 100, 'a kept its EWMA at its new position');
    assert.equal(scores.scores.value(0), (100 + 200) / 2, 'c starts at the mean of a and b');
  });

  test('a changed algorithm rebuilds without carrying EWMA scores of another kind', () => {
    const deps = fakeDeps();
    const ts = [targetConfig('a'), targetConfig('b')];
    const s1 = balancerStateFor(plugin('p1', ts, { algorithm: 'lowest-latency' }), deps);
    s1.settle(s1.targets[0]!, { ok: true, latencyMs: 100 });
    const s2 = balancerStateFor(plugin('p1', ts, { algorithm: 'lowest-usage' }), deps);
    assert.equal((s2.algorithm as LowestLatencyBalancer).scores.value(0), 0);
  });

  test('plugins are kept apart by id; configs without an id share state by definition', () => {
    const ts = [targetConfig('a'), targetConfig('b')];
    assert.notEqual(balancerStateFor(plugin('p1', ts)), balancerStateFor(plugin('p2', ts)));
    assert.equal(balancerStateFor(plugin(undefined, ts)), balancerStateFor(plugin(undefined, [...ts])));
  });

  test('a changed weight rebuilds the balancer but keeps the circuit state', () => {
    const deps = fakeDeps();
    const s1 = balancerStateFor(plugin('p1', [targetConfig('a', 1), targetConfig('b', 1)], { max_fails: 1 }), deps);
    s1.settle(s1.targets[0]!, { ok: false }, { kind: 'error' });
    const s2 = balancerStateFor(plugin('p1', [targetConfig('a', 1), targetConfig('b', 3)], { max_fails: 1 }), deps);
    assert.notEqual(s2, s1);
    assert.deepEqual([...s2.health.excluded()], [0]);
    assert.equal(s2.targets[1]!.weight, 3);
  });

  test('past MAX_STATES plugins the oldest state is dropped', () => {
    const first = plugin('p-0', [targetConfig('a')]);
    const s0 = balancerStateFor(first);
    for (let i = 1; i <= MAX_STATES; i++) balancerStateFor(plugin(`p-${i}`, [targetConfig('a')]));
    assert.equal(s0.retired, true);
    assert.notEqual(balancerStateFor(first), s0);
  });

  test('a forgotten plugin starts over, even for a config object seen before', () => {
    const c = plugin('p1', [targetConfig('a')]);
    const s1 = balancerStateFor(c);
    forgetBalancerState('p1');
    assert.notEqual(balancerStateFor(c), s1);
  });

  test('semantic configs get a balancing state like any other algorithm', () => {
    const c = plugin('p1', [targetConfig('a', undefined, { description: 'x' })], { algorithm: 'semantic' });
    assert.equal(balancerStateFor(c), balancerStateFor(c));
  });

  test('a request\'s attempts exclude tried and unhealthy targets until none is left', () => {
    const deps = fakeDeps(3);
    const s = balancerStateFor(plugin('p1', [targetConfig('a'), targetConfig('b'), targetConfig('c')], { max_fails: 1 }), deps);
    s.settle(s.targets[1]!, { ok: false }, { kind: 'timeout' });
    const tried = new Set<number>();
    const order: string[] = [];
    for (;;) {
      const t = s.pick({ exclude: s.exclusions(tried) });
      if (t === undefined) break;
      tried.add(t.index);
      order.push(nameOf(t)!);
    }
    assert.deepEqual(order.sort(), ['a', 'c']);
  });
});
