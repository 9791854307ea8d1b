/**
 * The provider call's timeouts (engine/upstream.ts) as nginx's: `write_timeout` (proxy_send_timeout) fails an
 * attempt whose provider stops reading the request body, long before read_timeout, while large bodies still
 * arrive whole with Content-Length; `read_timeout` (proxy_read_timeout) fires at its own resolution.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import net from 'node:net';
import { after, before, describe, test } from 'node:test';
import type { TargetConfig } from '../../schemas/config';
import { AiProxyAdvanced } from '../../plugins/ai-proxy-advanced/handler';
import { callUpstream, closeUpstreamAgents, WATCHED_BODY_BYTES, type UpstreamTimers } from '../../plugins/ai-proxy-advanced/engine/upstream';
import { FakePdk } from '../helpers/engine-pdk';
import { EngineUpstream } from '../helpers/engine-upstream';

/** Accepts connections and never reads from them: the client's writes stall once the kernel buffers fill. */
class DeafServer {
  readonly sockets = new Set<net.Socket>();
  readonly server = net.createServer((s) => {
    s.pause();
    s.on('error', () => {});
    this.sockets.add(s);
  });
  url = '';

  static async start(): Promise<DeafServer> {
    const d = new DeafServer();
    await new Promise<void>((r) => d.server.listen(0, '127.0.0.1', r));
    d.url = `http://127.0.0.1:${(d.server.address() as net.AddressInfo).port}`;
    return d;
  }

  close(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    return new Promise((r) => this.server.close(() => r()));
  }
}

const BIG = 16 * 1024 * 1024; // far more than loopback socket buffers hold

let deaf: DeafServer;
let good: EngineUpstream;
before(async () => {
  deaf = await DeafServer.start();
  good = await EngineUpstream.start();
});
after(async () => {
  await deaf.close();
  await good.close();
  await closeUpstreamAgents();
});

function chatOf(bytes: number): Buffer {
  return Buffer.from(JSON.stringify({ model: 'gpt-4o', messages: [{ role: 'user', content: 'x'.repeat(bytes) }] }));
}

describe('write_timeout', () => {
  test('a provider that stops reading the body fails as a timeout after write_timeout, not read_timeout', { timeout: 20_000 }, async () => {
    const r = await callUpstream(
      { method: 'POST', url: `${deaf.url}/v1/chat/completions`, headers: { 'content-type': 'application/json' }, body: chatOf(BIG) },
      { connectMs: 2000, readMs: 120_000, writeMs: 300 },
    );
    assert.equal(r.ok, false);
    if (!r.ok) {
      assert.deepEqual(r.failure, { kind: 'timeout', sent: true });
      assert.equal(r.message, 'upstream timed out while sending the request');
    }
  });

  test('a large body reaches a provider that reads it whole, with Content-Length and not chunked', async () => {
    good.requests.length = 0;
    const body = chatOf(WATCHED_BODY_BYTES * 3 + 17);
    const r = await callUpstream(
      { method: 'POST', url: `${good.url}/v1/chat/completions`, headers: { 'content-type': 'application/json' }, body },
      { connectMs: 2000, readMs: 10_000, writeMs: 1000 },
    );
    assert.equal(r.ok, true);
    const seen = good.requests[0];
    assert.equal(seen?.body.length, body.length);
    assert.equal(seen?.body, body.toString());
    assert.equal(seen?.headers['content-length'], String(body.length));
    assert.equal(seen?.headers['transfer-encoding'], undefined);
  });

  test('through the plugin: 504 without non_idempotent, the next target with it', { timeout: 30_000 }, async () => {
    const target = (url: string, weight: number): TargetConfig => ({
      route_type: 'llm/v1/chat',
      weight,
      model: { provider: 'openai', name: 'gpt-4o', options: { upstream_url: `${url}/v1/chat/completions` } },
      auth: { header_name: 'Authorization', header_value: 'Bearer sk-write-timeout' },
    });
    const run = async (criteria: ('timeout' | 'non_idempotent' | 'error')[]): Promise<FakePdk> => {
      const p = new AiProxyAdvanced({
        __plugin_id: randomUUID(),
        max_request_body_size: 0,
        targets: [target(deaf.url, 100), target(good.url, 50)],
        balancer: { algorithm: 'priority', failover_criteria: criteria, write_timeout: 300, read_timeout: 120_000 },
      });
      const kong = new FakePdk({ body: JSON.parse(chatOf(BIG).toString()) as Record<string, unknown> });
      await p.access(kong);
      return kong;
    };
    good.requests.length = 0;
    const no = await run(['error', 'timeout']);
    assert.equal(no.exited?.status, 504);
    assert.deepEqual(no.json, { message: 'The upstream server is timing out' });
    assert.equal(good.requests.length, 0);
    const yes = await run(['timeout', 'non_idempotent']);
    assert.equal(yes.exited?.status, 200);
    assert.equal(good.requests.length, 1);
  });
});

describe('read_timeout', () => {
  test('runs on its own timer armed with exactly read_timeout (not undici\'s 1-second fast-timer ticks), and firing it is a timeout', async () => {
    // undici's headersTimeout fired a 150 ms timeout after about 1000 ms; ours is a plain timer of readMs, which the
    // injected timers show without waiting on the wall clock.
    const armed: number[] = [];
    let fire: (() => void) | undefined;
    const timers: UpstreamTimers = {
      setTimeout(fn, ms) {
        armed.push(ms);
        fire = fn;
        return { refresh: () => undefined };
      },
      clearTimeout: () => undefined,
    };
    let gotRequest: () => void = () => undefined;
    const received = new Promise<void>((resolve) => {
      gotRequest = resolve;
    });
    const hang = net.createServer((sock) => {
      sock.on('error', () => {});
      sock.once('data', () => gotRequest());
    });
    await new Promise<void>((r) => hang.listen(0, '127.0.0.1', r));
    try {
      const url = `http://127.0.0.1:${(hang.address() as net.AddressInfo).port}/v1/chat/completions`;
      const pending = callUpstream({ method: 'POST', url, headers: {}, body: Buffer.from('{}') }, { connectMs: 2000, readMs: 150, writeMs: 2000 }, timers);
      // The provider has the whole request and says nothing: only our timer can end the wait.
      await withDeadline(received, 10_000, 'the provider never got the request');
      assert.deepEqual(armed, [150], 'one timer, of read_timeout');
      fire?.();
      const r = await withDeadline(pending, 10_000, 'the call did not end when read_timeout fired');
      assert.equal(r.ok, false);
      if (!r.ok) assert.deepEqual(r.failure, { kind: 'timeout', sent: true });
    } finally {
      await closeUpstreamAgents();
      hang.close();
    }
  });
});

/** `p`, or a rejection after `ms` real milliseconds: a test must never wait without an end. */
function withDeadline<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(what)), ms);
  });
  return Promise.race([p, deadline]).finally(() => clearTimeout(timer));
}
