/**
 * Streaming clients for bench/stream.ts. Both send one POST and time the first SSE `data:` of the body:
 *   keepAliveTtfc   over one undici keep-alive connection (an SDK in a long-lived process)
 *   freshTtfc       over a new TCP connection per request, closed after it (curl): connect + request + first chunk,
 *                   with TCP_NODELAY as curl sets it
 * and `streamLoad` counts SSE frames received per second over N keep-alive connections.
 */
import net from 'node:net';
import { Pool } from 'undici';

export interface StreamTarget {
  url: string;
  headers: Record<string, string>;
  body: string;
}

const DEADLINE_MS = 10_000;

/** ms from sending to the first body bytes holding `data:` (the body is then read to its end). */
export async function keepAliveTtfc(pool: Pool, t: StreamTarget): Promise<number> {
  const u = new URL(t.url);
  const t0 = performance.now();
  const r = await pool.request({
    path: u.pathname,
    method: 'POST',
    headers: { 'content-type': 'application/json', ...t.headers },
    body: t.body,
    signal: AbortSignal.timeout(DEADLINE_MS),
  });
  let first = NaN;
  let text = '';
  for await (const c of r.body) {
    text += (c as Buffer).toString();
    if (Number.isNaN(first) && text.includes('data:')) first = performance.now() - t0;
  }
  if (r.statusCode !== 200 || !text.includes('[DONE]')) throw new Error(`${t.url}: status ${r.statusCode}, body ${text.slice(0, 300)}`);
  return first;
}

export function freshTtfc(t: StreamTarget): Promise<number> {
  const u = new URL(t.url);
  const head =
    `POST ${u.pathname} HTTP/1.1\r\nHost: ${u.host}\r\nUser-Agent: curl/8.5.0\r\nAccept: */*\r\nConnection: close\r\n` +
    `Content-Type: application/json\r\nContent-Length: ${Buffer.byteLength(t.body)}\r\n` +
    Object.entries(t.headers)
      .map(([k, v]) => `${k}: ${v}\r\n`)
      .join('') +
    '\r\n';
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    const s = net.connect({ host: u.hostname, port: Number(u.port), noDelay: true });
    const timer = setTimeout(() => s.destroy(new Error(`${t.url}: no complete stream within ${DEADLINE_MS} ms`)), DEADLINE_MS);
    let text = '';
    let first = NaN;
    s.on('connect', () => s.write(head + t.body));
    s.on('data', (c: Buffer) => {
      text += c.toString();
      if (Number.isNaN(first)) {
        const bodyAt = text.indexOf('\r\n\r\n');
        if (bodyAt >= 0 && text.indexOf('data:', bodyAt) >= 0) first = performance.now() - t0;
      }
    });
    s.on('error', (e) => (clearTimeout(timer), reject(e)));
    s.on('close', () => {
      clearTimeout(timer);
      if (!text.startsWith('HTTP/1.1 200') || !text.includes('[DONE]')) reject(new Error(`${t.url}: ${text.slice(0, 300)}`));
      else resolve(first);
    });
  });
}

/** SSE frames (`data:` lines) received per second over `connections` keep-alive connections for `seconds`. */
export async function streamLoad(t: StreamTarget, connections: number, seconds: number): Promise<{ framesPerSec: number; streams: number; broken: number }> {
  const u = new URL(t.url);
  const pool = new Pool(u.origin, { connections, pipelining: 1, keepAliveTimeout: 60_000 });
  let frames = 0;
  let streams = 0;
  let broken = 0;
  const end = performance.now() + seconds * 1000;
  const worker = async (): Promise<void> => {
    while (performance.now() < end) {
      try {
        const r = await pool.request({
          path: u.pathname,
          method: 'POST',
          headers: { 'content-type': 'application/json', ...t.headers },
          body: t.body,
          signal: AbortSignal.timeout(DEADLINE_MS),
        });
        let text = '';
        for await (const c of r.body) text += (c as Buffer).toString();
        const n = text.split('\ndata:').length - 1 + (text.startsWith('data:') ? 1 : 0);
        if (r.statusCode !== 200 || !text.includes('data: [DONE]')) broken++;
        else {
          frames += n;
          streams++;
        }
      } catch {
        broken++;
      }
    }
  };
  const t0 = performance.now();
  await Promise.all(Array.from({ length: connections }, worker));
  const secs = (performance.now() - t0) / 1000;
  await pool.close();
  return { framesPerSec: frames / secs, streams, broken };
}
