/**
 * The log phase end to end: the local gateway drives the project's plugin server over its unix socket, the
 * plugin calls local OpenAI / Anthropic / Bedrock simulators speaking their wire formats, and the gateway's own
 * file-log, http-log and prometheus plugins (Kong's schemas) record every request. Checked: one entry per
 * request (buffered, streamed with and without include_usage, failed over, failed) with the right tokens, cost
 * and latencies; log_statistics / log_payloads switch what Kong's docs say; /metrics counts the same requests;
 * the plugin server's own sink and metrics port; provider keys never appear anywhere.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { TargetConfig } from '../../schemas/config';
import { eventually, RUNTIME_CLI, shellQuote, startHarness, type Harness } from '../helpers/gateway-harness';
import { chatCompletion, EngineUpstream, openAiChatStream, refusedUrl, type RecordedRequest } from '../helpers/engine-upstream';
import { readJsonFixture, streamInput, type StreamCase } from '../helpers/providers-fixtures';

const PLUGINS_DIR = path.resolve(__dirname, '..', '..', 'plugins');
const OPENAI_KEY = 'sk-openai-SECRET-1';
const ANTHROPIC_KEY = 'sk-ant-SECRET-2';
const AWS_SECRET = 'wJalrXUtnFEMI/K7MDENG+bPxRfiCYSECRET3';
const SECRETS = [OPENAI_KEY, ANTHROPIC_KEY, AWS_SECRET];
const MODEL_OPENAI = 'gpt-4o-mini';
const MODEL_ANTHROPIC = 'claude-3-5-sonnet-20241022';
const MODEL_BEDROCK = 'anthropic.claude-3-sonnet-20240229-v1:0';

type Entry = Record<string, any>;

let openai: EngineUpstream;
let anthropic: EngineUpstream;
let bedrock: EngineUpstream;
let collector: http.Server;
const collected: unknown[] = [];
let h: Harness;
let dir: string;
let fileLog: string;
let sinkFile: string;
let metricsPort: number;

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = net.createServer();
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(port));
    });
  });
}

const stats = (payloads = true): Pick<TargetConfig, 'logging'> => ({ logging: { log_statistics: true, log_payloads: payloads } });

function openaiTarget(url: string, extra: Partial<TargetConfig> = {}): TargetConfig {
  return {
    route_type: 'llm/v1/chat',
    model: { provider: 'openai', name: MODEL_OPENAI, options: { upstream_url: `${url}/v1/chat/completions`, input_cost: 10, output_cost: 20 } },
    auth: { header_name: 'Authorization', header_value: `Bearer ${OPENAI_KEY}` },
    ...stats(),
    ...extra,
  };
}
function anthropicTarget(url: string): TargetConfig {
  return {
    route_type: 'llm/v1/chat',
    model: { provider: 'anthropic', name: MODEL_ANTHROPIC, options: { anthropic_version: '2023-06-01', max_tokens: 256, upstream_url: `${url}/v1/messages`, input_cost: 3, output_cost: 15 } },
    auth: { header_name: 'x-api-key', header_value: ANTHROPIC_KEY },
    ...stats(),
  };
}
/** upstream_url replaces the whole Bedrock URL, so each route names the operation it gets. */
function bedrockTarget(url: string, operation = 'converse'): TargetConfig {
  return {
    route_type: 'llm/v1/chat',
    model: { provider: 'bedrock', name: MODEL_BEDROCK, options: { bedrock: { aws_region: 'us-east-1' }, upstream_url: `${url}/model/x/${operation}`, input_cost: 1, output_cost: 2 } },
    auth: { aws_access_key_id: 'AKIDEXAMPLE', aws_secret_access_key: AWS_SECRET },
    ...stats(),
  };
}

