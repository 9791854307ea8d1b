/**
 * Issue 11, plugin half: bounded memory. The plugin asks Kong for at most `max_request_body_size` (Kong 3.8+
 * `get_raw_body(max_allowed_file_size)`, kong/pdk/request.lua) and refuses a body announced larger without
 * reading it; a provider answer is inflated as a stream with an output limit (MAX_RESPONSE_BYTES), so a 1 MB gzip
 * that inflates to 1 GB is a provider failure (failover per failover_criteria) instead of 1 GB in the plugin server.
 */
import assert from 'node:assert/strict';
import { once } from 'node:events';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { randomUUID } from 'node:crypto';
import { gzipSync } from 'node:zlib';
import { after, before, describe, test } from 'node:test';
import type { PluginConfig, TargetConfig } from '../../schemas/config';
import { AiProxyAdvanced } from '../../plugins/ai-proxy-advanced/handler';
import { answerBudget, callUpstream, closeUpstreamAgents, MAX_RESPONSE_BYTES } from '../../plugins/ai-proxy-advanced/engine/upstream';
import { answersMaxBytes, DEFAULT_ANSWERS_MAX_BYTES } from '../../plugins/ai-proxy-advanced/engine/answer-budget';
import { SseFramer } from '../../plugins/ai-proxy-advanced/providers/streams/sse';
import { NdjsonFramer } from '../../plugins/ai-proxy-advanced/providers/streams/ndjson';
import { MAX_PENDING_EVENT, StreamEventTooLarge, type Framer } from '../../plugins/ai-proxy-advanced/providers/streams/framer';
import { JsonArrayFramer } from '../../plugins/ai-proxy-advanced/providers/streams/json-array';
import { SniffingFramer } from '../../plugins/ai-proxy-advanced/providers/streams/sniff';
import { FakePdk } from '../helpers/engine-pdk';
import { startEngineGateway, type EngineGateway } from '../helpers/engine-gateway';
import { chatCompletion, EngineUpstream, openAiChatStream } from '../helpers/engine-upstream';

const chat = { messages: [{ role: 'user', content: 'hi' }] };
const GIB = 1024 * 1024 * 1024;

/** 1 MiB of gzip that inflates to 1 GiB: 1024 gzip members of 1 MiB of zeros each (gunzip reads them all). */
function gzipBomb(): Buffer {
  const member = gzipSync(Buffer.alloc(1 << 20), { level: 9 });
  return Buffer.concat(Array<Buffer>(1024).fill(member));
}

/** A provider that answers every request with the bomb, as JSON or as an event stream. */
async function bombServer(bomb: Buffer, contentType: string): Promise<{ url: string; requests: number; close(): Promise<void> }> {
  const state = { requests: 0 };
  const server = http.createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      state.requests++;
      res.writeHead(200, { 'content-type': contentType, 'content-encoding': 'gzip', 'content-length': String(bomb.length) });
      res.end(bomb);
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    get requests() {
      return state.requests;
    },
    close: async () => {
      server.closeAllConnections();
      server.close();
      await once(server, 'close');
    },
  };
}

function target(url: string, name = 'gpt-4o-mini'): TargetConfig {
  return { route_type: 'llm/v1/chat', model: { provider: 'openai', name, options: { upstream_url: `${url}/v1/chat/completions` } } };
}

describe('the request body asked of Kong', () => {
  let api: EngineUpstream;
  before(async () => {
    api = await EngineUpstream.start();
  });
  after(async () => {
    await api.close();
    await closeUpstreamAgents();
  });
  const plugin = (config: Omit<PluginConfig, '__plugin_id'>): AiProxyAdvanced => new AiProxyAdvanced({ ...config, __plugin_id: randomUUID() });

  test('get_raw_body is called with max_request_body_size (default 1 MiB), never 0 = unlimited', async () => {
    const args: unknown[][] = [];
    for (const [config, expected] of [[{ targets: [target(api.url)] }, 1048576], [{ targets: [target(api.url)], max_request_body_size: 4096 }, 4096]] as Array<[Omit<PluginConfig, "__plugin_id">, number]>) {
      const kong = new FakePdk({ body: chat });
      const original = kong.request.getRawBody;
      kong.request.getRawBody = async (...a) => {
        args.push(a);
        return original(...a);
      };
      await plugin(config).access(kong);
      assert.equal(kong.exited?.status, 200);
      assert.deepEqual(args.at(-1), [expected]);
    }
    // 0 keeps its meaning (3.10+: unlimited), so the whole body is asked for.
    const kong = new FakePdk({ body: chat });
    let asked: unknown;
    const original = kong.request.getRawBody;
    kong.request.getRawBody = async (...a) => {
      asked = a[0];
      return original(...a);
    };
    await plugin({ targets: [target(api.url)], max_request_body_size: 0 }).access(kong);
    assert.equal(asked, 0);
  });

  test('a body announced larger than the limit is a 413 naming it, and is never read', async () => {
    const kong = new FakePdk({ body: chat, headers: { 'content-length': '10485760' } });
    await plugin({ targets: [target(api.url)], max_request_body_size: 1024 }).access(kong);
    assert.equal(kong.exited?.status, 413);
    assert.match(String((kong.json.error as { message?: string }).message), /10485760 bytes, more than max_request_body_size \(1024\)/);
    assert.equal(kong.calls.includes('kong.request.get_raw_body'), false);
  });
});

