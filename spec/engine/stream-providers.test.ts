/**
 * Streamed delivery for every provider stream fixture (spec/fixtures/providers/streams/<case>): the plugin's
 * access() asks the provider to stream (each driver's stream URL, body and credentials), a local provider
 * answers with the fixture's bytes, and what the loopback stream endpoint sends Kong is exactly the
 * translator's expected output. The translators alone are covered by spec/providers/streams.test.ts; this is
 * the wiring: request side, content types, framing sniffing, backpressure-free relay.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import http from 'node:http';
import net from 'node:net';
import { gzipSync } from 'node:zlib';
import { after, before, describe, test } from 'node:test';
import type { TargetConfig } from '../../schemas/config';
import { AiProxyAdvanced } from '../../plugins/ai-proxy-advanced/handler';
import { closeStreamEndpoint, createStreamEndpoint, streamListenAddress } from '../../plugins/ai-proxy-advanced/engine/stream-endpoint';
import { ConfigError } from '../../plugins/ai-proxy-advanced/errors';
import { defaultAttemptDeps } from '../../plugins/ai-proxy-advanced/engine/defaults';
import { closeUpstreamAgents, openUpstreamStream, type UpstreamTimers } from '../../plugins/ai-proxy-advanced/engine/upstream';
import { FakePdk } from '../helpers/engine-pdk';
import { EngineUpstream } from '../helpers/engine-upstream';
import { caseDirs, readFixture, readJsonFixture, streamInput, streamRequest, type StreamCase } from '../helpers/providers-fixtures';

/** Credentials each provider's driver needs to build its request (never real). */
const AUTH: Partial<Record<TargetConfig['model']['provider'], TargetConfig['auth']>> = {
  anthropic: { header_name: 'x-api-key', header_value: 'sk-ant-test' },
  bedrock: { aws_access_key_id: 'AKIDEXAMPLE', aws_secret_access_key: 'wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY' },
  cohere: { header_name: 'Authorization', header_value: 'Bearer co-test' },
  gemini: { param_name: 'key', param_value: 'gm-test', param_location: 'query' },
  huggingface: { header_name: 'Authorization', header_value: 'Bearer hf-test' },
  mistral: { header_name: 'Authorization', header_value: 'Bearer mi-test' },
};

const CONTENT_TYPE: Partial<Record<TargetConfig['model']['provider'], string>> = {
  bedrock: 'application/vnd.amazon.eventstream',
  cohere: 'application/stream+json',
  ollama: 'application/x-ndjson',
  gemini: 'application/json',
};

let up: EngineUpstream;
before(async () => {
  up = await EngineUpstream.start();
});
after(async () => {
  await up.close();
  await closeUpstreamAgents();
  await closeStreamEndpoint();
});

/** The body of a raw HTTP/1.1 response with chunked transfer encoding. */
function dechunk(raw: Buffer): string {
  let at = raw.indexOf('\r\n\r\n') + 4;
  assert.match(raw.subarray(0, at).toString('latin1'), /transfer-encoding: chunked/i);
  const parts: Buffer[] = [];
  for (;;) {
    const eol = raw.indexOf('\r\n', at);
    const size = parseInt(raw.subarray(at, eol).toString('latin1'), 16);
    if (!(size > 0)) break;
    parts.push(raw.subarray(eol + 2, eol + 2 + size));
    at = eol + 2 + size + 2;
  }
  return Buffer.concat(parts).toString('utf8');
}

