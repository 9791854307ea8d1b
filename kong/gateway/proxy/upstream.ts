/**
 * The proxied call to the service, with the service's timeouts and retries. Like nginx's
 * `proxy_next_upstream error timeout` with Kong's balancer retries, only failures to connect are retried (the
 * request has not reached the service yet, so even a POST is safe to resend). Errors map to Kong's statuses:
 * a timeout is 504, DNS failure 503, anything else 502.
 */
import type { ServerResponse } from 'node:http';
import type { Readable } from 'node:stream';
import { Agent, type Dispatcher, errors as undiciErrors } from 'undici';
import { HeaderMap } from './context';

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
  /** Lower-cased names, every value of a repeated header in arrival order (latin1, as undici decodes them). */
  headers: HeaderMap;
  body: UpstreamBody;
  /** When the response headers arrived (ms since epoch). */
  headersAt: number;
  sentAt: number;
  tries: Array<{ ip: string; port: number; balancer_latency: number }>;
}

/**
 * The response body, taken once, one of two ways. Until it is taken, what has arrived waits here and undici is
 * paused (at most one socket read is held).
 */
export interface UpstreamBody {
  /** All of it (buffered proxying, for `response` handlers); rejects when the body fails or the read timer fires. */
  collect(): Promise<Buffer>;
  /**
   * Streams it to the client with back-pressure (undici is paused while `res.write` says so) and ends `res`.
   * Resolves once `res` has closed. A body that fails (read timeout, reset) calls `onError` and destroys `res`,
   * as nginx cuts the client connection; a client that goes away aborts the upstream request.
   */
  pipeTo(res: ServerResponse, onError: (err: Error) => void): Promise<void>;
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

function classify(err: unknown): 502 | 503 | 504 {
  const code = (err as { code?: string }).code;
  if (err instanceof ReadTimeout) return 504;
  if (err instanceof undiciErrors.HeadersTimeoutError || err instanceof undiciErrors.BodyTimeoutError || err instanceof undiciErrors.ConnectTimeoutError) return 504;
  if (code === 'ENOTFOUND' || code === 'EAI_AGAIN') return 503;
  return 502;
}

/**
 * One try of the upstream call, as undici's dispatch handler: the response head resolves `head`, the body goes
 * straight to whoever took it (the client's ServerResponse, or a list of chunks). Compared with
 * `agent.request()`, no RequestHandler (an AsyncResource), no body Readable and its stream machinery per
 * request, no response-headers object parsed and then copied into a HeaderMap, no abort signal listener.
 */
class UpstreamCall implements Dispatcher.DispatchHandler {
  /** Settled by the response head (or a failure before it). */
  readonly head: Promise<UpstreamResponse>;
  private resolveHead!: (r: UpstreamResponse) => void;
  private rejectHead!: (e: unknown) => void;
  private headDone = false;
  /** undici's abort for this request (known once it is written to a connection). */
  private abortFn: ((err: Error) => void) | undefined;
  /** Why the request was aborted (the read timer fired); an abort before onConnect is done there. */
  private reason: Error | undefined;
  private resumeFn: (() => void) | undefined;
  /** Chunks held before the body was taken, or collected for collect(). */
  private chunks: Buffer[] = [];
  private paused = false;
  private ended = false;
  private error: Error | undefined;
  private sink: ServerResponse | undefined;
  private sinkError: ((err: Error) => void) | undefined;
  private collector: { resolve: (b: Buffer) => void; reject: (e: Error) => void } | undefined;
  private readonly timer: ReturnType<ReadTimerFactory>;

  constructor(
    private readonly sentAt: number,
    private readonly tries: UpstreamResponse['tries'],
    timerFactory: ReadTimerFactory,
    readTimeout: number,
  ) {
    this.head = new Promise((resolve, reject) => {
      this.resolveHead = resolve;
      this.rejectHead = reject;
    });
    this.timer = timerFactory(readTimeout, () => this.abort(new ReadTimeout(readTimeout)));
  }

  private abort(err: Error): void {
    if (this.reason) return;
    this.reason = err;
    this.abortFn?.(err);
  }

  onConnect(abort: (err?: Error) => void): void {
    if (this.reason) abort(this.reason);
    else this.abortFn = abort;
  }

  onHeaders(statusCode: number, rawHeaders: Buffer[], resume: () => void): boolean {
    // 1xx interim responses (100 Continue) are not the response; nginx does not pass them on either.
    if (statusCode < 200) return true;
    this.resumeFn = resume;
    this.timer.refresh();
    const names: string[] = new Array(rawHeaders.length);
    for (let i = 0; i < rawHeaders.length; i++) names[i] = (rawHeaders[i] as Buffer).toString('latin1');
    this.headDone = true;
    this.resolveHead({ status: statusCode, headers: HeaderMap.fromRaw(names), body: this, headersAt: Date.now(), sentAt: this.sentAt, tries: this.tries });
    return true;
  }

