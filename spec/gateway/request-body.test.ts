/**
 * Issue 11, bounded memory in the local gateway: nginx's client_max_body_size (413, nothing kept) and
 * client_body_buffer_size (larger bodies spooled to a file, read by get_raw_body only with a size, proxied
 * from the file), through the real gateway and plugin server.
 */
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { eventually, type Harness, startHarness } from '../helpers/gateway-harness';
import { send, startUpstream, type Upstream } from '../helpers/gateway-upstream';

const MAX = 256 * 1024;

/** Sends a head declaring `declared` bytes and `actual` bytes of body (chunked when declared is undefined). */
function rawPost(url: string, declared: number | undefined, actual: number): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const headers: Record<string, string> = { 'Content-Type': 'application/octet-stream' };
    if (declared !== undefined) headers['Content-Length'] = String(declared);
    const req = http.request(url, { method: 'POST', headers, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }));
    });
    req.on('error', (e: NodeJS.ErrnoException) => (e.code === 'ECONNRESET' || e.code === 'EPIPE' ? undefined : reject(e)));
    const piece = Buffer.alloc(16 * 1024, 0x62);
    let sent = 0;
    const pump = (): void => {
      while (sent < actual) {
        const n = Math.min(piece.length, actual - sent);
        sent += n;
        if (!req.write(piece.subarray(0, n))) return void req.once('drain', pump);
      }
      // A client that declared more than it sends keeps the request open: the answer must come anyway.
      if (declared === undefined || declared <= actual) req.end();
    };
    pump();
  });
}

describe('request bodies are bounded as nginx bounds them (issue 11)', () => {
  let h: Harness;
  let up: Upstream;
  const spool = (): string[] => readdirSync(path.join(h.dir, 'client_body_temp'));
  before(async () => {
    up = await startUpstream();
    h = await startHarness({
      plugins: [{ name: 'lo', priority: 10 }],
      extraSettings: { KONG_NGINX_HTTP_CLIENT_MAX_BODY_SIZE: String(MAX) },
      config: {
        _format_version: '3.0',
        services: [
          {
            name: 'svc',
            url: up.url,
            routes: [
              { name: 'plain', paths: ['/plain'] },
              { name: 'max0', paths: ['/max0'], plugins: [{ name: 'lo', config: { mode: 'body-max', max_body: 0 } }] },
              { name: 'max100k', paths: ['/max100k'], plugins: [{ name: 'lo', config: { mode: 'body-max', max_body: 100_000 } }] },
            ],
          },
        ],
      },
    });
  });
  after(async () => {
    await h.close();
    await up.close();
  });

  test('a declared Content-Length over client_max_body_size is 413 before the body is sent', async () => {
    const seen = up.seen.length;
    // 100 MB declared, 64 KB sent: the answer cannot wait for the body.
    const r = await rawPost(`${h.proxy}/plain`, 100 * 1024 * 1024, 64 * 1024);
    assert.equal(r.status, 413);
    assert.equal(JSON.parse(r.body).message, 'Payload too large');
    assert.equal(up.seen.length, seen, 'the service was not called');
  });

  test('a chunked body is refused with 413 once it passes the limit, and no spool file stays', async () => {
    const seen = up.seen.length;
    const r = await rawPost(`${h.proxy}/plain`, undefined, MAX + 64 * 1024);
    assert.equal(r.status, 413);
    assert.equal(up.seen.length, seen);
    await eventually(() => spool().length === 0);
  });

  test('a body over client_body_buffer_size is spooled, proxied whole from the file, and the file removed', async () => {
    const body = 'b'.repeat(200 * 1024);
    const r = await send(`${h.proxy}/plain`, { method: 'POST', headers: { 'Content-Type': 'text/plain' }, body });
    assert.equal(r.status, 200);
    const got = up.seen.at(-1)!;
    assert.equal(got.body.length, body.length);
    assert.equal(got.headers['content-length'], String(body.length));
    await eventually(() => spool().length === 0);
  });

  test("get_raw_body(max) reads a spooled body as Kong's PDK does: 0 = no limit, a smaller max gives nil", async () => {
    const body = 'hello-world:' + 'x'.repeat(150 * 1024);
    const all = await send(`${h.proxy}/max0`, { method: 'POST', body });
    assert.equal(all.status, 200, all.body);
    assert.deepEqual(all.json(), { size: body.length, head: 'hello-wo' });
    // 150 KB > max 100,000: Kong returns nil, "request body file too big", which reaches the plugin server as
    // a failed PDK call (500), never a truncated body.
    const over = await send(`${h.proxy}/max100k`, { method: 'POST', body });
    assert.equal(over.status, 500);
    const under = await send(`${h.proxy}/max100k`, { method: 'POST', body: body.slice(0, 90_000) });
    assert.deepEqual(under.json(), { size: 90_000, head: 'hello-wo' });
    // In memory (<= 8k): returned whatever the max.
    const small = await send(`${h.proxy}/max100k`, { method: 'POST', body: 'tiny' });
    assert.deepEqual(small.json(), { size: 4, head: 'tiny' });
    await eventually(() => spool().length === 0);
  });
});
