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

  const config = (doc: Record<string, unknown>) => send(`${h.admin}/config`, { method: 'POST', ...json({ _format_version: '3.0', ...doc }) });

  test('entities come from POST /config, read back with defaults, and changes apply without a restart', async () => {
    const r = await config({ services: [{ name: 'api', url: `${up.url}/v1`, routes: [{ name: 'r1', paths: ['/api'] }] }] });
    assert.equal(r.status, 201, r.body);
    const svc = (await send(`${h.admin}/services/api`)).json();
    assert.equal(svc.protocol, 'http');
    assert.equal(svc.port, up.port);
    assert.equal(svc.path, '/v1');
    assert.equal(svc.retries, 5);
    assert.equal(svc.connect_timeout, 60000);
    const route = (await send(`${h.admin}/routes/r1`)).json();
    assert.deepEqual(route.service, { id: svc.id });
    assert.deepEqual(route.protocols, ['http', 'https']);
    assert.equal(route.strip_path, true);
    assert.equal((await send(`${h.proxy}/api/x`)).json().echo, '/v1/x');
    const list = (await send(`${h.admin}/services/api/routes`)).json();
    assert.equal(list.data.length, 1);
    assert.equal(list.next, null);

    assert.equal((await config({ services: [{ name: 'api', url: `${up.url}/v1`, routes: [{ name: 'r1', paths: ['/api'], strip_path: false }] }] })).status, 201);
    assert.equal((await send(`${h.proxy}/api/x`)).json().echo, '/v1/api/x');
    assert.equal((await config({})).status, 201);
    assert.deepEqual((await send(`${h.admin}/routes/r1`)).json(), { message: 'Not found' });
    assert.equal((await send(`${h.proxy}/api/x`)).status, 404);
  });

  test('entity writes are refused as DB-less Kong refuses them (405, code 12), after the schema checks', async () => {
    // kong/db/strategies/off/init.lua: insert/update/upsert/delete are "unsupported" when database = off.
    assert.equal((await config({ services: [{ name: 'keep', host: 'k.test', routes: [{ name: 'keep-r', paths: ['/keep'] }] }] })).status, 201);
    const post = await send(`${h.admin}/services`, { method: 'POST', ...json({ name: 'new', url: 'http://n.test' }) });
    assert.equal(post.status, 405);
    assert.deepEqual(post.json(), { code: 12, name: 'operation unsupported', message: "cannot create 'services' entities when not using a database" });
    const nested = await send(`${h.admin}/services/keep/routes`, { method: 'POST', ...json({ paths: ['/n'] }) });
    assert.equal(nested.json().message, "cannot create 'routes' entities when not using a database");
    const patch = await send(`${h.admin}/routes/keep-r`, { method: 'PATCH', ...json({ strip_path: false }) });
    assert.equal(patch.status, 405);
    assert.equal(patch.json().message, "cannot update 'routes' entities by 'name' when not using a database");
    const id = (await send(`${h.admin}/routes/keep-r`)).json().id;
    const patchById = await send(`${h.admin}/routes/${id}`, { method: 'PATCH', ...json({ strip_path: false }) });
    assert.equal(patchById.json().message, "cannot update 'routes' entities when not using a database");
    const put = await send(`${h.admin}/services/put-me`, { method: 'PUT', ...json({ host: 'example.com' }) });
    assert.equal(put.status, 405);
    assert.equal(put.json().message, "cannot create or update 'services' entities by 'name' when not using a database");
    const del = await send(`${h.admin}/services/keep`, { method: 'DELETE' });
    assert.equal(del.status, 405);
    assert.equal(del.json().message, "cannot remove 'services' entities by 'name' when not using a database");
    // The DAO looks the entity up first: deleting what is not there succeeds.
    assert.equal((await send(`${h.admin}/services/not-there`, { method: 'DELETE' })).status, 204);
    // Invalid writes are still schema violations (the DAO validates before the strategy refuses).
    const badPatch = await send(`${h.admin}/routes/keep-r`, { method: 'PATCH', ...json({ paths: ['nope'] }) });
    assert.equal(badPatch.status, 400);
    assert.equal(badPatch.json().code, 2);
    const badPut = await send(`${h.admin}/services/put-me`, { method: 'PUT', ...json({ host: 'example.com', port: 70000 }) });
    assert.equal(badPut.status, 400);
    // Nothing changed.
    assert.equal((await send(`${h.admin}/services`)).json().data.length, 1);
    assert.equal((await send(`${h.admin}/routes/keep-r`)).json().strip_path, true);
    assert.equal((await send(`${h.admin}/`)).json().configuration.database, 'off');
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

  test('duplicate names and dangling references in a declarative config are refused with code 14', async () => {
    const dup = await config({ services: [{ name: 'dup', host: 'a.test' }, { name: 'dup', host: 'b.test' }] });
    assert.equal(dup.status, 400);
    assert.equal(dup.json().code, 14);
    const dangling = await config({ routes: [{ paths: ['/x'], service: { id: '00000000-0000-4000-8000-000000000000' } }] });
    assert.equal(dangling.status, 400);
    assert.equal(dangling.json().code, 14);
  });

  test('validates plugin configs with the schema the plugin server reported, filling defaults', async () => {
    assert.equal((await config({ plugins: [{ name: 'probe', config: { mode: 'pass' } }] })).status, 201);
    const ok = (await send(`${h.admin}/plugins`)).json().data[0];
    assert.equal(ok.config.status, 200);
    assert.deepEqual(ok.config.nested, { level: 3, label: null });
    assert.deepEqual(ok.protocols, ['grpc', 'grpcs', 'http', 'https']);
    assert.equal(ok.enabled, true);
    const dup = await config({ plugins: [{ name: 'probe' }, { name: 'probe' }] });
    assert.equal(dup.status, 400);
    assert.equal(dup.json().code, 14);

    const bad = await send(`${h.admin}/schemas/plugins/validate`, {
      method: 'POST',
      ...json({ name: 'probe', config: { mode: 'loud', status: 700, nested: { level: 9, label: 'x' }, tags_list: ['a', 3], extra: 1 } }),
    });
    assert.equal(bad.status, 400);
    assert.deepEqual(bad.json().fields, {
      config: {
        mode: 'expected one of: none, exit, pass, authenticate, rewrite-upstream, phase-error, bad-args, unknown-method, error, throw, slow, response-exit, rewrite-exit, body-max',
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
    assert.equal((await config({})).status, 201);
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

  test('plugins are listed and read under their route or service, and only there', async () => {
    const r = await config({
      services: [{ name: 'nest', host: 'n.test', routes: [{ name: 'nest-r', paths: ['/nest'] }, { name: 'other-r', paths: ['/other'] }] }],
      plugins: [
        { name: 'probe', route: 'nest-r' },
        { name: 'probe', service: 'nest', instance_name: 'svc-probe' },
      ],
    });
    assert.equal(r.status, 201, r.body);
    const svc = (await send(`${h.admin}/services/nest`)).json();
    const route = (await send(`${h.admin}/routes/nest-r`)).json();
    const onRoute = (await send(`${h.admin}/routes/nest-r/plugins`)).json().data;
    assert.equal(onRoute.length, 1);
    assert.deepEqual(onRoute[0].route, { id: route.id });
    assert.equal(onRoute[0].service, null);
    const onService = (await send(`${h.admin}/plugins/svc-probe`)).json();
    assert.deepEqual(onService.service, { id: svc.id });
    assert.deepEqual((await send(`${h.admin}/routes/nest-r/service`)).json().id, svc.id);
    // /routes/{route}/plugins/{plugin} and /services/{service}/plugins/{plugin} (kong/api/endpoints.lua nested entity).
    assert.equal((await send(`${h.admin}/routes/nest-r/plugins/${onRoute[0].id}`)).json().id, onRoute[0].id);
    assert.equal((await send(`${h.admin}/services/nest/plugins/svc-probe`)).json().id, onService.id);
    assert.equal((await send(`${h.admin}/services/${svc.id}/plugins/${onService.id}`)).status, 200);
    assert.equal((await send(`${h.admin}/routes/other-r/plugins/${onRoute[0].id}`)).status, 404, 'a plugin of another route');
    assert.equal((await send(`${h.admin}/services/nest/plugins/${onRoute[0].id}`)).status, 404, 'a route plugin is not the service\'s');
    assert.equal((await send(`${h.admin}/services/nest/routes/nest-r`)).json().id, route.id);
    const write = await send(`${h.admin}/routes/nest-r/plugins/${onRoute[0].id}`, { method: 'PATCH', ...json({ config: { mode: 'pass' } }) });
    assert.equal(write.status, 405);
    assert.equal((await send(`${h.admin}/schemas/routes`)).json().fields.some((f: object) => 'paths' in f), true);
    assert.equal((await config({})).status, 201);
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
    assert.equal(ok.status, 405, 'valid, then refused as DB-less Kong refuses writes');
  });
});
