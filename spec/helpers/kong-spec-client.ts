/**
 * The client side of Kong's ai-proxy integration specs (spec/kong-ai-proxy/): Kong's tests call
 * `client:get(path, { headers, body })`, a GET with a body, which fetch() cannot send; this sends exactly that
 * (any method) over node:http, with a deadline, and the Kong mock answers those tests' upstreams give.
 */
import http from 'node:http';
import type { Behaviour, RecordedRequest } from './engine-upstream';
import { readFixture } from './providers-fixtures';

export interface KongAnswer {
  status: number;
  headers: http.IncomingHttpHeaders;
  text: string;
  /** The body as JSON, or undefined when it is not JSON. */
  json: Record<string, unknown> | undefined;
}

export interface KongRequest {
  method?: string;
  /** A string or Buffer is sent as is; anything else as JSON (as Kong's test client encodes a Lua table). */
  body?: string | Buffer | unknown;
  headers?: Record<string, string>;
}

/** Kong's default headers in these specs: JSON in, JSON accepted. */
const JSON_HEADERS = { 'content-type': 'application/json', accept: 'application/json' };

export function kongRequest(base: string, path: string, req: KongRequest = {}): Promise<KongAnswer> {
  const body = req.body === undefined ? undefined : typeof req.body === 'string' || Buffer.isBuffer(req.body) ? req.body : JSON.stringify(req.body);
  return new Promise((resolve, reject) => {
    const headers: Record<string, string> = { ...JSON_HEADERS, ...req.headers };
    if (body !== undefined) headers['content-length'] = String(Buffer.byteLength(body));
    const r = http.request(`${base}${path}`, { method: req.method ?? 'GET', headers, timeout: 10_000 }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('error', reject);
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        let json: Record<string, unknown> | undefined;
        try {
          json = JSON.parse(text) as Record<string, unknown>;
        } catch {
          json = undefined;
        }
        resolve({ status: res.statusCode ?? 0, headers: res.headers, text, json });
      });
    });
    r.on('timeout', () => r.destroy(new Error(`no answer for ${path} within 10 s`)));
    r.on('error', reject);
    r.end(body);
  });
}

/** A Kong mock answer: `status` with a fixture file's bytes (JSON unless a content type is given). */
export function fixtureAnswer(status: number, file: string, contentType = 'application/json'): Behaviour {
  return { kind: 'raw', status, body: readFixture(file).toString('utf8'), headers: { 'content-type': contentType } };
}

/**
 * Kong's usual mock location: the right key gets `good` when the body passes `valid`, else `bad` (400); a wrong
 * key gets `unauthorized` (401). Files are fixture paths.
 */
export function guardedLocation(
  key: { header: string; value: string },
  valid: (body: Record<string, unknown> | undefined) => boolean,
  files: { good: string; bad: string; unauthorized: string },
): (req: RecordedRequest) => Behaviour {
  return (req) => {
    if (req.headers[key.header.toLowerCase()] !== key.value) return fixtureAnswer(401, files.unauthorized);
    return valid(req.json) ? fixtureAnswer(200, files.good) : fixtureAnswer(400, files.bad);
  };
}