function within<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} within ${ms} ms`)), ms);
  });
  return Promise.race([p, late]).finally(() => clearTimeout(timer));
}

/**
 * Connects to the stream endpoint as Kong would and returns the chunked body's chunks, in order; `onFirst` runs
 * once the first chunk has arrived.
 */
async function endpointChunks(upstream: { port?: number; path?: string }, onFirst: () => void): Promise<string[]> {
  const sock = net.connect(upstream.port!, '127.0.0.1');
  sock.write(`POST ${upstream.path} HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{}`);
  let raw = '';
  sock.on('data', (c: Buffer) => {
    raw += c.toString('latin1');
    if (/\r\n\r\n[0-9a-f]+\r\n/.test(raw)) onFirst();
  });
  await within(new Promise((r) => sock.once('close', r)), 5000, 'the stream did not end');
  const chunks: string[] = [];
  let rest = raw.slice(raw.indexOf('\r\n\r\n') + 4);
  for (;;) {
    const eol = rest.indexOf('\r\n');
    const size = parseInt(rest.slice(0, eol), 16);
    if (!(size > 0)) break;
    chunks.push(rest.slice(eol + 2, eol + 2 + size));
    rest = rest.slice(eol + 2 + size + 2);
  }
  return chunks;
}

describe('streamed delivery per provider stream fixture', () => {
  for (const name of caseDirs('streams')) {
    const c = readJsonFixture<StreamCase>(`streams/${name}/case.json`);
    test(name, async () => {
      const provider = c.target.model.provider;
      const input = streamInput(c);
      const expected = readFixture(`streams/${name}/expected.txt`).toString('utf8');
      const contentType = name === 'gemini-sse-tools' ? 'text/event-stream' : (CONTENT_TYPE[provider] ?? 'text/event-stream');
      // Two writes cut through the middle, as TCP segments may.
      const mid = Math.floor(input.length / 2);
      up.requests.length = 0;
      up.set({ kind: 'stream', contentType, frames: [input.subarray(0, mid), input.subarray(mid)] });
      const target: TargetConfig = {
        ...c.target,
        model: {
          ...c.target.model,
          // The translator fixtures leave out what only a whole plugin config needs (Kong requires anthropic_version).
          options: { ...(provider === 'anthropic' ? { anthropic_version: '2023-06-01' } : {}), ...c.target.model.options, upstream_url: `${up.url}/stream/${name}` },
        },
        ...(AUTH[provider] ? { auth: AUTH[provider] } : {}),
      };
      const body = streamRequest(c);
      const p = new AiProxyAdvanced({ __plugin_id: randomUUID(), targets: [target] });
      const kong = new FakePdk({ body });
      await p.access(kong);
      assert.equal(kong.exited, undefined, kong.exited ? `exited ${kong.exited.status}: ${kong.exited.body}` : '');
      const res = await fetch(`http://127.0.0.1:${kong.upstream.port}${kong.upstream.path}`, { method: 'POST', body: '{}' });
      const text = await res.text();
      assert.equal(res.status, 200, text);
      assert.match(res.headers.get('content-type') ?? '', /^text\/event-stream/);
      assert.equal(text, expected);
      assert.equal(up.requests.length, 1, 'one provider call');
    });
  }
});

