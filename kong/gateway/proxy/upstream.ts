/**
 * The proxied call to the service, with the service's timeouts and retries. Like nginx's
 * `proxy_next_upstream error timeout` with Kong's balancer retries, only failures to connect are retried (the
 * request has not reached the service yet, so even a POST is safe to resend). Errors map to Kong's statuses:
 * a timeout is 504, DNS failure 503, anything else 502.
 */
import { EventEmitter } from 'node:events';
import type { Readable } from 'node:stream';
import { Agent, errors as undiciErrors } from 'undici';

const agents = new Map<string, Agent>();

function agentFor(connectTimeout: number, tlsVerify: boolean): Agent {
  const key = `${connectTimeout}:${String(tlsVerify)}`;
  let a = agents.get(key);
  if (!a) {
    // Kong verifies upstream certificates only when the service says tls_verify = true (proxy_ssl_verify is off
    // by default in Kong's nginx template).
    a = new Agent({ connect: { timeout: connectTimeout, rejectUnauthorized: tlsVerify }, keepAliveTimeout: 60_000, pipelining: 1, connections: null });
    agents.set(key, a);
  }
  return a;
}

export async function closeUpstreamAgents(): Promise<void> {
  const all = [...agents.values()];
  agents.clear();
  await Promise.all(all.map((a) => a.close().catch(() => undefined)));
}

/**
 * The read timer: calls `fire` after `ms` unless refreshed (a body chunk came) or cleared. Native by default;
 * tests inject one they fire themselves (GatewayOptions.readTimer), so no test waits on the wall clock.
 */
export type ReadTimerFactory = (ms: number, fire: () => void) => { refresh(): void; clear(): void };

export const nativeReadTimer: ReadTimerFactory = (ms, fire) => {
  const t = setTimeout(fire, ms);
  return { refresh: () => void t.refresh(), clear: () => clearTimeout(t) };
};

export interface UpstreamRequest {
  scheme: string;
  host: string;
  port: number;
  /** Path and query. */
  path: string;
  method: string;
  headers: Record<string, string | string[]>;
  /** In memory, or a spooled body opened afresh for each try. */
  body: Buffer | { size: number; open(): Readable };
  connectTimeout: number;
  readTimeout: number;
  writeTimeout: number;
  retries: number;
  tlsVerify: boolean;
  readTimer?: ReadTimerFactory;
}

export interface UpstreamResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: Readable;
  /** When the response headers arrived (ms since epoch). */
  headersAt: number;
  sentAt: number;
  tries: Array<{ ip: string; port: number; balancer_latency: number }>;
}

export class UpstreamFailure extends Error {
  constructor(
    readonly status: 502 | 503 | 504,
    message: string,
    readonly tries: UpstreamResponse['tries'],
  ) {
    super(message);
    this.name = 'UpstreamFailure';
  }
}

function isConnectFailure(err: unknown): boolean {
  const code = (err as { code?: string }).code;
  return code === 'ECONNREFUSED' || code === 'UND_ERR_CONNECT_TIMEOUT' || code === 'ECONNRESET' && (err as { connectFailure?: boolean }).connectFailure === true || code === 'EHOSTUNREACH' || code === 'ENETUNREACH';
}

/**
 * The service's read_timeout (nginx proxy_read_timeout: the wait for the response head, then between two body
 * chunks) on a native timer: undici's headersTimeout/bodyTimeout tick every 499 ms, so a 200 ms timeout fired
 * after about a second.
 */
class ReadTimeout extends Error {
  constructor(ms: number) {
    super(`upstream timed out (${ms} ms) while reading response header from upstream`);
    this.name = 'ReadTimeout';
  }
}

/**
 * The abort signal of one upstream call, fired by its read timer. undici takes an EventEmitter as well as an
 * AbortSignal (`signal.once('abort')`, then `aborted` and `reason`); this one costs a plain object, where an
 * AbortController per request cost about 3% of the gateway's CPU on a plain proxied request (an EventTarget,
 * its listener bookkeeping, addEventListener/removeEventListener on every call).
 */
class ReadTimeoutSignal extends EventEmitter {
  aborted = false;
  reason: ReadTimeout | undefined;

  fire(reason: ReadTimeout): void {
    if (this.aborted) return;
    this.aborted = true;
    this.reason = reason;
    this.emit('abort');
  }
}

function classify(err: unknown): 502 | 503 | 504 {
  const code = (err as { code?: string }).code;
  if (err instanceof ReadTimeout) return 504;
  if (err instanceof undiciErrors.HeadersTimeoutError || err instanceof undiciErrors.BodyTimeoutError || err instanceof undiciErrors.ConnectTimeoutError) return 504;
  if (code === 'ENOTFOUND' || code === 'EAI_AGAIN') return 503;
  return 502;
}

export async function callUpstream(req: UpstreamRequest): Promise<UpstreamResponse> {
  const origin = `${req.scheme}://${req.host.includes(':') && !req.host.startsWith('[') ? `[${req.host}]` : req.host}:${req.port}`;
  const tries: UpstreamResponse['tries'] = [];
  let lastErr: unknown;
  for (let attempt = 0; attempt <= req.retries; attempt++) {
    const sentAt = Date.now();
    tries.push({ ip: req.host, port: req.port, balancer_latency: 0 });
    const signal = new ReadTimeoutSignal();
    const timer = (req.readTimer ?? nativeReadTimer)(req.readTimeout, () => signal.fire(new ReadTimeout(req.readTimeout)));
    try {
      // The agent's own request(): undici's top-level request(url) parses the URL into a WHATWG URL and spreads
      // the options into a new object on every call; the path goes out as Kong computed it, as nginx sends
      // $upstream_uri (undici still refuses a path with control characters or spaces).
      const r = await agentFor(req.connectTimeout, req.tlsVerify).request({
        origin,
        path: req.path,
        method: req.method as 'GET',
        headers: Buffer.isBuffer(req.body) ? req.headers : { ...req.headers, 'content-length': String(req.body.size) },
        body: Buffer.isBuffer(req.body) ? (req.body.length > 0 || !['GET', 'HEAD'].includes(req.method) ? req.body : null) : req.body.open(),
        signal,
        headersTimeout: 0,
        bodyTimeout: 0,
      });
      // From here the same timer bounds each wait for the next body chunk; aborting errors the body stream.
      timer.refresh();
      r.body.on('data', () => timer.refresh());
      r.body.once('close', () => timer.clear());
      return { status: r.statusCode, headers: r.headers, body: r.body, headersAt: Date.now(), sentAt, tries };
    } catch (err) {
      timer.clear();
      lastErr = signal.reason ?? err;
      if (!isConnectFailure(lastErr)) break;
    }
  }
  const status = classify(lastErr);
  throw new UpstreamFailure(status, `${(lastErr as Error).message} while connecting to upstream ${origin}`, tries);
}
