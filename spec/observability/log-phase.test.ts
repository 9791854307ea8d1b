/**
 * The plugin's log phase and sink on their own: no RPC at all when nothing waits for it, the stream record found
 * by the ticket in upstream_uri, credentials redacted from what the sink writes (auth headers, query keys, a key
 * placed in the body), the HTTP sink POSTing with Kong http-log's body shape, and bad sink settings named.
 */
import assert from 'node:assert/strict';
import { readFileSync, mkdtempSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { describe, test } from 'node:test';
import { Registry } from 'prom-client';
import type { PluginConfig, TargetConfig } from '../../schemas/config';
import { aiProxyBlock } from '../../plugins/ai-proxy-advanced/engine/analytics';
import { logPhase, logPhaseDeclared, logPhaseHasWork, ticketOf, type LogPhaseDeps, type LogPhasePdk } from '../../plugins/ai-proxy-advanced/observability/log-phase';
import * as PluginModule from '../../plugins/ai-proxy-advanced';
import { AiMetrics, KongAiMetrics, MAX_MODEL_SERIES, MAX_PENDING_LATENCIES } from '../../plugins/ai-proxy-advanced/observability/metrics';
import { PendingStreams, StreamRecord } from '../../plugins/ai-proxy-advanced/observability/record';
import { sinkFromEnv, type LogSink } from '../../plugins/ai-proxy-advanced/observability/sink';
import { STREAM_PATH, TICKET_TTL_MS } from '../../plugins/ai-proxy-advanced/engine/stream-endpoint';
import { ConfigError } from '../../plugins/ai-proxy-advanced/errors';

const KEY = 'sk-SECRET-in-body';
const target: TargetConfig = {
  route_type: 'llm/v1/chat',
  model: { provider: 'openai', name: 'gpt-4o', options: { input_cost: 1, output_cost: 1 } },
  auth: { param_name: 'api_key', param_value: KEY, param_location: 'body' },
  logging: { log_statistics: true, log_payloads: true },
};
const config: PluginConfig = { __plugin_id: 'p1', targets: [target, { ...target, auth: { header_name: 'X-Custom-Key', header_value: KEY } }] };

class Pdk implements LogPhasePdk {
  calls: string[] = [];
  set = new Map<string, unknown>();
  constructor(private readonly entry: Record<string, unknown>) {}
  log = {
    serialize: async () => {
      this.calls.push('serialize');
      return JSON.stringify(this.entry);
    },
    setSerializeValue: async (k: string, v: unknown) => {
      this.calls.push('set');
      this.set.set(k, v);
    },
  };
}

class MemorySink implements LogSink {
  written: Array<Record<string, unknown>> = [];
  constructor(readonly scope: 'streamed' | 'all') {}
  write(e: Record<string, unknown>): void {
    this.written.push(e);
  }
  async close(): Promise<void> {}
}

function deps(over: Partial<LogPhaseDeps>): LogPhaseDeps {
  return { pending: new PendingStreams(), sink: undefined, waitMs: 1000, ...over };
}

describe('log phase', () => {
  test('nothing pending and no sink for buffered requests: not a single PDK call', async () => {
    const kong = new Pdk({});
    await logPhase(kong, config, deps({ sink: new MemorySink('streamed') }));
    assert.deepEqual(kong.calls, []);
  });

  test('a streamed request: the record found by ticket sets ai.proxy and is written, credentials redacted', async () => {
    let t = 0;
    const rec = new StreamRecord(config, 0, () => t);
    const pending = new PendingStreams(() => t);
    pending.add('abc123', rec);
    const entry = {
      request: { id: 'r1', headers: { 'x-custom-key': KEY, authorization: 'Bearer other', accept: '*/*' }, querystring: {} },
      upstream_uri: `${STREAM_PATH}abc123?x=1`,
      route: { name: 'r' },
    };
    const kong = new Pdk(entry);
    const sink = new MemorySink('streamed');
    const done = logPhase(kong, config, deps({ pending, sink }));
    t = 40;
    rec.frames(['data: {"model":"gpt-4o-2024","choices":[]}\n\n']);
    t = 100;
    rec.streamed(
      { kind: 'stream', target, model: 'gpt-4o', tried: [{ target, model: 'gpt-4o', url: 'https://api.openai.com/v1/chat/completions', body: Buffer.from(JSON.stringify({ model: 'gpt-4o', api_key: KEY })) }] },
      { prompt_tokens: 3, completion_tokens: 4, total_tokens: 7 },
      'hello',
      'stop',
    );
    await done;
    assert.deepEqual(kong.calls, ['serialize', 'set']);
    const block = kong.set.get('ai.proxy') as Record<string, any>;
    assert.equal(block.meta.request_mode, 'stream');
    assert.equal(block.meta.response_model, 'gpt-4o-2024');
    assert.equal(block.meta.llm_latency, 100);
    assert.equal(block.usage.time_to_first_token, 40);
    assert.equal(block.usage.total_tokens, 7);
    // Kong's composed chat.completion (normalize-sse-chunk.lua), with the model the chunks named.
    assert.deepEqual(JSON.parse(block.payload.response), {
      choices: [{ finish_reason: 'stop', index: 0, logprobs: null, message: { role: 'assistant', content: 'hello' } }],
      model: 'gpt-4o-2024',
      object: 'chat.completion',
      response: 'hello',
      usage: { prompt_tokens: 3, completion_tokens: 4, total_tokens: 7 },
    });
    assert.deepEqual(JSON.parse(block.payload.request), { model: 'gpt-4o', api_key: 'REDACTED' });
    assert.equal(sink.written.length, 1);
    const text = JSON.stringify(sink.written[0]);
    assert.ok(!text.includes(KEY));
    assert.ok(!text.includes('Bearer other'));
    assert.equal(pending.size, 0, 'claimed once');
  });

  test('a stream that never ends within the wait is not written; an unknown ticket is ignored', async () => {
    const pending = new PendingStreams();
    pending.add('t1', new StreamRecord(config, 0, () => 0));
    const sink = new MemorySink('all');
    const kong = new Pdk({ request: { id: 'x' }, upstream_uri: `${STREAM_PATH}t1` });
    await logPhase(kong, config, deps({ pending, sink, waitMs: 20 }));
    assert.equal(sink.written.length, 0);
    assert.equal(ticketOf('/v1/chat'), undefined);
    assert.equal(ticketOf(`${STREAM_PATH}zz?q=1`), 'zz');
  });

  test('scope all: buffered entries with an ai.proxy block are written, others not; query keys redacted', async () => {
    const cfg: PluginConfig = { targets: [{ ...target, auth: { param_name: 'key', param_value: KEY, param_location: 'query' } }] };
    const sink = new MemorySink('all');
    const withAi = { request: { id: 'a', uri: `/x?key=${KEY}&y=1`, url: `http://h/x?key=${KEY}`, querystring: { key: KEY } }, ai: { proxy: { meta: {} } } };
    await logPhase(new Pdk(withAi), cfg, deps({ sink }));
    await logPhase(new Pdk({ request: { id: 'b' } }), cfg, deps({ sink }));
    assert.equal(sink.written.length, 1);
    assert.ok(!JSON.stringify(sink.written).includes(KEY));
  });

  test('pending records are bounded by age', () => {
    let t = 0;
    const p = new PendingStreams(() => t, 1000);
    p.add('a', new StreamRecord(config, 0, () => t));
    t = 2000;
    p.add('b', new StreamRecord(config, 0, () => t));
    assert.equal(p.size, 1);
    assert.equal(p.take('a'), undefined);
  });
});

test('an ended stream nobody logged goes after the ticket TTL, even behind a live one', () => {
  let t = 0;
  const p = new PendingStreams(() => t);
  const live = new StreamRecord(config, 0, () => t);
  const ended = new StreamRecord(config, 0, () => t);
  p.add('live', live);
  p.add('ended', ended);
  ended.abandon();
  t = TICKET_TTL_MS - 1000;
  p.add('x', new StreamRecord(config, 0, () => t));
  assert.equal(p.size, 3);
  t = TICKET_TTL_MS;
  p.add('y', new StreamRecord(config, 0, () => t));
  assert.equal(p.take('ended'), undefined, 'dropped 60 s after its stream ended');
  assert.equal(p.take('live'), live, 'a live stream is kept');
});

test('awaitingLog counts streams that just ended and are not yet logged (what a stopping server waits for)', () => {
  let t = 0;
  const p = new PendingStreams(() => t);
  const live = new StreamRecord(config, 0, () => t);
  const ended = new StreamRecord(config, 0, () => t);
  const logged = new StreamRecord(config, 0, () => t);
  p.add('live', live);
  p.add('ended', ended);
  p.add('logged', logged);
  ended.abandon();
  logged.abandon();
  p.take('logged');
  assert.equal(p.awaitingLog(5000), 1, 'only the ended, unclaimed one');
  t = 5000;
  assert.equal(p.awaitingLog(5000), 0, 'Kong would have logged it by now');
});

describe('ai.proxy block and metrics', () => {
  test("Kong's exporter rules: request counted, cost only when > 0, tokens per type, labelled by request model", async () => {
    const registry = new Registry();
    const m = new AiMetrics(registry);
    const block = aiProxyBlock({
      pluginId: 'p',
      target: { ...target, model: { provider: 'openai', name: 'gpt-4o' } },
      requestModel: 'gpt-4o',
      responseModel: 'gpt-4o-2024',
      latencyMs: 1200,
      usage: { prompt_tokens: 5, completion_tokens: 0, total_tokens: 5 },
      tried: [],
      requestBody: undefined,
      responseBody: undefined,
    });
    assert.ok(block);
    m.observe(block, 'default');
    m.failedOver('p', [{ provider: 'openai', model: 'a' }, { provider: 'anthropic', model: 'b' }]);
    const text = await registry.metrics();
    assert.match(text, /kong_ai_llm_requests_total\{ai_provider="openai",ai_model="gpt-4o",cache_status="",vector_db="",embeddings_provider="",embeddings_model="",workspace="default"\} 1/);
    assert.match(text, /kong_ai_llm_tokens_total\{[^}]*token_type="prompt_tokens"[^}]*\} 5/);
    assert.doesNotMatch(text, /token_type="completion_tokens"/, 'zero counts are not recorded');
    assert.doesNotMatch(text, /kong_ai_llm_cost_total\{/, 'no cost without input/output cost');
    assert.match(text, /kong_ai_llm_provider_latency_ms_bucket\{le="1500",[^}]*\} 1/);
    assert.match(text, /kong_ai_llm_provider_latency_ms_bucket\{le="1000",[^}]*\} 0/);
    assert.match(text, /kong_ai_proxy_advanced_failovers_total\{plugin_id="p",ai_provider="openai",ai_model="a"\} 1/);
    assert.doesNotMatch(text, /ai_provider="anthropic",ai_model="b"\} 1/, 'the target that answered did not fail over');
  });

  test('log_statistics false: no block at all', () => {
    assert.equal(aiProxyBlock({ pluginId: 'p', target: { ...target, logging: { log_statistics: false, log_payloads: true } }, requestModel: 'm', responseModel: undefined, latencyMs: 1, usage: undefined, tried: [], requestBody: undefined, responseBody: undefined }), undefined);
  });
});

