/**
 * Responses answered from memory end at the end of the event-loop turn (kong/gateway/proxy/turn-end.ts): the
 * headers are committed where the response is built (headersSent, and a bad header still throws there), nothing
 * is ended before the turn's check phase, every response queued in one turn ends in that check phase, and each
 * client gets its own body.
 */
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, test } from 'node:test';
import { endAtTurnEnd } from '../../kong/gateway/proxy/turn-end';

let server: http.Server;
let port = 0;
/** Requests waiting to be answered, in arrival order. */
const waiting: http.ServerResponse[] = [];

before(async () => {
  server = http.createServer((req, res) => {
    req.resume();
    req.on('end', () => waiting.push(res));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  port = (server.address() as AddressInfo).port;
});
after(async () => {
  server.closeAllConnections();
  await new Promise((r) => server.close(r));
});

function get(path: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    http
      .get({ host: '127.0.0.1', port, path, agent: false }, (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => (body += c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      })
      .on('error', reject);
  });
}

async function waitingFor(n: number): Promise<http.ServerResponse[]> {
  const deadline = Date.now() + 5000;
  while (waiting.length < n) {
    if (Date.now() > deadline) throw new Error(`only ${waiting.length} of ${n} requests arrived`);
    await new Promise((r) => setTimeout(r, 2));
  }
  return waiting.splice(0, n);
}

test('responses queued in one turn end together in its check phase, each with its own body', async () => {
  const answers = Promise.all([get('/a'), get('/b')]);
  const [a, b] = await waitingFor(2);
  a!.writeHead(200, { 'content-type': 'text/plain' });
  endAtTurnEnd(a!, Buffer.from('first'));
  b!.writeHead(201, { 'content-type': 'text/plain' });
  endAtTurnEnd(b!, Buffer.from('second'));
  // Headers are committed at once; the responses are not ended before the turn is over.
  assert.equal(a!.headersSent, true);
  assert.equal(a!.writableEnded, false);
  assert.equal(b!.writableEnded, false);
  await new Promise<void>((r) => setImmediate(r));
  assert.equal(a!.writableEnded, true);
  assert.equal(b!.writableEnded, true);
  assert.deepEqual(await answers, [
    { status: 200, body: 'first' },
    { status: 201, body: 'second' },
  ]);
});

test('a response without a body (HEAD, or no body at all) ends with none; a later turn starts a new flush', async () => {
  const answer = get('/c');
  const [c] = await waitingFor(1);
  c!.writeHead(204);
  endAtTurnEnd(c!, undefined);
  assert.deepEqual(await answer, { status: 204, body: '' });
  const again = get('/d');
  const [d] = await waitingFor(1);
  d!.writeHead(200);
  endAtTurnEnd(d!, Buffer.from('again'));
  assert.deepEqual(await again, { status: 200, body: 'again' });
});

test('an invalid header value still throws where the response is built, before anything is queued', async () => {
  const answer = get('/e');
  const [e] = await waitingFor(1);
  assert.throws(() => e!.writeHead(200, { 'x-bad': 'a\r\nb' }), { code: 'ERR_INVALID_CHAR' });
  assert.equal(e!.headersSent, false);
  e!.writeHead(500);
  endAtTurnEnd(e!, Buffer.from('fallback'));
  assert.deepEqual(await answer, { status: 500, body: 'fallback' });
});
