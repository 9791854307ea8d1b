/**
 * Admin API form bodies as Kong decodes them (kong/api/arguments.lua decode/infer, arguments_decoder.lua), the
 * endpoints Kong's docs use with curl, `POST /config?check_hash=1` and the `size` checks.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { decodeArgs, inferRecord } from '../../kong/gateway/admin/arguments';
import { BadRequest } from '../../kong/gateway/admin/body';
import { ROUTE_FIELDS, SERVICE_FIELDS } from '../../kong/gateway/schema/entities';
import { type Harness, startHarness } from '../helpers/gateway-harness';
import { send } from '../helpers/gateway-upstream';

const form = (body: string) => ({ headers: { 'Content-Type': 'application/x-www-form-urlencoded' }, body });
const json = (body: unknown) => ({ headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body) });
const pairs = (text: string) => [...new URLSearchParams(text)];

describe('form decoding (arguments.lua decode)', () => {
  test('indexed, appended and dotted keys nest as Kong nests them, positions 1-based', () => {
    assert.deepEqual(
      decodeArgs(
        pairs(
          'name=ai&config.targets[1].model.provider=openai&config.targets[1].model.name=gpt-4o' +
            '&config.targets[2].model.provider=mistral&config.balancer.algorithm=round-robin',
        ),
      ),
      {
        name: 'ai',
        config: {
          targets: [{ model: { provider: 'openai', name: 'gpt-4o' } }, { model: { provider: 'mistral' } }],
          balancer: { algorithm: 'round-robin' },
        },
      },
    );
    // Positions order the list whatever the order given; `[]` appends; a repeated key collects its values.
    assert.deepEqual(decodeArgs(pairs('paths[2]=/b&paths[1]=/a')), { paths: ['/a', '/b'] });
    assert.deepEqual(decodeArgs(pairs('hosts[]=a.test&hosts[]=b.test')), { hosts: ['a.test', 'b.test'] });
    assert.deepEqual(decodeArgs(pairs('methods=GET&methods=POST')), { methods: ['GET', 'POST'] });
    // A non-numeric bracket is a map key (arguments_decoder.lua extract_param_keys `is_map`).
    assert.deepEqual(decodeArgs(pairs('headers[x-a][]=1&headers[x-a][]=2')), { headers: { 'x-a': ['1', '2'] } });
    // Leading or trailing dots keep the key flat (decode_arg).
    assert.deepEqual(decodeArgs(pairs('.a=1')), { '.a': '1' });
  });

  test('hostile keys are refused with 400 before any object is built', () => {
    for (const key of ['__proto__.x', 'config.constructor.prototype', 'a[__proto__]', 'paths[0]', 'paths[99999999]', `${'a.'.repeat(100)}b`]) {
      assert.throws(() => decodeArgs([[key, '1']]), (e: unknown) => e instanceof BadRequest && e.status === 400, key);
    }
    assert.throws(() => decodeArgs(pairs('a=1&a.b=2')), BadRequest, 'a value and a record at one place');
    assert.throws(() => decodeArgs(pairs('a[1]=1&a[1]=2')), BadRequest, 'one position twice');
    assert.equal(({} as Record<string, unknown>).x, undefined);
  });

  test('values are typed by the schema only (infer): name=12345 stays a string', () => {
    const svc = inferRecord(decodeArgs(pairs('name=12345&port=8080&retries=0x10&enabled=false&tags=one&path=&read_timeout=soon')), SERVICE_FIELDS);
    assert.deepEqual(svc, { name: '12345', port: 8080, retries: 16, enabled: false, tags: ['one'], path: null, read_timeout: 'soon' });
    const route = inferRecord(decodeArgs(pairs('paths=/x&strip_path=true&regex_priority=-3&unknown=7')), ROUTE_FIELDS);
    assert.deepEqual(route, { paths: ['/x'], strip_path: true, regex_priority: -3, unknown: '7' });
  });
});

describe('Admin API forms, nested endpoints, check_hash and size', () => {
  let h: Harness;
  before(async () => {
    h = await startHarness({ plugins: [{ name: 'probe', priority: 100 }] });
  });
  after(() => h.close());

  test('POST /schemas/{entity}/validate takes form bodies typed by the entity schema', async () => {
    const ok = await send(`${h.admin}/schemas/services/validate`, { method: 'POST', ...form('name=12345&host=a.test&port=8080&tags=x') });
    assert.deepEqual([ok.status, ok.json()], [200, { message: 'schema validation successful' }]);
    const bad = await send(`${h.admin}/schemas/services/validate`, { method: 'POST', ...form('host=a.test&port=eighty') });
    assert.equal(bad.status, 400);
    assert.deepEqual(bad.json().fields, { port: 'expected an integer' });
    const route = await send(`${h.admin}/schemas/routes/validate`, { method: 'POST', ...form('paths[1]=/x&paths[2]=/y&methods=GET') });
    assert.equal(route.status, 200, route.body);
    const badRoute = await send(`${h.admin}/schemas/routes/validate`, { method: 'POST', ...form('paths[1]=/x&paths[2]=y') });
    assert.deepEqual(badRoute.json().fields, { paths: [null, 'should start with: / (fixed path) or ~/ (regex path)'] });
    // A route naming a service that does not exist: the schema alone is checked, as kong.lua validate_schema.
    const dangling = await send(`${h.admin}/schemas/routes/validate`, { method: 'POST', ...json({ paths: ['/x'], service: { id: '00000000-0000-4000-8000-000000000000' } }) });
    assert.equal(dangling.status, 200, dangling.body);
    assert.deepEqual((await send(`${h.admin}/schemas/upstreams/validate`, { method: 'POST', ...json({}) })).json(), { message: "No entity named 'upstreams'" });
  });

  test('plugin forms are typed by the named plugin config schema', async () => {
    const ok = await send(`${h.admin}/schemas/plugins/validate`, {
      method: 'POST',
      ...form('name=probe&config.status=201&config.tags_list=only&config.nested.level=4&config.value=12345&protocols[]=http'),
    });
    assert.equal(ok.status, 200, ok.body);
    const bad = await send(`${h.admin}/schemas/plugins/validate`, { method: 'POST', ...form('name=probe&config.status=lots&config.nested.level=9&config.value=x&config.value=y') });
    assert.equal(bad.status, 400);
    assert.deepEqual(bad.json().fields, { config: { status: 'expected an integer', nested: { level: 'value should be between 1 and 5' }, value: 'expected a string' } });
    // multipart (`curl -F`) the same way.
    const b = 'FormB0undary';
    const part = (n: string, v: string) => `--${b}\r\nContent-Disposition: form-data; name="${n}"\r\n\r\n${v}\r\n`;
    const mp = await send(`${h.admin}/schemas/plugins/validate`, {
      method: 'POST',
      headers: { 'Content-Type': `multipart/form-data; boundary=${b}` },
      body: `${part('name', 'probe')}${part('config.status', '202')}${part('config.tags_list[1]', 'a')}${part('config.tags_list[2]', 'b')}--${b}--\r\n`,
    });
    assert.equal(mp.status, 200, mp.body);
    const mpBad = await send(`${h.admin}/schemas/plugins/validate`, {
      method: 'POST',
      headers: { 'Content-Type': `multipart/form-data; boundary=${b}` },
      body: `${part('name', 'probe')}${part('config.status', '7')}--${b}--\r\n`,
    });
    assert.deepEqual(mpBad.json().fields, { config: { status: 'value should be between 100 and 599' } });
    // A part sent as application/json brings typed JSON; one that is no JSON stays text (arguments.lua).
    const jsonPart = (n: string, v: string) => `--${b}\r\nContent-Disposition: form-data; name="${n}"\r\nContent-Type: application/json\r\n\r\n${v}\r\n`;
    const typed = await send(`${h.admin}/schemas/plugins/validate`, {
      method: 'POST',
      headers: { 'Content-Type': `multipart/form-data; boundary=${b}` },
      body: `${part('name', 'probe')}${jsonPart('config', '{"status":201,"nested":{"level":2}}')}--${b}--\r\n`,
    });
    assert.equal(typed.status, 200, typed.body);
    const notJson = await send(`${h.admin}/schemas/plugins/validate`, {
      method: 'POST',
      headers: { 'Content-Type': `multipart/form-data; boundary=${b}` },
      body: `${part('name', 'probe')}${jsonPart('config.value', 'plain text')}--${b}--\r\n`,
    });
    assert.equal(notJson.status, 200, notJson.body);
    const evil = await send(`${h.admin}/schemas/plugins/validate`, {
      method: 'POST',
      headers: { 'Content-Type': `multipart/form-data; boundary=${b}` },
      body: `${part('name', 'probe')}${jsonPart('config', '{"__proto__":{"x":1}}')}--${b}--\r\n`,
    });
    assert.equal(evil.status, 400);
  });

  test('POST /config?check_hash=1 answers 304 for the config already loaded (kong/api/routes/config.lua)', async () => {
    const yaml = '_format_version: "3.0"\nservices:\n- name: h\n  host: h.test\n  routes:\n  - name: hr\n    paths: [/h]\n';
    const post = (q: string, body = yaml) => send(`${h.admin}/config${q}`, { method: 'POST', headers: { 'Content-Type': 'text/yaml' }, body });
    assert.equal((await post('')).status, 201);
    const status = (await send(`${h.admin}/status`)).json();
    assert.equal(status.configuration_hash, (await import('node:crypto')).createHash('md5').update(yaml).digest('hex'));
    const same = await post('?check_hash=1');
    assert.equal(same.status, 304);
    assert.equal(same.body, '');
    assert.equal((await post('')).status, 201, 'without check_hash the same config loads again');
    const changed = yaml.replace('/h]', '/h2]');
    assert.equal((await post('?check_hash=1', changed)).status, 201);
    assert.equal((await send(`${h.admin}/routes/hr`)).json().paths[0], '/h2');
    // In a form body too (self.params merges query and body).
    const f = await send(`${h.admin}/config`, { method: 'POST', ...form(`check_hash=1&config=${encodeURIComponent(changed)}`) });
    assert.equal(f.status, 304);
  });

  test('`size` is checked as Kong checks it: 400 "invalid size"', async () => {
    for (const [size, message] of [
      ['abc', 'size must be a number'],
      ['0', 'size must be an integer between 1 and 1000'],
      ['1001', 'size must be an integer between 1 and 1000'],
      ['1.5', 'size must be an integer between 1 and 1000'],
    ] as const) {
      const r = await send(`${h.admin}/routes?size=${size}`);
      assert.equal(r.status, 400, size);
      assert.deepEqual(r.json(), { code: 9, name: 'invalid size', message });
    }
    assert.equal((await send(`${h.admin}/routes?size=1000`)).status, 200);
    assert.equal((await send(`${h.admin}/services/h/routes?size=x`)).status, 400);
  });
});

describe('check_hash against the declarative_config file loaded at start', () => {
  let h: Harness;
  before(async () => {
    h = await startHarness({ config: { _format_version: '3.0', services: [{ name: 'f', host: 'f.test', routes: [{ name: 'fr', paths: ['/f'] }] }] } });
  });
  after(() => h.close());

  test('the same file text is a 304; another text loads', async () => {
    const text = readFileSync(path.join(h.dir, 'kong.yml'), 'utf8');
    const post = (body: string) => send(`${h.admin}/config?check_hash=1`, { method: 'POST', headers: { 'Content-Type': 'text/yaml' }, body });
    assert.equal((await post(text)).status, 304);
    assert.equal((await post(`${text}\n# changed\n`)).status, 201);
  });
});
