/**
 * The proxy client of Kong's ai-proxy integration specs (`client:get(path, { headers, body })`): Kong's specs send
 * their JSON bodies with GET, which fetch() refuses, so this speaks node:http. Every call has a deadline.
 */
import http from 'node:http';

export interface SpecResponse {
  status: number;
  headers: http.IncomingHttpHeaders;
  text: string;
  /** The body as JSON; throws, naming the body, when it is not. */
  json<T = Record<string, unknown>>(): T;
}

export function specGet(proxy: string, path: string, body: string | Buffer, headers: Record<string, string> = {}): Promise<SpecResponse> {
  const u = new URL(`${proxy}${path}`);
  const all = { 'content-type': 'application/json', accept: 'application/json', ...headers };
  return new Promise((resolve, reject) => {
    const req = http.request({ host: u.hostname, port: u.port, path: `${u.pathname}${u.search}`, method: 'GET', headers: all, timeout: 10_000 }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('error', reject);
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        resolve({
          status: res.statusCode ?? 0,
          headers: res.headers,
          text,
          json<T>() {
            try {
              return JSON.parse(text) as T;
            } catch {
              throw new Error(`not JSON (status ${res.statusCode}): ${text.slice(0, 200)}`);
            }
          },
        });
      });
    });
    req.on('timeout', () => req.destroy(new Error(`no answer from ${path} within 10 s`)));
    req.on('error', reject);
    req.setHeader('content-length', Buffer.byteLength(body));
    req.end(body);
  });
}