describe('sink from the environment', () => {
  test('file and HTTP: one JSON line per entry; a single JSON object per POST, or an array when batching', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'aipa-sink-'));
    const got: Array<{ body: string; auth: string | undefined }> = [];
    const srv = http.createServer((req, res) => {
      let b = '';
      req.on('data', (c) => (b += c));
      req.on('end', () => {
        got.push({ body: b, auth: req.headers.authorization });
        res.writeHead(204).end();
      });
    });
    await new Promise<void>((r) => srv.listen(0, '127.0.0.1', () => r()));
    const port = (srv.address() as AddressInfo).port;
    try {
      const file = path.join(dir, 's.jsonl');
      const single = sinkFromEnv({ AI_PROXY_ADVANCED_LOG_FILE: file, AI_PROXY_ADVANCED_LOG_HTTP_ENDPOINT: `http://u:p%40ss@127.0.0.1:${port}/in` });
      assert.ok(single);
      assert.equal(single.scope, 'streamed');
      single.write({ n: 1 });
      single.write({ n: 2 });
      await single.close();
      assert.deepEqual(readFileSync(file, 'utf8').trim().split('\n').map((l) => JSON.parse(l)), [{ n: 1 }, { n: 2 }]);
      assert.deepEqual(got.map((g) => JSON.parse(g.body)), [{ n: 1 }, { n: 2 }]);
      assert.equal(got[0]?.auth, `Basic ${Buffer.from('u:p@ss').toString('base64')}`);
      got.length = 0;
      const batched = sinkFromEnv({ AI_PROXY_ADVANCED_LOG_HTTP_ENDPOINT: `http://127.0.0.1:${port}/in`, AI_PROXY_ADVANCED_LOG_HTTP_BATCH_SIZE: '2', AI_PROXY_ADVANCED_LOG_REQUESTS: 'all' });
      assert.equal(batched?.scope, 'all');
      batched?.write({ n: 3 });
      batched?.write({ n: 4 });
      await batched?.close();
      assert.deepEqual(got.map((g) => JSON.parse(g.body)), [[{ n: 3 }, { n: 4 }]]);
    } finally {
      srv.close();
    }
  });

  test('a failing endpoint is reported without its query string or user info', async () => {
    const srv = http.createServer((req, res) => {
      req.resume();
      req.on('end', () => res.writeHead(500).end());
    });
    await new Promise<void>((r) => srv.listen(0, '127.0.0.1', () => r()));
    const port = (srv.address() as AddressInfo).port;
    const written: string[] = [];
    const orig = process.stderr.write;
    process.stderr.write = ((chunk: string | Uint8Array) => (written.push(String(chunk)), true)) as typeof process.stderr.write;
    try {
      const sink = sinkFromEnv({ AI_PROXY_ADVANCED_LOG_HTTP_ENDPOINT: `http://user:PASSWORD@127.0.0.1:${port}/in?token=QUERYSECRET` });
      sink?.write({ n: 1 });
      // Closing sends what is queued once and drops it on failure: exactly one report.
      await sink?.close();
    } finally {
      process.stderr.write = orig;
      srv.close();
    }
    const text = written.join('');
    assert.match(text, new RegExp(`http://127\\.0\\.0\\.1:${port}/in answered 500`));
    assert.doesNotMatch(text, /QUERYSECRET|PASSWORD|user:/);
  });

  test('nothing set: no sink; bad settings are named', () => {
    assert.equal(sinkFromEnv({}), undefined);
    assert.throws(() => sinkFromEnv({ AI_PROXY_ADVANCED_LOG_HTTP_ENDPOINT: 'file:///etc/passwd' }), (e: Error) => e instanceof ConfigError && /AI_PROXY_ADVANCED_LOG_HTTP_ENDPOINT/.test(e.message));
    assert.throws(() => sinkFromEnv({ AI_PROXY_ADVANCED_LOG_FILE: '/tmp/x', AI_PROXY_ADVANCED_LOG_REQUESTS: 'some' }), /AI_PROXY_ADVANCED_LOG_REQUESTS/);
    assert.throws(() => sinkFromEnv({ AI_PROXY_ADVANCED_LOG_HTTP_ENDPOINT: 'http://x', AI_PROXY_ADVANCED_LOG_HTTP_BATCH_SIZE: '0' }), /BATCH_SIZE/);
  });
});