describe('provider answers are inflated with a limit', () => {
  let bomb: Buffer;
  let jsonBomb: Awaited<ReturnType<typeof bombServer>>;
  let sseBomb: Awaited<ReturnType<typeof bombServer>>;
  let good: EngineUpstream;
  let gw: EngineGateway;

  before(async () => {
    bomb = gzipBomb();
    jsonBomb = await bombServer(bomb, 'application/json');
    sseBomb = await bombServer(bomb, 'text/event-stream');
    good = await EngineUpstream.start((r) => {
      const model = String(r.json?.model);
      if (r.json?.stream === true) return { kind: 'stream', frames: openAiChatStream(model, ['fine']) };
      return { kind: 'json', body: chatCompletion(model), gzip: true };
    });
    const balancer = { algorithm: 'priority' as const, failover_criteria: ['error' as const, 'timeout' as const, 'non_idempotent' as const], retries: 1 };
    gw = await startEngineGateway([
      { path: '/bomb', config: { targets: [{ ...target(jsonBomb.url), weight: 100 }, { ...target(good.url), weight: 10 }], balancer } },
      { path: '/sse-bomb', config: { targets: [target(sseBomb.url)] } },
      { path: '/good', config: { targets: [target(good.url)] } },
    ]);
  });
  after(async () => {
    await gw.close();
    await Promise.all([jsonBomb.close(), sseBomb.close(), good.close()]);
    await closeUpstreamAgents();
  });

  test('the bomb is 1 MiB of gzip for 1 GiB of JSON-typed zeros; the limit is far below', () => {
    assert.ok(bomb.length < 1.1 * 1024 * 1024);
    assert.ok(MAX_RESPONSE_BYTES < GIB / 8);
  });

  test('at the engine: a buffered bomb is a failed attempt of kind error, not 1 GiB in memory', async () => {
    const r = await callUpstream({ method: 'POST', url: `${jsonBomb.url}/v1/chat/completions`, headers: { 'content-type': 'application/json' }, body: Buffer.from('{}') }, { connectMs: 5000, readMs: 10_000, writeMs: 5000 });
    assert.equal(r.ok, false);
    if (!r.ok) {
      assert.equal(r.failure.kind, 'error');
      assert.equal(r.failure.sent, true);
      assert.match(r.message, /answer too large/);
    }
  });

  test('a gzip answer within the limit is still inflated (Kong 08-encoding)', async () => {
    const r = await fetch(`${gw.proxy}/good`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(chat) });
    assert.equal(r.status, 200);
    assert.equal(((await r.json()) as { id?: string }).id, 'chatcmpl-8T6YwgvjQVVnGbJ2w8hpOA17SeNy2');
  });

  test('through the gateway: the bomb target fails over to the next target, and the plugin server keeps serving', async () => {
    const before = good.requests.length;
    const r = await fetch(`${gw.proxy}/bomb`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(chat) });
    assert.equal(r.status, 200);
    assert.equal(((await r.json()) as { object?: string }).object, 'chat.completion');
    assert.equal(jsonBomb.requests >= 1, true);
    assert.equal(good.requests.length, before + 1);
  });

  test('through the gateway: a streamed bomb is cut at the limit, never relayed whole', async () => {
    let received = 0;
    let cut = false;
    let status = 0;
    try {
      const r = await fetch(`${gw.proxy}/sse-bomb`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ ...chat, stream: true }), signal: AbortSignal.timeout(30_000) });
      status = r.status;
      for await (const chunk of r.body as unknown as AsyncIterable<Uint8Array>) received += chunk.length;
    } catch (err) {
      assert.notEqual((err as Error).name, 'TimeoutError', 'the plugin server must not stall on the bomb');
      cut = true;
    }
    assert.ok(received <= MAX_RESPONSE_BYTES, `received ${received} bytes`);
    // Cut (the stream's head may already be on its way) or refused with a 5xx (stream failover): never relayed whole.
    assert.ok(cut || status >= 500, `status ${status}, cut ${cut}`);
    const after = await fetch(`${gw.proxy}/good`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ ...chat, stream: true }) });
    assert.equal(after.status, 200);
    assert.match(await after.text(), /data: \[DONE\]/);
  });
});