  onData(chunk: Buffer): boolean {
    // The read timer bounds each wait for the next body chunk (nginx proxy_read_timeout).
    this.timer.refresh();
    const sink = this.sink;
    if (sink) {
      if (sink.write(chunk)) return true;
      this.paused = true;
      sink.once('drain', this.onDrain);
      return false;
    }
    this.chunks.push(chunk);
    if (this.collector) return true;
    // Nobody has taken the body yet: hold this read and pause until someone does.
    this.paused = true;
    return false;
  }

  private readonly onDrain = (): void => {
    this.paused = false;
    this.resumeFn?.();
  };

  onComplete(): void {
    this.timer.clear();
    this.ended = true;
    if (this.sink) this.sink.end();
    else if (this.collector) this.collector.resolve(Buffer.concat(this.chunks));
  }

  onError(err: Error): void {
    this.timer.clear();
    const e = this.reason ?? err;
    if (!this.headDone) {
      this.headDone = true;
      this.rejectHead(e);
      return;
    }
    if (this.ended || this.error) return;
    this.error = e;
    if (this.sink) this.sinkError?.(e);
    else if (this.collector) this.collector.reject(e);
  }

  collect(): Promise<Buffer> {
    if (this.error) return Promise.reject(this.error);
    if (this.ended) return Promise.resolve(Buffer.concat(this.chunks));
    return new Promise((resolve, reject) => {
      this.collector = { resolve, reject };
      this.unpause();
    });
  }

  pipeTo(res: ServerResponse, onError: (err: Error) => void): Promise<void> {
    return new Promise<void>((resolve) => {
      res.once('close', () => {
        if (!res.writableFinished && !this.ended && !this.error) {
          // The client went away: stop the upstream request (nginx closes the upstream connection too).
          this.error = new Error('client closed the connection');
          this.timer.clear();
          this.abortFn?.(this.error);
        }
        resolve();
      });
      if (this.error) {
        onError(this.error);
        res.destroy();
        return;
      }
      this.sink = res;
      this.sinkError = (err) => {
        onError(err);
        res.destroy();
      };
      const held = this.chunks;
      this.chunks = [];
      let ok = true;
      for (const c of held) ok = res.write(c) && ok;
      if (this.ended) res.end();
      else if (ok) this.unpause();
      else {
        this.paused = true;
        res.once('drain', this.onDrain);
      }
    });
  }

  private unpause(): void {
    if (!this.paused) return;
    this.paused = false;
    this.resumeFn?.();
  }
}

export async function callUpstream(req: UpstreamRequest): Promise<UpstreamResponse> {
  const origin = `${req.scheme}://${req.host.includes(':') && !req.host.startsWith('[') ? `[${req.host}]` : req.host}:${req.port}`;
  const tries: UpstreamResponse['tries'] = [];
  const agent = agentFor(req.connectTimeout, req.tlsVerify);
  const inMemory = Buffer.isBuffer(req.body);
  let lastErr: unknown;
  for (let attempt = 0; attempt <= req.retries; attempt++) {
    tries.push({ ip: req.host, port: req.port, balancer_latency: 0 });
    const call = new UpstreamCall(Date.now(), tries, req.readTimer ?? nativeReadTimer, req.readTimeout);
    // The agent's own dispatch(): the path goes out as Kong computed it, as nginx sends $upstream_uri (no WHATWG
    // URL parse; undici still refuses a path with control characters or spaces). undici's own header and body
    // timeouts are off: the read timer above is the service's read_timeout (they tick every 499 ms).
    agent.dispatch(
      {
        origin,
        path: req.path,
        method: req.method as Dispatcher.HttpMethod,
        headers: inMemory ? req.headers : { ...req.headers, 'content-length': String((req.body as { size: number }).size) },
        body: inMemory ? ((req.body as Buffer).length > 0 || !['GET', 'HEAD'].includes(req.method) ? (req.body as Buffer) : null) : (req.body as { open(): Readable }).open(),
        headersTimeout: 0,
        bodyTimeout: 0,
      },
      call,
    );
    try {
      return await call.head;
    } catch (err) {
      lastErr = err;
      if (!isConnectFailure(lastErr)) break;
    }
  }
  const status = classify(lastErr);
  throw new UpstreamFailure(status, `${(lastErr as Error).message} while connecting to upstream ${origin}`, tries);
}