describe('streams that break after they started', () => {
  const openai = (extra: Partial<TargetConfig> = {}): TargetConfig => ({
    route_type: 'llm/v1/chat',
    model: { provider: 'openai', name: 'gpt-4o', options: { upstream_url: `${up.url}/v1/chat/completions` } },
    auth: { header_name: 'Authorization', header_value: 'Bearer sk-test' },
    ...extra,
  });

  async function streamThrough(targets: TargetConfig[], balancer: Record<string, unknown> = {}): Promise<Response> {
    const p = new AiProxyAdvanced({ __plugin_id: randomUUID(), targets, balancer });
    const kong = new FakePdk({ body: { messages: [{ role: 'user', content: 'hi' }], stream: true } });
    await p.access(kong);
    return fetch(`http://127.0.0.1:${kong.upstream.port}${kong.upstream.path}`, { method: 'POST', body: '{}' });
  }

  test('a provider stream the translator cannot read cuts the client stream and leaves the server running', async () => {
    const c = readJsonFixture<StreamCase>('streams/bedrock-chat/case.json');
    const input = Buffer.from(streamInput(c));
    input.writeUInt8(input.readUInt8(input.length - 10) ^ 0xff, input.length - 10); // breaks the last message's CRC
    // The first message (its length is the prelude's first 4 bytes) arrives on its own, so the stream has started
    // when the broken one comes; a stream broken before its first event fails over instead (next describe).
    const first = input.readUInt32BE(0);
    up.set({ kind: 'stream', contentType: 'application/vnd.amazon.eventstream', frames: [input.subarray(0, first), input.subarray(first)], gapMs: 50 });
    const target: TargetConfig = {
      ...c.target,
      model: { ...c.target.model, options: { ...c.target.model.options, upstream_url: `${up.url}/bedrock` } },
      auth: AUTH.bedrock,
    };
    const res = await streamThrough([target]);
    assert.equal(res.status, 200);
    await assert.rejects(res.text(), 'the client sees the stream cut, not a clean end');
    // The endpoint still serves the next request.
    up.set({ kind: 'stream', frames: ['data: {"choices":[{"delta":{"content":"fine"}}]}\n\n', 'data: [DONE]\n\n'] });
    assert.match(await (await streamThrough([openai()])).text(), /fine/);
  });

  test('read_timeout bounds the wait between chunks: a provider that goes silent gets the stream cut', { timeout: 10_000 }, async () => {
    up.set({ kind: 'stream', frames: ['data: {"choices":[{"delta":{"content":"one"}}]}\n\n'], hangAfter: true });
    const res = await streamThrough([openai()], { read_timeout: 300 });
    assert.equal(res.status, 200);
    await assert.rejects(res.text());
  });

  test('a gzip-compressed provider stream is inflated before translation', async () => {
    const frames = 'data: {"choices":[{"delta":{"content":"zip"}}]}\n\ndata: [DONE]\n\n';
    const gz = gzipSync(frames);
    up.set({ kind: 'stream', headers: { 'content-encoding': 'gzip' }, frames: [gz.subarray(0, 10), gz.subarray(10)] });
    const res = await streamThrough([openai()]);
    assert.equal(res.headers.get('content-encoding'), null);
    assert.equal(await res.text(), frames);
  });
});

describe('the stream endpoint address', () => {
  test('loopback and a free port by default; AI_PROXY_ADVANCED_STREAM_HOST/PORT move it; a bad port is named', async () => {
    assert.deepEqual(streamListenAddress({}), { host: '127.0.0.1', port: 0 });
    assert.deepEqual(streamListenAddress({ AI_PROXY_ADVANCED_STREAM_HOST: '::1', AI_PROXY_ADVANCED_STREAM_PORT: '8123' }), { host: '::1', port: 8123 });
    assert.throws(() => streamListenAddress({ AI_PROXY_ADVANCED_STREAM_PORT: 'http' }), (e: unknown) => e instanceof ConfigError && /AI_PROXY_ADVANCED_STREAM_PORT/.test((e as Error).message));
    const ep = await createStreamEndpoint(Date.now, { host: '127.0.0.1', port: 0 });
    try {
      assert.equal(ep.host, '127.0.0.1');
      assert.ok(ep.port > 0);
      assert.match(ep.issue({} as never), /^\/ai-proxy-advanced\/stream\/[0-9a-f]{32}$/);
    } finally {
      await ep.close();
    }
  });
});

