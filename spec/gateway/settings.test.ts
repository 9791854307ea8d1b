import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { headerEnabled, loadSettings, parseKongConf, parseSize, PROJECT_ROOT, SettingsError } from '../../kong/gateway/settings';

test('kong.conf lines are key = value with # comments and \\# escapes', () => {
  assert.deepEqual(parseKongConf('# comment\nproxy_listen = 0.0.0.0:9000  # inline\nLOG_LEVEL=debug\nx = a\\#b\n\n'), {
    proxy_listen: '0.0.0.0:9000',
    log_level: 'debug',
    x: 'a#b',
  });
});

test('defaults serve kong/kong.yml through the project runtime on 8000/8001', () => {
  const s = loadSettings({ env: {} });
  assert.deepEqual(s.proxyListen, [{ host: '0.0.0.0', port: 8000 }]);
  assert.deepEqual(s.adminListen, [{ host: '127.0.0.1', port: 8001 }]);
  assert.equal(s.declarativeConfig, path.join(PROJECT_ROOT, 'kong', 'kong.yml'));
  assert.deepEqual(s.plugins, ['bundled', 'ai-proxy-advanced']);
  assert.equal(s.pluginServers.length, 1);
  const js = s.pluginServers[0];
  assert.equal(js?.socket, path.join(s.prefix, 'js.socket'));
  assert.match(js?.startCmd ?? '', /dist\/kong\/pluginserver\/cli\.js -p .* --sock-name js\.socket --busy-poll-us 0 -v$/);
  assert.equal(s.pluginServerBusyPollUs, 0, "busy polling is opt-in");
  assert.match(js?.queryCmd ?? '', /dist\/kong\/pluginserver\/cli\.js --dump-all-plugins$/);
});