describe('buffered answers share one process budget (AI_PROXY_ADVANCED_ANSWERS_MAX_BYTES)', () => {
  /**
   * A provider whose answer is announced at 80 000 bytes: it sends the first `first` bytes at once, the rest when
   * the test says (`release`), or resets the connection instead (`reset`).
   */
  async function slowAnswer(first: number): Promise<{ url: string; sentFirst: Promise<void>; release(): void; reset(): void; close(): Promise<void> }> {
    const TOTAL = 80_000;
    let release = (): void => undefined;
    let reset = (): void => undefined;
    let sentFirst = (): void => undefined;
    const firstSent = new Promise<void>((r) => (sentFirst = r));
    const server = http.createServer((req, res) => {
      req.resume();
      req.on('end', () => {
        res.writeHead(200, { 'content-type': 'application/json', 'content-length': String(TOTAL) });
        const body = Buffer.from(`{"choices":[],"pad":"${'x'.repeat(TOTAL - 23)}"}`);
        assert.equal(body.length, TOTAL);
        res.write(body.subarray(0, first), () => sentFirst());
        release = () => res.end(body.subarray(first));
        reset = () => res.socket?.destroy();
      });
    });
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    return {
      url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
      sentFirst: firstSent,
      release: () => release(),
      reset: () => reset(),
      close: async () => {
        server.closeAllConnections();
        server.close();
        await once(server, 'close');
      },
    };
  }
  const call = (url: string): ReturnType<typeof callUpstream> =>
    callUpstream({ method: 'POST', url: `${url}/v1/chat/completions`, headers: { 'content-type': 'application/json' }, body: Buffer.from('{}') }, { connectMs: 5000, readMs: 10_000, writeMs: 5000 });
  /** Until the budget holds at least `n` bytes: the first answer's bytes were read (deadline 10 s). */
  async function budgetHolds(n: number): Promise<void> {
    const end = Date.now() + 10_000;
    while (answerBudget.inUse < n) {
      if (Date.now() > end) throw new Error(`the budget never held ${n} bytes (holds ${answerBudget.inUse})`);
      await new Promise((r) => setTimeout(r, 5));
    }
  }
  let saved: number;
  before(() => {
    saved = answerBudget.limit;
    answerBudget.limit = 100_000;
  });
  after(async () => {
    answerBudget.limit = saved;
    await closeUpstreamAgents();
  });

  test('the answer that would take the process over the budget fails as a provider error; the one within it completes; all bytes come back', async () => {
    const a = await slowAnswer(60_000);
    const b = await slowAnswer(60_000);
    try {
      assert.equal(answerBudget.inUse, 0);
      const first = call(a.url);
      await a.sentFirst;
      await budgetHolds(60_000);
      const second = await call(b.url);
      assert.equal(second.ok, false);
      if (!second.ok) {
        assert.deepEqual(second.failure, { kind: 'error', sent: true });
        assert.match(second.message, /over 100000 bytes \(AI_PROXY_ADVANCED_ANSWERS_MAX_BYTES\)/);
      }
      a.release();
      const r = await first;
      assert.equal(r.ok, true);
      if (r.ok) assert.equal(r.response.body.length, 80_000);
      assert.equal(answerBudget.inUse, 0, 'bytes handed over or dropped leave the budget');
    } finally {
      await Promise.all([a.close(), b.close()]);
    }
  });

  test('an answer cut by a reset gives its bytes back', async () => {
    const a = await slowAnswer(60_000);
    try {
      const first = call(a.url);
      await a.sentFirst;
      await budgetHolds(60_000);
      a.reset();
      const r = await first;
      assert.equal(r.ok, false);
      assert.equal(answerBudget.inUse, 0);
    } finally {
      await a.close();
    }
  });

  test('the setting: default 256 MiB; a bad value, or one below one answer\'s cap, is named and the default used', () => {
    const warned: string[] = [];
    const w = (m: string): number => warned.push(m);
    assert.equal(answersMaxBytes({}, MAX_RESPONSE_BYTES, w), DEFAULT_ANSWERS_MAX_BYTES);
    assert.equal(DEFAULT_ANSWERS_MAX_BYTES, 256 * 1024 * 1024);
    assert.equal(answersMaxBytes({ AI_PROXY_ADVANCED_ANSWERS_MAX_BYTES: '1073741824' }, MAX_RESPONSE_BYTES, w), 1024 ** 3);
    assert.equal(warned.length, 0);
    for (const bad of ['1g', '-5', '1000', '1e9']) {
      assert.equal(answersMaxBytes({ AI_PROXY_ADVANCED_ANSWERS_MAX_BYTES: bad }, MAX_RESPONSE_BYTES, w), DEFAULT_ANSWERS_MAX_BYTES);
    }
    assert.equal(warned.length, 4);
    assert.ok(warned.every((m) => m.includes('AI_PROXY_ADVANCED_ANSWERS_MAX_BYTES')));
  });
});