test('metrics label sets are bounded: models beyond MAX_MODEL_SERIES count as "other"', async () => {
  const registry = new Registry();
  const m = new AiMetrics(registry);
  const t: TargetConfig = { ...target, model: { provider: 'openai' } };
  for (let i = 0; i < MAX_MODEL_SERIES + 50; i++) {
    const block = aiProxyBlock({ pluginId: 'p', target: t, requestModel: `client-model-${i}`, responseModel: undefined, latencyMs: 1, usage: undefined, tried: [], requestBody: undefined, responseBody: undefined });
    if (block) m.observe(block, 'default');
  }
  const text = await registry.metrics();
  const series = text.split('\n').filter((l) => l.startsWith('kong_ai_llm_requests_total{'));
  assert.equal(series.length, MAX_MODEL_SERIES + 1);
  assert.ok(series.some((l) => l.includes('ai_model="other"') && l.endsWith(' 50')));
});

test('counts kept between scrapes add up: every request, token and latency reaches the families, across scrapes and past the pending-latency bound', async () => {
  const registry = new Registry();
  const m = new KongAiMetrics(registry);
  const t: TargetConfig = { ...target, model: { provider: 'openai', name: 'gpt-4o' } };
  const usage = { prompt_tokens: 3, completion_tokens: 4, total_tokens: 7 };
  const observe = (n: number, latencyMs: number): void => {
    for (let i = 0; i < n; i++) {
      const block = aiProxyBlock({ pluginId: 'p', target: t, requestModel: 'gpt-4o', responseModel: 'gpt-4o', latencyMs, usage, tried: [], requestBody: undefined, responseBody: undefined });
      if (block) m.observe(block, 'default');
    }
  };
  const value = (text: string, prefix: string): number => {
    const line = text.split('\n').find((l) => l.startsWith(prefix));
    assert.ok(line, `${prefix} in the scrape`);
    return Number(line.slice(line.lastIndexOf(' ') + 1));
  };
  observe(1500, 300); // more latencies than are kept pending (1024)
  let text = await registry.metrics();
  assert.equal(value(text, 'kong_ai_llm_requests_total{'), 1500);
  assert.equal(value(text, 'kong_ai_llm_provider_latency_ms_count{'), 1500);
  assert.equal(value(text, 'kong_ai_llm_provider_latency_ms_bucket{le="250"'), 0);
  assert.equal(value(text, 'kong_ai_llm_provider_latency_ms_bucket{le="500"'), 1500);
  observe(20, 100);
  text = await registry.metrics();
  assert.equal(value(text, 'kong_ai_llm_requests_total{'), 1520);
  assert.equal(value(text, 'kong_ai_llm_provider_latency_ms_bucket{le="250"'), 20);
  const tokens = text.split('\n').filter((l) => l.startsWith('kong_ai_llm_tokens_total{'));
  assert.deepEqual(
    tokens.map((l) => [/token_type="(\w+)"/.exec(l)?.[1], Number(l.slice(l.lastIndexOf(' ') + 1))]).sort(),
    [['completion_tokens', 4 * 1520], ['prompt_tokens', 3 * 1520], ['total_tokens', 7 * 1520]],
  );
  // A scrape with nothing new changes nothing.
  assert.equal(value(await registry.metrics(), 'kong_ai_llm_requests_total{'), 1520);
});

