/** `node dist/kong/start.js` (what `npm start` runs after the build), as a user runs it. */
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { after, test } from 'node:test';
import { PROJECT_ROOT } from '../../kong/gateway/settings';
import { send } from '../helpers/gateway-upstream';

const START = path.join(PROJECT_ROOT, 'dist', 'kong', 'start.js');
const dir = mkdtempSync(path.join(os.tmpdir(), 'gw-start-'));
// Children still running when a test fails are killed, so a failed assertion cannot hang the suite.
const children = new Set<import('node:child_process').ChildProcess>();
after(() => {
  for (const c of children) c.kill('SIGKILL');
  rmSync(dir, { recursive: true, force: true });
});

function run(env: NodeJS.ProcessEnv, args: string[] = [], waitFor = /Admin API listening on (\S+)\n[^]*declarative config: .*\n/): Promise<{ code: number | null; out: string; err: string; match?: RegExpMatchArray; stop(): Promise<number | null> }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [START, ...args], { env: { PATH: process.env.PATH, KONG_PREFIX: dir, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    children.add(child);
    child.on('exit', () => children.delete(child));
    let out = '';
    let err = '';
    const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
    const timer = setTimeout(() => child.kill('SIGKILL'), 20_000);
    child.stdout.on('data', (c: Buffer) => {
      out += c.toString();
      const m = out.match(waitFor);
      if (m) {
        clearTimeout(timer);
        resolve({ code: null, out, err, match: m, stop: () => (child.kill('SIGTERM'), exited) });
      }
    });
    child.stderr.on('data', (c: Buffer) => (err += c.toString()));
    child.on('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, out, err, stop: () => exited });
    });
  });
}

test('starts from a kong.conf given with -c, prints where it listens and serves the Admin API', async () => {
  const yml = path.join(dir, 'empty.yml');
  writeFileSync(yml, '_format_version: "3.0"\n');
  const conf = path.join(dir, 'kong.conf');
  writeFileSync(conf, `proxy_listen = 127.0.0.1:0\nadmin_listen = 127.0.0.1:0\ndeclarative_config = ${yml}\nnginx_worker_processes = 1\n`);
  const r = await run({}, ['-c', conf]);
  assert.ok(r.match, `stdout: ${r.out}\nstderr: ${r.err}`);
  assert.match(r.out, /proxy listening on http:\/\/127\.0\.0\.1:\d+/);
  assert.match(r.out, /plugins: ai-proxy-advanced/);
  const admin = r.match[1] ?? '';
  const root = await send(`${admin}/`);
  assert.equal(root.json().configuration.declarative_config, yml);
  assert.equal(await r.stop(), 0);
});

test('the default kong/kong.yml starts without OPENAI_AUTH_HEADER, with a warning when the plugin runs', async () => {
  const r = await run({ KONG_PROXY_LISTEN: '127.0.0.1:0', KONG_ADMIN_LISTEN: '127.0.0.1:0', KONG_NGINX_WORKER_PROCESSES: '1' }, [], /Admin API listening on (\S+)\n[^]*declarative config: .*\n|Error: .*/);
  assert.ok(r.code === null && r.match?.[1], `npm start must serve kong/kong.yml; stdout: ${r.out}\nstderr: ${r.err}`);
  const proxy = /proxy listening on (\S+)/.exec(r.out)?.[1] ?? '';
  const res = await send(`${proxy}/openai`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: '{"messages":[{"role":"user","content":"hi"}]}' });
  // No credential: the plugin answers with a configuration error naming the field; the gateway stays up.
  assert.equal(res.status, 500);
  const error = (res.json() as { error: { type: string; message: string } }).error;
  assert.equal(error.type, 'configuration_error');
  assert.match(error.message, /targets\[0\]\.auth\.header_value/);
  assert.equal(await r.stop(), 0);
  assert.match(r.err, /unable to resolve reference \{vault:\/\/env\/openai-auth-header\}/);
});