/** Anthropic Messages: buffered answers with usage, streams from the fixture. */
function anthropicApi(req: RecordedRequest) {
  if (req.json?.stream === true) {
    const c = readJsonFixture<StreamCase>('streams/anthropic-chat/case.json');
    return { kind: 'stream' as const, frames: [streamInput(c)] };
  }
  return {
    kind: 'json' as const,
    body: { id: 'msg_1', type: 'message', role: 'assistant', model: MODEL_ANTHROPIC, content: [{ type: 'text', text: 'Two.' }], stop_reason: 'end_turn', usage: { input_tokens: 14, output_tokens: 4 } },
  };
}
/** Bedrock Converse / ConverseStream. */
function bedrockApi(req: RecordedRequest) {
  if (req.url.endsWith('/converse-stream')) {
    const c = readJsonFixture<StreamCase>('streams/bedrock-chat/case.json');
    return { kind: 'stream' as const, contentType: 'application/vnd.amazon.eventstream', frames: [streamInput(c)] };
  }
  return {
    kind: 'json' as const,
    body: { output: { message: { role: 'assistant', content: [{ text: 'Two.' }] } }, stopReason: 'end_turn', usage: { inputTokens: 11, outputTokens: 7, totalTokens: 18 } },
  };
}
function openaiApi(req: RecordedRequest) {
  if (req.json?.stream === true) {
    // As api.openai.com: the usage chunk only when the request asked for it.
    const asked = (req.json.stream_options as { include_usage?: boolean } | undefined)?.include_usage === true;
    const frames = openAiChatStream(MODEL_OPENAI, ['One', ' plus', ' one', ' is', ' two.']).filter((f) => asked || !f.includes('"usage"'));
    return { kind: 'stream' as const, frames };
  }
  return { kind: 'json' as const, body: chatCompletion(`${MODEL_OPENAI}-2024-07-18`) };
}

before(async () => {
  [openai, anthropic, bedrock] = await Promise.all([EngineUpstream.start(openaiApi), EngineUpstream.start(anthropicApi), EngineUpstream.start(bedrockApi)]);
  collector = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      collected.push(JSON.parse(Buffer.concat(chunks).toString('utf8')));
      res.writeHead(200).end('ok');
    });
  });
  await new Promise<void>((r) => collector.listen(0, '127.0.0.1', () => r()));
  const dead = await refusedUrl();
  dir = mkdtempSync(path.join(os.tmpdir(), 'aipa-logs-'));
  fileLog = path.join(dir, 'file-log.jsonl');
  sinkFile = path.join(dir, 'sink.jsonl');
  metricsPort = await freePort();
  const sockDir = mkdtempSync(path.join(os.tmpdir(), 'aipa-sock-'));
  const node = shellQuote(process.execPath);
  const cli = shellQuote(RUNTIME_CLI);
  const psEnv = `/usr/bin/env AI_PROXY_ADVANCED_METRICS_PORT=${metricsPort} AI_PROXY_ADVANCED_LOG_FILE=${shellQuote(sinkFile)}`;
  const route = (name: string, targets: TargetConfig[], balancer?: Record<string, unknown>) => ({
    name,
    paths: [`/${name}`],
    plugins: [{ name: 'ai-proxy-advanced', config: { targets, ...(balancer ? { balancer } : {}) } }],
  });
  const collectorPort = (collector.address() as net.AddressInfo).port;
  h = await startHarness({
    config: {
      _format_version: '3.0',
      services: [
        {
          name: 'llm',
          url: 'http://127.0.0.1:9',
          routes: [
            route('openai', [openaiTarget(openai.url)]),
            route('anthropic', [anthropicTarget(anthropic.url)]),
            route('bedrock', [bedrockTarget(bedrock.url)]),
            route('bedrock-stream', [bedrockTarget(bedrock.url, 'converse-stream')]),
            route('failover', [{ ...openaiTarget(dead), weight: 100 }, { ...anthropicTarget(anthropic.url), weight: 50 }], { algorithm: 'priority' }),
            route('failed', [openaiTarget(dead)]),
            route('nostats', [openaiTarget(openai.url, { logging: { log_statistics: false, log_payloads: true } })]),
            route('nopayloads', [openaiTarget(openai.url, stats(false))]),
          ],
        },
      ],
      plugins: [
        { name: 'file-log', config: { path: fileLog } },
        { name: 'prometheus', config: { ai_metrics: true, status_code_metrics: true, latency_metrics: true } },
        { name: 'http-log', config: { http_endpoint: `http://127.0.0.1:${collectorPort}/logs`, queue: { max_coalescing_delay: 0.01 } } },
      ],
    },
    plugins: [{ name: 'probe', priority: 1, phases: ['log'] }],
    env: { AI_PROXY_ADVANCED_METRICS_PORT: String(metricsPort) },
    extraSettings: {
      KONG_PLUGINS: 'bundled,ai-proxy-advanced,probe',
      KONG_PLUGINSERVER_NAMES: 'aipa,probe',
      KONG_PLUGINSERVER_AIPA_SOCKET: path.join(sockDir, 'aipa.sock'),
      KONG_PLUGINSERVER_AIPA_START_CMD: `${psEnv} ${node} ${cli} -p ${shellQuote(sockDir)} --sock-name aipa.sock -d ${shellQuote(PLUGINS_DIR)}`,
      KONG_PLUGINSERVER_AIPA_QUERY_CMD: `${node} ${cli} -d ${shellQuote(PLUGINS_DIR)} --dump-all-plugins`,
    },
  });
});
after(async () => {
  await h?.close();
  await Promise.all([openai, anthropic, bedrock].map((u) => u?.close()));
  await new Promise<void>((r) => (collector ? collector.close(() => r()) : r()));
});