test('KONG_* variables override the kong.conf given with -c', () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'gw-conf-'));
  try {
    const conf = path.join(dir, 'kong.conf');
    writeFileSync(
      conf,
      [
        'proxy_listen = 127.0.0.1:9000, 0.0.0.0:9443 ssl',
        'admin_listen = off',
        'pluginserver_names = my-js',
        'pluginserver_my_js_start_cmd = /bin/true',
        'pluginserver_my_js_query_cmd = echo []',
        'nginx_worker_processes = 3',
        'headers = off',
      ].join('\n'),
    );
    const warnings: string[] = [];
    const s = loadSettings({ confPath: conf, env: { KONG_NGINX_WORKER_PROCESSES: '2', KONG_PREFIX: dir }, warn: (m) => warnings.push(m) });
    assert.deepEqual(s.proxyListen, [{ host: '127.0.0.1', port: 9000 }]);
    assert.match(warnings[0] ?? '', /9443 ssl' skipped/);
    assert.deepEqual(s.adminListen, []);
    assert.equal(s.workerProcesses, 2);
    assert.deepEqual(s.pluginServers, [{ name: 'my-js', socket: path.join(dir, 'my-js.socket'), startCmd: '/bin/true', queryCmd: 'echo []' }]);
    assert.equal(headerEnabled(s, 'via'), false);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('settings Kong would refuse fail with a clear error', () => {
  assert.throws(() => loadSettings({ env: { KONG_PLUGINSERVER_NAMES: 'x' } }), new SettingsError('query_command undefined for pluginserver x'));
  assert.throws(() => loadSettings({ env: { KONG_DATABASE: 'postgres' } }), /DB-less/);
  assert.throws(() => loadSettings({ env: { KONG_PROXY_LISTEN: 'nonsense' } }), /invalid listen address 'nonsense'/);
  assert.throws(() => loadSettings({ env: { KONG_NGINX_WORKER_PROCESSES: '0' } }), /nginx_worker_processes/);
  assert.throws(() => loadSettings({ confPath: '/nonexistent/kong.conf', env: {} }), /could not read configuration file/);
});

test('the headers setting groups server_tokens and latency_tokens as Kong does', () => {
  const s = loadSettings({ env: {} });
  for (const h of ['Server', 'Via', 'X-Kong-Proxy-Latency', 'X-Kong-Upstream-Latency', 'X-Kong-Response-Latency', 'X-Kong-Request-Id']) assert.ok(headerEnabled(s, h), h);
  const only = loadSettings({ env: { KONG_HEADERS: 'X-Kong-Request-Id' } });
  assert.equal(headerEnabled(only, 'via'), false);
  assert.equal(headerEnabled(only, 'x-kong-request-id'), true);
});

test('nginx sizes are read as nginx does', () => {
  assert.equal(parseSize('8k'), 8192);
  assert.equal(parseSize('1m'), 1048576);
  assert.equal(parseSize('100'), 100);
  assert.equal(parseSize('lots'), undefined);
  assert.equal(loadSettings({ env: {} }).clientBodyBufferSize, 8192);
  assert.equal(loadSettings({ env: { KONG_NGINX_HTTP_CLIENT_BODY_BUFFER_SIZE: '1m' } }).clientBodyBufferSize, 1048576);
});

test('pluginserver_busy_poll_us sets both sides of the default plugin server and is checked', () => {
  const s = loadSettings({ env: { KONG_PLUGINSERVER_BUSY_POLL_US: '100' } });
  assert.equal(s.pluginServerBusyPollUs, 100);
  assert.match(s.pluginServers[0]?.startCmd ?? '', / --busy-poll-us 100 /);
  assert.throws(
    () => loadSettings({ env: { KONG_PLUGINSERVER_BUSY_POLL_US: 'lots' } }),
    (e: unknown) => e instanceof SettingsError && /pluginserver_busy_poll_us: .*'lots'/.test(e.message),
  );
});

test('admin_gui_api_url: its host is one the Admin API answers to (Kong Manager sends it as Host); a bad URL is a start-up error naming it', () => {
  assert.deepEqual(loadSettings({ env: { KONG_ADMIN_GUI_API_URL: 'https://Admin.Example.com:8444/api' } }).adminAllowedHosts, ['admin.example.com']);
  assert.deepEqual(loadSettings({ env: { KONG_ADMIN_GUI_API_URL: 'admin.example.com:8001', KONG_ADMIN_ALLOWED_HOSTS: 'kong.internal' } }).adminAllowedHosts, ['kong.internal', 'admin.example.com']);
  for (const bad of ['ftp://admin.example.com', 'http://[zz]']) {
    assert.throws(() => loadSettings({ env: { KONG_ADMIN_GUI_API_URL: bad } }), (e: unknown) => e instanceof SettingsError && /admin_gui_api_url/.test(e.message), bad);
  }
});

test('admin_listen on every interface without admin_allowed_hosts, admin_gui_url or admin_gui_api_url: start-up warns that DNS names get 421', () => {
  const warnings = (env: Record<string, string>): string[] => {
    const out: string[] = [];
    loadSettings({ env, warn: (m) => out.push(m) });
    return out.filter((m) => m.includes('admin_allowed_hosts'));
  };
  assert.equal(warnings({ KONG_ADMIN_LISTEN: '0.0.0.0:8001' }).length, 1);
  assert.equal(warnings({ KONG_ADMIN_LISTEN: '[::]:8001' }).length, 1);
  assert.deepEqual(warnings({ KONG_ADMIN_LISTEN: '0.0.0.0:8001', KONG_ADMIN_ALLOWED_HOSTS: 'kong.internal' }), []);
  assert.deepEqual(warnings({ KONG_ADMIN_LISTEN: '0.0.0.0:8001', KONG_ADMIN_GUI_API_URL: 'http://kong.internal:8001' }), []);
  assert.deepEqual(warnings({}), []);
});

test('admin_allowed_hosts: host names lower-cased without a trailing dot; a port, scheme or path is a start-up error naming it', () => {
  assert.deepEqual(loadSettings({ env: { KONG_ADMIN_ALLOWED_HOSTS: 'Kong.Internal., [FD00::1], 10.0.0.5' } }).adminAllowedHosts, ['kong.internal', '[fd00::1]', '10.0.0.5']);
  assert.deepEqual(loadSettings({ env: {} }).adminAllowedHosts, []);
  for (const bad of ['kong.internal:8001', 'http://kong.internal', 'kong.internal/admin', '[::1]:8001']) {
    assert.throws(() => loadSettings({ env: { KONG_ADMIN_ALLOWED_HOSTS: bad } }), (e: unknown) => e instanceof SettingsError && /admin_allowed_hosts/.test(e.message), bad);
  }
});