test('latencies waiting for a scrape are bounded over all series, not per series, and none is lost', async () => {
  const registry = new Registry();
  const m = new KongAiMetrics(registry);
  const models = 1000;
  const perModel = 20; // under the per-series bound: only the bound over all series hands these over
  let peak = 0;
  for (let r = 0; r < perModel; r++) {
    for (let i = 0; i < models; i++) {
      const t: TargetConfig = { ...target, model: { provider: 'openai', name: `m-${i}` } };
      const block = aiProxyBlock({ pluginId: 'p', target: t, requestModel: `m-${i}`, responseModel: undefined, latencyMs: 5, usage: undefined, tried: [], requestBody: undefined, responseBody: undefined });
      if (block) m.observe(block, 'default');
      peak = Math.max(peak, m.pendingLatencyCount);
    }
  }
  assert.ok(peak < MAX_PENDING_LATENCIES, `peak pending ${peak} stays under ${MAX_PENDING_LATENCIES} (${models * perModel} observed)`);
  const text = await registry.metrics();
  assert.equal(m.pendingLatencyCount, 0);
  const counts = text.split('\n').filter((l) => l.startsWith('kong_ai_llm_provider_latency_ms_count{'));
  assert.equal(counts.reduce((sum, l) => sum + Number(l.slice(l.lastIndexOf(' ') + 1)), 0), models * perModel);
});