function lines(file: string): Entry[] {
  if (!existsSync(file)) return [];
  // Whole lines only: a write may be under way.
  const text = readFileSync(file, 'utf8');
  return text.slice(0, text.lastIndexOf('\n') + 1).split('\n').filter(Boolean).map((l) => JSON.parse(l) as Entry);
}

/** The one file-log entry of a request id (waits for it; fails if there are two). */
async function entryOf(id: string, file = fileLog): Promise<Entry> {
  const found = await eventually(() => {
    const es = lines(file).filter((e) => e.request?.id === id);
    return es.length > 0 ? es : undefined;
  });
  // A duplicate would come from another log phase of the request: once none runs and the file is flushed, every
  // line there will be is there.
  await eventually(() => h.gw.nativeLog.quiet());
  const all = lines(file).filter((e) => e.request?.id === id);
  assert.equal(all.length, 1, `exactly one entry for ${id} in ${path.basename(file)}`);
  assert.ok(found.length >= 1);
  return all[0] as Entry;
}

/** `elapsedMs`: the test's own monotonic measure, from before the request was sent until the answer was read. */
async function send(route: string, body: Record<string, unknown>): Promise<{ status: number; id: string; text: string; elapsedMs: number }> {
  const t0 = performance.now();
  const r = await fetch(`${h.proxy}/${route}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  const text = await r.text();
  return { status: r.status, id: r.headers.get('x-kong-request-id') ?? '', text, elapsedMs: performance.now() - t0 };
}

const chat = { messages: [{ role: 'user', content: 'What is 1 + 1?' }] };

function assertLatencies(e: Entry, mode: 'oneshot' | 'stream', elapsedMs: number): void {
  const meta = e.ai.proxy.meta;
  assert.equal(meta.request_mode, mode);
  assert.equal(typeof meta.llm_latency, 'number');
  assert.ok(meta.llm_latency >= 0);
  // Oneshot: the plugin measures (floored ms, monotonic clock) between the moment the test sent the request and
  // the moment it read the answer, both on the same machine's monotonic clock here: its latency cannot exceed
  // the test's. (Not compared with the gateway's latencies.request: that one is measured on the wall clock.
  // A stream's end is timed after its last bytes went out, so the client may be done first: no order there.)
  if (mode === 'oneshot') assert.ok(meta.llm_latency <= elapsedMs, `${meta.llm_latency} <= ${elapsedMs}`);
  const ttft = e.ai.proxy.usage.time_to_first_token;
  if (mode === 'oneshot') assert.equal(ttft, undefined, 'oneshot stats keep Kong OSS shape');
  else {
    assert.equal(typeof ttft, 'number');
    assert.ok(ttft >= 0 && ttft <= meta.llm_latency);
  }
}

function assertNoSecrets(text: string): void {
  for (const s of SECRETS) assert.ok(!text.includes(s), `a provider key leaked: ${s.slice(0, 8)}…`);
}

describe('one log entry per request, in Kong shape, through file-log', () => {
  test('buffered OpenAI: tokens, cost, latencies, payload.request is the body sent to the provider', async () => {
    openai.requests.length = 0;
    const r = await send('openai', chat);
    assert.equal(r.status, 200);
    const e = await entryOf(r.id);
    assert.equal(e.route.name, 'openai');
    assert.equal(e.service.name, 'llm');
    assert.equal(e.response.status, 200);
    const ai = e.ai.proxy;
    assert.deepEqual(Object.keys(ai).sort(), ['meta', 'payload', 'tried_targets', 'usage']);
    assert.equal(ai.meta.provider_name, 'openai');
    assert.equal(ai.meta.request_model, MODEL_OPENAI);
    assert.equal(ai.meta.response_model, `${MODEL_OPENAI}-2024-07-18`, 'the model the provider answered with');
    assert.deepEqual([ai.usage.prompt_tokens, ai.usage.completion_tokens, ai.usage.total_tokens], [25, 12, 37]);
    assert.equal(ai.usage.cost, (25 * 10 + 12 * 20) / 1e6);
    assertLatencies(e, 'oneshot', r.elapsedMs);
    assert.equal(ai.payload.request, openai.requests[0]?.body, 'what the provider received');
    assert.match(ai.payload.response, /The sum of 1 \+ 1 is 2/);
    assert.equal(ai.tried_targets.length, 1);
  });

  test('buffered Anthropic and Bedrock: their token counts, translated request logged', async () => {
    anthropic.requests.length = 0;
    const a = await send('anthropic', chat);
    assert.equal(a.status, 200);
    const ea = await entryOf(a.id);
    assert.deepEqual([ea.ai.proxy.usage.prompt_tokens, ea.ai.proxy.usage.completion_tokens, ea.ai.proxy.usage.total_tokens], [14, 4, 18]);
    assert.equal(ea.ai.proxy.usage.cost, (14 * 3 + 4 * 15) / 1e6);
    assert.equal(ea.ai.proxy.meta.provider_name, 'anthropic');
    assert.equal(ea.ai.proxy.payload.request, anthropic.requests[0]?.body);
    assert.match(ea.ai.proxy.payload.request, /"max_tokens":256/, 'the Anthropic body, not the client body');
    assertLatencies(ea, 'oneshot', a.elapsedMs);

    const b = await send('bedrock', chat);
    assert.equal(b.status, 200);
    const eb = await entryOf(b.id);
    assert.deepEqual([eb.ai.proxy.usage.prompt_tokens, eb.ai.proxy.usage.completion_tokens, eb.ai.proxy.usage.total_tokens], [11, 7, 18]);
    assert.equal(eb.ai.proxy.usage.cost, (11 * 1 + 7 * 2) / 1e6);
    assert.equal(eb.ai.proxy.meta.provider_name, 'bedrock');
    assertLatencies(eb, 'oneshot', b.elapsedMs);
  });

  for (const includeUsage of [true, false]) {
    test(`streamed OpenAI (include_usage ${includeUsage}): the stream's analytics reach file-log and the sink`, async () => {
      const body = { ...chat, stream: true, ...(includeUsage ? { stream_options: { include_usage: true } } : {}) };
      const r = await send('openai', body);
      assert.equal(r.status, 200);
      assert.equal(/"usage"/.test(r.text), includeUsage, 'the client gets a usage frame only when it asked');
      const e = await entryOf(r.id);
      const ai = e.ai.proxy;
      assert.equal(ai.meta.provider_name, 'openai');
      assert.equal(ai.meta.response_model, MODEL_OPENAI);
      // Reported by the provider when asked (9, 5); else estimated as Kong does: the request's 5 words x 1.8 and
      // the 20-byte answer / 4, which happen to be the same counts.
      const [p, c] = [9, 5];
      assert.deepEqual([ai.usage.prompt_tokens, ai.usage.completion_tokens, ai.usage.total_tokens], [p, c, p + c]);
      assert.equal(ai.usage.cost, (p * 10 + c * 20) / 1e6);
      assertLatencies(e, 'stream', r.elapsedMs);
      // Kong's composed chat.completion around the concatenated text (normalize-sse-chunk.lua).
      const logged = JSON.parse(ai.payload.response);
      assert.equal(logged.object, 'chat.completion');
      assert.equal(logged.choices[0].message.content, 'One plus one is two.');
      assert.deepEqual(logged.usage, { prompt_tokens: p, completion_tokens: c, total_tokens: p + c });
      assert.equal(JSON.parse(ai.payload.request).stream, true);
      // The plugin server's own sink has the same block with Kong's request id, route and service.
      const s = await entryOf(r.id, sinkFile);
      assert.deepEqual(s.ai.proxy, ai);
      assert.equal(s.route.name, 'openai');
      assert.equal(s.service.name, 'llm');
    });
  }

  test('streamed Anthropic and Bedrock: tokens from their streams', async () => {
    const a = await send('anthropic', { ...chat, stream: true });
    assert.equal(a.status, 200);
    const ea = await entryOf(a.id);
    assert.deepEqual([ea.ai.proxy.usage.prompt_tokens, ea.ai.proxy.usage.completion_tokens, ea.ai.proxy.usage.total_tokens], [25, 15, 40]);
    assert.equal(ea.ai.proxy.meta.response_model, MODEL_ANTHROPIC);
    assertLatencies(ea, 'stream', a.elapsedMs);

    const b = await send('bedrock-stream', { ...chat, stream: true });
    assert.equal(b.status, 200);
    const eb = await entryOf(b.id);
    assert.deepEqual([eb.ai.proxy.usage.prompt_tokens, eb.ai.proxy.usage.completion_tokens, eb.ai.proxy.usage.total_tokens], [9, 97, 106]);
    assert.equal(eb.ai.proxy.usage.cost, (9 * 1 + 97 * 2) / 1e6);
    assertLatencies(eb, 'stream', b.elapsedMs);
  });

  test('failed over (OpenAI down → Anthropic), buffered and streamed: one entry naming both tried targets', async () => {
    for (const stream of [false, true]) {
      const r = await send('failover', { ...chat, ...(stream ? { stream: true } : {}) });
      assert.equal(r.status, 200);
      const e = await entryOf(r.id);
      assert.deepEqual(e.ai.proxy.tried_targets.map((t: Entry) => t.provider), ['openai', 'anthropic']);
      assert.equal(e.ai.proxy.meta.provider_name, 'anthropic');
      assert.equal(e.ai.proxy.usage.total_tokens, stream ? 40 : 18);
    }
  });

  test('failed (the only target down), buffered and streamed: one entry with the status and no tokens', async () => {
    for (const stream of [false, true]) {
      const r = await send('failed', { ...chat, ...(stream ? { stream: true } : {}) });
      assert.ok(r.status >= 500, String(r.status));
      const e = await entryOf(r.id);
      assert.equal(e.response.status, r.status);
      assert.equal(e.ai.proxy.usage.total_tokens, 0);
      assert.equal(e.ai.proxy.usage.cost, 0);
      assert.equal(e.ai.proxy.tried_targets.length, 1);
    }
  });

  test('log_statistics false: no ai block at all (Kong returns early); log_payloads false: everything but payload', async () => {
    for (const stream of [false, true]) {
      const body = { ...chat, ...(stream ? { stream: true } : {}) };
      const n = await send('nostats', body);
      assert.equal(n.status, 200);
      assert.equal((await entryOf(n.id)).ai, undefined);
      const p = await send('nopayloads', body);
      const e = await entryOf(p.id);
      assert.deepEqual(Object.keys(e.ai.proxy).sort(), ['meta', 'tried_targets', 'usage']);
    }
  });

  test('http-log posts the same entries as file-log, stream analytics included', async () => {
    const r = await send('openai', { ...chat, stream: true });
    const e = await entryOf(r.id);
    const posted = await eventually(() => collected.find((c) => (c as Entry).request?.id === r.id) as Entry | undefined);
    assert.deepEqual(posted.ai.proxy, e.ai.proxy);
  });

  test('no provider key in any log: file-log, sink, http-log', async () => {
    const streamed = [await send('openai', { ...chat, stream: true }), await send('anthropic', { ...chat, stream: true }), await send('bedrock-stream', { ...chat, stream: true })];
    const all = [...streamed, await send('bedrock', chat)];
    // Every log has its entries before it is searched: file-log and http-log get every request, the sink the
    // streamed ones.
    for (const r of all) await entryOf(r.id);
    for (const r of all) await eventually(() => collected.some((c) => (c as Entry).request?.id === r.id));
    for (const r of streamed) await eventually(() => lines(sinkFile).some((e) => e.request?.id === r.id));
    assertNoSecrets(readFileSync(fileLog, 'utf8'));
    assertNoSecrets(readFileSync(sinkFile, 'utf8'));
    assertNoSecrets(JSON.stringify(collected));
  });
});

