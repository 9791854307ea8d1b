/**
 * The exact PDK calls ai-proxy-advanced makes per buffered request, per config, seen where Kong sees them: the
 * real plugin server over its unix socket, driven by kong/rpc (mp_rpc.lua's HandleEvent / Step loop). Every call
 * is one round trip to Kong, two process wake-ups (issue 10), so a config must not read what it does not use,
 * and what it reads is what Kong's own ai-proxy reads for it (engine/pdk.ts readClientRequest says why each).
 * Also: bench/floor-answer, the floor of `npm run bench -- engine`, makes the same calls with the same
 * arguments as ai-proxy-advanced for the bench's config, so the floor stays a floor of what is measured.
 */
import assert from 'node:assert/strict';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { PluginServerClient } from '../../kong/rpc/client';
import { EXIT, runEvent } from '../../kong/rpc/event';
import { benchChatConfig, CHAT_BODY, CHAT_HEADERS } from '../../bench/lib/chat';
import { EngineUpstream } from '../helpers/engine-upstream';
import { REPO_ROOT, startServer, type RunningServer } from '../helpers/pluginserver-process';
import { makeTmpDir, type TmpDir } from '../helpers/pluginserver-tmp';

type Call = [string, unknown[]];

/** Kong's answers for the bench's POST /v1/chat/completions (must_fix shapes: multimap headers, bin body). */
function kongFor(
  calls: Call[],
  opts: { pathWithQuery?: string; captures?: Record<string, string>; headers?: Record<string, string[]> } = {},
): (m: string, a: unknown[]) => unknown {
  const answers: Record<string, () => unknown> = {
    'kong.request.get_headers': () => ({ ...CHAT_HEADERS, ...opts.headers }),
    'kong.client.get_forwarded_ip': () => '10.1.2.3',
    'kong.request.get_raw_body': () => CHAT_BODY,
    'kong.request.get_path_with_query': () => opts.pathWithQuery ?? '/v1/chat/completions',
    'kong.request.get_method': () => 'POST',
    'kong.request.get_uri_captures': () => ({ unnamed: {}, named: opts.captures ?? {} }),
    'kong.log.set_serialize_value': () => undefined,
    'kong.response.exit': () => EXIT,
  };
  return (method, args) => {
    calls.push([method, args]);
    const answer = answers[method];
    if (!answer) throw new Error(`unexpected PDK call ${method}`);
    return answer();
  };
}

let up: EngineUpstream;
let tmp: TmpDir;
let ours: RunningServer;
let floor: RunningServer;
let oursClient: PluginServerClient;
let floorClient: PluginServerClient;

before(async () => {
  up = await EngineUpstream.start();
  tmp = makeTmpDir('aipa-rpcc-');
  ours = await startServer('ours', { prefix: tmp.dir, sockName: 'ours.sock' });
  floor = await startServer('ours', { prefix: tmp.dir, sockName: 'floor.sock', pluginsDir: path.join(REPO_ROOT, 'dist', 'bench', 'floor-answer') });
  oursClient = new PluginServerClient({ socketPath: ours.socketPath });
  floorClient = new PluginServerClient({ socketPath: floor.socketPath });
});

after(async () => {
  oursClient.close();
  floorClient.close();
  await ours.stop();
  await floor.stop();
  await up.close();
  tmp.cleanup();
});

let seq = 0;
/** One access event of a fresh instance of `name` with `config`; the PDK calls it made, in order. */
async function accessCalls(client: PluginServerClient, name: string, config: Record<string, unknown>, opts?: Parameters<typeof kongFor>[1]): Promise<Call[]> {
  const st = (await client.call('plugin.StartInstance', { Name: name, Config: JSON.stringify({ __plugin_id: `rpc-calls-${seq++}`, ...config }) })) as { Id: number };
  const calls: Call[] = [];
  assert.deepEqual(await runEvent(client, st.Id, 'access', kongFor(calls, opts)), { exited: true });
  const exit = calls.at(-1);
  assert.equal(exit?.[0], 'kong.response.exit');
  assert.equal(exit?.[1][0], 200, `answered 200: ${String(exit?.[1][1])}`);
  return calls;
}

const methods = (calls: Call[]): string[] => calls.map((c) => c[0]);
/** Every call with its arguments but the exit's body and headers (the answers differ, the call does not). */
const shape = (calls: Call[]): unknown[] => calls.map(([m, a]) => (m === 'kong.response.exit' ? [m, a[0]] : m === 'kong.log.set_serialize_value' ? [m, a[0]] : [m, a]));

function target(model: Record<string, unknown>, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return { route_type: 'llm/v1/chat', auth: { header_name: 'Authorization', header_value: 'Bearer sk-test' }, model: { provider: 'openai', ...model }, ...extra };
}

