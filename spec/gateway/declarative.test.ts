import assert from 'node:assert/strict';
import { test } from 'node:test';
import { substituteDeckEnv } from '../../kong/gateway/declarative/deck-env';
import { buildSnapshot, DeclarativeError, parseDeclarativeText } from '../../kong/gateway/declarative/load';
import { resolveReference, resolveRecord } from '../../kong/gateway/declarative/vault';
import { PluginCatalog } from '../../kong/gateway/plugin-catalog';
import { PluginsIterator } from '../../kong/gateway/plugins-iterator';
import { Store } from '../../kong/gateway/store';

function store(): Store {
  const catalog = new PluginCatalog(['bundled', 'demo']);
  catalog.add({
    name: 'demo',
    version: '1.0.0',
    priority: 5,
    phases: ['access'],
    server: 'js',
    schema: {},
    configChecks: undefined,
    configFields: [{ key: { type: 'string', referenceable: true } }, { plain: { type: 'string' } }, { n: { type: 'integer', default: 1 } }],
  });
  return new Store(catalog);
}

test('decK env placeholders are rendered from DECK_ variables, and a missing one is an error', () => {
  const env = { DECK_HOST: 'api.test', DECK_ON: 'true', DECK_N: '7' };
  assert.equal(substituteDeckEnv('host: ${{ env "DECK_HOST" }} on: ${{ env "DECK_ON" | toBool }} n: ${{env "DECK_N" | toInt}}', env), 'host: api.test on: true n: 7');
  assert.throws(() => substituteDeckEnv('${{ env "DECK_MISSING" }}', env), /environment variable 'DECK_MISSING' present in state file but not set/);
  assert.throws(() => substituteDeckEnv('${{ env "HOME" }}', env), /must be prefixed with 'DECK_'/);
});

test('env vault references resolve like Kong: upper-cased, dashes to underscores, JSON keys', () => {
  const env = { OPENAI_API_KEY: 'sk-1', CREDS: '{"user":"u1"}' };
  assert.deepEqual(resolveReference('{vault://env/openai-api-key}', env), { value: 'sk-1' });
  assert.deepEqual(resolveReference('{vault://env/creds/user}', env), { value: 'u1' });
  assert.deepEqual(resolveReference('{vault://env/nope}', env), { error: 'environment variable NOPE is not set' });
  assert.match(JSON.stringify(resolveReference('{vault://aws/x}', env)), /only the env vault/);
});

test('only referenceable fields are resolved; an unresolvable reference becomes "" with a warning', () => {
  const warnings: string[] = [];
  const fields = [{ key: { type: 'string', referenceable: true } }, { plain: { type: 'string' } }] as const;
  const r = resolveRecord(fields, { key: '{vault://env/missing-key}', plain: '{vault://env/home}' }, {}, (m) => warnings.push(m));
  assert.deepEqual(r, { key: '', plain: '{vault://env/home}' });
  assert.deepEqual(warnings, ['unable to resolve reference {vault://env/missing-key} (environment variable MISSING_KEY is not set)']);
});

test('nested entities are flattened with their parents, and ids are stable across loads', () => {
  const text = `_format_version: "3.0"
services:
  - name: s1
    url: http://up.test:8080/base
    plugins: [{ name: demo, config: { key: "{vault://env/secret}" } }]
    routes:
      - name: r1
        paths: [/one]
        plugins: [{ name: demo }]
routes:
  - name: r2
    service: s1
    paths: [/two]
plugins:
  - name: demo
    route: r2
`;
  const s = store();
  const a = buildSnapshot(parseDeclarativeText(text, 'kong.yml', {}), s, 'kong.yml');
  const b = buildSnapshot(parseDeclarativeText(text, 'kong.yml', {}), s, 'kong.yml');
  assert.deepEqual(a.plugins.map((p) => p.id), b.plugins.map((p) => p.id));
  const svc = a.services[0];
  assert.equal(svc?.host, 'up.test');
  assert.equal(svc?.port, 8080);
  const r2 = a.routes.find((r) => r.name === 'r2');
  assert.deepEqual(r2?.service, { id: svc?.id });
  const scopes = a.plugins.map((p) => JSON.stringify([p.service, p.route])).sort();
  assert.deepEqual(
    scopes,
    [[{ id: svc?.id }, null], [null, { id: a.routes[0]?.id }], [null, { id: r2?.id }]].map((x) => JSON.stringify(x)).sort(),
  );
  // The stored config keeps the reference; the plugin gets the resolved value.
  const onService = a.plugins.find((p) => p.service !== null);
  assert.equal((onService?.config as { key: string }).key, '{vault://env/secret}');
  const it = new PluginsIterator(a, s.catalog, { SECRET: 'shh' }, () => undefined);
  assert.equal(it.forRequest(undefined, svc?.id)[0]?.conf.key, 'shh');
});

test('errors name the file, the entity and the field', () => {
  const text = `_format_version: "3.0"
services:
  - name: s1
    host: up.test
    routes:
      - name: r1
        paths: [nope]
    plugins: [{ name: demo, config: { n: "x" } }, { name: ghost }]
consumers: [{ username: bob }]
`;
  try {
    buildSnapshot(parseDeclarativeText(text, 'my.yml', {}), store(), 'my.yml');
    assert.fail('expected an error');
  } catch (err) {
    assert.ok(err instanceof DeclarativeError);
    const m = err.message;
    assert.match(m, /consumers: 'consumers' are not supported by the local gateway/);
    assert.match(m, /in services\[1\]\.routes\[1\] \(route 'r1'\): paths\.1: should start with: \/ \(fixed path\) or ~\/ \(regex path\)/);
    assert.match(m, /in services\[1\]\.plugins\[1\] \(plugin 'demo'\): config\.n: expected an integer/);
    assert.match(m, /in services\[1\]\.plugins\[2\] \(plugin 'ghost'\): name: plugin 'ghost' not enabled/);
  }
});

test('malformed files and unsupported versions are reported with the file name', () => {
  assert.throws(() => parseDeclarativeText('services: [', 'bad.yml', {}), /bad\.yml: failed parsing declarative configuration/);
  assert.throws(() => buildSnapshot(parseDeclarativeText('_format_version: "1.1"', 'old.yml', {}), store(), 'old.yml'), /unsupported _format_version '1\.1'/);
  assert.throws(() => buildSnapshot(parseDeclarativeText('services: []', 'x.yml', {}), store(), 'x.yml'), /_format_version: required field missing/);
  assert.throws(
    () => buildSnapshot(parseDeclarativeText('_format_version: "3.0"\nservices: [{name: a, host: a.test}, {name: a, host: b.test}]', 'd.yml', {}), store(), 'd.yml'),
    /uniqueness violation: 'services' entity with name set to 'a' already declared/,
  );
});

test('a stray quote cannot hide deep YAML nesting from the depth check: refused before the YAML parser recurses', () => {
  // `x: 5" screen` is a plain YAML scalar; the JSON scan took its quote for an unterminated string.
  const deep = `_format_version: "3.0"\nx: 5" screen\ny: ${'['.repeat(5000)}${']'.repeat(5000)}\n`;
  assert.throws(() => parseDeclarativeText(deep, 'deep.yml', {}), (e: unknown) => e instanceof DeclarativeError && /deep\.yml: nested deeper than \d+ levels/.test(e.message));
  // Brackets as text in quotes still parse when the document is not deep.
  const fine = parseDeclarativeText(`_format_version: "3.0"\nx: 5" screen\ny: "${'['.repeat(20)}"\n`, 'ok.yml', {});
  assert.equal((fine as { y: string }).y, '['.repeat(20));
});