describe('through the gateway: bodies over max_request_body_size', () => {
  let api: EngineUpstream;
  let gw: EngineGateway;
  before(async () => {
    api = await EngineUpstream.start();
    gw = await startEngineGateway([{ path: '/small', config: { targets: [target(api.url)], max_request_body_size: 1024 } }]);
  });
  after(async () => {
    await gw.close();
    await api.close();
  });

  test('a 200 KB body is a 413 naming the limit; the provider is not called', async () => {
    const body = JSON.stringify({ ...chat, pad: 'x'.repeat(200_000) });
    const r = await fetch(`${gw.proxy}/small`, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
    assert.equal(r.status, 413);
    assert.match(String(((await r.json()) as { error?: { message?: string } }).error?.message), /max_request_body_size \(1024\)/);
    assert.equal(api.requests.length, 0);
  });

  test('a chunked 200 KB body (no Content-Length) is never handed to the plugin, and the plugin keeps serving', async () => {
    // Kong's get_raw_body(max) returns nil for a spooled body over max and its bridge cannot pack nil: Kong answers
    // 500 (kong-plugin-protocol.md §2.6). Asking for the whole body instead would let any chunked request make Kong
    // and the plugin server hold it, so the limit stays (README "Limits"); the local gateway does as Kong does.
    const body = Buffer.from(JSON.stringify({ ...chat, pad: 'x'.repeat(200_000) }));
    const r = await new Promise<{ status: number; text: string }>((resolve, reject) => {
      const req = http.request(`${gw.proxy}/small`, { method: 'POST', headers: { 'content-type': 'application/json', 'transfer-encoding': 'chunked' }, timeout: 30_000 }, (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => (text += c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, text }));
      });
      req.on('timeout', () => req.destroy(new Error('no answer within 30 s')));
      req.on('error', reject);
      for (let i = 0; i < body.length; i += 16_384) req.write(body.subarray(i, i + 16_384));
      req.end();
    });
    assert.equal(r.status, 500, r.text);
    assert.equal(api.requests.length, 0);
    const ok = await fetch(`${gw.proxy}/small`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(chat), signal: AbortSignal.timeout(30_000) });
    assert.equal(ok.status, 200);
  });
});

/** Feeds `chunk` until the framer throws; the bytes fed by then (it must throw before MAX_PENDING_EVENT + one chunk). */
function feedUntilRefused(framer: Framer, chunk: Buffer): number {
  let fed = 0;
  assert.throws(() => {
    while (fed <= MAX_PENDING_EVENT + chunk.length) {
      framer.push(chunk);
      fed += chunk.length;
    }
  }, (e: unknown) => e instanceof StreamEventTooLarge && /longer than/.test(e.message));
  return fed;
}

describe('stream framers hold a bounded partial line', () => {
  test('SSE and NDJSON: a line without an end is refused past MAX_PENDING_EVENT; split lines still frame whole', () => {
    const chunk = Buffer.alloc(1 << 20, 0x61); // 1 MiB of 'a', no line end
    for (const framer of [new SseFramer(), new NdjsonFramer()]) assert.ok(feedUntilRefused(framer, chunk) <= MAX_PENDING_EVENT + chunk.length);
    // A line split over many pushes is one event, as before.
    const sse = new SseFramer();
    const text = 'data: {"a":"' + 'x'.repeat(100) + '"}\n\n';
    const events = [...text].flatMap((c) => sse.push(Buffer.from(c)));
    assert.deepEqual(events.map((e) => e.data), ['{"a":"' + 'x'.repeat(100) + '"}']);
    const nd = new NdjsonFramer();
    const lines = ['{"a":1}\n{"b"', ':2}\n', '{"c":3}'].flatMap((c) => nd.push(Buffer.from(c)));
    assert.deepEqual([...lines, ...nd.end()].map((e) => e.data), ['{"a":1}', '{"b":2}', '{"c":3}']);
  });
});

