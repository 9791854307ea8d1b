import assert from 'node:assert/strict';
import { test } from 'node:test';
import { schemaViolation } from '../../kong/gateway/schema/errors';
import { checkRecord, type FieldList } from '../../kong/gateway/schema/kong-schema';
import { luaMatch } from '../../kong/gateway/schema/lua-pattern';

const FIELDS: FieldList = [
  { name: { type: 'string', required: true } },
  { size: { type: 'integer', default: 10, between: [1, 100] } },
  { ratio: { type: 'number', gt: 0 } },
  { kind: { type: 'string', one_of: ['a', 'b'], default: 'a' } },
  { list: { type: 'array', elements: { type: 'string', len_max: 3 }, default: [] } },
  { set: { type: 'set', elements: { type: 'string' } } },
  { map: { type: 'map', keys: { type: 'string' }, values: { type: 'integer' } } },
  { opt: { type: 'record', fields: [{ x: { type: 'integer', default: 1 } }] } },
  { req: { type: 'record', required: true, fields: [{ y: { type: 'boolean', default: true } }, { z: { type: 'string' } }] } },
  { code: { type: 'string', match: '^%u%u%d$' } },
];

test('defaults are filled, unset optional fields become null and required records are expanded', () => {
  const r = checkRecord(FIELDS, { name: 'n' });
  assert.equal(r.errors, undefined);
  assert.deepEqual(r.value, { name: 'n', size: 10, ratio: null, kind: 'a', list: [], set: null, map: null, opt: null, req: { y: true, z: null }, code: null });
});

test('a given record gets its own defaults, a set loses duplicates', () => {
  const r = checkRecord(FIELDS, { name: 'n', opt: {}, set: ['a', 'a', 'b'] });
  assert.deepEqual(r.value.opt, { x: 1 });
  assert.deepEqual(r.value.set, ['a', 'b']);
});

test("each violation carries Kong's message at the field's place", () => {
  const r = checkRecord(FIELDS, {
    size: 0,
    ratio: 0,
    kind: 'c',
    list: ['ok', 'toolong'],
    map: { a: 'x' },
    req: { y: 'no' },
    code: 'ab1',
    bogus: true,
  });
  assert.deepEqual(r.errors, {
    name: 'required field missing',
    size: 'value should be between 1 and 100',
    ratio: 'value must be greater than 0',
    kind: 'expected one of: a, b',
    list: [null, 'length must be at most 3'],
    map: 'expected an integer',
    req: { y: 'expected a boolean' },
    code: 'invalid value: ab1',
    bogus: 'unknown field',
  });
});

test('empty strings are refused unless len_min allows them', () => {
  assert.deepEqual(checkRecord(FIELDS, { name: '' }).errors, { name: 'length must be at least 1' });
  assert.equal(checkRecord([{ s: { type: 'string', len_min: 0 } }], { s: '' }).errors, undefined);
});

test('a vault reference passes in a referenceable string field only', () => {
  const fields: FieldList = [{ key: { type: 'string', referenceable: true, len_min: 10 } }, { plain: { type: 'string', len_min: 20 } }];
  assert.deepEqual(checkRecord(fields, { key: '{vault://env/x}', plain: '{vault://env/x}' }).errors, { plain: 'length must be at least 20' });
});

test('schema-violation messages follow kong/db/errors.lua', () => {
  assert.equal(schemaViolation({ a: 'bad' }).body.message, 'schema violation (a: bad)');
  const e = schemaViolation({ config: { b: 'x', a: { c: 'y' } }, '@entity': ['whole'] });
  assert.equal(e.body.message, '3 schema violations (whole; config.a: {c="y"}; config.b: x)');
  assert.equal(e.body.code, 2);
  assert.equal(e.status, 400);
});

test('Lua patterns match as string.match does', () => {
  assert.ok(luaMatch('GET', '^%u+$'));
  assert.ok(!luaMatch('Get', '^%u+$'));
  assert.ok(luaMatch('a.b', '%.'));
  assert.ok(luaMatch('*.example.com', '^%*%.'));
  assert.ok(!luaMatch('a*b*c', '^[^*]*%*?[^*]*$'));
  assert.ok(luaMatch('/path-x_1', '^/[%w%.%-%_]*$'));
});

test("a record's entity_checks run with Kong's messages and skip rules", () => {
  const auth: FieldList = [
    { header_name: { type: 'string' } },
    { header_value: { type: 'string', referenceable: true } },
    { provider: { type: 'string', one_of: ['openai', 'azure', 'bedrock'] } },
    { instance: { type: 'string' } },
    { allow_override: { type: 'boolean', default: false } },
  ];
  const checks = [
    { mutually_required: ['header_name', 'header_value'] },
    { conditional_at_least_one_of: { if_field: 'provider', if_match: { one_of: ['azure'] }, then_at_least_one_of: ['instance'], then_err: 'must set %s for azure provider' } },
    { conditional: { if_field: 'provider', if_match: { one_of: ['bedrock'] }, then_field: 'allow_override', then_match: { ne: true }, then_err: 'bedrock only supports allow_override = false' } },
  ];
  const fields: FieldList = [{ auth: { type: 'record', fields: auth, entity_checks: checks } }];
  assert.deepEqual(checkRecord(fields, { auth: { header_name: 'a', provider: 'azure' } }).errors, {
    auth: { '@entity': ["all or none of these fields must be set: 'header_name', 'header_value'", "must set 'instance' for azure provider"] },
  });
  assert.deepEqual(checkRecord(fields, { auth: { provider: 'bedrock', allow_override: true } }).errors, {
    auth: { allow_override: 'value must not be true', '@entity': ['bedrock only supports allow_override = false'] },
  });
  assert.equal(checkRecord(fields, { auth: { header_name: 'a', header_value: '{vault://env/k}', provider: 'openai' } }).errors, undefined);
  const top = checkRecord(auth, { header_name: 'x' }, [{ at_least_one_of: ['instance', 'provider'] }]);
  assert.deepEqual(top.errors?.['@entity'], ["at least one of these fields must be non-empty: 'instance', 'provider'"]);
});
