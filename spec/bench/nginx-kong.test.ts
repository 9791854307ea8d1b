/**
 * bench/nginx-kong: nginx + ngx_lua running Kong's side of the external-plugin RPC (kong_bridge.lua) in front of
 * the real plugin servers (ai-proxy-advanced, bench/floor-call) and the local provider mock. What the bench's
 * ngx-* paths measure must be a working request: the OpenAI answer and status through the bridge, the plugin's
 * own 4xx JSON for a client mistake, a provider error passed on, and the plain proxy_pass route. Skipped, with
 * the reason, where nginx, its lua module, MessagePack.lua or cjson is missing (bench/lib/nginx-kong.ts says how
 * to install them).
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { gatewayYaml, chatRoute } from '../../bench/lib/chat';
import { findNginx, NGINX_INSTALL_HINT, nginxPids, nginxRoutes, renderNginxConf, startNginx, type NginxRoute, type RunningNginx } from '../../bench/lib/nginx-kong';
import { pluginServers } from '../../bench/lib/procs';
import { defaultBehaviour, EngineUpstream, openAiChatStream } from '../helpers/engine-upstream';
import { OUR_CLI, REPO_ROOT, startServer, type RunningServer } from '../helpers/pluginserver-process';
import { makeTmpDir, type TmpDir } from '../helpers/pluginserver-tmp';

const found = findNginx();
const skip = 'missing' in found ? `nginx + lua not found (${found.missing}); install: ${NGINX_INSTALL_HINT}` : false;

let up: EngineUpstream;
let tmp: TmpDir;
let servers: RunningServer[] = [];
let nginx: RunningNginx | undefined;

/** One request through nginx, with a deadline. */
async function post(p: string, body: string): Promise<{ status: number; type: string | null; json: Record<string, unknown> }> {
  const r = await fetch(`http://127.0.0.1:${nginx!.port}${p}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body,
    signal: AbortSignal.timeout(10_000),
  });
  const text = await r.text();
  let json: Record<string, unknown>;
  try {
    json = JSON.parse(text) as Record<string, unknown>;
  } catch {
    assert.fail(`not JSON (${r.status}): ${text.slice(0, 300)}`);
  }
  return { status: r.status, type: r.headers.get('content-type'), json };
}

const CHAT = JSON.stringify({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'What is 1 + 1?' }] });

describe('nginx + Lua bridge (Kong side) in front of the plugin servers', { skip }, () => {
  before(async () => {
    up = await EngineUpstream.start();
    tmp = makeTmpDir('aipa-ngx-');
    servers = [
      await startServer('ours', { prefix: tmp.dir, sockName: 'js.socket' }),
      await startServer('ours', { prefix: tmp.dir, sockName: 'call.socket', pluginsDir: path.join(REPO_ROOT, 'dist', 'bench', 'floor-call') }),
    ];
    const yml = gatewayYaml([
      { name: 'plain', paths: ['/plain'], url: `${up.url}/v1/chat/completions` },
      { name: 'floor-call', paths: ['/floor-call'], pluginName: 'floor-call', plugin: { url: `${up.url}/v1/chat/completions` } },
      chatRoute(up.port),
    ]);
    const routes = await nginxRoutes(yml, { ...pluginServers(tmp.dir), KONG_PREFIX: tmp.dir });
    nginx = await startNginx(found as Exclude<typeof found, { missing: string }>, path.join(tmp.dir, 'nginx'), routes);
  });

  after(async () => {
    await nginx?.stop();
    for (const s of servers) await s.stop();
    await up?.close();
    tmp?.cleanup();
  });

  test('StartInstance gets the filled config (schema defaults) with Kong’s keys', async () => {
    const routes = await nginxRoutes(gatewayYaml([chatRoute(up.port)]), { ...pluginServers(tmp.dir), KONG_PREFIX: tmp.dir });
    const conf = JSON.parse(routes[0]!.plugin!.config_json) as Record<string, unknown>;
    assert.equal(typeof conf.__plugin_id, 'string');
    assert.equal(typeof conf.__seq__, 'number');
    assert.equal(typeof conf.__key__, 'string');
    // A default the bench's YAML never sets: filled by the schema, as Kong hands it.
    assert.equal(conf.max_request_body_size, 1048576);
    assert.equal(routes[0]!.plugin!.socket, path.join(tmp.dir, 'js.socket'));
    assert.ok(routes[0]!.plugin!.phases.includes('access'));
  });

  test('a chat completion through ai-proxy-advanced: the OpenAI answer, 200, the key sent to the provider', async () => {
    const before = up.requests.length;
    const r = await post('/v1/chat/completions', CHAT);
    assert.equal(r.status, 200, JSON.stringify(r.json));
    assert.match(r.type ?? '', /application\/json/);
    assert.equal(r.json.object, 'chat.completion');
    assert.equal((r.json.choices as Array<{ message: { content: string } }>)[0]?.message.content, 'The sum of 1 + 1 is 2.');
    assert.equal(up.requests.length, before + 1);
    assert.equal(up.requests.at(-1)?.headers.authorization, 'Bearer sk-bench');
    // Several in a row on the pooled unix connections (setkeepalive), and in parallel.
    const many = await Promise.all(Array.from({ length: 20 }, () => post('/v1/chat/completions', CHAT)));
    assert.deepEqual(
      many.map((m) => m.status),
      many.map(() => 200),
    );
  });

  test('a body larger than client_body_buffer_size (spooled to a file) is read with get_raw_body(limit)', async () => {
    const content = 'x'.repeat(20_000);
    const r = await post('/v1/chat/completions', JSON.stringify({ model: 'gpt-4o-mini', messages: [{ role: 'user', content }] }));
    assert.equal(r.status, 200, JSON.stringify(r.json));
    const sent = up.requests.at(-1)?.json as { messages: Array<{ content: string }> } | undefined;
    assert.equal(sent?.messages[0]?.content, content);
  });

  test('a chat completion through bench/floor-call: the provider’s answer, 200', async () => {
    const r = await post('/floor-call', CHAT);
    assert.equal(r.status, 200);
    assert.equal(r.json.object, 'chat.completion');
  });

  test('the plain proxy_pass route reaches the provider', async () => {
    const r = await post('/plain', CHAT);
    assert.equal(r.status, 200);
    assert.equal(r.json.model, 'gpt-4o-mini');
  });

  test('a body that is not JSON: the plugin’s 400 JSON, and the provider is not called', async () => {
    const before = up.requests.length;
    const r = await post('/v1/chat/completions', '{"model": ');
    assert.equal(r.status, 400);
    assert.match(r.type ?? '', /application\/json/);
    assert.equal(typeof ((r.json.error as { message?: unknown } | undefined)?.message ?? r.json.message), 'string', JSON.stringify(r.json));
    assert.equal(up.requests.length, before);
  });

  test('a provider 500 comes back as an error status with a JSON body, not as a 200', async () => {
    up.set({ kind: 'json', status: 500, body: { error: { message: 'boom', type: 'server_error' } } });
    try {
      const before = up.requests.length;
      const r = await post('/v1/chat/completions', CHAT);
      assert.equal(up.requests.length, before + 1, 'the plugin called the provider');
      assert.ok(r.status >= 500 && r.status < 600, `status ${r.status}`);
      assert.match(r.type ?? '', /application\/json/);
    } finally {
      up.set(defaultBehaviour);
    }
  });

  test('a streamed chat completion through ai-proxy-advanced: access points Kong’s upstream at the stream endpoint (set_target, set_path, balancer_by_lua) and the OpenAI SSE frames arrive, ending in [DONE]', async () => {
    const words = ['The', ' sum', ' is', ' 2.'];
    const body = JSON.stringify({ model: 'gpt-4o-mini', stream: true, messages: [{ role: 'user', content: 'What is 1 + 1?' }] });
    const open = async (): Promise<{ r: Response; read: (until?: string) => Promise<string> }> => {
      const r = await fetch(`http://127.0.0.1:${nginx!.port}/v1/chat/completions`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body,
        signal: AbortSignal.timeout(10_000),
      });
      const reader = r.body!.getReader();
      const decoder = new TextDecoder();
      // Reads to the end, or until `until` has arrived (then lets the stream go).
      const read = async (until?: string): Promise<string> => {
        let text = '';
        for (;;) {
          const { done, value } = await reader.read();
          if (done) return text;
          text += decoder.decode(value, { stream: true });
          if (until !== undefined && text.includes(until)) {
            await reader.cancel();
            return text;
          }
        }
      };
      return { r, read };
    };
    const frames = (text: string): string[] => text.split('\n\n').filter((f) => f.trim() !== '');
    up.set({ kind: 'stream', frames: openAiChatStream('gpt-4o-mini', words), gapMs: 5 });
    try {
      const before = up.requests.length;
      for (let i = 0; i < 3; i++) {
        const { r, read } = await open();
        assert.equal(r.status, 200);
        assert.match(r.headers.get('content-type') ?? '', /text\/event-stream/);
        const text = await read();
        const fs = frames(text);
        assert.equal(fs.at(-1), 'data: [DONE]', text.slice(-300));
        const chunks = fs.slice(0, -1).map((f) => {
          assert.match(f, /^data: /);
          return JSON.parse(f.slice('data: '.length)) as { object: string; choices: Array<{ delta?: { content?: string } }> };
        });
        for (const c of chunks) assert.equal(c.object, 'chat.completion.chunk');
        assert.equal(chunks.map((c) => c.choices[0]?.delta?.content ?? '').join(''), words.join(''));
      }
      assert.equal(up.requests.length, before + 3, 'one provider call per streamed request');
      assert.equal(up.requests.at(-1)?.headers.authorization, 'Bearer sk-bench');

      // Relayed as they come: a provider that sends its frames and then keeps the stream open; they reach the
      // client while it is still open (a relay that held the answer to its end would keep them until the 10 s
      // abort). This does not tell proxy_buffering on from off: nginx's buffered pipe also passes on what it has
      // read (checked with `proxy_ignore_headers X-Accel-Buffering` added: the case still passes).
      up.set({ kind: 'stream', frames: openAiChatStream('gpt-4o-mini', words), hangAfter: true });
      const { r, read } = await open();
      assert.equal(r.status, 200);
      const text = await read('data: [DONE]');
      assert.ok(frames(text).length >= words.length + 2, text);
    } finally {
      up.set(defaultBehaviour);
    }
  });

  test('no RPC or Lua error in nginx’s error log (log events included), and nginx is gone after stop', async () => {
    // The log phase runs in a timer after the response: give the last ones a moment (bounded).
    await new Promise((r) => setTimeout(r, 200));
    const errors = nginx!.errorLog().split('\n').filter((l) => /\[(error|crit|alert|emerg)\]/.test(l));
    assert.deepEqual(errors, []);
    const pid = nginx!.proc.pid!;
    const workers = nginx!.workerPids();
    assert.ok(workers.length >= 1);
    // nginxPids finds the same processes from /proc alone (master by its prefix, workers as its children).
    assert.deepEqual(
      nginxPids(nginx!.prefix).sort((a, b) => a - b),
      [pid, ...workers].sort((a, b) => a - b),
    );
    await nginx!.stop();
    for (const p of [pid, ...workers]) assert.equal(existsSync(`/proc/${p}/cmdline`) && !isZombie(p), false, `nginx process ${p} still running`);
    assert.deepEqual(nginxPids(nginx!.prefix).filter((p) => !isZombie(p)), []);
  });
});