test('an invalid declarative file stops start-up with the file, entity and field named', async () => {
  const yml = path.join(dir, 'bad.yml');
  writeFileSync(yml, '_format_version: "3.0"\nservices:\n  - name: s\n    host: x.test\n    routes:\n      - name: r\n        paths: [nope]\n');
  const r = await run({ KONG_PROXY_LISTEN: '127.0.0.1:0', KONG_ADMIN_LISTEN: 'off', KONG_DECLARATIVE_CONFIG: yml });
  assert.equal(r.code, 1);
  assert.match(r.err, new RegExp(`error parsing declarative config file ${yml.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}`));
  assert.match(r.err, /in services\[1\]\.routes\[1\] \(route 'r'\): paths\.1: should start with/);
});

test('KONG_DECLARATIVE_CONFIG_STRING carries the config itself', async () => {
  const r = await run({
    KONG_PROXY_LISTEN: '127.0.0.1:0',
    KONG_ADMIN_LISTEN: '127.0.0.1:0',
    KONG_DECLARATIVE_CONFIG_STRING: JSON.stringify({ _format_version: '3.0', services: [{ name: 'from-string', host: 'x.test', routes: [{ name: 'r', paths: ['/s'] }] }] }),
  });
  assert.ok(r.match, r.err);
  assert.match(r.out, /1 services, 1 routes/);
  assert.equal((await send(`${r.match[1] ?? ''}/services/from-string`)).status, 200);
  assert.equal(await r.stop(), 0);
});

test('a busy port is reported with the address and the setting to change', async () => {
  const blocker = http.createServer();
  await new Promise<void>((r) => blocker.listen(0, '127.0.0.1', r));
  const port = (blocker.address() as AddressInfo).port;
  try {
    const r = await run({ KONG_PROXY_LISTEN: `127.0.0.1:${port}`, KONG_ADMIN_LISTEN: 'off', KONG_DECLARATIVE_CONFIG: '' });
    assert.equal(r.code, 1);
    assert.match(r.err, new RegExp(`could not listen on 127\\.0\\.0\\.1:${port} \\(proxy\\): address already in use.*KONG_PROXY_LISTEN`));
  } finally {
    blocker.close();
  }
});

test('a pluginserver whose query command prints no JSON fails start-up with its name', async () => {
  const r = await run({
    KONG_PROXY_LISTEN: '127.0.0.1:0',
    KONG_ADMIN_LISTEN: 'off',
    KONG_DECLARATIVE_CONFIG: '',
    KONG_PLUGINSERVER_NAMES: 'broken',
    KONG_PLUGINSERVER_BROKEN_QUERY_CMD: 'echo not-json',
  });
  assert.equal(r.code, 1);
  assert.match(r.err, /failed decoding plugin info for pluginserver 'broken'/);
});

test('npm start compiles incrementally: right after a build there is nothing to compile', () => {
  const scripts = (JSON.parse(readFileSync(path.join(PROJECT_ROOT, 'package.json'), 'utf8')) as { scripts: Record<string, string> }).scripts;
  // start never cleans (a clean build takes 25–50 s before anything listens); build and test always do.
  assert.match(scripts.start ?? '', /\btsc -b tsconfig\.json && node dist\/kong\/start\.js$/);
  assert.doesNotMatch(scripts.start ?? '', /clean|npm run build/);
  assert.match(scripts.build ?? '', /^npm run clean --silent && tsc -b tsconfig\.json$/);
  assert.match(scripts.test ?? '', /^npm run build --silent && /);
  // The build left tsc's build info behind, so start's `tsc -b` finds every output newer than its sources.
  // (Run after editing sources without rebuilding, this test says so.)
  const env = { ...process.env };
  delete env.NODE_V8_COVERAGE; // the compiler's own coverage is not ours to collect
  const r = spawnSync(process.execPath, [path.join(PROJECT_ROOT, 'node_modules', 'typescript', 'bin', 'tsc'), '-b', 'tsconfig.json', '--dry'], {
    cwd: PROJECT_ROOT,
    env,
    encoding: 'utf8',
    timeout: 60_000,
  });
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /is up to date/, `sources changed since the last build:\n${r.stdout}`);
});