test('failover label sets are bounded too: client-chosen models beyond MAX_MODEL_SERIES count as "other"', async () => {
  const registry = new Registry();
  const m = new AiMetrics(registry);
  for (let i = 0; i < MAX_MODEL_SERIES + 50; i++) m.failedOver('p', [{ provider: 'openai', model: `client-model-${i}` }, { provider: 'openai', model: 'x' }]);
  const text = await registry.metrics();
  const series = text.split('\n').filter((l) => l.startsWith('kong_ai_proxy_advanced_failovers_total{'));
  assert.equal(series.length, MAX_MODEL_SERIES + 1);
  assert.ok(series.some((l) => l.includes('ai_model="other"') && l.endsWith(' 50')));
});

test("the gateway's metrics hold Kong's AI families only, none of the balancer's", async () => {
  const registry = new Registry();
  new KongAiMetrics(registry);
  const text = await registry.metrics();
  assert.match(text, /# TYPE kong_ai_llm_requests_total counter/);
  assert.doesNotMatch(text, /kong_ai_proxy_advanced_/);
});

describe('declaring the log phase (AI_PROXY_ADVANCED_LOG_PHASE)', () => {
  test('declared unless the setting is off; the handler still answers a log event at once either way', async () => {
    assert.equal(logPhaseDeclared({}), true);
    assert.equal(logPhaseDeclared({ AI_PROXY_ADVANCED_LOG_PHASE: 'on' }), true);
    assert.equal(logPhaseDeclared({ AI_PROXY_ADVANCED_LOG_PHASE: ' OFF ' }), false);
    // This process does not set it: the module declares access and log, as kong-pdk would from the prototype.
    assert.deepEqual(PluginModule.Phases, ['access', 'log']);
    // Nothing waits for the log phase: no promise, no PDK call (the plugin server answers "ret" in the same turn).
    const plugin = new PluginModule.Plugin({ targets: [{ ...target, auth: null }] } as never);
    const pdk = new Pdk({});
    assert.equal(plugin.log(pdk), undefined);
    assert.deepEqual(pdk.calls, []);
    assert.equal(logPhaseHasWork(new PendingStreams(), new MemorySink('all')), true);
    assert.equal(logPhaseHasWork(new PendingStreams(), new MemorySink('streamed')), false);
  });
});