function sample(text: string, name: string, labels: Record<string, string>): number {
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${name}{`)) continue;
    const ok = Object.entries(labels).every(([k, v]) => line.includes(`${k}="${v}"`));
    if (ok) return Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return 0;
}

describe('metrics', () => {
  test("the gateway's prometheus plugin counts buffered and streamed requests with Kong's names and labels", async () => {
    const get = async (): Promise<string> => (await fetch(`${h.admin}/metrics`)).text();
    const before = await get();
    const labels = { ai_provider: 'bedrock', ai_model: MODEL_BEDROCK, workspace: 'default' };
    const n0 = sample(before, 'kong_ai_llm_requests_total', labels);
    const t0 = sample(before, 'kong_ai_llm_tokens_total', { ...labels, token_type: 'total_tokens' });
    const ids = [(await send('bedrock', chat)).id, (await send('bedrock-stream', { ...chat, stream: true })).id];
    for (const id of ids) await entryOf(id);
    const after = await get();
    assert.equal(sample(after, 'kong_ai_llm_requests_total', labels), n0 + 2);
    assert.equal(sample(after, 'kong_ai_llm_tokens_total', { ...labels, token_type: 'total_tokens' }), t0 + 18 + 106);
    assert.ok(sample(after, 'kong_ai_llm_cost_total', labels) > 0);
    assert.match(after, /kong_ai_llm_provider_latency_ms_bucket\{le="250",ai_provider="bedrock"/);
    assert.ok(sample(after, 'kong_http_requests_total', { route: 'bedrock', code: '200' }) >= 2);
    // The plugin server's balancer metrics come along (it exposes them on AI_PROXY_ADVANCED_METRICS_PORT).
    assert.match(after, /kong_ai_proxy_advanced_failovers_total\{plugin_id="[0-9a-f-]{36}",ai_provider="openai",ai_model="gpt-4o-mini"\} [1-9]/);
    assert.match(after, /kong_ai_proxy_advanced_target_circuit_state\{/);
    // Valid exposition text: every family described once (a second `# TYPE` for a name fails the whole scrape).
    for (const kind of ['TYPE', 'HELP']) {
      const names = after.split('\n').filter((l) => l.startsWith(`# ${kind} `)).map((l) => l.split(' ')[2]);
      assert.deepEqual(names.filter((n, i) => names.indexOf(n) !== i), [], `# ${kind} printed more than once`);
    }
  });

  test("the plugin server's /metrics counts streamed requests too (for Kong, whose prometheus plugin misses them)", async () => {
    const get = async (): Promise<string> => (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text();
    const labels = { ai_provider: 'anthropic', ai_model: MODEL_ANTHROPIC };
    const n0 = sample(await get(), 'kong_ai_llm_requests_total', labels);
    const r = await send('anthropic', { ...chat, stream: true });
    await entryOf(r.id);
    assert.equal(sample(await get(), 'kong_ai_llm_requests_total', labels), n0 + 1);
    assert.ok(!/sk-ant|SECRET/.test(await get()));
  });
});