describe('stream framers hold a bounded partial event', () => {
  test('SSE: data lines that never reach the blank line ending their event are refused past MAX_PENDING_EVENT', () => {
    // Each line is short (the line bound never trips): only the event's total can stop it.
    const lines = Buffer.concat(Array<Buffer>(64).fill(Buffer.from('data: ' + 'y'.repeat(1017) + '\n')));
    assert.ok(feedUntilRefused(new SseFramer(), lines) <= MAX_PENDING_EVENT + lines.length);
    // Events that do end are not limited in number.
    const sse = new SseFramer();
    let n = 0;
    for (let i = 0; i < 40; i++) n += sse.push(Buffer.concat(Array<Buffer>(512).fill(Buffer.from('data: ' + 'z'.repeat(1017) + '\n\n')))).length;
    assert.equal(n, 40 * 512);
  });

  test('Gemini\'s format sniffing: whitespace that never reaches a deciding byte is refused past MAX_PENDING_EVENT', () => {
    assert.ok(feedUntilRefused(new SniffingFramer(), Buffer.alloc(1 << 20, 0x20)) <= MAX_PENDING_EVENT + (1 << 20));
    const sse = new SniffingFramer();
    assert.deepEqual([...sse.push(Buffer.from('\n \n')), ...sse.push(Buffer.from('data: {"a":1}\n\n'))].map((e) => e.data), ['{"a":1}']);
  });

  test('JSON array (Gemini): an element that never closes is refused past MAX_PENDING_EVENT', () => {
    const framer = new JsonArrayFramer();
    assert.deepEqual(framer.push(Buffer.from('[{"a":1},{"text":"')).map((e) => e.data), ['{"a":1}']);
    assert.ok(feedUntilRefused(framer, Buffer.alloc(1 << 20, 0x62)) <= MAX_PENDING_EVENT + (1 << 20));
  });
});

describe('through the gateway: a provider stream whose first event never ends', () => {
  /** Writes `data:` lines and never the blank line that ends the event, until the plugin server hangs up. */
  async function endlessEventServer(): Promise<{ url: string; sent: () => number; closed: Promise<void>; close(): Promise<void> }> {
    let sent = 0;
    let hungUp!: () => void;
    const closed = new Promise<void>((r) => (hungUp = r));
    const line = Buffer.from(`data: ${'x'.repeat(1018)}\n`);
    const server = http.createServer((req, res) => {
      req.resume();
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      res.on('close', hungUp);
      const more = (): void => {
        // A deadline on the test's side: 64 MiB without a hang-up is the failure this test looks for.
        while (!res.destroyed && sent < 64 * 1024 * 1024) {
          sent += line.length;
          if (!res.write(line)) return void res.once('drain', more);
        }
        res.end();
      };
      more();
    });
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    return {
      url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
      sent: () => sent,
      closed,
      close: async () => {
        server.closeAllConnections();
        server.close();
        await once(server, 'close');
      },
    };
  }

  test('the attempt is refused at MAX_PENDING_EVENT and fails over; the provider is hung up on', async () => {
    const endless = await endlessEventServer();
    const good = await EngineUpstream.start((r) => ({ kind: 'stream', frames: openAiChatStream(String(r.json?.model), ['fine']) }));
    const balancer = { algorithm: 'priority' as const, failover_criteria: ['error' as const, 'timeout' as const, 'non_idempotent' as const], retries: 1 };
    const gw = await startEngineGateway([{ path: '/endless', config: { targets: [{ ...target(endless.url), weight: 100 }, { ...target(good.url), weight: 10 }], balancer } }]);
    try {
      const r = await fetch(`${gw.proxy}/endless`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ ...chat, stream: true }), signal: AbortSignal.timeout(60_000) });
      const text = await r.text();
      assert.equal(r.status, 200, text);
      assert.match(text, /fine[\s\S]*data: \[DONE\]/);
      await endless.closed;
      // What the provider wrote before the hang-up: the bound plus what socket buffers took, far below 64 MiB.
      assert.ok(endless.sent() < MAX_PENDING_EVENT + 8 * 1024 * 1024, `provider wrote ${endless.sent()} bytes`);
      assert.equal(good.requests.length, 1);
    } finally {
      await gw.close();
      await Promise.all([endless.close(), good.close()]);
      await closeUpstreamAgents();
    }
  });
});