function isZombie(pid: number): boolean {
  try {
    return /^\S+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return true;
  }
}

/**
 * A probe plugin: access sets a serialize value and exits with its own status and header; its log phase (run by
 * Kong in a timer, with saved request data) reads kong.log.serialize, the saved headers and status, the
 * response source and a method no PDK has, and writes what it saw to config.out.
 */
const PROBE = String.raw`'use strict';
const fs = require('fs');
class Plugin {
  constructor(config) { this.config = config; }
  async access(kong) {
    await kong.log.set_serialize_value('probe.n', 7);
    await kong.response.exit(201, JSON.stringify({ ok: true }), { 'content-type': 'application/json', 'x-probe': 'yes' });
  }
  async log(kong) {
    const serialized = JSON.parse(await kong.log.serialize());
    const headers = await kong.request.get_headers();
    const status = await kong.response.get_status();
    const source = await kong.response.get_source();
    const unknown = await kong.no_such.method();
    fs.writeFileSync(this.config.out + '.tmp', JSON.stringify({ serialized, headers, status, source, unknown: unknown === undefined ? 'nil' : unknown }));
    fs.renameSync(this.config.out + '.tmp', this.config.out);
  }
}
module.exports = { Plugin, Name: 'log-probe', Version: '0.1.0', Priority: 10, Schema: [{ out: { type: 'string', required: true } }] };
`;

