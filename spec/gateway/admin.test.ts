import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { type Harness, startHarness } from '../helpers/gateway-harness';
import { send, startUpstream, type Upstream } from '../helpers/gateway-upstream';

const json = (body: unknown) => ({ headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body) });

describe('Admin API', () => {
  let h: Harness;
  let up: Upstream;
  before(async () => {
    up = await startUpstream();
    h = await startHarness({ plugins: [{ name: 'probe', priority: 100 }] });
  });
  after(async () => {
    await h.close();
    await up.close();
  });

  test('GET / and /status describe the node', async () => {
    const root = (await send(`${h.admin}/`)).json();
    assert.equal(root.tagline, 'Welcome to kong');
    assert.match(root.version, /^3\.9\.\d+$/);
    assert.deepEqual(root.plugins.available_on_server.probe, { version: '1.2.3', priority: 100 });
    assert.equal(root.configuration.database, 'off');
    const status = (await send(`${h.admin}/status`)).json();
    assert.deepEqual(status.database, { reachable: true });
    assert.match(status.configuration_hash, /^[0-9a-f]{32}$/);
    assert.deepEqual((await send(`${h.admin}/plugins/enabled`)).json(), { enabled_plugins: ['probe'] });
  });

  test('creates, reads, updates and deletes services and routes, and changes apply without a restart', async () => {
    const svc = await send(`${h.admin}/services`, { method: 'POST', ...json({ name: 'api', url: `${up.url}/v1` }) });
    assert.equal(svc.status, 201, svc.body);
    assert.equal(svc.json().protocol, 'http');
    assert.equal(svc.json().port, up.port);
    assert.equal(svc.json().path, '/v1');
    assert.equal(svc.json().retries, 5);
    assert.equal(svc.json().connect_timeout, 60000);
    const route = await send(`${h.admin}/services/api/routes`, { method: 'POST', ...json({ name: 'r1', paths: ['/api'] }) });
    assert.equal(route.status, 201, route.body);
    assert.deepEqual(route.json().service, { id: svc.json().id });
    assert.deepEqual(route.json().protocols, ['http', 'https']);
    assert.equal(route.json().strip_path, true);
    assert.equal((await send(`${h.proxy}/api/x`)).json().echo, '/v1/x');

    const patched = await send(`${h.admin}/routes/r1`, { method: 'PATCH', ...json({ strip_path: false }) });
    assert.equal(patched.status, 200);
    assert.equal((await send(`${h.proxy}/api/x`)).json().echo, '/v1/api/x');

    const list = (await send(`${h.admin}/services/api/routes`)).json();
    assert.equal(list.data.length, 1);
    assert.equal(list.next, null);

    assert.equal((await send(`${h.admin}/services/api`, { method: 'DELETE' })).status, 400, 'a service with routes cannot be deleted');
    assert.equal((await send(`${h.admin}/routes/r1`, { method: 'DELETE' })).status, 204);
    assert.equal((await send(`${h.admin}/routes/r1`)).status, 404);
    assert.deepEqual((await send(`${h.admin}/routes/r1`)).json(), { message: 'Not found' });
    assert.equal((await send(`${h.proxy}/api/x`)).status, 404);
    assert.equal((await send(`${h.admin}/services/api`, { method: 'DELETE' })).status, 204);
  });

  test('PUT creates by name and replaces', async () => {
    const put = await send(`${h.admin}/services/put-me`, { method: 'PUT', ...json({ host: 'example.com' }) });
    assert.equal(put.status, 200, put.body);
    assert.equal(put.json().name, 'put-me');
    const again = await send(`${h.admin}/services/put-me`, { method: 'PUT', ...json({ host: 'example.org', port: 8080 }) });
    assert.equal(again.json().id, put.json().id);
    assert.equal(again.json().host, 'example.org');
    await send(`${h.admin}/services/put-me`, { method: 'DELETE' });
  });

  test('rejects invalid entities with Kong schema-violation errors', async () => {
    const r = await send(`${h.admin}/routes`, { method: 'POST', ...json({ paths: ['no-slash'], protocols: ['http'] }) });
    assert.equal(r.status, 400);
    assert.deepEqual(r.json(), {
      code: 2,
      name: 'schema violation',
      message: 'schema violation (paths.1: should start with: / (fixed path) or ~/ (regex path))',
      fields: { paths: ['should start with: / (fixed path) or ~/ (regex path)'] },
    });
    const empty = await send(`${h.admin}/routes`, { method: 'POST', ...json({}) });
    assert.deepEqual(empty.json().fields, { '@entity': ["must set one of 'methods', 'hosts', 'headers', 'paths', 'snis' when 'protocols' is 'https'"] });
    const svc = await send(`${h.admin}/services`, { method: 'POST', ...json({ host: 'x.test', port: 70000, retries: 'a' }) });
    assert.equal(svc.json().message, '2 schema violations (port: value should be between 0 and 65535; retries: expected an integer)');
    const badJson = await send(`${h.admin}/services`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: '{nope' });
    assert.deepEqual(badJson.json(), { message: 'Cannot parse JSON body' });
  });

  test('rejects duplicate names and dangling references', async () => {
    await send(`${h.admin}/services`, { method: 'POST', ...json({ name: 'dup', host: 'a.test' }) });
    const dup = await send(`${h.admin}/services`, { method: 'POST', ...json({ name: 'dup', host: 'b.test' }) });
    assert.equal(dup.status, 409);
    assert.equal(dup.json().code, 5);
    assert.equal(dup.json().name, 'unique constraint violation');
    const dangling = await send(`${h.admin}/routes`, { method: 'POST', ...json({ paths: ['/x'], service: { id: '00000000-0000-4000-8000-000000000000' } }) });
    assert.equal(dangling.status, 400);
    assert.equal(dangling.json().code, 4);
    await send(`${h.admin}/services/dup`, { method: 'DELETE' });
  });

  test('validates plugin configs with the schema the plugin server reported, filling defaults', async () => {
    const ok = await send(`${h.admin}/plugins`, { method: 'POST', ...json({ name: 'probe', config: { mode: 'pass' } }) });
    assert.equal(ok.status, 201, ok.body);
    assert.equal(ok.json().config.status, 200);
    assert.deepEqual(ok.json().config.nested, { level: 3, label: null });
    assert.deepEqual(ok.json().protocols, ['grpc', 'grpcs', 'http', 'https']);
    assert.equal(ok.json().enabled, true);
    const dup = await send(`${h.admin}/plugins`, { method: 'POST', ...json({ name: 'probe' }) });
    assert.equal(dup.status, 409);

    const bad = await send(`${h.admin}/schemas/plugins/validate`, {
      method: 'POST',
      ...json({ name: 'probe', config: { mode: 'loud', status: 700, nested: { level: 9, label: 'x' }, tags_list: ['a', 3], extra: 1 } }),
    });
    assert.equal(bad.status, 400);
    assert.deepEqual(bad.json().fields, {
      config: {
        mode: 'expected one of: none, exit, pass, rewrite-upstream, phase-error, bad-args, unknown-method, error, throw, slow, response-exit, rewrite-exit, body-max',
        status: 'value should be between 100 and 599',
        nested: { level: 'value should be between 1 and 5', label: 'length must be at least 2' },
        tags_list: [null, 'expected a string'],
        extra: 'unknown field',
      },
    });
    assert.match(bad.json().message, /^5 schema violations \(config\.extra: unknown field; config\.mode: expected one of/);
    const good = await send(`${h.admin}/schemas/plugins/validate`, { method: 'POST', ...json({ name: 'probe', config: {} }) });
    assert.deepEqual(good.json(), { message: 'schema validation successful' });

    const unknown = await send(`${h.admin}/plugins`, { method: 'POST', ...json({ name: 'rate-limiting' }) });
    assert.deepEqual(unknown.json().fields, {
      name: "plugin 'rate-limiting' is enabled but no plugin server provides it (bundled Lua plugins cannot run in the local gateway; use Kong for them)",
    });
    const typo = await send(`${h.admin}/plugins`, { method: 'POST', ...json({ name: 'rate-limitng' }) });
    assert.deepEqual(typo.json().fields, { name: "plugin 'rate-limitng' not enabled; add it to the 'plugins' configuration property" });

    const schema = await send(`${h.admin}/schemas/plugins/probe`);
    const configField = (schema.json().fields as Array<Record<string, any>>).find((f) => f.config)?.config;
    assert.equal(configField.type, 'record');
    assert.ok((configField.fields as unknown[]).some((f) => Object.keys(f as object)[0] === 'mode'));
    assert.equal((await send(`${h.admin}/schemas/plugins/nope`)).status, 404);
    await send(`${h.admin}/plugins/${ok.json().id}`, { method: 'DELETE' });
  });

  test('POST /config replaces everything and reports declarative errors with code 14', async () => {
    const bad = await send(`${h.admin}/config`, {
      method: 'POST',
      ...json({ _format_version: '3.0', services: [{ name: 'a', host: 'a.test', routes: [{ name: 'x', paths: ['bad'] }] }] }),
    });
    assert.equal(bad.status, 400);
    assert.equal(bad.json().code, 14);
    assert.equal(bad.json().name, 'invalid declarative configuration');
    assert.deepEqual(bad.json().flattened_errors[0].errors, [{ type: 'field', field: 'paths.1', message: 'should start with: / (fixed path) or ~/ (regex path)' }]);
    assert.equal(bad.json().flattened_errors[0].entity_path, 'services[1].routes[1]');
    assert.deepEqual(bad.json().fields, { services: [{ routes: [{ paths: ['should start with: / (fixed path) or ~/ (regex path)'] }] }] });

    const yaml = `_format_version: "3.0"\nservices:\n  - name: y\n    url: ${up.url}\n    routes:\n      - name: yr\n        paths: [/yaml]\n`;
    const ok = await send(`${h.admin}/config`, { method: 'POST', headers: { 'Content-Type': 'text/yaml' }, body: yaml });
    assert.equal(ok.status, 201, ok.body);
    assert.equal((await send(`${h.proxy}/yaml`)).status, 200);
    assert.equal((await send(`${h.admin}/services`)).json().data.length, 1);
  });

  test('plugins can be created and listed under a route or a service', async () => {
    const svc = (await send(`${h.admin}/services`, { method: 'POST', ...json({ name: 'nest', host: 'n.test' }) })).json();
    const route = (await send(`${h.admin}/services/nest/routes`, { method: 'POST', ...json({ name: 'nest-r', paths: ['/nest'] }) })).json();
    const onRoute = await send(`${h.admin}/routes/nest-r/plugins`, { method: 'POST', ...json({ name: 'probe' }) });
    assert.equal(onRoute.status, 201, onRoute.body);
    assert.deepEqual(onRoute.json().route, { id: route.id });
    assert.equal(onRoute.json().service, null);
    const onService = await send(`${h.admin}/services/${svc.id}/plugins`, { method: 'POST', ...json({ name: 'probe', instance_name: 'svc-probe' }) });
    assert.equal(onService.status, 201, onService.body);
    assert.equal((await send(`${h.admin}/routes/nest-r/plugins`)).json().data.length, 1);
    assert.equal((await send(`${h.admin}/plugins/svc-probe`)).json().id, onService.json().id);
    assert.deepEqual((await send(`${h.admin}/routes/nest-r/service`)).json().id, svc.id);
    // Deleting the route cascades to its plugins, as Kong's on_delete = "cascade".
    assert.equal((await send(`${h.admin}/routes/nest-r`, { method: 'DELETE' })).status, 204);
    assert.equal((await send(`${h.admin}/plugins/${onRoute.json().id}`)).status, 404);
    assert.equal((await send(`${h.admin}/schemas/routes`)).json().fields.some((f: object) => 'paths' in f), true);
  });

  test('unknown paths and methods get Kong messages', async () => {
    assert.deepEqual((await send(`${h.admin}/nope`)).json(), { message: 'Not found' });
    assert.equal((await send(`${h.admin}/services`, { method: 'DELETE' })).status, 405);
  });
});

describe('extra config validators (the hook for cross-field rules)', () => {
  let h: Harness;
  before(async () => {
    h = await startHarness({
      plugins: [{ name: 'probe', priority: 100 }],
      gatewayOptions: {
        extraValidators: new Map([['probe', (config: Record<string, unknown>) => (config.mode === 'slow' && config.sleep === 0 ? { sleep: 'must be set when mode is slow' } : undefined)]]),
      },
    });
  });
  after(() => h.close());

  test('run after the Kong schema checks and report like them', async () => {
    const bad = await send(`${h.admin}/plugins`, { method: 'POST', ...json({ name: 'probe', config: { mode: 'slow' } }) });
    assert.equal(bad.status, 400);
    assert.deepEqual(bad.json().fields, { config: { sleep: 'must be set when mode is slow' } });
    assert.equal(bad.json().message, 'schema violation (config.sleep: must be set when mode is slow)');
    const ok = await send(`${h.admin}/plugins`, { method: 'POST', ...json({ name: 'probe', config: { mode: 'slow', sleep: 5 } }) });
    assert.equal(ok.status, 201);
  });
});
