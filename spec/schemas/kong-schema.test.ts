/**
 * The Kong schema array exported as the plugin's `Schema` must pass Kong's MetaSchema rules (declarative
 * attributes only: it travels to Kong as data) and carry the definition's facts.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { KONG_SCHEMA_FIELDS } from '../../schemas/kong-schema';
import { validateConfig } from '../../schemas/validate';
import { Schema } from '../../plugins/ai-proxy-advanced/index';
import { checkKongFields } from '../helpers/schema-kong-metaschema';

type Obj = Record<string, unknown>;

function field(path: string): Obj {
  let fields: unknown = KONG_SCHEMA_FIELDS;
  let cur: Obj | undefined;
  for (const part of path.split('.')) {
    const isArray = part.endsWith('[]');
    const name = isArray ? part.slice(0, -2) : part;
    const entry = (fields as Obj[]).find((f) => name in f);
    assert.ok(entry, `no field ${name} in ${path}`);
    cur = entry[name] as Obj;
    if (isArray) cur = cur.elements as Obj;
    fields = cur.fields;
  }
  return cur as Obj;
}

test('the plugin module exports the derived Kong schema array', () => {
  assert.equal(Schema, KONG_SCHEMA_FIELDS);
});

test('the Kong schema array is well-formed for Kong MetaSchema', () => {
  assert.deepEqual(checkKongFields(KONG_SCHEMA_FIELDS), []);
});

test('the Kong schema array survives a JSON round trip unchanged (no functions, no undefined)', () => {
  assert.deepEqual(JSON.parse(JSON.stringify(KONG_SCHEMA_FIELDS)), KONG_SCHEMA_FIELDS);
});

test('the MetaSchema checker catches what Kong would refuse', () => {
  const bad = [
    { a: { type: 'string', between: [1, 2] } },
    { b: { type: 'record' } },
    { c: { type: 'string', description: 'short' } },
    { d: { type: 'integer', default: 'x' } },
    { e: { type: 'string', custom_validator: () => true } },
    { f: { type: 'record', fields: [], entity_checks: [{ mutually_required: ['nope'] }] } },
  ];
  for (const entry of bad) {
    const name = Object.keys(entry)[0] as string;
    const problems = checkKongFields([entry]);
    assert.ok(problems.length > 0 && problems.every((p) => p.startsWith(`config.${name}`)), `${name}: ${problems.join('; ')}`);
  }
});

test('the Kong schema array carries types, defaults, ranges, flags and the declarative entity checks', () => {
  assert.equal(field('targets').type, 'array');
  assert.equal(field('targets').required, true);
  assert.equal(field('targets[].route_type').required, true);
  assert.deepEqual(field('targets[].weight'), {
    type: 'integer',
    default: 100,
    between: [1, 65535],
    description: 'The weight this target gets within the upstream loadbalancer (1-65535). Only used by ai-proxy-advanced.',
  });
  assert.equal(field('targets[].auth.header_value').referenceable, true);
  assert.equal(field('targets[].auth.header_value').encrypted, true);
  assert.equal(field('max_request_body_size').default, 1048576);
  assert.equal(field('vectordb.redis.port').referenceable, true);
  assert.deepEqual(field('balancer.failover_criteria').default, ['error', 'timeout']);
  assert.deepEqual((field('balancer').default as Obj).algorithm, 'round-robin');
  assert.equal((field('targets[]').entity_checks as unknown[]).length, 10);
  assert.deepEqual(field('targets[].model.options.gemini').entity_checks, [
    { mutually_required: ['api_endpoint', 'project_id', 'location_id'] },
  ]);
});

test('records Kong creates from their default are the same records validateConfig creates', () => {
  const r = validateConfig({ targets: [{ route_type: 'llm/v1/chat', model: { provider: 'openai' } }], vectordb: { strategy: 'redis', dimensions: 2, distance_metric: 'cosine' } });
  assert.ok(r.ok);
  const dropNulls = (o: unknown): unknown =>
    o && typeof o === 'object' && !Array.isArray(o)
      ? Object.fromEntries(Object.entries(o).filter(([, v]) => v !== null).map(([k, v]) => [k, dropNulls(v)]))
      : o;
  assert.deepEqual(field('balancer').default, dropNulls(r.config.balancer));
  assert.deepEqual(field('targets[].logging').default, dropNulls(r.config.targets[0]?.logging));
  assert.deepEqual(field('vectordb.redis').default, dropNulls(r.config.vectordb?.redis));
  assert.deepEqual(field('vectordb.pgvector').default, dropNulls(r.config.vectordb?.pgvector));
});