describe('nginx + Lua bridge: the log phase and a plugin server restart', { skip }, () => {
  let ptmp: TmpDir;
  let probe: RunningServer;
  let pngx: RunningNginx | undefined;
  let dir: string;

  const startProbe = (): Promise<RunningServer> => startServer('ours', { prefix: ptmp.dir, sockName: 'probe.socket', pluginsDir: dir });

  before(async () => {
    ptmp = makeTmpDir('aipa-ngxp-');
    dir = path.join(ptmp.dir, 'plugins');
    mkdirSync(dir);
    writeFileSync(path.join(dir, 'log-probe.js'), PROBE);
    probe = await startProbe();
    const env = {
      KONG_PREFIX: ptmp.dir,
      KONG_PLUGINS: 'bundled,log-probe',
      KONG_PLUGINSERVER_NAMES: 'probe',
      KONG_PLUGINSERVER_PROBE_QUERY_CMD: `${process.execPath} ${OUR_CLI} -d ${dir} --dump-all-plugins`,
    };
    const yml = gatewayYaml([{ name: 'probe', paths: ['/probe'], pluginName: 'log-probe', plugin: { out: path.join(ptmp.dir, 'seen.json') } }]);
    pngx = await startNginx(found as Exclude<typeof found, { missing: string }>, path.join(ptmp.dir, 'nginx'), await nginxRoutes(yml, env));
  });

  after(async () => {
    await pngx?.stop();
    await probe?.stop();
    ptmp?.cleanup();
  });

  async function probeOnce(): Promise<{ status: number; header: string | null; seen: Record<string, unknown> }> {
    const out = path.join(ptmp.dir, 'seen.json');
    if (existsSync(out)) rmSync(out);
    const r = await fetch(`http://127.0.0.1:${pngx!.port}/probe?q=1`, { headers: { 'x-team': 'a', authorization: 'Bearer secret' }, signal: AbortSignal.timeout(10_000) });
    await r.text();
    const deadline = Date.now() + 10_000;
    while (!existsSync(out)) {
      if (Date.now() > deadline) assert.fail(`the log event never ran:\n${pngx!.errorLog().slice(-2000)}`);
      await new Promise((res) => setTimeout(res, 20));
    }
    return { status: r.status, header: r.headers.get('x-probe'), seen: JSON.parse(readFileSync(out, 'utf8')) as Record<string, unknown> };
  }

  test('exit in access sends its status and headers; the log event sees the saved request and kong.log.serialize', async () => {
    const { status, header, seen } = await probeOnce();
    assert.equal(status, 201);
    assert.equal(header, 'yes');
    assert.equal(seen.status, 201);
    assert.equal(seen.source, 'exit');
    assert.deepEqual((seen.headers as Record<string, string[]>)['x-team'], ['a']);
    const ser = seen.serialized as { request: { uri: string; method: string; headers: Record<string, string> }; response: { status: number }; probe: { n: number } };
    assert.equal(ser.request.uri, '/probe?q=1');
    assert.equal(ser.request.method, 'GET');
    assert.equal(ser.request.headers.authorization, 'REDACTED');
    assert.equal(ser.response.status, 201);
    assert.deepEqual(ser.probe, { n: 7 });
    // A method Kong's PDK does not have: logged, answered with nil (Step without Data), the plugin goes on.
    assert.equal(seen.unknown, 'nil');
    assert.match(pngx!.errorLog(), /could not find pdk method: kong\.no_such\.method/);
  });

  test('after the plugin server restarts, "no plugin instance" makes the bridge start a new instance and retry', async () => {
    await probe.stop();
    probe = await startProbe();
    const { status, seen } = await probeOnce();
    assert.equal(status, 201);
    assert.equal(seen.status, 201);
    assert.match(pngx!.errorLog(), /no plugin instance/i);
  });
});