describe('stream endpoint edge cases', () => {
  /** A provider whose behaviour the test scripts; reports when the plugin's connection to it closes. */
  async function provider(onRequest: (res: http.ServerResponse) => void): Promise<{ url: string; closed: Promise<void>; close(): void }> {
    let closedResolve!: () => void;
    const closed = new Promise<void>((r) => (closedResolve = r));
    const server = http.createServer((req, res) => {
      req.resume();
      res.on('close', () => closedResolve());
      onRequest(res);
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    return {
      url: `http://127.0.0.1:${(server.address() as net.AddressInfo).port}`,
      closed,
      close: () => {
        server.closeAllConnections();
        server.close();
      },
    };
  }

  function openaiAt(url: string, name?: string): TargetConfig {
    return {
      route_type: 'llm/v1/chat',
      model: { provider: 'openai', ...(name ? { name } : {}), options: { upstream_url: `${url}/v1/chat/completions` } },
      auth: { header_name: 'Authorization', header_value: 'Bearer sk-test' },
    };
  }

  async function access(targets: TargetConfig[], body: Record<string, unknown>, balancer: Record<string, unknown> = {}): Promise<FakePdk> {
    const kong = new FakePdk({ body });
    await new AiProxyAdvanced({ __plugin_id: randomUUID(), targets, balancer }).access(kong);
    return kong;
  }

  const chunk = (t: string): string => `data: ${JSON.stringify({ choices: [{ index: 0, delta: { content: t } }] })}\n\n`;

  /** A promise and what resolves it: a party in the test saying it got somewhere. */
  function flag(): { reached: Promise<void>; set: () => void } {
    let set!: () => void;
    const reached = new Promise<void>((r) => (set = r));
    return { reached, set };
  }

  /** `p`, or a rejection naming `what` after `ms`: no wait in these tests is without an end. */

  test('the provider is called from access, before Kong connects to the endpoint (issue 10: the PDK calls overlap it)', { timeout: 10_000 }, async () => {
    const asked = flag();
    const p = await provider((res) => {
      asked.set();
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      res.end(`${chunk('early')}data: [DONE]\n\n`);
    });
    try {
      const kong = await access([openaiAt(p.url, 'gpt-4o')], { messages: [{ role: 'user', content: 'hi' }], stream: true });
      await within(asked.reached, 5000, 'the provider was not asked before Kong connected');
      const res = await fetch(`http://127.0.0.1:${kong.upstream.port}${kong.upstream.path}`, { method: 'POST', body: '{}' });
      assert.equal(res.status, 200);
      assert.match(await res.text(), /"early"[\s\S]*data: \[DONE\]/);
    } finally {
      p.close();
    }
  });

  test("a ticket Kong never claims is dropped by the plugin's log phase, which aborts its provider stream", { timeout: 10_000 }, async () => {
    const asked = flag();
    // Streams one event and then nothing: only the plugin closing its connection ends this request.
    const p = await provider((res) => {
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      res.write(chunk('first'));
      asked.set();
    });
    try {
      const plugin = new AiProxyAdvanced({ __plugin_id: randomUUID(), targets: [openaiAt(p.url, 'gpt-4o')] });
      const kong = new FakePdk({ body: { messages: [{ role: 'user', content: 'hi' }], stream: true } });
      await plugin.access(kong);
      await within(asked.reached, 5000, 'the provider was not asked');
      // Kong's log phase of a request that ended without being proxied (a later plugin answered it).
      const set: string[] = [];
      const logPdk = { log: { serialize: async () => JSON.stringify({ upstream_uri: kong.upstream.path }), setSerializeValue: async (k: string) => void set.push(k) } };
      await within(Promise.resolve(plugin.log(logPdk)), 5000, 'the log phase waited for a stream that will never be claimed');
      await within(p.closed, 5000, 'the provider connection was not closed');
      assert.deepEqual(set, [], 'no analytics for a request that never streamed');
      const late = await fetch(`http://127.0.0.1:${kong.upstream.port}${kong.upstream.path}`, { method: 'POST', body: '{}' });
      assert.equal(late.status, 404, 'the dropped ticket is gone');
    } finally {
      p.close();
    }
  });

  test('closing the endpoint (plugin server shutdown) aborts the provider stream of a ticket Kong has not claimed', { timeout: 10_000 }, async () => {
    const asked = flag();
    const p = await provider((res) => {
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      res.write(chunk('first'));
      asked.set();
    });
    try {
      await access([openaiAt(p.url, 'gpt-4o')], { messages: [{ role: 'user', content: 'hi' }], stream: true });
      await within(asked.reached, 5000, 'the provider was not asked');
      // The next test's access() starts a new endpoint.
      await closeStreamEndpoint();
      await within(p.closed, 5000, 'the provider connection was not closed');
    } finally {
      p.close();
    }
  });

  test('what one provider read produced goes out as one chunk, not one per frame', { timeout: 10_000 }, async () => {
    const clientHasFirst = flag();
    const p = await provider((res) => {
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      res.write(chunk('a') + chunk('b') + chunk('c'));
      // The rest only once the client has the first chunk, so the plugin reads the two writes separately.
      void clientHasFirst.reached.then(() => res.end(`${chunk('d')}${chunk('e')}data: [DONE]\n\n`));
    });
    try {
      const kong = await access([openaiAt(p.url, 'gpt-4o')], { messages: [{ role: 'user', content: 'hi' }], stream: true });
      const chunks = await endpointChunks(kong.upstream, () => clientHasFirst.set());
      assert.deepEqual(
        chunks.map((c) => c.split('data: ').length - 1),
        [3, 3],
        'two chunks: the first read\'s three frames, then two frames and [DONE]',
      );
    } finally {
      p.close();
    }
  });

  test('events a provider wrote one by one but that arrived in one read go out as one chunk (issue 10)', { timeout: 10_000 }, async () => {
    const clientHasFirst = flag();
    const p = await provider((res) => {
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      res.write(chunk('first'));
      // Twenty writes in one tick: one HTTP chunk each (undici hands the plugin one piece per HTTP chunk), one
      // TCP segment on loopback.
      void clientHasFirst.reached.then(() => {
        for (let i = 0; i < 20; i++) res.write(chunk(`t${i}`));
        res.end('data: [DONE]\n\n');
      });
    });
    try {
      const kong = await access([openaiAt(p.url, 'gpt-4o')], { messages: [{ role: 'user', content: 'hi' }], stream: true });
      const chunks = await endpointChunks(kong.upstream, () => clientHasFirst.set());
      assert.equal(chunks.join(''), [chunk('first'), ...Array.from({ length: 20 }, (_, i) => chunk(`t${i}`)), 'data: [DONE]\n\n'].join(''));
      assert.equal(chunks[0], chunk('first'));
      // One chunk per read: the rest came in one read, two if the kernel split it; not one per event (21).
      assert.ok(chunks.length <= 3, `the 21 frames after the first went out in ${chunks.length - 1} chunks`);
    } finally {
      p.close();
    }
  });

  test('a model name that cannot be a header value is left out of X-Kong-LLM-Model, not a crash', { timeout: 10_000 }, async () => {
    const p = await provider((res) => {
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      res.end(`${chunk('ok')}data: [DONE]\n\n`);
    });
    try {
      const kong = await access([openaiAt(p.url)], { model: 'gpt-\u4e00', messages: [{ role: 'user', content: 'hi' }], stream: true });
      const res = await fetch(`http://127.0.0.1:${kong.upstream.port}${kong.upstream.path}`, { method: 'POST', body: '{}' });
      assert.equal(res.status, 200);
      assert.equal(res.headers.get('x-kong-llm-model'), null);
      assert.match(await res.text(), /"ok"/);
    } finally {
      p.close();
    }
  });

  test('a client that leaves before the provider answered aborts the provider call, and the target is not blamed', { timeout: 10_000 }, async () => {
    let headSent = false;
    const p = await provider((res) => {
      setTimeout(() => {
        if (res.destroyed) return;
        headSent = true;
        res.writeHead(200, { 'content-type': 'text/event-stream' });
        res.write(chunk('late'));
      }, 1500);
    });
    try {
      const kong = await access([openaiAt(p.url, 'gpt-4o')], { messages: [{ role: 'user', content: 'hi' }], stream: true }, { read_timeout: 5000, max_fails: 1 });
      const abort = new AbortController();
      const pending = fetch(`http://127.0.0.1:${kong.upstream.port}${kong.upstream.path}`, { method: 'POST', body: '{}', signal: abort.signal });
      await new Promise((r) => setTimeout(r, 200));
      abort.abort();
      await assert.rejects(pending);
      await p.closed;
      assert.equal(headSent, false, 'the provider call was aborted before the provider answered');
    } finally {
      p.close();
    }
  });

  test('a slow reader holds the provider back without read_timeout cutting the stream', { timeout: 60_000 }, async () => {
    // No wall clock: read_timeout (300 ms) runs on injected timers the test watches and never fires, so a loaded
    // machine cannot cut the stream, and the amount of data is whatever it takes to hold the provider back (its
    // writes stop being taken), not a guess at the socket buffers' size. The client reads nothing until the
    // provider is held back while the plugin runs no read timer (nginx times out only reads it is waiting on: a
    // timer left running through the pause would cut the stream of any reader slower than read_timeout); then it
    // reads everything, and every frame arrives.
    interface ManualTimer {
      fn(): void;
      refresh(): unknown;
    }
    const armed = new Set<ManualTimer>();
    const timers: UpstreamTimers = {
      setTimeout(fn, ms) {
        assert.equal(ms, 300, 'read_timeout');
        const t: ManualTimer = { fn, refresh: () => armed.add(t) };
        armed.add(t);
        return t;
      },
      clearTimeout(t) {
        if (t) armed.delete(t as unknown as ManualTimer);
      },
    };
    const provider_ = { sent: 0, held: false, drains: 0, stop: false, bytes: [] as string[] };
    const p = await provider((res) => {
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      const pump = (): void => {
        while (!provider_.stop) {
          const frame = chunk(`${provider_.sent} ${'x'.repeat(480)}`);
          provider_.bytes.push(frame);
          provider_.sent++;
          if (!res.write(frame)) {
            provider_.held = true;
            res.once('drain', () => {
              provider_.held = false;
              provider_.drains++;
              pump();
            });
            return;
          }
        }
        res.end('data: [DONE]\n\n');
      };
      pump();
    });
    const received: Buffer[] = [];
    let sock: net.Socket | undefined;
    try {
      const config = { __plugin_id: randomUUID(), targets: [openaiAt(p.url, 'gpt-4o')], balancer: { read_timeout: 300 } };
      const plugin = new AiProxyAdvanced(config, { attempt: { ...defaultAttemptDeps, openStream: (req, t, signal) => openUpstreamStream(req, t, signal, timers) } });
      const kong = new FakePdk({ body: { messages: [{ role: 'user', content: 'hi' }], stream: true } });
      await plugin.access(kong);
      const client = net.connect(kong.upstream.port!, '127.0.0.1');
      sock = client;
      client.pause();
      await new Promise<void>((r) => client.once('connect', () => r()));
      client.write(`POST ${kong.upstream.path} HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{}`);
      // Held back: the provider's writes wait for 'drain' and the plugin has no read timer running, through 20
      // turns of the event loop (each polls the sockets) without a drain in between: the whole chain stands still.
      // Bounded by a deadline and by the data a plugin that never pauses would buffer.
      const deadline = Date.now() + 30_000;
      for (let still = 0, drains = provider_.drains; still < 20; ) {
        assert.ok(Date.now() < deadline, 'the provider was not held back within 30 s');
        assert.ok(provider_.sent <= 65_536, `the plugin took ${provider_.sent} frames without holding the provider back`);
        await new Promise((r) => setTimeout(r, 0));
        still = provider_.held && armed.size === 0 && drains === provider_.drains ? still + 1 : 0;
        drains = provider_.drains;
      }
      provider_.stop = true;
      // Settles on the connection's end (Connection: close) or at a deadline.
      await new Promise<void>((resolve, reject) => {
        const ends = setTimeout(() => reject(new Error('the stream did not end within 30 s')), 30_000);
        client.on('data', (c: Buffer) => received.push(c));
        client.once('close', () => {
          clearTimeout(ends);
          resolve();
        });
        client.once('error', reject);
        client.resume();
      });
      const body = dechunk(Buffer.concat(received));
      assert.ok(body.endsWith('data: [DONE]\n\n'), 'the stream ended with [DONE]: read_timeout did not cut it');
      assert.ok(body === `${provider_.bytes.join('')}data: [DONE]\n\n`, `all ${provider_.sent} frames arrived, in order and whole`);
    } finally {
      sock?.destroy();
      p.close();
    }
  });
});
