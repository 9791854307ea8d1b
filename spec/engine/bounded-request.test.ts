/**
 * Side calls (OAuth tokens, embeddings) end and stay small whatever the peer does (engine/bounded-request.ts):
 * a token endpoint that never answered held every request waiting on the shared token fetch forever.
 */
import assert from 'node:assert/strict';
import { once } from 'node:events';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { AnswerTooLarge, boundedRequest, jsonFetcher } from '../../plugins/ai-proxy-advanced/engine/bounded-request';

describe('boundedRequest', () => {
  let server: http.Server;
  let url: string;
  before(async () => {
    server = http.createServer((req, res) => {
      req.resume();
      if (req.url === '/silent') return; // headers never come
      if (req.url === '/trickle') {
        res.writeHead(200, { 'content-type': 'application/json' });
        const t = setInterval(() => res.write(' '), 20); // never ends, each wait is short
        res.on('close', () => clearInterval(t));
        return;
      }
      if (req.url === '/huge') {
        res.writeHead(200, { 'content-type': 'application/json' });
        const chunk = Buffer.alloc(64 * 1024, 0x20);
        const more = (): void => {
          while (!res.destroyed) if (!res.write(chunk)) return void res.once('drain', more);
        };
        more();
        return;
      }
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ access_token: 'tok', expires_in: 3599 }));
    });
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  after(async () => {
    server.closeAllConnections();
    server.close();
    await once(server, 'close');
  });

  test('a peer that never answers, or trickles without end, fails the call at its deadline', async () => {
    for (const path of ['/silent', '/trickle']) {
      await assert.rejects(boundedRequest(`${url}${path}`, { method: 'GET', headers: {} }, 300, 1024), (e: unknown) => (e as Error).name === 'TimeoutError' || /timeout/i.test(String((e as Error).message)), path);
    }
  });

  test('an answer over the cap is refused, not held', async () => {
    await assert.rejects(boundedRequest(`${url}/huge`, { method: 'GET', headers: {} }, 10_000, 256 * 1024), AnswerTooLarge);
  });

  test('the token fetcher parses JSON answers', async () => {
    const fetchJson = jsonFetcher(5_000, 1024);
    assert.deepEqual(await fetchJson(`${url}/token`, { method: 'POST', headers: {}, body: 'grant_type=x' }), { status: 200, body: { access_token: 'tok', expires_in: 3599 } });
    await assert.rejects(fetchJson(`${url}/silent`, { method: 'GET', headers: {} }));
  });
});