// Needs no nginx: only the rendering. A route path the gateway's schema accepts (a regex path may hold anything,
// a plain one `;`, `$` or `'`) must not reach nginx.conf as config: it could add a listener beyond 127.0.0.1 or
// a content_by_lua_block.
describe('nginx.conf rendering refuses values that would be read as config', () => {
  let rtmp: TmpDir;
  before(() => {
    rtmp = makeTmpDir('aipa-ngxr-');
  });
  after(() => rtmp?.cleanup());

  const plugin = {
    name: 'p',
    plugin_id: 'id',
    seq: 1,
    config_json: '{}',
    socket: '/nonexistent.socket',
    phases: ['access'],
    service: { id: 's', protocol: 'http', host: '127.0.0.1', port: 9000 },
    route_path: '/v1/chat/completions',
    strip_path: true,
  };
  const render = (routes: NginxRoute[], prefix = rtmp.dir): string => renderNginxConf(prefix, 8080, routes, '/usr/lib/nginx/modules', '1');

  test('a plain route and a plugin route render, listening on 127.0.0.1 only', () => {
    const conf = render([
      { path: '/plain', url: 'http://127.0.0.1:9000/v1/chat/completions?x=1' },
      { path: '/v1/chat/completions', plugin },
    ]);
    assert.match(conf, /location \/plain \{/);
    assert.match(conf, /proxy_pass http:\/\/up_r0\/v1\/chat\/completions\?x=1;/);
    assert.deepEqual(conf.match(/^\s*listen .*$/gm)?.map((l) => l.trim()), ['listen 127.0.0.1:8080 reuseport backlog=16384;']);
  });

  test('route paths with nginx syntax, regex paths, https services, odd service paths and prefixes are refused', () => {
    const bad: Array<[string, NginxRoute[], string?]> = [
      ['regex path', [{ path: '~/a { } server { listen 0.0.0.0:8; location /b', plugin }]],
      ['semicolon', [{ path: '/a;allow', plugin }]],
      ['quote', [{ path: "/a'b", url: 'http://127.0.0.1:9000/' }]],
      ['dollar', [{ path: '/a$host', plugin }]],
      ['https service', [{ path: '/a', url: 'https://127.0.0.1:9000/' }]],
      ['service path with ;', [{ path: '/a', url: 'http://127.0.0.1:9000/x;return' }]],
      ['service path with $', [{ path: '/a', url: 'http://127.0.0.1:9000/x$host' }]],
      ['prefix with a space', [{ path: '/a', plugin }], path.join(rtmp.dir, 'a b')],
      ['prefix with a quote', [{ path: '/a', plugin }], path.join(rtmp.dir, 'a"b')],
    ];
    for (const [what, routes, prefix] of bad) {
      assert.throws(() => render(routes, prefix), /nginx-kong: /, what);
    }
  });
});

describe('nginx started by a process that exits without stop()', { skip }, () => {
  test('is stopped with it (master and workers), not left running', async () => {
    const t = makeTmpDir('aipa-ngxo-');
    const prefix = path.join(t.dir, 'nginx');
    try {
      // A child process starts nginx (no routes) and calls process.exit without stopping it.
      const lib = path.join(REPO_ROOT, 'dist', 'bench', 'lib', 'nginx-kong.js');
      const script = `const n = require(${JSON.stringify(lib)}); n.startNginx(n.findNginx(), ${JSON.stringify(prefix)}, []).then((r) => { console.log(JSON.stringify([r.proc.pid, ...r.workerPids()])); process.exit(3); }, (e) => { console.error(e); process.exit(1); });`;
      const r = spawnSync(process.execPath, ['-e', script], { encoding: 'utf8', timeout: 30_000 });
      assert.equal(r.status, 3, r.stderr);
      const started = JSON.parse(r.stdout.trim()) as number[];
      assert.ok(started.length >= 2, r.stdout);
      const deadline = Date.now() + 10_000;
      while (started.some((p) => existsSync(`/proc/${p}/cmdline`) && !isZombie(p))) {
        if (Date.now() > deadline) assert.fail(`nginx left running after its parent exited: ${JSON.stringify(nginxPids(prefix))}`);
        await new Promise((res) => setTimeout(res, 25));
      }
    } finally {
      for (const p of nginxPids(prefix)) {
        try {
          process.kill(p, 'SIGKILL');
        } catch {
          // gone
        }
      }
      t.cleanup();
    }
  });
});
