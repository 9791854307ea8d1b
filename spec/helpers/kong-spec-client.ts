/**
 * The client side of Kong's ai-proxy integration specs (spec/kong-ai-proxy/): Kong's tests call
 * `client:get(path, { headers, body })`, a GET with a body, which fetch() cannot send; this sends exactly that
 * (any method) over node:http, with a deadline, and the Kong mock answers those tests' upstreams give.
 */
import assert from 'node:assert/strict';
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

/** What Kong's specs read from a file-log line's `ai.proxy`, split as they read it. */
export interface KongLoggedStats {
  /** meta and usage with llm_latency and time_per_token set to 1, as Kong's specs set them before comparing. */
  stats: { meta: Record<string, unknown>; usage: Record<string, unknown> };
  latency: number;
  timePerToken: number;
  payload: { request?: string; response?: string } | undefined;
  /** Beyond Kong (README "Analytics"), taken out of `stats` so Kong's expected block compares whole. */
  extra: { requestMode: unknown; timeToFirstToken: unknown; triedTargets: Array<Record<string, unknown>> };
}

/**
 * The log-phase record (Kong's file-log line) number `count` of a route that carries `ai.proxy`, waited for with
 * a deadline; checked as Kong's specs check it (client_ip, request and response sizes) and split for comparing.
 */
export async function kongLoggedStats(gw: { serialized(routePath: string): Array<Record<string, unknown>> }, routePath: string, count: number): Promise<KongLoggedStats> {
  const deadline = Date.now() + 10_000;
  let entry: Record<string, unknown> | undefined;
  while (!entry) {
    const entries = gw.serialized(routePath).filter((e) => (e['ai'] as { proxy?: unknown } | undefined)?.proxy !== undefined);
    entry = entries[count - 1];
    if (entry) break;
    if (Date.now() > deadline) throw new Error(`no log entry ${count} with ai.proxy for ${routePath} within 10 s`);
    await new Promise((r) => setTimeout(r, 50));
  }
  assert.equal(entry['client_ip'], '127.0.0.1');
  assert.equal(typeof (entry['request'] as { size?: unknown }).size, 'number');
  assert.equal(typeof (entry['response'] as { size?: unknown }).size, 'number');
  const block = structuredClone((entry['ai'] as { proxy: Record<string, unknown> }).proxy);
  const meta = block['meta'] as Record<string, unknown>;
  const usage = block['usage'] as Record<string, unknown>;
  const out: KongLoggedStats = {
    stats: { meta, usage },
    latency: meta['llm_latency'] as number,
    timePerToken: usage['time_per_token'] as number,
    payload: block['payload'] as KongLoggedStats['payload'],
    extra: { requestMode: meta['request_mode'], timeToFirstToken: usage['time_to_first_token'], triedTargets: block['tried_targets'] as Array<Record<string, unknown>> },
  };
  delete meta['request_mode'];
  delete usage['time_to_first_token'];
  meta['llm_latency'] = 1;
  usage['time_per_token'] = 1;
  return out;
}