describe('PDK calls of a buffered chat request, through the plugin server socket', () => {
  test("the bench's config: headers, body (max_request_body_size's default), path with query, exit; nothing else", async () => {
    const calls = await accessCalls(oursClient, 'ai-proxy-advanced', benchChatConfig(up.port));
    assert.deepEqual(shape(calls), [
      ['kong.request.get_headers', [1000]],
      ['kong.request.get_raw_body', [1048576]],
      ['kong.request.get_path_with_query', []],
      ['kong.response.exit', 200],
    ]);
  });

  test('bench/floor-answer makes exactly those calls, with the same arguments', async () => {
    const aipa = await accessCalls(oursClient, 'ai-proxy-advanced', benchChatConfig(up.port));
    const fl = await accessCalls(floorClient, 'floor-answer', { serialize: false });
    assert.deepEqual(shape(fl), shape(aipa));
  });

  test('with log_statistics (BENCH_LOG_STATISTICS=1): one set_serialize_value before the exit, in the floor too', async () => {
    const aipa = await accessCalls(oursClient, 'ai-proxy-advanced', benchChatConfig(up.port, true));
    assert.deepEqual(methods(aipa), [
      'kong.request.get_headers',
      'kong.request.get_raw_body',
      'kong.request.get_path_with_query',
      'kong.log.set_serialize_value',
      'kong.response.exit',
    ]);
    assert.deepEqual(shape(await accessCalls(floorClient, 'floor-answer', { serialize: true })), shape(aipa));
  });

  test('the query string is read even when no target uses the path: Kong forwards it to the provider', async () => {
    const calls = await accessCalls(oursClient, 'ai-proxy-advanced', { targets: [target({ name: 'gpt-4o-mini', options: { upstream_url: `${up.url}/v1/chat/completions` } })] }, { pathWithQuery: '/v1/chat/completions?trace=1' });
    assert.ok(methods(calls).includes('kong.request.get_path_with_query'));
    assert.equal(up.requests.at(-1)?.url, '/v1/chat/completions?trace=1');
  });

  test('max_request_body_size is the limit asked of Kong (0: any size)', async () => {
    const calls = await accessCalls(oursClient, 'ai-proxy-advanced', { ...benchChatConfig(up.port), max_request_body_size: 0 });
    assert.deepEqual(calls[1], ['kong.request.get_raw_body', [0]]);
  });

  test('route_type preserve adds get_method (the client method is forwarded), and only then', async () => {
    const calls = await accessCalls(oursClient, 'ai-proxy-advanced', { targets: [target({ name: 'gpt-4o-mini', options: { upstream_url: `${up.url}/v1/chat/completions` } }, { route_type: 'preserve' })] });
    assert.deepEqual(methods(calls), ['kong.request.get_headers', 'kong.request.get_raw_body', 'kong.request.get_path_with_query', 'kong.request.get_method', 'kong.response.exit']);
  });

  test('a $(uri_captures.x) template adds get_uri_captures, and only then', async () => {
    const calls = await accessCalls(
      oursClient,
      'ai-proxy-advanced',
      { targets: [target({ name: '$(uri_captures.model)', options: { upstream_url: `${up.url}/v1/chat/completions` } })] },
      { captures: { model: 'gpt-4o-mini' } },
    );
    assert.deepEqual(methods(calls), ['kong.request.get_headers', 'kong.request.get_raw_body', 'kong.request.get_path_with_query', 'kong.request.get_uri_captures', 'kong.response.exit']);
    assert.equal(up.requests.at(-1)?.json?.model, 'gpt-4o-mini');
  });

  test('acls: a deny rule on a header and the client address asks for the address only when the header matches', async () => {
    const config = {
      targets: [target({ name: 'gpt-4o-mini', options: { upstream_url: `${up.url}/v1/chat/completions` } })],
      acls: { deny: [{ match: [{ type: 'header', key: 'x-team', values: ['contractors'] }, { type: 'ip', values: ['192.0.2.0/24'] }] }] },
    };
    const base = ['kong.request.get_headers', 'kong.request.get_raw_body', 'kong.request.get_path_with_query'];
    assert.deepEqual(methods(await accessCalls(oursClient, 'ai-proxy-advanced', config)), [...base, 'kong.response.exit']);
    const team = await accessCalls(oursClient, 'ai-proxy-advanced', config, { headers: { 'x-team': ['contractors'] } });
    assert.deepEqual(methods(team), [...base, 'kong.client.get_forwarded_ip', 'kong.response.exit']);
  });

  test('a $(headers.x) or $(query_params.x) template adds no call: both come with what is read anyway', async () => {
    const calls = await accessCalls(
      oursClient,
      'ai-proxy-advanced',
      { targets: [target({ name: '$(query_params.m)', options: { upstream_url: `${up.url}/v1/chat/completions` } })] },
      { pathWithQuery: '/v1/chat/completions?m=gpt-4o-mini' },
    );
    assert.deepEqual(methods(calls), ['kong.request.get_headers', 'kong.request.get_raw_body', 'kong.request.get_path_with_query', 'kong.response.exit']);
    assert.equal(up.requests.at(-1)?.json?.model, 'gpt-4o-mini');
  });
});
